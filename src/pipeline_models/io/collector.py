"""The problems of one load, and the rows each row-level error sends to quarantine."""

from __future__ import annotations

import pandas as pd

from pipeline_models.contract.problems import ERROR, Problem

from .cells import ROW


def rows_of(frame: pd.DataFrame, mask: pd.Series) -> tuple[int, ...]:
    """Line numbers of the rows ``mask`` selects (by index label, so a shorter frame works)."""
    selected = mask.index[mask.fillna(False).to_numpy(bool)]
    return tuple(int(r) for r in frame.loc[selected, ROW])


def values_of(series: pd.Series, mask: pd.Series) -> tuple[str, ...]:
    """Up to five distinct cells of ``series`` that ``mask`` selects, as examples."""
    return tuple(str(v) for v in series[mask.fillna(False).to_numpy(bool)].unique()[:5])


class Collector:
    """Collects problems; row-level errors also mark their rows for quarantine.

    An error is *skippable* when leaving its rows out fixes it; an error without rows, or one
    added with ``skippable=False`` (say, dates written in two orders), fails the load in any mode.
    ``frame`` holds the row numbers (``_row``) that masks are looked up in.
    """

    def __init__(self, name: str, frame: pd.DataFrame):
        self.name = name
        self.problems: list[Problem] = []
        self.bad_rows: dict[int, list[str]] = {}
        self.skippable: list[Problem] = []
        self.frame = frame

    def add(self, reason, column=None, mask=None, values=(), severity=ERROR, skippable=True):
        """Record a problem; with a ``mask`` that selects no row, nothing is recorded."""
        rows = rows_of(self.frame, mask) if mask is not None else ()
        if mask is not None and not rows:
            return
        problem = Problem(self.name, reason, column, rows, severity, tuple(values))
        self.problems.append(problem)
        if severity == ERROR and rows and skippable:
            self.skippable.append(problem)
            for r in rows:
                self.bad_rows.setdefault(r, []).append(f"{column}: {reason}" if column else reason)
