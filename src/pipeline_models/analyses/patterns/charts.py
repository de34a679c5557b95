"""The patterns report's charts: stage conversion, the change waterfall, ranked intervals and
cohorts, in the report palette, money on a k/M axis and shares in percent. Each draws on ``ax``
(a new figure without one) and returns it; each ``*_alt`` says in words what its chart shows,
with its key figures (the page's alt text)."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present import palette
from pipeline_models.present.axes import money_axis, share_axis
from pipeline_models.present.formats import format_count, format_money, format_pct
from pipeline_models.present.labels import chart_label

_INTERVAL = f"{INTERVAL:.0%} interval"

RATIO_TICKS = (0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5)
"""Ticks of a log-scaled ratio axis (1.5x up reads the same distance as 0.67x down)."""


def plot_stage_conversion(
    conversion: pd.DataFrame, ax: Axes | None = None, currency: str = ""
) -> Axes:
    """Pooled conversion of each stage to the next (with its interval), value lost written
    beside; the stage where most value was lost in the loss colour."""
    ax = ax or plt.subplots(figsize=(8, 0.6 * len(conversion) + 1.2))[1]
    t = conversion.reset_index(drop=True)
    y = np.arange(len(t))[::-1]
    worst = t["value_lost"].idxmax() if len(t) and t["value_lost"].max() > 0 else None
    colors = [palette.LOSS if i == worst else palette.INTERVAL for i in t.index]
    ax.barh(y, t["mean"], color=colors, alpha=0.6)
    ax.errorbar(
        t["mean"], y, xerr=[t["mean"] - t["lower"], t["upper"] - t["mean"]],
        fmt="o", color=palette.ESTIMATE, capsize=3,
    )  # fmt: skip
    for yi, (_, r) in zip(y, t.iterrows(), strict=True):
        ax.text(1.02, yi, f"lost {format_money(r['value_lost'], currency)}", va="center",
                fontsize=9, transform=ax.get_yaxis_transform())  # fmt: skip
    ax.set_yticks(y, [chart_label(s) for s in t["stage"]])
    ax.set_xlim(0, 1)
    share_axis(ax, "x")
    ax.set_xlabel(f"share of deals leaving the stage that move on ({_INTERVAL})")
    ax.grid(axis="x", alpha=0.3)
    return ax


def conversion_alt(conversion: pd.DataFrame, when: str) -> str:
    """The stage conversion chart in words: its interval, the weakest stage and its rate."""
    text = f"Stage conversion {when} with {_INTERVAL}s and the value lost at each stage."
    left = conversion[(conversion["passed"] + conversion["lost"]) > 0]
    if len(left):
        low = left.loc[left["mean"].idxmin()]
        text += f" {low['stage']} converts least, {format_pct(low['mean'])}."
    return text


def _draw_bars(shown: pd.DataFrame, ax: Axes, currency: str) -> list[float]:
    """Draw the waterfall's bars and their labels; return every level a bar reaches."""
    running, levels = 0.0, []
    for i, r in enumerate(shown.itertuples(index=False)):
        value = r.cents / 100
        if r.kind == "total":
            bottom, height, color = 0.0, value, palette.REFERENCE
            running = value
        else:
            bottom, height = running, value
            color = palette.GAIN if value >= 0 else palette.LOSS
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
    levels = _draw_bars(shown, ax, currency)
    low, high = min(levels), max(levels)
    span = max(high - low, abs(high) * 0.05, 1.0)
    floor = max(low - 0.6 * span, 0.0)
    ax.set_ylim(floor, high + 0.15 * span)
    names = [
        "\n".join(textwrap.wrap(chart_label(b), 12)) + f"\n({format_count(d)} deals)"
        for b, d in zip(shown["bar"], shown["deals"], strict=True)
    ]
    ax.set_xticks(range(len(shown)), names, fontsize=8)
    ax.set_ylabel("open pipeline")
    money_axis(ax, "y", currency=currency)
    if floor > 0:
        ax.set_ylabel(ax.get_ylabel() + "\n(axis does not start at 0)")
    ax.grid(axis="y", alpha=0.3)
    return ax


