"""The forecast report's charts: the forecast fan after the won history, the track record, and
the deal score's reliability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.honesty import MODEL_NAMES
from pipeline_models.analyses.forecast.tables import INTERVAL_NAME, MIDDLE_HALF, quantile_column
from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult
from pipeline_models.models.forecaster.codes import month_index, month_of
from pipeline_models.present import palette
from pipeline_models.present.formats import format_count, format_pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes

HISTORY_COLOR = "#1f2933"
WIDE_COLOR = "#93c5fd"
NARROW_COLOR = "#3b82f6"
MEDIAN_COLOR = "#1d4ed8"
BASELINE_COLOR = "#6b7280"
ACTUAL_COLOR = "#111827"


def plot_forecast(
    result: ForecastResult,
    frame: pd.DataFrame,
    target: str = "revenue",
    ax: Axes | None = None,
    months_back: int = 12,
) -> Axes:
    """Monthly won history with the forecast fan (the middle half and the planner's interval)
    per coming month."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.8))[1]
    origin = result.origin
    won = frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
    start = pd.Period(origin, "M") - months_back + 1
    month = month_index(frame["close_date"])[won] - month_of(start.start_time)
    inside = (month >= 0) & (month < months_back)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won][inside]
    weights = np.nan_to_num(amounts) if target == "revenue" else None
    history = np.bincount(month[inside], weights=weights, minlength=months_back)
    shown = pd.period_range(start, periods=months_back, freq="M").to_timestamp()
    ax.plot(shown, history, "o-", color=HISTORY_COLOR, label="won")
    months, q = _monthly_quantiles(result, target)
    ax.fill_between(
        months, q[:, 0], q[:, 4], color=WIDE_COLOR, alpha=0.5, label=f"{INTERVAL_NAME}% interval"
    )
    ax.fill_between(months, q[:, 1], q[:, 3], color=NARROW_COLOR, alpha=0.5, label="50% interval")
    ax.plot(months, q[:, 2], "o--", color=MEDIAN_COLOR, label="forecast median")
    ax.set_ylabel("revenue won per month" if target == "revenue" else "deals won per month")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def _monthly_quantiles(result: ForecastResult, target: str) -> tuple[list, np.ndarray]:
    """Each coming month's timestamp and quantiles (low, middle half, median, high) of what is
    won in that month alone (windows are cumulative)."""
    low, median, high = FORECAST_QUANTILES
    levels = [low, MIDDLE_HALF[0], median, MIDDLE_HALF[1], high]
    months, q = [], []
    previous = np.zeros(result.draws[(result.horizons[0], target, "total")].shape)
    for h in sorted(result.horizons):
        cumulative = result.draws[(h, target, "total")]
        monthly_draws = cumulative - previous
        previous = cumulative
        months.append((pd.Period(result.origin, "M") + h).to_timestamp())
        q.append(np.quantile(monthly_draws, levels))
    return months, np.array(q)


def plot_track_record(
    table: pd.DataFrame, target: str = "revenue", horizon: int = 1, ax: Axes | None = None
) -> Axes:
    """Past forecasts (median, the planner's interval) against what happened, with the
    baselines."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    low, _, high = FORECAST_QUANTILES
    rows = table[(table["target"] == target) & (table["horizon_months"] == horizon)]
    wb = rows[rows["model"] == "workbench"].sort_values("origin")
    x = pd.to_datetime(wb["origin"])
    ax.fill_between(
        x,
        wb[quantile_column(low)],
        wb[quantile_column(high)],
        color=WIDE_COLOR,
        alpha=0.5,
        label=f"{INTERVAL_NAME}% interval",
    )
    ax.plot(x, wb["point"], "o--", color=MEDIAN_COLOR, label="workbench (median)")
    for model, style in (
        ("weighted_pipeline", ":"),
        ("cure_weighted_pipeline", (0, (5, 1, 1, 1))),
        ("run_rate", "-."),
    ):
        base = rows[rows["model"] == model].sort_values("origin")
        ax.plot(
            pd.to_datetime(base["origin"]),
            base["point"],
            linestyle=style,
            color=BASELINE_COLOR,
            label=MODEL_NAMES.get(model, model.replace("_", " ")),
        )
    # the actual outcome of every origin scored, whichever models were scored there
    actual = rows.drop_duplicates("origin").sort_values("origin")
    ax.plot(
        pd.to_datetime(actual["origin"]), actual["actual"], "o-", color=ACTUAL_COLOR, label="actual"
    )
    ax.set_xlabel("forecast origin (month-end)")
    ax.set_ylabel(f"{target} won in the next {horizon} month{'s' if horizon > 1 else ''}")
    ax.legend(frameon=False, fontsize=8, ncols=3)
    ax.grid(alpha=0.3)
    return ax


def plot_reliability(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Predicted against observed win rate per bin of a :func:`~pipeline_models.analyses.
    forecast.strength.reliability_table`, on the diagonal where the two agree, each point sized
    and labelled by its bin's deals."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    ax = ax or plt.subplots(figsize=(5.5, 5))[1]
    ax.plot([0, 1], [0, 1], "--", color=palette.REFERENCE, lw=1, label="predicted = observed")
    deals = table["deals"].to_numpy(dtype=float)
    size = 20 + 280 * deals / max(float(deals.max()), 1.0) if len(deals) else []
    ax.plot(table["mean_predicted"], table["observed_rate"], "-", color=palette.ESTIMATE, lw=1)
    ax.scatter(
        table["mean_predicted"],
        table["observed_rate"],
        s=size,
        color=palette.ESTIMATE,
        alpha=0.8,
        zorder=3,
        label="a bin of predicted chance (labelled with its deals)",
    )
    for x, y, n in zip(table["mean_predicted"], table["observed_rate"], deals, strict=True):
        ax.annotate(
            format_count(n), (x, y), textcoords="offset points", xytext=(6, -12), fontsize=8
        )
    percent = FuncFormatter(lambda v, _: format_pct(v))
    ax.xaxis.set_major_formatter(percent)
    ax.yaxis.set_major_formatter(percent)
    ax.set_xlim(-0.02, 1.02)  # a bin whose deals were all won or all lost stays in view
    ax.set_ylim(-0.02, 1.02)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted chance of being won (score as if the deal were new)")
    ax.set_ylabel("share of those deals won")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax


__all__ = ["plot_forecast", "plot_reliability", "plot_track_record"]
