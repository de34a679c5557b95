"""Why the forecast moved since last month's run: the change of one window's forecast split into
parts that add up exactly.

Both runs' ledgers (:mod:`~pipeline_models.analyses.forecast.ledger`) give every deal, the open
leads and the deals not yet created a value in each month. For the window's months, each item's
change (this run's value less last run's) goes to exactly one part, chosen by what happened to
the deal since: won, lost, gone from the export, its CRM close date pushed past the window, still
open (a month older, weighed with this month's rates), or created since; the open leads' and the
deals to come's rows form the last part. Every item is in one part, so the parts add up to the
change to the whole unit (cent or thousandth of a deal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.ledger import AGGREGATE_ITEMS, column
from pipeline_models.present.files import safe_cell

PARTS = {
    "won": "deals won since last month's run",
    "lost": "deals lost since",
    "removed": "deals no longer in the export",
    "slipped": "deals whose close date moved past the window",
    "reweighed": "deals still open, a month older, weighed with this month's rates",
    "created": "deals created since",
    "to_come": "open leads and deals still to come, estimated again",
}
"""The parts of a change, in the order a reader sees them, with their names."""


@dataclass(frozen=True)
class Attribution:
    """The change of one window's forecast between two runs, split into :data:`PARTS`.

    Values are whole units of the ledgers (cents of revenue, thousandths of a deal);
    ``after - before == sum(parts.values())`` always.
    """

    window: tuple[pd.Period, ...]
    metric: str
    before: int
    after: int
    parts: dict[str, int]
    deals: dict[str, int]
    """How many deals each part holds (the aggregate rows count none)."""

    @property
    def change(self) -> int:
        return self.after - self.before


def read_ledger(path) -> pd.DataFrame:
    """A ledger as its run wrote it (item names kept as the text they are)."""
    ledger = pd.read_csv(path, dtype={"item": str, "kind": str}, keep_default_na=False,
                         na_values={"amount": [""], "close_date": [""]})  # fmt: skip
    ledger["close_date"] = pd.to_datetime(ledger["close_date"], errors="coerce")
    return ledger


def covers(ledger: pd.DataFrame, metric: str, window: list[pd.Period]) -> bool:
    """Whether ``ledger`` has a column for every month of ``window``."""
    return all(column(metric, m) in ledger for m in window)


def _values(ledger: pd.DataFrame, metric: str, window: list[pd.Period]) -> pd.Series:
    columns = [column(metric, m) for m in window]
    values = ledger[columns].to_numpy(dtype=np.int64).sum(axis=1)
    return pd.Series(values, index=ledger["item"].to_numpy())


def attribute(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    frame: pd.DataFrame,
    window: list[pd.Period],
    metric: str = "revenue",
) -> Attribution:
    """Split the change of ``window``'s forecast from ``previous`` to ``current`` (two runs'
    ledgers); ``frame`` is the current run's canonical opportunities (what became of each deal)."""
    before, after = _values(previous, metric, window), _values(current, metric, window)
    aggregate = set(AGGREGATE_ITEMS.values())
    ids = frame["opportunity_id"].astype(str).map(safe_cell)
    status = dict(zip(ids, frame["status"].astype(str), strict=True))
    close_now = dict(zip(ids, frame["close_date"], strict=True))
    window_end = window[-1].end_time
    kinds = dict(zip(previous["item"], previous["kind"], strict=True))
    closes = dict(zip(previous["item"], previous["close_date"], strict=True))
    part_of: dict[str, str] = {}
    for item in before.index:
        if item in aggregate:
            part_of[item] = "to_come"
        elif item not in status:
            part_of[item] = "removed"
        elif status[item] in ("won", "lost"):
            part_of[item] = status[item]
        elif kinds[item] == "open" and _slipped(closes[item], close_now[item], window_end):
            part_of[item] = "slipped"
        else:
            part_of[item] = "reweighed"
    for item in after.index:
        part_of.setdefault(item, "to_come" if item in aggregate else "created")
    change = after.reindex(list(part_of), fill_value=0) - before.reindex(
        list(part_of), fill_value=0
    )
    parts = {name: 0 for name in PARTS}
    deals = {name: 0 for name in PARTS}
    for item, value in change.items():
        parts[part_of[item]] += int(value)
        # a deal already won before last run moved nothing: it is not counted as won since
        deals[part_of[item]] += item not in aggregate and kinds.get(item) != "won"
    return Attribution(tuple(window), metric, int(before.sum()), int(after.sum()), parts, deals)


def _slipped(close_before: object, close_now: object, window_end: pd.Timestamp) -> bool:
    """The CRM's close date was inside the window last time and is after it now."""
    if pd.isna(close_before) or pd.isna(close_now):
        return False
    return pd.Timestamp(close_before) <= window_end < pd.Timestamp(close_now)


__all__ = ["PARTS", "Attribution", "attribute", "covers", "read_ledger"]
