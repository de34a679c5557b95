"""The forecast report's tables: the leader's table by window, and their reader formatting.

Intervals of outcomes still to come are the planner's (:data:`~pipeline_models.analyses.policy.
FORECAST_QUANTILES`), beside the middle half of the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.baselines import shown_weighted_pipelines
from pipeline_models.analyses.forecast.deals import chance_column
from pipeline_models.analyses.forecast.window import quarter_window, run_rate
from pipeline_models.analyses.policy import FORECAST_INTERVAL, FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult, window_label
from pipeline_models.present.formats import format_count, format_money, format_pct

MIDDLE_HALF = (0.25, 0.75)
"""Quantiles of the narrower interval shown beside the planner's: half the outcomes fall inside."""

INTERVAL_NAME = f"{round(100 * FORECAST_INTERVAL)}"
"""Suffix of the columns holding the planner's interval (``revenue_80``)."""


def quantile_column(q: float) -> str:
    """The stored quantile column of level ``q`` (``0.1`` -> ``q10``)."""
    return f"q{int(round(q * 100)):02d}"


def _windows(
    result: ForecastResult, frame: pd.DataFrame, period: str
) -> list[tuple[str, int, float, float]]:
    """The table's windows: label, months, deals and revenue already won in it. The coming
    months one by one, and the quarter (with its wins so far) when its end is among them."""
    origin = result.origin
    quarter, remaining, q_start = quarter_window(period)
    windows = [
        (f"next {h} month{'s' if h > 1 else ''} ({window_label(origin, h)})", h, 0.0, 0.0)
        for h in result.horizons
    ]
    close = frame["close_date"]
    won = (
        frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
        & (close >= q_start).to_numpy(dtype=bool, na_value=False)
        & (close <= origin).to_numpy(dtype=bool, na_value=False)
    )
    if remaining in result.horizons:
        windows.append(
            (
                f"quarter {quarter} (incl. won so far)",
                remaining,
                float(won.sum()),
                float(np.nansum(frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won])),
            )
        )
    return windows


def forecast_table(
    result: ForecastResult,
    frame: pd.DataFrame,
    period: str,
    target_revenue: float | None = None,
) -> pd.DataFrame:
    """The leader's table: per window, deals and revenue won (median, the middle half and the
    planner's interval), the share from open deals (and from open leads, where the forecast
    read a leads table), the weighted pipeline and the run-rate
    beside them, and the chance of reaching ``target_revenue``.

    The weighted pipeline is the CRM's own where the export carries its probabilities (with
    ``revenue_commit`` and ``revenue_best_case`` where it carries forecast categories), else the
    workbench's estimate of it; ``attrs["weighted_pipeline"]`` says which (``"crm"`` or
    ``"estimate"``, :func:`~pipeline_models.analyses.forecast.baselines.shown_weighted_pipelines`).
    """
    origin = result.origin
    low, median, high = FORECAST_QUANTILES
    levels = [low, MIDDLE_HALF[0], median, MIDDLE_HALF[1], high]
    windows = _windows(result, frame, period)
    pipelines, source = shown_weighted_pipelines(frame, origin, tuple(h for _, h, _, _ in windows))
    rows = []
    for label, h, won_count, won_revenue in windows:
        wp = pipelines[h]
        rr = run_rate(frame, origin, h)
        row = {"window": label}
        for target, already in (("count", won_count), ("revenue", won_revenue)):
            total = result.draws[(h, target, "total")] + already
            q = np.quantile(total, levels)
            row[f"{target}_median"] = q[2]
            row[f"{target}_50"] = f"{format_count(q[1])} – {format_count(q[3])}"
            row[f"{target}_{INTERVAL_NAME}"] = f"{format_count(q[0])} – {format_count(q[4])}"
            open_share = np.median(result.draws[(h, target, "open")]) / max(np.median(total), 1e-9)
            row[f"{target}_from_open"] = min(open_share, 1.0)
            leads = result.draws.get((h, target, "leads"))
            if leads is not None and leads.any():
                row[f"{target}_from_leads"] = min(
                    np.median(leads) / max(np.median(total), 1e-9), 1.0
                )
            row[f"{target}_weighted_pipeline"] = wp[target] + already
            row[f"{target}_run_rate"] = rr[target] + already
        for total in ("commit", "best_case"):
            if total in wp:  # the CRM's open Commit / Best Case amounts, plus what is won
                row[f"revenue_{total}"] = wp[total] + won_revenue
        if target_revenue:
            total = result.draws[(h, "revenue", "total")] + won_revenue
            row["p_reach_target"] = float(np.mean(total >= target_revenue))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("window")
    table.attrs["weighted_pipeline"] = source  # "crm": the CRM's own; "estimate": the workbench's
    return table


