"""Charts of the lead requirement report: ``plot_<thing>(..., ax=None) -> Axes``, never shown here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.tables import interval_words, quantile_column
from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.policy import FORECAST_QUANTILES, INTERVAL
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.present import palette
from pipeline_models.present.axes import money_axis, share_axis
from pipeline_models.present.formats import format_count
from pipeline_models.present.labels import chart_label

_PART_COLORS = {
    "open deals": palette.ESTIMATE,
    "open leads": palette.INTERVAL,
    "new leads": palette.SERIES[1],
}
_RATE_NAMES = {
    "lead_to_won": "lead \u2192 won",
    "lead_to_opp": "lead \u2192 opportunity",
    "opp_to_won": "opportunity \u2192 won",
}


def _axes(ax, figsize: tuple[float, float]):
    import matplotlib.pyplot as plt

    return ax or plt.subplots(figsize=figsize)[1]


def _count_axis(ax, axis: str = "x") -> None:
    """Whole numbers with thousands separators (``16,000``)."""
    from matplotlib.ticker import FuncFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: format_count(v)))


def plot_requirement_curve(req: LeadRequirement, ax=None):
    """The chance of reaching the target against new leads, with the chosen chance and the two
    answers marked."""
    ax = _axes(ax, (8, 3.8))
    c = req.curve
    ax.plot(c["leads"], c["p_reach"], "-", color=palette.ESTIMATE, lw=2)
    ax.axhline(req.confidence, ls="--", color=palette.REFERENCE, lw=1)
    ax.text(
        c["leads"].iloc[0],
        req.confidence + 0.02,
        f"{req.confidence:.0%} chance",
        fontsize=8,
        color=palette.OBSERVED,
    )
    for n, label, color in (
        (req.leads_needed, "recommended", palette.OBSERVED),
        (req.median_case, "median case", palette.REFERENCE),
    ):
        if n is not None:
            ax.axvline(n, color=color, lw=1, ls=":")
            ax.text(
                n,
                0.03,
                f" {label}: {format_count(n)}",
                rotation=90,
                va="bottom",
                fontsize=8,
                color=color,
            )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"new {req.units} generated over {req.window}")
    ax.set_ylabel("chance of reaching the target")
    share_axis(ax)
    _count_axis(ax)
    ax.grid(alpha=0.3)
    return ax


def plot_rates(model: LeadFunnelModel, rate: str = "lead_to_won", ax=None):
    """Ranked interval plot: a funnel rate by source, posterior mean and interval."""
    table = model.funnel_table(INTERVAL).sort_values(rate)
    ax = _axes(ax, (6, 0.4 * len(table) + 1.2))
    y = np.arange(len(table))
    ax.hlines(y, table[f"{rate}_lower"], table[f"{rate}_upper"], color=palette.INTERVAL, lw=5)
    ax.plot(table[rate], y, "o", color=palette.ESTIMATE)
    ax.set_yticks(y, [chart_label(s) for s in table["source"]])
    ax.set_xlabel(f"{_RATE_NAMES.get(rate, rate)}: mean and {interval_words(INTERVAL)}")
    share_axis(ax, "x")
    ax.grid(alpha=0.3, axis="x")
    return ax


def plot_lags(model: LeadFunnelModel, ax=None, horizon_days: float | None = None):
    """Share of eventual wins already won, by days since the lead (or opportunity) was created."""
    ax = _axes(ax, (7, 3.5))
    top = max(
        float(np.nanmax([d.quantile(0.95) for d in model.lag_total_.values()] + [30.0])), 30.0
    )
    days = np.linspace(0, top, 200)
    for i, s in enumerate(model.sources_):
        color = palette.SERIES[i % len(palette.SERIES)]
        ax.plot(days, model.lag_total_[s].cdf(days), label=chart_label(s), color=color)
    if horizon_days:
        ax.axvline(horizon_days, color=palette.REFERENCE, ls="--", lw=1)
    ax.set_xlabel(f"days from {model.unit} creation")
    ax.set_ylabel("share of eventual wins already won")
    share_axis(ax)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_outlook(outlook: WindowOutlook, metric: str = "count", ax=None, currency: str = ""):
    """Expected wins per coming month stacked by part, with the total's planner's interval."""
    ax = _axes(ax, (7, 3.5))
    table = outlook.table(metric).iloc[: len(outlook.months)]
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for part in outlook.parts:
        color = _PART_COLORS.get(part, palette.REFERENCE)
        ax.bar(x, table[part], bottom=bottom, color=color, label=f"from {part}")
        bottom += table[part].to_numpy()
    spread = [table["median"] - table["low"], table["high"] - table["median"]]
    ax.errorbar(
        x, table["median"], yerr=spread, fmt="none", ecolor=palette.OBSERVED, capsize=4,
        label=interval_words(),
    )  # fmt: skip
    ax.set_xticks(x, table["month"].tolist())
    ax.set_ylabel("deals won" if metric == "count" else "revenue won")
    ax.set_ylim(0, 1.45 * float(table["high"].max() or 1))
    if metric == "revenue":
        money_axis(ax, currency=currency)
    ax.legend(frameon=False, fontsize=8, loc="upper left", ncols=2)
    ax.grid(alpha=0.3, axis="y")
    return ax


def plot_backtest(
    backtest: pd.DataFrame, metric: str = "count", horizon: int = 3, ax=None, currency: str = ""
):
    """Past predictions (median and the planner's interval) against what was won."""
    ax = _axes(ax, (8, 3.5))
    rows = backtest[(backtest["target"] == metric) & (backtest["horizon_months"] == horizon)]
    x = np.arange(len(rows))
    low, _, high = FORECAST_QUANTILES
    ax.fill_between(
        x,
        rows[quantile_column(low)],
        rows[quantile_column(high)],
        color=palette.INTERVAL,
        alpha=0.7,
        label=interval_words(),
    )
    ax.plot(x, rows["point"], "o--", color=palette.ESTIMATE, label="predicted (median)")
    ax.plot(x, rows["actual"], "o-", color=palette.OBSERVED, label="actual")
    ax.set_xticks(x, [str(pd.Period(o, "M")) for o in rows["origin"]])
    if metric == "revenue":
        money_axis(ax, currency=currency)
    ax.set_xlabel("month the prediction was made (at its end)")
    what = "deals won" if metric == "count" else "revenue won"
    ax.set_ylabel(f"{what}, next {horizon} month{'s' if horizon > 1 else ''}")
    ax.legend(frameon=False, fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.28))
    ax.grid(alpha=0.3)
    return ax


__all__ = ["plot_backtest", "plot_lags", "plot_outlook", "plot_rates", "plot_requirement_curve"]
