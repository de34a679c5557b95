"""The forecast report's words: the headline figures, the warnings a reader sees first, and the
sentences of the lead strength section."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.tables import INTERVAL_NAME
from pipeline_models.analyses.policy import THIN_DEALS
from pipeline_models.contract.period import MIN_HISTORY_MONTHS
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points


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


IN_HAND_SENTENCE = (
    "What is in hand for {window}, from the {what} at the period's end: {count}, worth "
    "{revenue}. The lead requirement report counts the same."
)
"""The forecast's words on what is in hand (the lead requirement reads the same draws)."""

STRENGTH_SENTENCE = (
    "Of {deals} open deals scored, {stronger} look stronger than the deals of their product "
    "usually still open at their age; the most likely to be won in {quarter} is {deal} ({product}) at {chance}."
)
"""What the lead strength section says above its table."""

STRENGTH_UNAVAILABLE = (
    "Lead strength cannot be shown, and each open deal keeps the chance of its product and age: "
    "{reason}."
)
"""What the report says in place of the lead strength section."""

AMOUNTS_LEFT_OUT = "Amounts do not enter the scores: {reason}."
"""Said when the deal score left amounts out."""

RELIABILITY_CAPTION = (
    "Scores of {deals} past deals, each made as if the deal were new, against what happened: "
    "on the diagonal, a predicted chance comes true as often as it says. Weighted by deals, "
    "predicted and actual win rates differ by {ece} (expected calibration error)."
)
"""The caption of the reliability chart."""


def strength_values(table: pd.DataFrame, scored: pd.DataFrame) -> dict[str, str]:
    """The values of :data:`STRENGTH_SENTENCE`: ``table`` is a
    :func:`~pipeline_models.analyses.forecast.strength.strength_table` (most likely first),
    ``scored`` the open deals with their ``score_odds``."""
    odds = pd.to_numeric(scored.get("score_odds", pd.Series(dtype=float)), errors="coerce")
    top = table.iloc[0]
    return {
        "deals": format_count(odds.notna().sum()),
        "stronger": format_count((odds > 1).sum()),
        "quarter": str(table.attrs.get("quarter", "this quarter")),
        "deal": str(top["opportunity_id"]),
        "product": str(top["product"]),
        "chance": format_pct(top["p_quarter"]),
    }


def reliability_values(table: pd.DataFrame) -> dict[str, str]:
    """The values of :data:`RELIABILITY_CAPTION` from a
    :func:`~pipeline_models.analyses.forecast.strength.reliability_table`."""
    return {
        "deals": format_count(table.attrs["deals"]),
        "ece": f"{format_points(table.attrs['ece']).lstrip('+')} percentage points",
    }


__all__ = [
    "AMOUNTS_LEFT_OUT",
    "RELIABILITY_CAPTION",
    "STRENGTH_SENTENCE",
    "STRENGTH_UNAVAILABLE",
    "forecast_warnings",
    "headline_items",
    "reliability_values",
    "strength_values",
    "track_warnings",
    "weighted_pipeline_label",
]