def forecast_display(table: pd.DataFrame, target: str = "revenue") -> pd.DataFrame:
    """The columns of ``target`` (``revenue``, with the chance of reaching the target, or
    ``count``) of a :func:`forecast_table`, written for readers."""
    shown = table.copy()
    money = ("median", "pipeline", "run_rate", "commit", "best_case")
    for column in [c for c in shown if c.endswith(money)]:
        shown[column] = shown[column].map(format_count)
    for column in [
        c for c in shown if c.endswith(("from_open", "from_leads")) or c == "p_reach_target"
    ]:
        shown[column] = shown[column].map(format_pct)
    keep = [
        c for c in shown if c.startswith(target) or (target == "revenue" and c == "p_reach_target")
    ]
    return shown[keep]


def group_display(
    result: ForecastResult, column: str, horizon: int = 3, target: str = "revenue"
) -> pd.DataFrame:
    """Per level of ``column``: the median and the planner's interval of ``target`` won in the
    next ``horizon`` months, rounded to whole units."""
    low, median, high = FORECAST_QUANTILES
    by = result.group_summary(horizon, target, column)
    names = {
        quantile_column(low): f"low ({round(100 * low)}%)",
        quantile_column(median): "median",
        quantile_column(high): f"high ({round(100 * high)}%)",
    }
    return by[[column, *names]].rename(columns=names).round(0)


def age_band_display(bands: pd.DataFrame) -> pd.DataFrame:
    """An :func:`~pipeline_models.analyses.forecast.deals.age_band_table` for readers."""
    return bands.assign(mean_p_won=bands["mean_p_won"].map(format_pct))


def open_deals_display(deals: pd.DataFrame, horizon: int = 3, rows: int = 15) -> pd.DataFrame:
    """The ``rows`` open deals most likely to close won within ``horizon`` months, for readers."""
    column = chance_column(horizon)
    top = deals.head(rows)
    return top.assign(**{column: top[column].map(format_pct)})


def strength_display(table: pd.DataFrame, rows: int = 15, currency: str = "") -> pd.DataFrame:
    """The ``rows`` open deals of a :func:`~pipeline_models.analyses.forecast.strength.
    strength_table` most likely to be won this quarter, for readers: chances as percentages,
    amounts as money (blank without an amount), reasons as written."""
    quarter = table.attrs.get("quarter", "this quarter")
    top = table.head(rows)

    def money(values: pd.Series) -> list[str]:
        return ["" if pd.isna(v) else format_money(v, currency) for v in values]

    return pd.DataFrame(
        {
            "deal": top["opportunity_id"].astype(str),
            "product": top["product"],
            "owner": top["owner"],
            "stage": top["stage"],
            "amount": money(top["amount"]),
            "age (months)": top["age_months"].astype(int),
            f"chance won in {quarter}": top["p_quarter"].map(format_pct),
            "chance won, as scored at creation": top["p_won"].map(format_pct),
            f"expected value in {quarter}": money(top["expected_value"]),
            "what moves its score": top["reasons"],
        }
    ).reset_index(drop=True)


def format_scores(scores: pd.DataFrame) -> str:
    """The score table as aligned text for the terminal and notes."""
    shown = scores.copy()
    for column in ("wape", "bias", "coverage_50", "coverage_80"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    shown["crps"] = shown["crps"].map(lambda v: f"{v:,.1f}")
    return shown.to_string(index=False)


__all__ = [
    "INTERVAL_NAME",
    "MIDDLE_HALF",
    "age_band_display",
    "forecast_display",
    "forecast_table",
    "format_scores",
    "group_display",
    "open_deals_display",
    "quantile_column",
    "strength_display",
]
