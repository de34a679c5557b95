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
    """Each deal's account past (see the module); ``None`` without account or dates."""
    needed = {"account", "created_date", "close_date", "status"}
    if not needed <= set(frame.columns) or frame["account"].isna().all():
        return None
    created = pd.to_datetime(frame["created_date"])
    closed = frame[frame["status"].isin(["won", "lost"]) & frame["close_date"].notna()]
    events = pd.DataFrame(
        {
            "account": closed["account"].astype(str),
            "when": pd.to_datetime(closed["close_date"]),
            "won": (closed["status"] == "won").astype(int),
        }
    ).sort_values(["when", "account"], kind="stable")
    events["closed_n"] = events.groupby("account").cumcount() + 1
    events["won_n"] = events.groupby("account")["won"].cumsum()
    deals = pd.DataFrame(
        {"account": frame["account"].astype(str), "when": created, "row": np.arange(len(frame))}
    )
    known = deals[deals["when"].notna() & frame["account"].notna().to_numpy()]
    merged = pd.merge_asof(
        known.sort_values("when", kind="stable"),
        events[["account", "when", "closed_n", "won_n"]],
        on="when",
        by="account",
        allow_exact_matches=False,
    )
    label = np.where(
        merged["closed_n"].fillna(0) == 0,
        "first deal",
        np.where(merged["won_n"].fillna(0) > 0, "won before", "lost before"),
    )
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    out.iloc[merged["row"].to_numpy()] = label
    return out


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
