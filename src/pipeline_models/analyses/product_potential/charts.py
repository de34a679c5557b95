"""Charts of the product potential report: ranked interval plots of the estimates and levers, the
chance to be the best, and the product mix per month. Every ``plot_*`` draws on ``ax`` (a new
figure when ``None``) and returns the axes; none shows the figure."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator, NullFormatter

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present import palette
from pipeline_models.present.axes import money_axis, share_axis
from pipeline_models.present.labels import chart_label

from .intervals import interval_table
from .levels import level_dim_of
from .levers import merge_scaling_levers
from .mix import OTHER
from .narrative import lever_label

ESTIMATE_PANELS = (
    ("win_rate", "win_rate", "win rate of closed deals", "percent"),
    ("deal_size", "mean_won_amount", "mean won deal", "money"),
    ("cycle_days", "median_days_won", "median days to win", "days"),
    ("revenue_per_opportunity", None, "expected revenue per opportunity", "money"),
)
"""The ranked interval charts of :func:`plot_estimates`: variable, raw column, title, kind."""


def _text(label: object) -> str:
    """A CRM string as literal chart text ($ would start matplotlib's math mode), shortened."""
    return chart_label(label).replace("$", r"\$")


def _money_axis(ax: Axes, axis: str = "x", currency: str = "") -> None:
    money_axis(ax, axis, currency=currency)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_minor_formatter(NullFormatter())


def _percent_axis(ax: Axes) -> None:
    """Percent ticks on x, spanning at least 20 points so small differences do not look large."""
    lo, hi = ax.get_xlim()
    if hi - lo < 0.2:
        mid = (hi + lo) / 2
        lo, hi = max(0.0, mid - 0.1), min(1.0, mid + 0.1)
        ax.set_xlim(lo, max(hi, lo + 0.2))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
    share_axis(ax, "x")


def plot_intervals(
    table: pd.DataFrame,
    ax: Axes | None = None,
    title: str = "",
    kind: str = "number",
    raw_label: str = "raw figure",
    log: bool | None = None,
    reference: tuple[float, str] | None = None,
    prob: float = INTERVAL,
    currency: str = "",
) -> Axes:
    """Ranked interval plot: posterior median and interval per level, the raw figure as a marker.

    ``table`` as from :func:`~.intervals.interval_table` (``raw, median, lower, upper``), drawn
    in its order from the top. ``kind``: ``"percent"``, ``"money"``, ``"days"`` or ``"number"``
    (axis format; a percent axis spans at least 20 points, so small differences do not look
    large). ``log``: logarithmic axis (default: when the medians span more than a factor 20).
    ``reference``: a value and its label, drawn as a dashed vertical line (e.g. all deals).
    ``prob``: probability of the table's interval, for the legend. ``currency``: named on a
    money axis.
    """
    ax = ax or plt.subplots(figsize=(6, 0.35 * len(table) + 1.2))[1]
    y = np.arange(len(table))[::-1]
    med = table["median"].to_numpy(float)
    ax.hlines(
        y,
        table["lower"],
        table["upper"],
        color=palette.INTERVAL,
        lw=5,
        label=f"{prob:.0%} interval",
    )
    ax.plot(med, y, "o", color=palette.ESTIMATE, label="estimate (median)")
    if "raw" in table and table["raw"].notna().any():
        ax.plot(table["raw"], y, "x", color=palette.OBSERVED, ms=7, mew=2, label=raw_label)
    ax.set_yticks(y, [_text(v) for v in table.index])
    positive = med[np.isfinite(med) & (med > 0)]
    if log is None:
        log = len(positive) > 1 and positive.max() / positive.min() > 20
    if log:
        ax.set_xscale("log")
    if reference is not None and np.isfinite(reference[0]):
        ax.axvline(reference[0], color=palette.REFERENCE, ls="--", lw=1, label=_text(reference[1]))
    if kind == "percent":
        _percent_axis(ax)
    elif kind == "money":
        _money_axis(ax, "x", currency)
    ax.set_title(_text(title), fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=7, loc="best")
    return ax


def plot_estimates(
    draws: xr.Dataset, raw: pd.DataFrame, axes: Sequence[Axes] | None = None, currency: str = ""
) -> Sequence[Axes]:
    """The four ranked interval charts of how products sell (win rate, mean won deal, days to
    win, revenue per opportunity), pooled estimate with its
    :data:`~pipeline_models.analyses.policy.INTERVAL` interval and the raw figure as a cross.
    Returns the axes."""
    if axes is None:
        n = draws.sizes[level_dim_of(draws["win_rate"])]
        axes = plt.subplots(2, 2, figsize=(11, 0.7 * n + 3.5))[1].ravel()
    closed = raw["closed"].sum()
    overall = raw["won"].sum() / closed if closed else np.nan
    for ax, (variable, raw_col, title, kind) in zip(axes, ESTIMATE_PANELS, strict=False):
        table = interval_table(draws[variable], raw[raw_col] if raw_col else None)
        ref = (overall, "all closed deals") if variable == "win_rate" else None
        plot_intervals(table, ax=ax, title=title, kind=kind, reference=ref, currency=currency)
    return axes


def plot_rank_probabilities(table: pd.DataFrame, top_k: int = 1, ax: Axes | None = None) -> Axes:
    """Bars of each level's chance to be the best and to be among the best ``top_k``."""
    ax = ax or plt.subplots(figsize=(6, 0.35 * len(table) + 1.2))[1]
    y = np.arange(len(table))[::-1]
    if top_k > 1:
        ax.barh(y, table["p_top_k"], color=palette.INTERVAL, label=f"among the top {top_k}")
    ax.barh(y, table["p_best"], color=palette.ESTIMATE, height=0.5, label="the best")
    ax.set_yticks(y, [_text(v) for v in table.index])
    ax.set_xlim(0, 1)
    share_axis(ax, "x")
    ax.set_xlabel("chance")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


def plot_levers(
    table: pd.DataFrame, ax: Axes | None = None, top: int = 10, currency: str = ""
) -> Axes:
    """Ranked interval plot of the levers' added revenue (mean and interval per row); levers
    adding the same revenue merged as in :func:`~.levers.merge_scaling_levers`."""
    shown = merge_scaling_levers(table).head(top)
    dim = shown.columns[0]
    labels = [f"{_text(r[dim])}: {lever_label(r['lever'])}" for _, r in shown.iterrows()]
    frame = pd.DataFrame(
        {
            "raw": np.nan,
            "median": shown["mean"].to_numpy(),
            "lower": shown["lower"].to_numpy(),
            "upper": shown["upper"].to_numpy(),
        },
        index=labels,
    )
    ax = plot_intervals(frame, ax=ax, kind="money", log=False)
    ax.axvline(0, color=palette.REFERENCE, lw=1)
    ax.lines[0].set_label("mean")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_xlabel("added revenue over the horizon")
    _money_axis(ax, "x", currency)
    return ax


def plot_mix(table: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Stacked bars of each product's monthly share (a :func:`~.mix.mix_by_month` table)."""
    ax = ax or plt.subplots(figsize=(9, 3.2))[1]
    if table.empty:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes)
        return ax
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for i, column in enumerate(table.columns):
        values = table[column].to_numpy(float)
        color = palette.REFERENCE if column == OTHER else palette.SERIES[i % len(palette.SERIES)]
        ax.bar(x, values, bottom=bottom, color=color, width=0.85, label=_text(column))
        bottom += values
    step = max(1, len(table) // 12)
    ax.set_xticks(x[::step], [str(p) for p in table.index[::step]], rotation=45, ha="right")
    ax.set_ylim(0, 1)
    share_axis(ax, "y")
    ax.set_title(_text(title), fontsize=10, loc="left")
    # the legend lists the products top down, as the bars stack them
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        labels[::-1],
        frameon=False,
        fontsize=7,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    return ax
