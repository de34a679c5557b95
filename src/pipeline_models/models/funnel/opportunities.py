"""The opportunities table as the funnel reads it: outcomes, lead sources, and the table as known
at a past date.

:class:`OpportunityTable` reads the columns once; :meth:`OpportunityTable.at` gives the
opportunities as known at a date, as the table rebuilt for that date by
:func:`~pipeline_models.data.asof.pipeline_as_of` would show them: the back-test derives every origin
from one read instead of copying the table at each.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import ALL_LEVEL, NONE_LEVEL
from pipeline_models.models.funnel.groups import DAY_NS, categorical, categories

OUTCOMES = ["won", "lost", "open"]
"""The outcomes of an opportunity at a date, in the order of their codes."""
WON, LOST, OPEN = 0, 1, 2


def known_sources(frame: pd.DataFrame, leads: pd.DataFrame | None) -> pd.Series:
    """Each opportunity's ``lead_source``, else its lead's source; missing where neither is known."""
    source = frame["lead_source"].astype("string")
    if leads is not None and len(leads) and source.isna().any():
        by_opp = leads.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
        by_opp = by_opp.set_index("opportunity_id")["source"].astype("string")
        by_lead = leads.drop_duplicates("lead_id").set_index("lead_id")["source"].astype("string")
        source = source.fillna(frame["opportunity_id"].map(by_opp))
        source = source.fillna(frame["lead_id"].map(by_lead))
    return source


def opportunity_sources(frame: pd.DataFrame, leads: pd.DataFrame | None) -> pd.Series:
    """Lead source of each opportunity: its ``lead_source``, else its lead's source, else (none);
    (all) for every opportunity when no source is known at all."""
    source = known_sources(frame, leads)
    if source.notna().sum() == 0:
        return pd.Series(ALL_LEVEL, index=frame.index, dtype="string")
    return source.fillna(NONE_LEVEL)


def source_codes(source: np.ndarray, labels: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes into ``labels + [(none), (all)]``: an unknown source (-1) where others are known is
    (none); with no source known at all, every item is (all)."""
    labels = [*labels, NONE_LEVEL, ALL_LEVEL]
    if (source >= 0).any():
        return np.where(source >= 0, source, len(labels) - 2), labels
    return np.full(len(source), len(labels) - 1), labels


class OpportunityTable:
    """The columns of an opportunities table that the funnel reads, read once."""

    def __init__(self, frame: pd.DataFrame, leads: pd.DataFrame | None):
        self.frame = frame
        self.created = frame["created_date"].to_numpy(dtype="datetime64[ns]")
        self.close = frame["close_date"].to_numpy(dtype="datetime64[ns]")
        self.dated, self.has_close = ~np.isnat(self.created), ~np.isnat(self.close)
        self.created_ns, self.close_ns = self.created.view(np.int64), self.close.view(np.int64)
        status = frame["status"].astype("string")
        self.status = np.select(
            [(status == "won").to_numpy(bool, na_value=False),
             (status == "lost").to_numpy(bool, na_value=False)],
            [WON, LOST],
            OPEN,
        )  # fmt: skip
        self.amount = frame["amount"].to_numpy(dtype=float)
        self.ids = frame["opportunity_id"].astype("string").array
        self.source, self.source_labels = categories(known_sources(frame, leads))
        self.product, self.product_labels = categories(frame["product"].astype("string"))
        self.undated_open = int(
            ((status == "open").to_numpy(bool, na_value=False) & np.isnat(self.created)).sum()
        )

    def at(
        self, as_of: pd.Timestamp, hide_open_amounts: bool, ids: bool = True
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """The opportunities created by the end of ``as_of`` (the ``opportunities`` table of
        :class:`~pipeline_models.models.funnel.items.FunnelItems`) and which rows of the table
        they are. ``hide_open_amounts``: deals still open then have no amount (their amount in
        the table is a later one); ``ids``: with the ``opportunity_id`` column (only leads need
        it)."""
        cutoff = (as_of + pd.Timedelta(days=1)).value
        rows = np.flatnonzero(self.dated & (self.created_ns < cutoff))
        created, close, status = self.created[rows], self.close[rows], self.status[rows]
        created_ns, close_ns = self.created_ns[rows], self.close_ns[rows]
        closed = (status != OPEN) & self.has_close[rows] & (close_ns < cutoff)
        outcome = np.where(closed, status, OPEN)
        source, labels = source_codes(self.source[rows], list(self.source_labels))
        product = self.product[rows]
        product_labels = [*self.product_labels, NONE_LEVEL]
        product = np.where(product >= 0, product, len(product_labels) - 1)
        amount = self.amount[rows]
        if hide_open_amounts:
            amount = np.where(closed, amount, np.nan)
        lag = np.where(closed, np.maximum((close_ns - created_ns) // DAY_NS, 0), -1)
        columns = {
            "opportunity_id": self.ids[rows] if ids else None,
            "source": categorical(source, labels),
            "product": categorical(product, product_labels),
            "created": created,
            "age": ((as_of.value - created_ns) // DAY_NS).astype(float),
            "outcome": pd.Categorical.from_codes(outcome, categories=OUTCOMES),
            "lag": np.where(closed, lag, np.nan),
            "close": np.where(closed, close, np.datetime64("NaT", "ns")),
            "amount": amount,
        }
        if not ids:
            del columns["opportunity_id"]
        return pd.DataFrame(columns), rows


__all__ = [
    "LOST",
    "OPEN",
    "OUTCOMES",
    "WON",
    "OpportunityTable",
    "known_sources",
    "opportunity_sources",
    "source_codes",
]
