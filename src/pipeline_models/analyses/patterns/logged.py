"""The patterns report's parts read from the CRM's own stage history, when the run was given one.

With a stage history (:mod:`.history`) the report does not infer moves from two exports: stage
conversion counts every deal's real moves over :data:`HISTORY_WINDOW_MONTHS`, time in stage is
measured on each visit (ongoing visits censored), and slippage counts every push of a deal's
expected close date and every change of its amount, not just the one two exports can show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns import charts, stages
from pipeline_models.analyses.patterns.fields import OPEN
from pipeline_models.analyses.patterns.history import (
    history_moves,
    history_time_in_stage,
    slippage,
    slippage_summary,
)
from pipeline_models.analyses.patterns.narrative import interval_text
from pipeline_models.analyses.patterns.tables import (
    conversion_display,
    conversion_grid,
    deal_list,
)
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.present.formats import format_count, format_money, format_pct

HISTORY_WINDOW_MONTHS = 12
"""Months of stage history the conversion and time in stage are read over: a year holds enough
moves for every stage of a typical pipeline and still describes the process as it runs now."""

PUSHED_TWICE = 2
"""Pushes of the expected close date that list an open deal: one push is routine, a second makes
a pattern a manager should see."""

_PCT = f"{INTERVAL:.0%} interval"


def window_start(as_of: pd.Timestamp) -> pd.Timestamp:
    """The day before the history window opens."""
    return pd.Timestamp(as_of).normalize() - pd.DateOffset(months=HISTORY_WINDOW_MONTHS)


def logged_conversion(
    history: pd.DataFrame, frame: pd.DataFrame, order, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Moves, stage conversion and time in stage over the history window.

    Returns
    -------
    (moves, conversion, dwell)
        ``moves`` as :func:`.history.history_moves`; ``conversion`` as
        :func:`.stages.stage_conversion` with ``months_in_stage`` (and its interval) measured on
        the visits (:func:`.history.history_time_in_stage`) instead of inferred from exits;
        ``dwell`` the time-in-stage table itself.
    """
    since = window_start(as_of)
    moves = history_moves(history, frame, order, as_of, since)
    conversion = stages.stage_conversion(moves, order, float((as_of - since).days))
    dwell = history_time_in_stage(history, frame, order, as_of, since=since)
    days = dwell.set_index(dwell["stage"].astype(str))
    key = conversion["stage"].astype(str)
    for months, col in (
        ("months_in_stage", "days_in_stage"),
        ("months_lower", "days_lower"),
        ("months_upper", "days_upper"),
    ):
        conversion[months] = key.map(days[col]).to_numpy(dtype=float) / DAYS_PER_MONTH
    return moves, conversion, dwell


def dwell_display(dwell: pd.DataFrame) -> pd.DataFrame:
    """Time in stage for readers: visits, the median and the mean with its interval."""
    median = dwell["median_days"]
    mean = interval_text(dwell["days_in_stage"], dwell["days_lower"], dwell["days_upper"], "days")
    return pd.DataFrame(
        {
            "Stage": dwell["stage"].astype(str).to_numpy(),
            "Visits": dwell["visits"].map(format_count).to_numpy(),
            "Still there": dwell["ongoing"].map(format_count).to_numpy(),
            "Median days": [
                "more than half still there" if pd.isna(m) else format_count(m) for m in median
            ],
            f"Mean days ({_PCT})": mean.replace("", "no visit").to_numpy(),
        }
    )


