"""The forecast report's words: the headline figures, the warnings a reader sees first, the
tables' captions, what each chart shows (its alt text), and the sentences of the lead strength
section."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.charts import monthly_quantiles
from pipeline_models.analyses.forecast.honesty import MODEL_NAMES
from pipeline_models.analyses.forecast.tables import interval_words, span_text, value_text
from pipeline_models.analyses.policy import THIN_DEALS
from pipeline_models.contract.period import MIN_HISTORY_MONTHS
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points


def headline_items(
    table: pd.DataFrame, quarter: str, target_revenue: float, currency: str = ""
) -> list[tuple[str, str]]:
    """The headline of a :func:`~pipeline_models.analyses.forecast.tables.forecast_table`:
    revenue next month with its interval, revenue in ``quarter`` (its last row) and the chance of
    reaching ``target_revenue`` there, as (label, value) pairs. A pair the table cannot fill (no
    target, no interval) is left out; the report says why in a sentence."""
    items = _won_items(table, quarter, "revenue", currency)
    chance = table.iloc[-1].get("p_reach_target")
    if target_revenue and target_revenue > 0 and chance is not None and not pd.isna(chance):
        items.append(
            (
                f"chance to reach {format_money(target_revenue, currency)} in {quarter}",
                format_pct(chance),
            )
        )
    return items


def count_headline(table: pd.DataFrame, quarter: str) -> list[tuple[str, str]]:
    """The headline in deals won, for an export whose revenue cannot be forecast."""
    return _won_items(table, quarter, "count")


def _won_items(
    table: pd.DataFrame, quarter: str, metric: str, currency: str = ""
) -> list[tuple[str, str]]:
    """What is won next month (median and interval) and in ``quarter`` (median)."""
    what = "revenue" if metric == "revenue" else "deals won"
    first, last = table.index[0], table.index[-1]
    items = [
        (
            f"{what} next month (median)",
            value_text(table.loc[first, f"{metric}_median"], metric, currency),
        )
    ]
    bounds = table.attrs.get("bounds", {}).get(metric, {})
    if first in bounds:
        items.append(
            (f"{what} next month, {interval_words()}", span_text(*bounds[first], metric, currency))
        )
    items.append(
        (
            f"{what} {quarter} (median)",
            value_text(table.loc[last, f"{metric}_median"], metric, currency),
        )
    )
    return items


TARGET_SET = "Target: **{target}** in {quarter}, as set for this run."
"""Where the quarter's target comes from: set for the run."""

TARGET_DEFAULT = (
    "Target: **{target}** in {quarter}: the pace of revenue won over the last {months} months, "
    "for the months of the quarter still to come, plus the revenue already won in it."
)
"""Where the quarter's target comes from: the trailing run-rate (no target was set)."""

NO_TARGET = (
    "No chance of reaching a target is given for {quarter}: no target was set for this run, and "
    "no revenue was won in the last {months} months to take a default target from."
)
"""Said in place of the chance of reaching a target when there is none."""


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

IN_HAND_COUNT_SENTENCE = (
    "What is in hand for {window}, from the {what} at the period's end: {count}. The lead "
    "requirement report counts the same."
)
"""What is in hand where revenue is not forecast: the deals alone."""

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


def forecast_caption(metric: str, weighted_pipeline: str) -> str:
    """The caption of the forecast table of ``metric``: what its figures carry and whose weighted
    pipeline stands beside them."""
    what = "Revenue won" if metric == "revenue" else "Deals won"
    label = weighted_pipeline_label(weighted_pipeline)
    return f"{what} by window: median with its {interval_words()}. {label[0].upper()}{label[1:]}."


WHAT = {"revenue": "revenue", "count": "deals"}
"""A metric as a sentence names it."""


def outlook_alt(result, metrics: tuple[str, ...], currency: str = "") -> str:
    """The alt text of the outlook chart: what it shows, with next month's median and interval
    for each of ``metrics`` drawn."""
    drawn = " and ".join(WHAT[m] for m in metrics)
    text = (
        f"The {drawn} won per month over the last 12 months, then the forecast for the next "
        f"{len(result.horizons)} months with its {interval_words()}."
    )
    for metric in metrics:
        _, q = monthly_quantiles(result, metric)
        text += (
            f" {WHAT[metric].capitalize()} won next month: median "
            f"{value_text(q[0, 1], metric, currency)}, {interval_words()} "
            f"{span_text(q[0, 0], q[0, 2], metric, currency)}."
        )
    return text


def track_alt(
    track: pd.DataFrame,
    off: dict[str, dict[str, float]],
    scores: pd.DataFrame,
    currency: str = "",
) -> str:
    """The alt text of the track-record chart: what it compares, how far the workbench was off,
    and each baseline drawn at the edge (``off``: metric -> model -> value) with its value."""
    origins = sorted(track["origin"].unique())
    text = (
        f"Revenue and deals won in the month after each of the last {len(origins)} month-ends "
        f"({origins[0][:7]} to {origins[-1][:7]}), against what each model forecast at that "
        "month-end."
    )
    wape = scores[scores["model"] == "workbench"].set_index("target")["wape"]
    if "revenue" in wape and pd.notna(wape["revenue"]):
        text += (
            f" The workbench's revenue forecast was off by {format_pct(wape['revenue'])} of what "
            "was won (weighted absolute error)."
        )
    by_model: dict[str, list[str]] = {}
    for metric, models in off.items():
        for model, value in models.items():
            unit = " deals" if metric == "count" else ""
            by_model.setdefault(model, []).append(value_text(value, metric, currency) + unit)
    for model, values in by_model.items():
        name = MODEL_NAMES.get(model, model.replace("_", " "))
        text += (
            f" The {name} lies outside the scale and is marked at its edge (its latest value "
            f"outside it: {'; '.join(values)})."
        )
    return text


def reliability_alt(table: pd.DataFrame) -> str:
    """The alt text of the reliability chart."""
    values = reliability_values(table)
    return (
        f"Predicted chance of being won against the share actually won, for {values['deals']} "
        f"past deals in {len(table)} groups of similar predicted chance; weighted by deals, the "
        f"two differ by {values['ece']}."
    )


__all__ = [
    "AMOUNTS_LEFT_OUT",
    "NO_TARGET",
    "TARGET_DEFAULT",
    "TARGET_SET",
    "count_headline",
    "RELIABILITY_CAPTION",
    "STRENGTH_SENTENCE",
    "STRENGTH_UNAVAILABLE",
    "forecast_caption",
    "forecast_warnings",
    "headline_items",
    "outlook_alt",
    "reliability_alt",
    "track_alt",
    "reliability_values",
    "strength_values",
    "track_warnings",
    "weighted_pipeline_label",
]
