"""What changed between two exports: each deal's change, the open pipeline's waterfall, slips.

A deal is followed by its ``opportunity_id`` from the previous export to the current one. Amounts
in the change waterfall are summed in integer cents, so the bars balance exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.fields import (
    GROUPS,
    LOST,
    OPEN,
    WON,
    amount_cents,
    deal_status,
    open_deals,
)
from pipeline_models.analyses.patterns.stages import StageOrder, stage_moves
from pipeline_models.contract.period import export_date

CHANGE_ORDER = (
    "new open",
    "new won",
    "new lost",
    "reopened",
    "open in both",
    "won",
    "lost",
    "removed",
    "closed before",
)
"""Every kind of change of a deal, in the order tables list them."""

_KEEP = ["opportunity_id", "created_date", "close_date", "stage", "status", "amount"]


def _prepared(frame: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The columns a comparison reads, with text ids, a status for every deal and cents."""
    out = frame[_KEEP + [c for c in groups if c in frame]].copy()
    out["opportunity_id"] = out["opportunity_id"].astype("string").astype(object)
    out["status"] = deal_status(out)
    out["cents"] = amount_cents(out["amount"])
    return out


def _merged(previous: pd.DataFrame, current: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Both exports side by side (suffixes ``_prev`` / ``_cur``), one row per deal in either;
    a deal's groups are the current ones, else the previous ones."""
    prev, cur = _prepared(previous, groups), _prepared(current, groups)
    if prev["opportunity_id"].duplicated().any() or cur["opportunity_id"].duplicated().any():
        raise ValueError("opportunity ids must be unique within each export")
    merged = prev.merge(cur, on="opportunity_id", how="outer", suffixes=("_prev", "_cur"))
    for g in groups:
        then = merged[f"{g}_prev"] if f"{g}_prev" in merged else pd.Series(pd.NA, merged.index)
        merged[g] = merged[f"{g}_cur"].astype(object).where(merged[f"{g}_cur"].notna(), then)
    return merged


def _change_kind(merged: pd.DataFrame) -> np.ndarray:
    """Each merged deal's kind of change (one of :data:`CHANGE_ORDER`)."""
    in_prev = merged["status_prev"].notna()
    in_cur = merged["status_cur"].notna()
    sp, sc = merged["status_prev"], merged["status_cur"]
    return np.select(
        [
            ~in_prev & (sc == OPEN),
            ~in_prev & (sc == WON),
            ~in_prev & (sc == LOST),
            (sp != OPEN) & in_prev & (sc == OPEN),
            (sp == OPEN) & (sc == OPEN),
            (sp == OPEN) & (sc == WON),
            (sp == OPEN) & (sc == LOST),
            (sp == OPEN) & ~in_cur,
        ],
        list(CHANGE_ORDER[:-1]),
        "closed before",
    )


def compare_exports(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    order: StageOrder,
) -> pd.DataFrame:
    """One row per deal in either export: what it was, what it is, and what changed.

    ``change`` is one of ``new open`` / ``new won`` / ``new lost`` (not in the previous export),
    ``reopened`` (closed then, open now), ``open in both``, ``won`` / ``lost`` (open then, closed
    now), ``removed`` (open then, absent now) and ``closed before`` (closed then; nothing to
    follow). For deals open in both: ``stage_step`` (positions moved in the stage order, negative
    backwards), ``close_shift_days`` (expected close date now minus then) and ``amount_delta``
    in cents. ``cents_prev`` / ``cents_cur`` are the amounts in integer cents (missing = 0).
    """
    groups = [c for c in GROUPS if c in current]
    merged = _merged(previous, current, groups)
    change = _change_kind(merged)
    both = change == "open in both"
    step = np.array([order.index(s) for s in merged["stage_cur"]]) - np.array(
        [order.index(s) for s in merged["stage_prev"]]
    )
    shift = (
        pd.to_datetime(merged["close_date_cur"]) - pd.to_datetime(merged["close_date_prev"])
    ).dt.days
    out = pd.DataFrame(
        {
            "opportunity_id": merged["opportunity_id"],
            **{g: merged[g] for g in groups},
            "change": pd.Categorical(change, categories=list(CHANGE_ORDER)),
            "created_date": merged["created_date_cur"].fillna(merged["created_date_prev"]),
            "stage_prev": merged["stage_prev"],
            "stage_cur": merged["stage_cur"],
            "status_prev": merged["status_prev"],
            "status_cur": merged["status_cur"],
            "amount_prev": merged["amount_prev"],
            "amount_cur": merged["amount_cur"],
            "cents_prev": merged["cents_prev"].fillna(0).astype(np.int64),
            "cents_cur": merged["cents_cur"].fillna(0).astype(np.int64),
            "close_prev": merged["close_date_prev"],
            "close_cur": merged["close_date_cur"],
            "stage_step": np.where(both, step, np.nan),
            "close_shift_days": shift.where(both),
        }
    )
    out["amount_delta"] = np.where(both, out["cents_cur"] - out["cents_prev"], 0).astype(np.int64)
    return out.sort_values(["change", "opportunity_id"], ignore_index=True)


@dataclass(frozen=True)
class ExportComparison:
    """The current export against the previous one: per-deal changes and stage moves."""

    previous_day: pd.Timestamp
    gap_days: float
    changes: pd.DataFrame
    moves: pd.DataFrame


def compare(
    previous: pd.DataFrame | None,
    current: pd.DataFrame,
    order: StageOrder,
    as_of: pd.Timestamp | str,
) -> ExportComparison | None:
    """Compare two exports (``None`` without a previous one). The previous export's date is its
    latest creation or actual close date (:func:`~pipeline_models.contract.period.export_date`);
    ``as_of`` is the current one's."""
    if previous is None:
        return None
    day = export_date(previous)
    gap = float((pd.Timestamp(as_of) - day).days)
    if gap <= 0:
        raise ValueError(
            f"the previous export ({day.date()}) is not older than this one ({pd.Timestamp(as_of).date()})"
        )
    changes = compare_exports(previous, current, order)
    return ExportComparison(day, gap, changes, stage_moves(changes, order))


def waterfall(changes: pd.DataFrame) -> pd.DataFrame:
    """From last export's open pipeline to this one's, in integer cents; the bars balance exactly.

    ``open last time + new open deals + reopened + amount raised + amount cut - won - lost -
    removed = open now``, where

    - *new open deals*: deals not in the previous export and open now, at their amount now;
    - *reopened*: closed in the previous export and open now, at their amount now;
    - *amount raised* / *cut*: for deals open in both, the amount now minus then, positive and
      negative changes summed apart (a missing amount counts 0, so a first-recorded amount is a
      raise);
    - *won*, *lost*, *removed*: deals open last time that were won, lost or are no longer in the
      export, at their amount LAST time (a won deal's final amount may differ; the difference is
      not pipeline).

    Returns
    -------
    pandas.DataFrame
        Columns ``bar, kind, deals, cents, amount``: ``kind`` is ``total`` or ``step``; ``cents``
        integer, ``amount = cents / 100``. The first and last rows are the totals.
    """
    c = changes["change"].astype(str)
    delta = changes["amount_delta"].to_numpy()
    both = (c == "open in both").to_numpy()

    def part(mask: np.ndarray, cents: np.ndarray, sign: int = 1) -> tuple[int, int]:
        return int(mask.sum()), sign * int(cents[mask].sum())

    prev_open = (changes["status_prev"] == OPEN).to_numpy()
    cur_open = (changes["status_cur"] == OPEN).to_numpy()
    cp, cc = changes["cents_prev"].to_numpy(), changes["cents_cur"].to_numpy()
    rows = [
        ("open last time", "total", *part(prev_open, cp)),
        ("new open deals", "step", *part((c == "new open").to_numpy(), cc)),
        ("reopened", "step", *part((c == "reopened").to_numpy(), cc)),
        ("amount raised", "step", *part(both & (delta > 0), delta)),
        ("amount cut", "step", *part(both & (delta < 0), delta)),
        ("won", "step", *part((c == "won").to_numpy(), cp, -1)),
        ("lost", "step", *part((c == "lost").to_numpy(), cp, -1)),
        ("removed from export", "step", *part((c == "removed").to_numpy(), cp, -1)),
        ("open now", "total", *part(cur_open, cc)),
    ]
    out = pd.DataFrame(rows, columns=["bar", "kind", "deals", "cents"])
    steps = int(out.loc[out["kind"] == "step", "cents"].sum())
    if out["cents"].iloc[0] + steps != out["cents"].iloc[-1]:  # cannot happen: a broken invariant
        raise AssertionError("waterfall does not balance")
    out["amount"] = out["cents"] / 100
    return out


def change_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """Deals and amount behind each kind of change since the previous export.

    Amounts: the amount now for new, reopened and moved deals; the amount last time for deals won,
    lost or removed; the change in amount for raised/cut amounts.
    """
    c = changes["change"].astype(str)
    both = c == "open in both"
    step = changes["stage_step"]
    shift = changes["close_shift_days"]
    delta = changes["amount_delta"]
    cur, prev = changes["cents_cur"], changes["cents_prev"]
    rows = [
        ("new deals, still open", c == "new open", cur),
        ("new deals, already won", c == "new won", cur),
        ("new deals, already lost", c == "new lost", cur),
        ("won", c == "won", prev),
        ("lost", c == "lost", prev),
        ("removed from export", c == "removed", prev),
        ("reopened", c == "reopened", cur),
        ("close date pushed later", both & (shift > 0), cur),
        ("close date pulled in", both & (shift < 0), cur),
        ("amount raised", both & (delta > 0), delta),
        ("amount cut", both & (delta < 0), delta),
        ("stage forward", both & (step > 0), cur),
        ("stage back", both & (step < 0), cur),
        ("no change in stage", both & (step == 0), cur),
    ]
    return pd.DataFrame(
        [
            {"change": name, "deals": int(mask.sum()), "amount": float(values[mask].sum()) / 100}
            for name, mask, values in rows
        ]
    ).set_index("change")


def slipping_deals(
    changes: pd.DataFrame,
    previous_as_of: pd.Timestamp | str,
    min_push_days: int = 31,
) -> pd.DataFrame:
    """Open deals whose expected close date slipped badly between the two exports.

    With two exports one push is seen; a deal pushed by more than ``min_push_days`` (more than a
    month) or pushed although its expected close date had already passed at the previous export
    (``overdue``) has slipped more than once in all likelihood. Sorted by amount, largest first.
    """
    prev_day = pd.Timestamp(previous_as_of)
    both = changes["change"].astype(str) == "open in both"
    shift = changes["close_shift_days"]
    overdue = pd.to_datetime(changes["close_prev"]) < prev_day
    long_push = shift > min_push_days
    flagged = both & (shift > 0) & (long_push | overdue)
    out = changes.loc[flagged].copy()
    reason = np.where(
        long_push[flagged] & overdue[flagged],
        "pushed over a month, already overdue",
        np.where(long_push[flagged], "pushed over a month", "pushed while overdue"),
    )
    cols = [c for c in ("owner", "opportunity_id", "product", "stage_cur") if c in out]
    table = out[cols].rename(columns={"stage_cur": "stage", "opportunity_id": "deal"})
    table["amount"] = out["amount_cur"]
    table["close date last time"] = pd.to_datetime(out["close_prev"]).dt.date
    table["close date now"] = pd.to_datetime(out["close_cur"]).dt.date
    table["pushed by (days)"] = shift[flagged].astype(int)
    table["why flagged"] = reason
    return table.sort_values(["amount", "pushed by (days)"], ascending=False, ignore_index=True)


def overdue_deals(frame: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """Open deals whose expected close date lies before ``as_of`` (one export suffices)."""
    as_of = pd.Timestamp(as_of)
    open_ = open_deals(frame)
    close = pd.to_datetime(open_["close_date"], errors="coerce")
    late = open_[close < as_of]
    cols = [c for c in ("owner", "opportunity_id", "product", "stage", "amount") if c in late]
    out = late[cols].rename(columns={"opportunity_id": "deal"}).copy()
    out["expected close"] = close[close < as_of].dt.date
    out["days overdue"] = (as_of - close[close < as_of]).dt.days
    return out.sort_values(["amount", "days overdue"], ascending=False, ignore_index=True)


def same_stage(changes: pd.DataFrame) -> pd.Series:
    """Per deal open in both exports: True when its stage did not change (by ``opportunity_id``)."""
    both = changes[changes["change"].astype(str) == "open in both"]
    same = both["stage_prev"].astype(str).to_numpy() == both["stage_cur"].astype(str).to_numpy()
    return pd.Series(same, index=both["opportunity_id"].astype(str).to_numpy(), name="same stage")


__all__ = [
    "CHANGE_ORDER",
    "ExportComparison",
    "change_summary",
    "compare",
    "compare_exports",
    "overdue_deals",
    "same_stage",
    "slipping_deals",
    "waterfall",
]