def waterfall_alt(bars: pd.DataFrame, currency: str = "") -> str:
    """The waterfall in words: from the open pipeline last time to now, and the largest step."""
    first, last = bars["cents"].iloc[0] / 100, bars["cents"].iloc[-1] / 100
    text = (
        f"Waterfall of the open pipeline from {format_money(first, currency)} at the previous "
        f"export to {format_money(last, currency)} now."
    )
    steps = bars[(bars["kind"] == "step") & (bars["cents"] != 0)]
    if len(steps):
        top = steps.loc[steps["cents"].abs().idxmax()]
        sign = "+" if top["cents"] > 0 else ""
        text += (
            f" The largest step: {top['bar']}, {sign}{format_money(top['cents'] / 100, currency)}."
        )
    return text


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
    share: bool = False,
) -> Axes:
    """Rows ranked by ``value`` with their interval; a reference line (e.g. team average).

    Rows whose interval excludes the reference are drawn in the estimate's colour, the others in
    grey. ``share``: the values are shares, written in percent.
    """
    t = table.sort_values(value).reset_index(drop=True)
    ax = ax or plt.subplots(figsize=(8, 0.28 * len(t) + 1.2))[1]
    y = np.arange(len(t))
    credible = (t[lower] > reference) | (t[upper] < reference) if reference is not None else None
    colors = (
        np.where(credible, palette.ESTIMATE, palette.REFERENCE)
        if credible is not None
        else [palette.ESTIMATE] * len(t)
    )
    ax.hlines(y, t[lower], t[upper], colors=colors, lw=2)
    ax.scatter(t[value], y, color=colors, zorder=3, s=18)
    if reference is not None:
        ax.axvline(reference, color=palette.REFERENCE, ls="--", lw=1)
    if log:
        ax.set_xscale("log")
        low, high = float(t[lower].min()), float(t[upper].max())
        ticks = [v for v in RATIO_TICKS if low / 1.3 <= v <= high * 1.3]
        ax.set_xticks(ticks, [f"{v:g}x" for v in ticks])
        ax.minorticks_off()
    elif share:
        share_axis(ax, "x")
    ax.set_yticks(y, [chart_label(v) for v in t[label]], fontsize=8)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def effects_alt(effects: pd.DataFrame) -> str:
    """The effects chart in words: what it ranks, and the strongest effect that stands out."""
    text = (
        f"Each attribute's win rate relative to the average deal, ranked, with {_INTERVAL}s; "
        "the ones whose interval excludes 1 are drawn darker."
    )
    credible = effects[effects["credible"].astype(bool)]
    if len(credible):
        top = credible.loc[np.abs(np.log(credible["rate_ratio"])).idxmax()]
        term = str(top["term"]).replace("_", " ")
        text += f" Strongest: {term} {top['level']}, {top['rate_ratio']:.2f}x."
    return text


def owners_alt(owners: pd.DataFrame) -> str:
    """The owners chart in words: their pooled win rates against the team's, who stands out."""
    above = int((owners["win rate vs team"] == "higher").sum())
    below = int((owners["win rate vs team"] == "lower").sum())
    return (
        f"Each owner's pooled, mix-adjusted win rate with its {_INTERVAL}, against the average "
        f"owner's {format_pct(owners.attrs['team_rate'])}: {above} owners credibly above, "
        f"{below} credibly below."
    )


def plot_cohorts(cohorts: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Win rate within the window by creation month, with its interval as a band."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    x = cohorts.index.to_timestamp()
    ax.fill_between(x, cohorts["lower"], cohorts["upper"], color=palette.INTERVAL, label=_INTERVAL)
    ax.plot(x, cohorts["rate"], "o-", color=palette.ESTIMATE, label="won within the window")
    horizon = cohorts.attrs.get("horizon_days")
    ax.set_ylabel(f"won within {horizon} days" if horizon else "win rate")
    ax.set_ylim(0, None)
    share_axis(ax, "y")
    ax.legend(frameon=False, fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return ax


def cohorts_alt(cohorts: pd.DataFrame) -> str:
    """The cohorts chart in words: months shown, window, the latest cohort's rate."""
    h = cohorts.attrs.get("horizon_days")
    first, last = (cohorts.index[i].strftime("%b %Y") for i in (0, -1))
    span = last if first == last else f"{first} to {last}"
    return (
        f"Share of each month's new deals won within {h} days, {span}, with {_INTERVAL}s. The "
        f"latest judged cohort, {last}, won {format_pct(cohorts['rate'].iloc[-1])}."
    )


__all__ = [
    "cohorts_alt",
    "conversion_alt",
    "effects_alt",
    "owners_alt",
    "plot_cohorts",
    "plot_ranked_intervals",
    "plot_stage_conversion",
    "plot_waterfall",
    "waterfall_alt",
]
