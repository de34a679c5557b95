"""The forecast report's charts: the forecast fan after the won history, the track record, and
the deal score's reliability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.honesty import MODEL_NAMES
from pipeline_models.analyses.forecast.tables import interval_words, quantile_column, value_text
from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult
from pipeline_models.models.forecaster.codes import month_index, month_of
from pipeline_models.present import palette
from pipeline_models.present.axes import money_axis
from pipeline_models.present.formats import format_count, format_pct

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BASELINE_STYLES = {
    "weighted_pipeline": ":",
    "cure_weighted_pipeline": (0, (5, 1, 1, 1)),
    "run_rate": "-.",
}
"""The baselines a track record draws beside the forecast, each with its line style."""

HEADROOM = 0.12
"""Share of the forecast's range left free above and below it in the track record."""


def _month_axis(ax: Axes) -> None:
    """Months on the x-axis as ``2026-05``, every other month when there are many."""
    import matplotlib.dates as mdates

    span = ax.get_xlim()
    months = max(int((span[1] - span[0]) / 30.4), 1)
    ax.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, round(months / 6))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))


def _value_axis(ax: Axes, target: str, currency: str) -> None:
    """Money axes read 500k or 1M; deal counts are whole numbers."""
    if target == "revenue":
        money_axis(ax, currency=currency)


def plot_forecast(
    result: ForecastResult,
    frame: pd.DataFrame,
    target: str = "revenue",
    ax: Axes | None = None,
    months_back: int = 12,
    currency: str = "",
) -> Axes:
    """Monthly won history with the forecast per coming month: its median and the planner's
    interval."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.8))[1]
    shown, history = won_history(result, frame, target, months_back)
    ax.plot(shown, history, "o-", color=palette.OBSERVED, label="won")
    months, q = monthly_quantiles(result, target)
    ax.fill_between(
        months, q[:, 0], q[:, 2], color=palette.INTERVAL, alpha=0.7, label=interval_words()
    )
    ax.plot(months, q[:, 1], "o--", color=palette.ESTIMATE, label="forecast (median)")
    ax.set_ylabel("revenue won per month" if target == "revenue" else "deals won per month")
    _value_axis(ax, target, currency)
    _month_axis(ax)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax


def won_history(
    result: ForecastResult, frame: pd.DataFrame, target: str = "revenue", months_back: int = 12
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The ``months_back`` months up to the forecast's origin and what was won in each."""
    origin = result.origin
    won = frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
    start = pd.Period(origin, "M") - months_back + 1
    month = month_index(frame["close_date"])[won] - month_of(start.start_time)
    inside = (month >= 0) & (month < months_back)
    amounts = frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won][inside]
    weights = np.nan_to_num(amounts) if target == "revenue" else None
    history = np.bincount(month[inside], weights=weights, minlength=months_back)
    shown = pd.period_range(start, periods=months_back, freq="M").to_timestamp()
    return shown, history


def monthly_quantiles(result: ForecastResult, target: str) -> tuple[list, np.ndarray]:
    """Each coming month's timestamp and quantiles (low, median, high of the planner's interval)
    of what is won in that month alone (windows are cumulative)."""
    months, q = [], []
    previous = np.zeros(result.draws[(result.horizons[0], target, "total")].shape)
    for h in sorted(result.horizons):
        cumulative = result.draws[(h, target, "total")]
        monthly_draws = cumulative - previous
        previous = cumulative
        months.append((pd.Period(result.origin, "M") + h).to_timestamp())
        q.append(np.quantile(monthly_draws, FORECAST_QUANTILES))
    return months, np.array(q)


def track_rows(table: pd.DataFrame, target: str, horizon: int) -> pd.DataFrame:
    """The rows of a track record for one target and horizon."""
    return table[(table["target"] == target) & (table["horizon_months"] == horizon)]


