"""The patterns report's charts: stage conversion, the change waterfall, ranked intervals and
cohorts. Each draws on ``ax`` (a new figure without one) and returns it."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_money
from pipeline_models.present.labels import chart_label

BLUE, RED, GREEN, SLATE = "#2563eb", "#dc2626", "#16a34a", "#475569"
_INTERVAL = f"{100 * INTERVAL:.0f}% interval"

RATIO_TICKS = (0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5)
"""Ticks of a log-scaled ratio axis (1.5x up reads the same distance as 0.67x down)."""


def plot_stage_conversion(conversion: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Pooled conversion of each stage to the next (90% interval), value lost written beside."""
    ax = ax or plt.subplots(figsize=(8, 0.6 * len(conversion) + 1.2))[1]
    t = conversion.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    worst = t["value_lost"].idxmax() if len(t) and t["value_lost"].max() > 0 else None
    colors = [RED if i == worst else BLUE for i in t.index]
    ax.barh(y, t["mean"], color=colors, alpha=0.35)
    ax.errorbar(
        t["mean"], y, xerr=[t["mean"] - t["lower"], t["upper"] - t["mean"]],
        fmt="o", color="black", capsize=3,
    )  # fmt: skip
    for yi, (_, r) in zip(y, t.iterrows(), strict=True):
        ax.text(1.02, yi, f"lost {format_money(r['value_lost'])}", va="center", fontsize=9,
                transform=ax.get_yaxis_transform())  # fmt: skip
    ax.set_yticks(y, [chart_label(s) for s in t["stage"]])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of deals leaving the stage that move on ({_INTERVAL})")
    ax.grid(axis="x", alpha=0.3)
    return ax


def _draw_bars(shown: pd.DataFrame, ax: Axes) -> list[float]:
    """Draw the waterfall's bars and their labels; return every level a bar reaches."""
    running, levels = 0.0, []
    for i, r in enumerate(shown.itertuples(index=False)):
        value = r.cents / 100
        if r.kind == "total":
            bottom, height, color = 0.0, value, SLATE
            running = value
        else:
            bottom, height = running, value
            color = GREEN if value >= 0 else RED
            running += value
        levels += [bottom + height, running] if r.kind == "step" else [value]
        ax.bar(i, height, bottom=bottom, color=color, width=0.7)
        label = format_money(value) if r.kind == "total" or value < 0 else "+" + format_money(value)
        ax.text(i, max(bottom, bottom + height), label, ha="center", va="bottom", fontsize=8)
    return levels


def plot_waterfall(bars: pd.DataFrame, ax: Axes | None = None, currency: str = "") -> Axes:
    """The change waterfall: totals as full bars, steps floating from the running total.

    Steps without any deal are left out of the chart (the table shows them). The value axis starts
    near the smallest running total, not at zero, so that the steps can be seen; it says so.
    """
    shown = bars[(bars["kind"] == "total") | (bars["deals"] > 0)].reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(10, 4))[1]
    levels = _draw_bars(shown, ax)
    low, high = min(levels), max(levels)
    span = max(high - low, abs(high) * 0.05, 1.0)
    floor = max(low - 0.6 * span, 0.0)
    ax.set_ylim(floor, high + 0.15 * span)
    names = [
        "\n".join(textwrap.wrap(chart_label(b), 12)) + f"\n({d:,} deals)"
        for b, d in zip(shown["bar"], shown["deals"], strict=True)
    ]
    ax.set_xticks(range(len(shown)), names, fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_money(v)))
    axis = f"open pipeline {currency}".strip()
    ax.set_ylabel(axis + ("\n(axis does not start at 0)" if floor > 0 else ""))
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_ranked_intervals(
    table: pd.DataFrame,
    label: str,
    value: str = "mean",
    lower: str = "lower",
    upper: str = "upper",
    reference: float | None = None,
    log: bool = False,
    xlabel: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Rows ranked by ``value`` with their interval; a reference line (e.g. team average)."""
    t = table.sort_values(value).reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(8, 0.28 * len(t) + 1.2))[1]
    y = np.arange(len(t))
    credible = (t[lower] > reference) | (t[upper] < reference) if reference is not None else None
    colors = np.where(credible, RED, BLUE) if credible is not None else [BLUE] * len(t)
    ax.hlines(y, t[lower], t[upper], colors=colors, lw=2)
    ax.scatter(t[value], y, color=colors, zorder=3, s=18)
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    if log:
        ax.set_xscale("log")
        low, high = float(t[lower].min()), float(t[upper].max())
        ticks = [v for v in RATIO_TICKS if low / 1.3 <= v <= high * 1.3]
        ax.set_xticks(ticks, [f"{v:g}x" for v in ticks])
        ax.minorticks_off()
    ax.set_yticks(y, [chart_label(v) for v in t[label]], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def plot_cohorts(cohorts: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Win rate within the window by creation month, with 90% intervals."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    x = cohorts.index.to_timestamp()
    ax.fill_between(x, cohorts["lower"], cohorts["upper"], color=BLUE, alpha=0.2)
    ax.plot(x, cohorts["rate"], "o-", color=BLUE)
    horizon = cohorts.attrs.get("horizon_days")
    ax.set_ylabel(f"won within {horizon} days" if horizon else "win rate")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    return ax


__all__ = ["plot_cohorts", "plot_ranked_intervals", "plot_stage_conversion", "plot_waterfall"]
