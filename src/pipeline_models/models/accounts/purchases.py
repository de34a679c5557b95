"""What each account bought and is buying: its segment, won deals and open deals by product,
read once from the canonical opportunities table as known at a date; and why a table cannot
support the account model.

A deal is known at ``as_of`` when it was created by then (a deal without a creation date counts
as known). It is *won* when it closed won by ``as_of``, *open* when it is open or closed after
``as_of``. Deals without an account are left out; deals without a product count toward an
account's deals but not toward its product mix.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import ALL_LEVEL, DAYS_PER_MONTH, NONE_LEVEL

SEGMENT_COLUMNS = ("segment", "region")
"""Where an account's segment is read: the first of these columns that holds values."""


def _has_values(frame: pd.DataFrame, column: str) -> bool:
    return column in frame and bool(frame[column].notna().any())


def segment_column(frame: pd.DataFrame) -> str | None:
    """The column accounts are grouped by: ``segment``, else ``region``, else none (one segment)."""
    return next((c for c in SEGMENT_COLUMNS if _has_values(frame, c)), None)


def horizon_start(as_of: pd.Timestamp | str, horizon_months: int) -> pd.Timestamp:
    """The date ``horizon_months`` before ``as_of``: where the window the chance to buy is
    learned from begins."""
    return pd.Timestamp(as_of).normalize() - pd.DateOffset(months=horizon_months)


def refusal(
    frame: pd.DataFrame, as_of: pd.Timestamp | str | None = None, horizon_months: int = 12
) -> str | None:
    """Why the account model cannot be fitted on ``frame``, in one plain sentence (``None``: it
    can). Without ``as_of`` only the columns and the won deals are checked."""
    what = "so no account's next purchase can be estimated"
    if not _has_values(frame, "account"):
        return f"the export records no account on any deal, {what}"
    if not _has_values(frame, "product"):
        return f"the export records no product on any deal, {what}"
    won = (frame["status"].astype("string") == "won") & frame["account"].notna()
    won &= frame["product"].notna()
    if as_of is not None:
        cutoff = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
        won &= (pd.to_datetime(frame["close_date"]) < cutoff).fillna(False)
    if not bool(won.any()):
        return f"the export holds no won deal with an account and a product, {what}"
    if as_of is not None:
        start = horizon_start(as_of, horizon_months)
        first = _start_dates(frame[frame["account"].notna()])
        if not bool((first <= start).any()):
            return (
                f"the export holds no deal of an account before {start.date()}, "
                f"{horizon_months} months before its end, so the chance that an account buys "
                f"within {horizon_months} months cannot be estimated"
            )
    return None


def _start_dates(frame: pd.DataFrame) -> pd.Series:
    """When each deal was first known: its creation date, else its close date."""
    return pd.to_datetime(frame["created_date"]).fillna(pd.to_datetime(frame["close_date"]))


@dataclass(frozen=True)
class Purchases:
    """Accounts (sorted) with their segment, and their deals by product (rows: accounts)."""

    accounts: list[str]
    segments: list[str]
    segment_of: np.ndarray
    """Code (index into ``segments``) of each account's segment."""
    products: list[str]
    won: np.ndarray
    """Won deals by account and product (accounts x products)."""
    open: np.ndarray
    """Open deals by account and product."""
    weighted: np.ndarray
    """What the mix is fitted on: won deals (weighted by recency) plus ``open_weight`` per open."""
    deals_won: np.ndarray
    """Won deals of each account, with or without a product."""
    open_deals: np.ndarray
    """Open deals of each account, with or without a product."""
    segment_column: str | None
    open_weight: float

    def digest(self) -> str:
        """SHA-256 of what the model is fitted on (labels and counts)."""
        h = hashlib.sha256()
        for labels in (self.accounts, self.segments, self.products):
            h.update("\x1f".join(labels).encode())
        for values in (self.segment_of, self.won, self.open, self.weighted):
            h.update(np.ascontiguousarray(values, dtype=float).tobytes())
        return h.hexdigest()


