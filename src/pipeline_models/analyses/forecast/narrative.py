"""The forecast report's words: the headline figures and the warnings a reader sees first."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.tables import INTERVAL_NAME
from pipeline_models.analyses.policy import THIN_DEALS
from pipeline_models.contract.period import MIN_HISTORY_MONTHS
from pipeline_models.present.formats import format_money, format_pct


def headline_items(
    table: pd.DataFrame, quarter: str, target_revenue: float, currency: str = ""
) -> list[tuple[str, str]]:
    """The headline of a :func:`~pipeline_models.analyses.forecast.tables.forecast_table`:
    revenue next month with its interval, revenue in ``quarter`` (its last row) and the chance of
    reaching ``target_revenue`` there, as (figure, value) pairs."""
    next_month = table.iloc[0]
    quarter_row = table.iloc[-1]
    return [
        ("revenue next month (median)", format_money(next_month["revenue_median"], currency)),
        (f"{INTERVAL_NAME}% interval", next_month[f"revenue_{INTERVAL_NAME}"]),
        (f"revenue {quarter} (median)", format_money(quarter_row["revenue_median"], currency)),
        (
            f"P(reaching {format_money(target_revenue)} in {quarter})",
            format_pct(quarter_row.get("p_reach_target")),
        ),
    ]


def forecast_warnings(n_deals: int) -> list[str]:
    """Warnings about the forecast's data: fewer than :data:`~pipeline_models.analyses.policy.
    THIN_DEALS` deals with a creation date make it uncertain."""
    if n_deals < THIN_DEALS:
        return [f"Only {n_deals} deals with a creation date: the forecast is uncertain."]
    return []


def weighted_pipeline_label(source: str) -> str:
    """Whose weighted pipeline the forecast table shows: ``"crm"`` (the CRM's own, from its
    probabilities) or ``"estimate"`` (the workbench's estimate of it)."""
    if source == "crm":
        return "weighted pipeline: the CRM's own, amount x the CRM's probability of open deals"
    return (
        "weighted pipeline: the workbench's estimate of it, open amount x the win rate of closed "
        "deals (the export carries no CRM probability)"
    )


def track_warnings(track: pd.DataFrame) -> list[str]:
    """Warnings about the track record: none scored when no origin had enough history."""
    if len(track):
        return []
    return [
        "Too little history for a track record (fewer than "
        f"{MIN_HISTORY_MONTHS} months of closes before the origins)."
    ]


__all__ = ["forecast_warnings", "headline_items", "track_warnings", "weighted_pipeline_label"]
