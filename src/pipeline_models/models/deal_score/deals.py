"""What a canonical opportunities table tells the deal score, without leaking the outcome.

- ``account past``: for each deal, what its account had done *before the deal was created*:
  ``first deal`` (no deal of the account had closed), ``won before`` or ``lost before`` (deals
  had closed, none won). Deals closed on the day the deal was created do not count.
- Whether amounts may be read at all: many CRMs rewrite a deal's amount when it closes (a lost
  deal's amount set to zero or cleared, a won deal's set to the signed value). Where lost deals
  or open deals carry an amount far less often than won deals, the amount is a close-time field
  and the score leaves it out, saying why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ACCOUNT_PAST = "account past"
AMOUNT_SHARE = 0.5
"""Amounts count as close-time when lost (or open) deals carry one less than half as often as
won deals do."""


def account_past(frame: pd.DataFrame) -> pd.Series | None:
    """Each deal's account past (see the module); ``None`` without account or dates.

    Closes and creations are put on one clock (their distinct times ranked together), so an
    account and a time make one sortable integer: a deal's closes before it are a search in the
    account's sorted closes, and its wins a difference of running sums.
    """
    needed = {"account", "created_date", "close_date", "status"}
    if not needed <= set(frame.columns) or frame["account"].isna().all():
        return None
    account, _ = pd.factorize(frame["account"].astype("string"))  # -1: no account
    account = account.astype(np.int64)
    created = pd.to_datetime(frame["created_date"]).to_numpy("datetime64[ns]")
    close = pd.to_datetime(frame["close_date"]).to_numpy("datetime64[ns]")
    status = frame["status"].to_numpy(dtype=object, na_value=None)
    closed = ((status == "won") | (status == "lost")) & ~np.isnat(close) & (account >= 0)
    ticks = _ticks(np.concatenate([close[closed], created]))
    n_closed = int(closed.sum())
    span = int(ticks.max(initial=0)) + 2
    event_key = account[closed] * span + ticks[:n_closed]
    order = np.argsort(event_key, kind="stable")
    event_key = event_key[order]
    wins = np.concatenate([[0], np.cumsum((status[closed] == "won")[order])])
    created_tick = ticks[n_closed:]
    deal = (account >= 0) & (created_tick >= 0)
    first = np.searchsorted(event_key, account[deal] * span, side="left")
    before = np.searchsorted(event_key, account[deal] * span + created_tick[deal], side="left")
    label = np.where(
        before == first,
        "first deal",
        np.where(wins[before] > wins[first], "won before", "lost before"),
    )
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    out.iloc[np.flatnonzero(deal)] = label
    return out


def _ticks(times: np.ndarray) -> np.ndarray:
    """Each time's rank among the distinct times (``-1`` where unknown)."""
    known = ~np.isnat(times)
    _, rank = np.unique(times[known], return_inverse=True)
    ticks = np.full(len(times), -1, dtype=np.int64)
    ticks[known] = rank.ravel()
    return ticks


def with_account_past(deals: pd.DataFrame, opportunities: pd.DataFrame | None = None):
    """``deals`` as the deal score reads them: a copy with each deal's ``account past``, read
    from the closes of ``opportunities`` (the whole export the deals come from; ``deals`` itself
    when ``None``). A table that already has the column is copied as it is."""
    out = deals.copy()
    if ACCOUNT_PAST in out:
        return out
    source = deals if opportunities is None else opportunities
    past = account_past(source)
    if past is None:
        return out
    by_id = pd.Series(past.to_numpy(), index=source["opportunity_id"].astype(str).to_numpy())
    out[ACCOUNT_PAST] = deals["opportunity_id"].astype(str).map(by_id).astype("string")
    return out


def amount_reason(frame: pd.DataFrame, column: str = "amount") -> str | None:
    """Why the amounts of ``frame`` cannot score a deal, or ``None`` when they can."""
    if column not in frame:
        return "the export has no amounts"
    positive = pd.to_numeric(frame[column], errors="coerce").fillna(0) > 0
    status = frame["status"]
    share = {
        s: float(positive[status == s].mean())
        for s in ("won", "lost", "open")
        if (status == s).any()
    }
    won = share.get("won", 0.0)
    if won == 0:
        return "no won deal carries an amount"
    if "lost" in share and share["lost"] < AMOUNT_SHARE * won:
        return (
            f"{share['lost']:.0%} of lost deals carry an amount against {won:.0%} of won deals: "
            "the amount is set when a deal closes, so it would reveal the outcome"
        )
    if "open" in share and share["open"] < AMOUNT_SHARE * won:
        return (
            f"{share['open']:.0%} of open deals carry an amount against {won:.0%} of won deals: "
            "the amount is entered at closing, so it cannot score an open deal"
        )
    return None


__all__ = ["ACCOUNT_PAST", "account_past", "amount_reason", "with_account_past"]
