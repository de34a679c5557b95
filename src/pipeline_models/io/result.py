"""What a load gives: the canonical table, what was understood, and what was wrong."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline_models.contract.problems import WARNING, Problem


@dataclass
class LoadResult:
    """A canonical table with what was understood and what was wrong.

    ``frame`` is the canonical opportunities (or leads) table; ``problems`` holds warnings (and,
    with ``on_bad_rows="skip"``, the row errors whose rows went to ``quarantine``); ``info`` says
    what was understood (encoding, delimiter, mapping, column sources, status counts, and
    ``rows``: the data records the file holds).
    """

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def warnings(self) -> list[Problem]:
        """The problems that did not stop the load."""
        return [p for p in self.problems if p.severity == WARNING]
