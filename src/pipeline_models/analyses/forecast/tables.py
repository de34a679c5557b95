"""The forecast report's tables: the leader's table by window, and their reader formatting.

Intervals of outcomes still to come are the planner's (:data:`~pipeline_models.analyses.policy.
FORECAST_QUANTILES`); the table written to CSV keeps the middle half of the draws beside them, the
tables readers see show the planner's alone. Reader tables name their columns in words and write
money, shares and counts with :mod:`pipeline_models.present.formats`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.baselines import shown_weighted_pipelines
from pipeline_models.analyses.forecast.deals import chance_column
from pipeline_models.analyses.forecast.honesty import MODEL_NAMES
from pipeline_models.analyses.forecast.window import quarter_window, run_rate, won_between
from pipeline_models.analyses.policy import FORECAST_INTERVAL, FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult, window_label
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points

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
    if remaining in result.horizons:
        won = won_between(frame, q_start, origin)
        label = f"quarter {quarter} (incl. won so far)"
        windows.append((label, remaining, won["count"], won["revenue"]))
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
    ``"estimate"``, :func:`~pipeline_models.analyses.forecast.baselines.shown_weighted_pipelines`);
    ``attrs["bounds"]`` holds the planner's interval as numbers (target -> window -> low, high),
    which the table itself writes as text.
    """
    origin = result.origin
    low, median, high = FORECAST_QUANTILES
    levels = [low, MIDDLE_HALF[0], median, MIDDLE_HALF[1], high]
    windows = _windows(result, frame, period)
    pipelines, source = shown_weighted_pipelines(frame, origin, tuple(h for _, h, _, _ in windows))
    rows, bounds = [], {"count": {}, "revenue": {}}
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
            bounds[target][label] = (float(q[0]), float(q[4]))
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
    table.attrs["bounds"] = bounds  # the planner's interval as numbers, per target and window
    return table


DRAWS_FILE = "draws"
"""The forecast's draws as a file (``files/forecast/draws.csv``), one row per window and draw:
what a company roll-up adds up unit by unit."""