def track_scale(rows: pd.DataFrame) -> tuple[float, float]:
    """The y-range of a track-record chart: the forecast, its interval and the actuals, with
    :data:`HEADROOM` around them (baselines far away are drawn at the edge, not fitted in)."""
    low, _, high = FORECAST_QUANTILES
    wb = rows[rows["model"] == "workbench"]
    values = pd.concat(
        [wb[quantile_column(low)], wb[quantile_column(high)], wb["point"], rows["actual"]]
    ).to_numpy(dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.0
    bottom, top = float(values.min()), float(values.max())
    pad = HEADROOM * (top - bottom) if top > bottom else max(abs(top), 1.0) * HEADROOM
    return (max(bottom - pad, 0.0) if bottom >= 0 else bottom - pad), top + pad


def off_scale(table: pd.DataFrame, target: str = "revenue", horizon: int = 1) -> dict[str, float]:
    """Baselines of a track record with a point outside :func:`track_scale`: each with its value
    at the latest such origin (what the chart writes beside the edge)."""
    rows = track_rows(table, target, horizon)
    bottom, top = track_scale(rows)
    out = {}
    for model in BASELINE_STYLES:
        base = rows[rows["model"] == model].sort_values("origin")
        outside = base[(base["point"] > top) | (base["point"] < bottom)]
        if len(outside):
            out[model] = float(outside["point"].iloc[-1])
    return out


def plot_track_record(
    table: pd.DataFrame,
    target: str = "revenue",
    horizon: int = 1,
    ax: Axes | None = None,
    currency: str = "",
) -> Axes:
    """Past forecasts (median, the planner's interval) against what happened, with the
    baselines. The scale is the forecast's and the actuals'; a baseline beyond it is drawn up to
    the edge, marked there, with its value written beside the mark."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    low, _, high = FORECAST_QUANTILES
    rows = track_rows(table, target, horizon)
    bottom, top = track_scale(rows)
    wb = rows[rows["model"] == "workbench"].sort_values("origin")
    x = _months_of(wb["origin"])
    ax.fill_between(
        x,
        wb[quantile_column(low)],
        wb[quantile_column(high)],
        color=palette.INTERVAL,
        alpha=0.7,
        label=interval_words(),
    )
    ax.plot(x, wb["point"], "o--", color=palette.ESTIMATE, label="workbench (median)")
    for model, style in BASELINE_STYLES.items():
        base = rows[rows["model"] == model].sort_values("origin")
        name = MODEL_NAMES.get(model, model.replace("_", " "))
        ax.plot(
            _months_of(base["origin"]),
            base["point"],
            linestyle=style,
            color=palette.REFERENCE,
            label=name,
        )
    # the actual outcome of every origin scored, whichever models were scored there
    actual = rows.drop_duplicates("origin").sort_values("origin")
    ax.plot(
        _months_of(actual["origin"]),
        actual["actual"],
        "o-",
        color=palette.OBSERVED,
        label="actual",
    )
    ax.set_ylim(bottom, top)
    _mark_off_scale(ax, rows, target, currency, (bottom, top))
    ax.set_xlabel("forecast made at the end of")
    what = "revenue won" if target == "revenue" else "deals won"
    ax.set_ylabel(f"{what} in the next {'month' if horizon == 1 else f'{horizon} months'}")
    _value_axis(ax, target, currency)
    _month_axis(ax)
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.grid(alpha=0.3)
    return ax


def _months_of(origins: pd.Series) -> pd.Series:
    """Month-end origins placed at the start of their month, so the axis names their month."""
    return pd.to_datetime(origins).dt.to_period("M").dt.to_timestamp().reset_index(drop=True)


def _mark_off_scale(
    ax: Axes, rows: pd.DataFrame, target: str, currency: str, scale: tuple[float, float]
) -> None:
    """Each baseline point beyond the scale as a mark on the edge it passed, and in that edge's
    right corner the baseline's latest value beyond it (``weighted pipeline 7.13M USD (off
    scale)``)."""
    bottom, top = scale
    said = {"top": 0, "bottom": 0}
    for model in BASELINE_STYLES:
        base = rows[rows["model"] == model].sort_values("origin")
        for edge, beyond, marker in (
            ("top", base["point"] > top, "^"),
            ("bottom", base["point"] < bottom, "v"),
        ):
            if not beyond.any():
                continue
            at = top if edge == "top" else bottom
            x = _months_of(base.loc[beyond, "origin"])
            ax.plot(x, [at] * len(x), marker, color=palette.REFERENCE, clip_on=False, ms=7)
            name = MODEL_NAMES.get(model, model.replace("_", " "))
            value = base.loc[beyond, "point"].iloc[-1]
            step = 0.07 * said[edge]
            ax.text(
                0.98,
                0.96 - step if edge == "top" else 0.04 + step,
                f"{name} {value_text(value, target, currency)} (off scale)",
                transform=ax.transAxes,
                ha="right",
                va="top" if edge == "top" else "bottom",
                fontsize=8,
                color=palette.OBSERVED,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
            )
            said[edge] += 1


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


__all__ = [
    "BASELINE_STYLES",
    "monthly_quantiles",
    "off_scale",
    "plot_forecast",
    "plot_reliability",
    "plot_track_record",
    "track_scale",
    "won_history",
]