def _account_segments(rows: pd.DataFrame, column: str | None) -> pd.Series:
    """Each account's segment: the most frequent value on its deals (ties: the first by name)."""
    accounts = rows["account"].astype(str)
    if column is None:
        return pd.Series(ALL_LEVEL, index=sorted(accounts.unique()))
    values = rows[column].astype("string").fillna(NONE_LEVEL).astype(str)
    counts = pd.DataFrame({"account": accounts, "segment": values}).value_counts().reset_index()
    counts = counts.sort_values(["account", "count", "segment"], ascending=[True, False, True])
    return counts.drop_duplicates("account").set_index("account")["segment"].sort_index()


def _by_product(
    accounts: pd.Series, products: pd.Series, weight: np.ndarray, rows: list[str], cols: list[str]
) -> np.ndarray:
    """Sum of ``weight`` by account (``rows``) and product (``cols``); other products dropped."""
    i = pd.Index(rows).get_indexer(accounts)
    j = pd.Index(cols).get_indexer(products.astype("string").fillna(""))
    keep = (i >= 0) & (j >= 0)
    out = np.zeros((len(rows), len(cols)))
    np.add.at(out, (i[keep], j[keep]), weight[keep])
    return out


def _recency(close: pd.Series, as_of: pd.Timestamp, half_life_months: float | None) -> np.ndarray:
    if half_life_months is None:
        return np.ones(len(close))
    age = (as_of - close).dt.days.to_numpy(dtype=float, na_value=0.0)
    return 0.5 ** (np.maximum(age, 0.0) / (half_life_months * DAYS_PER_MONTH))


def account_purchases(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    open_weight: float | None = None,
    half_life_months: float | None = None,
) -> Purchases:
    """Every account's segment and deals by product at ``as_of`` (see the module doc); the input
    is not modified.

    ``open_weight``: what an open deal counts in the mix, as a share of a won deal (``None``: the
    export's win rate of deals closed by ``as_of``). ``half_life_months``: a won deal that old
    counts half (``None``: every won deal counts one).
    """
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = as_of + pd.Timedelta(days=1)
    rows = frame[frame["account"].notna()]
    created, close = pd.to_datetime(rows["created_date"]), pd.to_datetime(rows["close_date"])
    rows = rows[~(created >= cutoff).to_numpy(dtype=bool)]
    close = close.loc[rows.index]
    status = rows["status"].astype("string")
    closed_by = (close < cutoff).to_numpy(dtype=bool, na_value=False)
    won = (status == "won").to_numpy(dtype=bool, na_value=False) & closed_by
    lost = (status == "lost").to_numpy(dtype=bool, na_value=False) & closed_by
    is_open = ~(won | lost)
    column = segment_column(rows)
    segment = _account_segments(rows, column)
    accounts = segment.index.tolist()
    products = sorted(rows.loc[won, "product"].dropna().astype(str).unique())
    if open_weight is None:
        open_weight = float(won.sum() / max(won.sum() + lost.sum(), 1))
    names = rows["account"].astype(str)
    ones = np.ones(len(rows))
    won_counts = _by_product(names[won], rows.loc[won, "product"], ones[won], accounts, products)
    open_counts = _by_product(
        names[is_open], rows.loc[is_open, "product"], ones[is_open], accounts, products
    )
    recency = _recency(close[won], as_of, half_life_months)
    weighted = _by_product(names[won], rows.loc[won, "product"], recency, accounts, products)
    segments = sorted(segment.unique())
    per_account = pd.Index(accounts)
    return Purchases(
        accounts=accounts,
        segments=segments,
        segment_of=pd.Index(segments).get_indexer(segment.to_numpy()),
        products=products,
        won=won_counts,
        open=open_counts,
        weighted=weighted + open_weight * open_counts,
        deals_won=names[won].value_counts().reindex(per_account, fill_value=0).to_numpy(),
        open_deals=names[is_open].value_counts().reindex(per_account, fill_value=0).to_numpy(),
        segment_column=column,
        open_weight=open_weight,
    )


__all__ = [
    "SEGMENT_COLUMNS",
    "Purchases",
    "account_purchases",
    "horizon_start",
    "refusal",
    "segment_column",
]