def draws_table(result: ForecastResult, frame: pd.DataFrame, period: str) -> pd.DataFrame:
    """The forecast's predictive draws of deals and revenue won in each window of the leader's
    table (the quarter's with its wins so far), one row per window and draw: ``window`` (the
    table's label), ``months``, ``draw``, ``count``, ``revenue``. Draw ``i`` of every window is
    one simulated path of the coming months, so the rows of one draw belong together."""
    parts = []
    for label, h, won_count, won_revenue in _windows(result, frame, period):
        count = np.asarray(result.draws[(h, "count", "total")], dtype=float) + won_count
        revenue = np.asarray(result.draws[(h, "revenue", "total")], dtype=float) + won_revenue
        parts.append(
            pd.DataFrame(
                {
                    "window": label,
                    "months": h,
                    "draw": np.arange(len(count)),
                    "count": count.round(3),
                    "revenue": revenue.round(2),
                }
            )
        )
    columns = ["window", "months", "draw", "count", "revenue"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def interval_words(level: float = FORECAST_INTERVAL) -> str:
    """An interval's name for readers: ``"80% interval"``."""
    return f"{round(100 * level)}% interval"


def span_text(low: float, high: float, metric: str = "revenue", currency: str = "") -> str:
    """An interval written once, its unit at the end: ``1.61M–2.62M USD`` or ``147–198``."""
    if metric == "count":
        return f"{format_count(low)}\u2013{format_count(high)}"
    return f"{format_money(low)}\u2013{format_money(high, currency)}"


def value_text(value: float, metric: str = "revenue", currency: str = "") -> str:
    """One value of ``metric`` for readers: ``1.93M USD`` or ``171``."""
    return format_count(value) if metric == "count" else format_money(value, currency)


WHAT_WON = {"revenue": "Revenue won", "count": "Deals won"}
"""The figure a forecast gives, by metric, as a column names it."""

BASELINE_COLUMNS = {
    "weighted_pipeline": "Weighted pipeline",
    "commit": "Commit (CRM)",
    "best_case": "Best Case (CRM)",
    "run_rate": "Run-rate",
}
"""The numbers a CRM shows beside a forecast, as the reader table names them."""


def forecast_display(
    table: pd.DataFrame,
    target: str = "revenue",
    currency: str = "",
    target_revenue: float | None = None,
) -> pd.DataFrame:
    """The columns of ``target`` (``revenue`` or ``count``) of a :func:`forecast_table` written
    for readers: the window, the median with the planner's interval, the shares from open deals
    and open leads, the CRM's numbers, and (revenue) the chance of reaching ``target_revenue``
    in the quarter, shown on the quarter's row only (the target is the quarter's)."""
    bounds = table.attrs.get("bounds", {}).get(target, {})
    out = pd.DataFrame({"Window": [str(w) for w in table.index]})
    out[f"{WHAT_WON[target]} (median)"] = [
        value_text(v, target, currency) for v in table[f"{target}_median"]
    ]
    out[interval_words()] = [
        span_text(*bounds[w], target, currency) if w in bounds else "" for w in table.index
    ]
    for part, name in (("open", "From open deals"), ("leads", "From open leads")):
        if f"{target}_from_{part}" in table:
            out[name] = [format_pct(v) for v in table[f"{target}_from_{part}"]]
    for key, name in BASELINE_COLUMNS.items():
        if f"{target}_{key}" in table:
            out[name] = [value_text(v, target, currency) for v in table[f"{target}_{key}"]]
    if target == "revenue" and "p_reach_target" in table and target_revenue:
        quarter = [str(w).startswith("quarter") for w in table.index]
        out[f"Chance to reach {format_money(target_revenue, currency)}"] = [
            format_pct(p) if last else ""
            for p, last in zip(table["p_reach_target"], quarter, strict=True)
        ]
    return out


def group_display(
    result: ForecastResult,
    column: str,
    horizon: int = 3,
    target: str = "revenue",
    currency: str = "",
) -> pd.DataFrame:
    """Per level of ``column``: the median and the planner's interval of ``target`` won in the
    next ``horizon`` months, written for readers (largest first)."""
    low, median, high = FORECAST_QUANTILES
    by = result.group_summary(horizon, target, column)
    levels = by[column] if len(by) else pd.Series(dtype=object)
    return pd.DataFrame(
        {
            column.replace("_", " ").capitalize(): [str(v) for v in levels],
            f"{WHAT_WON[target]} (median)": [
                value_text(v, target, currency) for v in by.get(quantile_column(median), [])
            ],
            interval_words(): [
                span_text(a, b, target, currency)
                for a, b in zip(
                    by.get(quantile_column(low), []), by.get(quantile_column(high), []), strict=True
                )
            ],
        }
    )


def age_band_display(bands: pd.DataFrame, horizon: int = 3) -> pd.DataFrame:
    """An :func:`~pipeline_models.analyses.forecast.deals.age_band_table` for readers."""
    return pd.DataFrame(
        {
            "Age (months)": [str(b) for b in bands.index],
            "Open deals": [format_count(v) for v in bands["deals"]],
            f"Mean chance won in {_months(horizon)}": [format_pct(v) for v in bands["mean_p_won"]],
        }
    )


def _months(horizon: int) -> str:
    return f"{horizon} month{'s' if horizon != 1 else ''}"


def open_deals_display(
    deals: pd.DataFrame, horizon: int = 3, rows: int = 15, currency: str = ""
) -> pd.DataFrame:
    """The ``rows`` open deals most likely to close won within ``horizon`` months, for readers
    (a deal without an amount shows a blank amount)."""
    top = deals.head(rows)
    return pd.DataFrame(
        {
            "Deal": top["opportunity_id"].astype(str).to_numpy(),
            "Product": _labels(top["product"]),
            "Region": _labels(top["region"]),
            "Owner": _labels(top["owner"]),
            "Stage": _labels(top["stage"]),
            "Amount": _money(top["amount"], currency),
            "Age (months)": [format_count(v) for v in top["age_months"]],
            f"Chance won in {_months(horizon)}": [
                format_pct(v) for v in top[chance_column(horizon)]
            ],
        }
    )


def _labels(values: pd.Series) -> list[str]:
    """Export labels as text, a blank one blank (never ``nan`` or ``None``)."""
    return ["" if pd.isna(v) else str(v) for v in values]


def _money(values: pd.Series, currency: str = "") -> list[str]:
    """Amounts as money, a missing one blank."""
    return ["" if pd.isna(v) else format_money(v, currency) for v in values]


def strength_display(table: pd.DataFrame, rows: int = 15, currency: str = "") -> pd.DataFrame:
    """The ``rows`` open deals of a :func:`~pipeline_models.analyses.forecast.strength.
    strength_table` most likely to be won this quarter, for readers: chances as percentages,
    amounts as money (blank without an amount), reasons as written."""
    quarter = table.attrs.get("quarter", "this quarter")
    top = table.head(rows)
    return pd.DataFrame(
        {
            "Deal": top["opportunity_id"].astype(str),
            "Product": _labels(top["product"]),
            "Owner": _labels(top["owner"]),
            "Stage": _labels(top["stage"]),
            "Amount": _money(top["amount"], currency),
            "Age (months)": [format_count(v) for v in top["age_months"]],
            f"Chance won in {quarter}": top["p_quarter"].map(format_pct),
            "Chance won, as scored at creation": [
                "" if pd.isna(v) else format_pct(v) for v in top["p_won"]
            ],
            f"Expected value in {quarter}": _money(top["expected_value"], currency),
            "What moves its score": top["reasons"],
        }
    ).reset_index(drop=True)


def scores_display(scores: pd.DataFrame, currency: str = "") -> pd.DataFrame:
    """A :func:`~pipeline_models.analyses.forecast.track.score_table` for readers: the models by
    their names, the workbench first; error and bias as shares of what was won; CRPS in the
    figure's unit; the share of actuals inside each interval (blank for a baseline, which gives a
    point only)."""
    order = {model: i for i, model in enumerate(MODEL_NAMES)}
    ranked = scores.assign(
        _target=scores["target"].map({"revenue": 0, "count": 1}),
        _model=scores["model"].map(lambda m: order.get(m, len(order))),
    ).sort_values(["_target", "_model"], kind="stable")
    out = pd.DataFrame(
        {
            "Model": [
                _capital(MODEL_NAMES.get(m, str(m).replace("_", " "))) for m in ranked["model"]
            ],
            "Forecast of": [WHAT_WON.get(t, str(t)) for t in ranked["target"]],
            "Month-ends scored": [format_count(v) for v in ranked["origins"]],
            "Error (WAPE)": [_share(v) for v in ranked["wape"]],
            "Bias": [_share(v, signed=True) for v in ranked["bias"]],
            "CRPS": [
                value_text(v, t, currency)
                for v, t in zip(ranked["crps"], ranked["target"], strict=True)
            ],
        }
    )
    for column in [c for c in ranked if c.startswith("coverage_")]:
        level = float(column.split("_")[1]) / 100
        out[f"Inside the {interval_words(level)}"] = [_share(v) for v in ranked[column]]
    return out


def _share(value: float, signed: bool = False) -> str:
    """A share for readers (blank when there is none); signed: ``+10%``."""
    if pd.isna(value):
        return ""
    return f"{format_points(value, 0)}%" if signed else format_pct(value)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def format_scores(scores: pd.DataFrame) -> str:
    """The score table as aligned text for the terminal and notes."""
    shown = scores.copy()
    for column in ("wape", "bias", "coverage_50", "coverage_80"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    shown["crps"] = shown["crps"].map(lambda v: f"{v:,.1f}")
    return shown.to_string(index=False)


__all__ = [
    "BASELINE_COLUMNS",
    "DRAWS_FILE",
    "INTERVAL_NAME",
    "MIDDLE_HALF",
    "WHAT_WON",
    "age_band_display",
    "draws_table",
    "forecast_display",
    "forecast_table",
    "format_scores",
    "group_display",
    "interval_words",
    "open_deals_display",
    "quantile_column",
    "scores_display",
    "span_text",
    "strength_display",
    "value_text",
]
