"""Counts the funnel's rates are fitted on: outcomes by level, open items by distinct age, and the
censored trials they make.

A rate is fitted on successes and rows ``(A, B, n)`` of trials without a success (see
:mod:`pipeline_models.models.pooling.censored_beta`): :func:`exposure_rows` merges items with equal
``(A, B)``, so the fit's cost grows with distinct ages, not with items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.groups import codes, distinct_pairs, groups
from pipeline_models.models.funnel.opportunities import LOST, OPEN, OUTCOMES, WON


class OpportunityArrays:
    """The opportunities table of a fit as arrays, with levels as codes into the fit's levels."""

    def __init__(self, opps: pd.DataFrame, sources: list[str], products: list[str]):
        self.source = codes(opps["source"], sources)
        self.product = codes(opps["product"], products)
        self.outcome = codes(opps["outcome"], OUTCOMES)
        self.created = opps["created"].to_numpy(dtype="datetime64[ns]")
        self.age = opps["age"].to_numpy(float)
        self.lag = opps["lag"].to_numpy(float)
        self.amount = opps["amount"].to_numpy(float)


class Tally:
    """Opportunities of one set counted by level: won, lost, and the open ones by distinct age."""

    def __init__(self, level: np.ndarray, outcome: np.ndarray, age: np.ndarray, n_levels: int):
        self.won = np.bincount(level[outcome == WON], minlength=n_levels)
        self.lost = np.bincount(level[outcome == LOST], minlength=n_levels)
        is_open = outcome == OPEN
        self.open_level, self.open_age, self.open_n = distinct_pairs(level[is_open], age[is_open])

    def level(self, j: int) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Won, lost, and the distinct ages of open deals with their counts, of level ``j``."""
        pick = self.open_level == j
        return float(self.won[j]), float(self.lost[j]), self.open_age[pick], self.open_n[pick]

    def overall(self) -> tuple[float, float, np.ndarray, np.ndarray]:
        """As :meth:`level` for all levels together."""
        ages, position = np.unique(self.open_age, return_inverse=True)
        n = np.bincount(position, weights=self.open_n, minlength=len(ages))
        return float(self.won.sum()), float(self.lost.sum()), ages, n

    def counts(self, levels: list[str]) -> pd.DataFrame:
        """Won, lost, open and all opportunities per level."""
        n_open = np.bincount(self.open_level, weights=self.open_n, minlength=len(levels))
        table = pd.DataFrame(
            {"won": self.won, "lost": self.lost, "open": n_open.astype(int)}, index=levels
        )
        table["n"] = table.sum(axis=1)
        return table


def exposure_rows(a: np.ndarray, b: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Rows ``(A, B, n)`` of trials without a success, with equal ``(A, B)`` merged."""
    if not len(a):
        return np.zeros((0, 3))
    n = np.ones(len(a)) if n is None else np.asarray(n, dtype=float)
    a, b = np.round(a, 6), np.round(b, 6)
    first, group = groups(a, b)
    return np.column_stack([a[first], b[first], np.bincount(group, weights=n)])


def outcome_counts(opps: pd.DataFrame, by: str, levels: list[str]) -> pd.DataFrame:
    """Won, lost, open and all opportunities per level of column ``by``."""
    level = codes(opps[by], levels)
    outcome = codes(opps["outcome"], OUTCOMES)
    ok = (level >= 0) & (outcome >= 0)
    table = np.bincount(level[ok] * 3 + outcome[ok], minlength=3 * len(levels))
    table = pd.DataFrame(table.reshape(len(levels), 3), index=levels, columns=OUTCOMES)
    table["n"] = table.sum(axis=1)
    return table


def recorded(items: np.ndarray, created: np.ndarray, first: pd.Timestamp | None) -> np.ndarray:
    """Of the items (a mask), those created on or after the first recorded outcome: before it,
    quick outcomes may be missing from the export (its history starts later than its oldest
    deals), which would bias the rates. All items when that leaves none."""
    if first is None:
        return items
    kept = items & (created >= np.datetime64(first.normalize(), "ns"))
    return kept if kept.any() else items


__all__ = ["OpportunityArrays", "Tally", "exposure_rows", "outcome_counts", "recorded"]