def pushed_deals(slips: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """Open deals pushed at least :data:`PUSHED_TWICE` times for readers: most pushes first, the
    largest first among deals pushed as often."""
    open_ = slips[(slips["status"].astype(str) == OPEN) & (slips["pushes"] >= PUSHED_TWICE)]
    cols = [c for c in ("owner", "opportunity_id", "product", "stage") if c in open_]
    out = open_[cols].rename(columns={"opportunity_id": "deal"}).copy()
    out["amount"] = open_["amount"]
    out["pushes"] = open_["pushes"].astype(int)
    out["days pushed"] = open_["days_pushed"].astype(int)
    out["first expected close"] = pd.to_datetime(open_["first_close_date"]).dt.date
    out["expected close now"] = pd.to_datetime(open_["last_close_date"]).dt.date
    value = open_["amount"].fillna(0).to_numpy(dtype=float)
    order = np.lexsort((-value, -open_["pushes"].to_numpy()))
    return deal_list(out.iloc[order], currency)


def add_stage_parts(content, logged, frame, order, as_of, max_rows, figure, currency="") -> None:
    """The stage conversion and time-in-stage parts from ``logged``, what
    :func:`logged_conversion` gives."""
    moves, conversion, dwell = logged
    deals = moves["opportunity_id"].nunique()
    if deals == 0:
        content.add_note(
            "stages",
            "The stage history holds no move through the open stages ({how}) in the "
            "{months} months to {day}: stage conversion cannot be shown.",
            how=order.describe(),
            months=HISTORY_WINDOW_MONTHS,
            day=as_of.date(),
        )
        return
    content.add_note(
        "stages",
        "Stage conversion and time in stage come from the CRM's stage history: the real moves "
        "of {deals} deals through the open stages over the {months} months to {day}. Stages are "
        "ordered by {how}.",
        deals=format_count(deals),
        months=HISTORY_WINDOW_MONTHS,
        day=as_of.date(),
        how=order.describe(),
    )
    content.add_chart(
        "conversion",
        figure(lambda: charts.plot_stage_conversion(conversion, currency=currency)),
        alt=charts.conversion_alt(conversion, f"over the last {HISTORY_WINDOW_MONTHS} months"),
    )
    content.add_table(
        "conversion",
        conversion_display(conversion, currency, with_months=False),
        f"Stage conversion over the last {HISTORY_WINDOW_MONTHS} months, from the stage history "
        f"(pooled estimates with {_PCT}s)",
    )
    content.add_table(
        "time_in_stage",
        dwell_display(dwell),
        "Time in stage, measured on every visit (visits still under way count as at least as "
        f"long as they have lasted; the mean with its {_PCT})",
    )
    gap_days = float((as_of - window_start(as_of)).days)
    for by, rows in (("product", 50), ("owner", max_rows)):
        if frame[by].notna().any():
            table = stages.stage_conversion(moves, order, gap_days, by=by)
            content.add_table(
                f"conversion_by_{by}",
                conversion_grid(table, by, conversion),
                f"Conversion by {by} (pooled estimates with {_PCT}s; * differs from the stage's "
                "overall rate)",
                max_rows=rows,
                empty=f"No deal of a known {by} left a stage in the period.",
            )


def add_slippage_parts(content, history, frame, as_of, currency, max_rows) -> pd.DataFrame:
    """Every push of an open deal's expected close date and every change of its amount."""
    slips = slippage(history, frame, as_of)
    summary = slippage_summary(slips)
    # the download lists the open deals, the ones a manager can still act on
    content.files["slippage"] = slips[slips["status"].astype(str) == OPEN].reset_index(drop=True)
    if summary.empty:
        content.add_note(
            "slippage", "The stage history records no open deal: no slippage can be counted."
        )
        return slips
    row = summary.iloc[0]
    median = row["median_days_pushed"]
    content.add_note(
        "slippage",
        "From the stage history: of {n} open deals, {once} had their expected close date pushed "
        "at least once and {twice} at least twice{median}; {changed} had their amount changed "
        "(net {net}).",
        n=format_count(row["open_deals"]),
        once=format_pct(row["share_pushed_1"]),
        twice=format_pct(row["share_pushed_2"]),
        median="" if pd.isna(median) else f" (a median of {format_count(median)} days in all)",
        changed=format_pct(row["share_amount_changed"]),
        net=format_money(row["net_amount_change"], currency),
    )
    content.add_table(
        "pushed",
        pushed_deals(slips, currency),
        f"Open deals pushed {PUSHED_TWICE} times or more, most pushes first, then largest",
        max_rows=max_rows,
        empty=f"No open deal had its expected close date pushed {PUSHED_TWICE} times or more.",
    )
    return slips


__all__ = [
    "HISTORY_WINDOW_MONTHS",
    "PUSHED_TWICE",
    "add_slippage_parts",
    "add_stage_parts",
    "dwell_display",
    "logged_conversion",
    "pushed_deals",
    "window_start",
]
