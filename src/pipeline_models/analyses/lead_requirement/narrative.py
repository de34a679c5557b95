"""What the lead requirement report says around its numbers: the headline, what a "lead" is, and
warnings about thin data and the mix."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.tables import interval_words, span_text, value_text
from pipeline_models.analyses.lead_requirement.mix import MixPlan
from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.tables import (
    NOT_REACHABLE,
    RATE_NAMES,
    chance_words,
)
from pipeline_models.analyses.lead_requirement.targets import target_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.funnel.config import THIN_SOURCE
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.present.formats import format_count, format_pct

FEW_WINS = 100
"""Fewer recent wins than this, and the rates, lags and so the requirement are uncertain."""
DRIFT_EVIDENT = 2.0
"""A drift in conversion this many posterior sd from zero is reported."""
RHYTHM_EVIDENT = 3.0
"""A quarter rhythm is reported when a month's factor is this many sd of its log from 1..."""
RHYTHM_WORTH = 1.25
"""... and at least this many times 1, or at most its inverse."""


def funnel_warnings(model: LeadFunnelModel, metric: str = "count") -> list[str]:
    """Thin-data and data-shape warnings for the top of the report."""
    out = []
    cfg = model.funnel_config
    thin = model.thin_sources()
    if thin:
        out.append(
            f"{len(thin)} source(s) with fewer than {THIN_SOURCE} recent opportunities "
            f"({', '.join(map(str, thin[:5]))}{'...' if len(thin) > 5 else ''}): their rates "
            "lean on the other sources and have wide intervals."
        )
    wins = int(model.opp_counts_["won"].sum())
    if wins == 0:
        out.append(
            f"No deal was won in the last {cfg.lookback_months} months: conversion rates and lags "
            "cannot be learned from this export, and the requirement is a rough guide only."
        )
    elif wins < FEW_WINS:
        out.append(
            f"Only {wins} deals won in the last {cfg.lookback_months} months: "
            "conversion rates and lags are uncertain, and so is the requirement."
        )
    if wins and len(model.paths_) < cfg.min_lag_samples:
        out.append(
            f"Only {len(model.paths_)} won deals with a known time from lead to won: the time "
            "new leads take to close is uncertain."
        )
    changed = model.conversion_changes()
    if len(changed):
        for months, group in changed.groupby("months"):
            names = ", ".join(map(str, group.index[:5])) + ("..." if len(group) > 5 else "")
            moved = "higher" if group["ratio"].median() > 1 else "lower"
            out.append(
                f"Leads of the last {months} month(s) convert unlike the earlier ones ({names}: "
                f"about {group['ratio'].median():.1f} times the earlier rate, {moved}): their "
                "rates come from those leads alone, so they are current but less certain."
            )
    out += [s for s in (drift_sentence(model), rhythm_sentence(model)) if s]
    if model.items_.undated_open:
        out.append(
            f"{model.items_.undated_open} open deals have no creation date: they cannot be "
            "placed in time and are left out of what is in hand."
        )
    if metric == "revenue" and not model.has_amounts_:
        out.append("No won deal has an amount: a revenue target cannot be planned.")
    return out


def drift_sentence(model: LeadFunnelModel) -> str | None:
    """A sentence on a steady drift in conversion, when its posterior is clear of zero (mean at
    least :data:`DRIFT_EVIDENT` sd from it); None otherwise."""
    drift = model.conversion_drift()
    if drift is None or abs(drift[0]) < DRIFT_EVIDENT * drift[1]:
        return None
    yearly = float(np.exp(12 * drift[0]))
    moved = "less" if yearly < 1 else "more"
    change = f"{'fall' if yearly < 1 else 'rise'} by about {format_pct(abs(yearly - 1))}"
    return (
        f"Leads have converted {moved} often month by month (at this pace the odds of "
        f"converting {change} a year): each source's rate is brought forward to today's level, "
        "not left at the average of recent months, and its interval widens by how unsure the "
        "pace is."
    )


def rhythm_sentence(model: LeadFunnelModel) -> str | None:
    """A sentence on a quarter rhythm of wins, when the factor of a month of the quarter is both
    clear of 1 (its log :data:`RHYTHM_EVIDENT` sd from 0: three months are tested) and
    :data:`RHYTHM_WORTH` from it; None otherwise."""
    rhythm = model.quarter_rhythm_
    if rhythm is None or not rhythm.observed.size:
        return None
    level, sd = rhythm.levels()
    size = np.abs(np.log(level))
    shown = (size >= RHYTHM_EVIDENT * sd) & (size >= np.log(RHYTHM_WORTH))
    if not shown.any():
        return None
    # the month wins bunch in, where there is one; else the month they avoid
    q = int(np.argmax(np.where(shown, level, -np.inf)))
    if level[q] < 1:
        q = int(np.argmin(np.where(shown, level, np.inf)))
    month = ("first", "second", "last")[q]
    return (
        f"Wins land in a quarter's {month} month {level[q]:.1f} times as often as the time "
        "leads take to be won would put them there: new leads' wins are placed by the month "
        "they are created in, so a window's wins depend on where it ends in the quarter."
    )


def unit_note(model: LeadFunnelModel) -> str:
    """One sentence saying what a "lead" is in this report."""
    if model.has_leads_:
        return (
            "Leads come from the leads file; a lead counts as converted when it became an "
            "opportunity."
        )
    return (
        "**This export has no leads file, so each opportunity counts as a lead**: the funnel "
        "starts at the opportunity, and the requirement is a number of new opportunities."
    )


def headline(req: LeadRequirement, currency: str = "") -> list[tuple[str, str]]:
    """The report's headline figures: the target, the new leads for the chosen chance and for an
    even chance, and what is in hand with its interval (a number of leads that no number of new
    leads reaches reads "not reachable": that is the answer, not a missing one)."""

    def leads(n: int | None) -> str:
        return NOT_REACHABLE if n is None else format_count(n)

    low, high = req.in_hand_interval
    unit = " deals" if req.metric == "count" else ""
    expected = value_text(req.in_hand_expected, req.metric, currency) + unit
    items = [
        (f"target, {req.window}", target_text(req.target, req.metric, currency)),
        (f"new {req.units} for {chance_words(req.confidence)}", leads(req.leads_needed)),
        (f"new {req.units}, median case", leads(req.median_case)),
        ("expected from what is in hand", expected),
    ]
    span = span_text(low, high, req.metric, currency)
    if span != span_text(low, low, req.metric, currency):  # a spread worth an interval
        items.append((f"what is in hand, {interval_words()}", span + unit))
    return items


def curve_alt(req: LeadRequirement) -> str:
    """The alt text of the requirement curve."""
    text = (
        f"The chance of reaching the target ({target_text(req.target, req.metric)} in "
        f"{req.window}) for each number of new {req.units}, from none up."
    )
    if req.leads_needed is not None:
        text += (
            f" {format_count(req.leads_needed)} new {req.units} give {chance_words(req.confidence)}"
        )
        text += (
            f"; {format_count(req.median_case)} an even chance."
            if req.median_case is not None
            else "."
        )
    else:
        text += f" No number of new {req.units} gives {chance_words(req.confidence)} in the window."
    return text + f" With no new {req.units} the chance is {format_pct(req.p_in_hand)}."


def wins_alt(outlook: WindowOutlook, metrics: tuple[str, ...], currency: str = "") -> str:
    """The alt text of the chart of wins per month with the recommended leads."""
    names = list(outlook.parts)
    parts = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    text = (
        f"Expected wins per month of {outlook.months[0]}..{outlook.months[-1]}, stacked by where "
        f"they come from ({parts}), with the total's {interval_words()}."
    )
    for metric in metrics:
        whole = outlook.table(metric).iloc[-1]
        what = "Deals won" if metric == "count" else "Revenue won"
        text += (
            f" {what} in the whole window: median {value_text(whole['median'], metric, currency)}, "
            f"{interval_words()} {span_text(whole['low'], whole['high'], metric, currency)}."
        )
    return text


def rates_alt(model: LeadFunnelModel, rate: str) -> str:
    """The alt text of the funnel rates chart: the highest and lowest source of ``rate``."""
    table = model.funnel_table(INTERVAL).sort_values(rate)
    low, high = table.iloc[0], table.iloc[-1]
    name = RATE_NAMES[rate].lower()
    shown = f"lead \u2192 opportunity and {name}" if model.has_leads_ else name
    rates = "rates" if model.has_leads_ else "rate"
    text = (
        f"The funnel's {shown} {rates} by source, each a mean with its {interval_words(INTERVAL)}."
    )
    if len(table) == 1:
        return text + f" {name.capitalize()} for {high['source']}: {format_pct(high[rate], 1)}."
    return text + (
        f" {name.capitalize()}: highest for {high['source']} at {format_pct(high[rate], 1)}, "
        f"lowest for {low['source']} at {format_pct(low[rate], 1)}."
    )


def lags_alt(model: LeadFunnelModel, horizon_days: float) -> str:
    """The alt text of the lags chart: which sources win fastest and slowest."""
    median = {s: model.lag_total_[s].quantile(0.5) for s in model.sources_}
    fast, slow = min(median, key=median.get), max(median, key=median.get)
    text = (
        f"The share of eventual wins already won by each number of days since the {model.unit} "
        f"was created, one line per source; half are won by day {median[fast]:.0f} for {fast}"
    )
    if slow != fast:
        text += f" and by day {median[slow]:.0f} for {slow}"
    return text + f". The dashed line marks the window's {horizon_days:.0f} days."


def track_alt(coverage: pd.DataFrame, horizon: int) -> str:
    """The alt text of the track-record chart: the window's coverage of the planner's
    interval."""
    rows = coverage[coverage["horizon_months"] == horizon]
    text = (
        f"What the funnel predicted, at each past month-end, for the {horizon} months after it "
        f"(median and {interval_words()}) against what was won."
    )
    for _, row in rows.iterrows():
        what = "deals won" if row["target"] == "count" else "revenue won"
        inside = round(row["inside_80"] * row["origins"])
        text += (
            f" For {what}, what was won fell inside the interval at {format_count(inside)} of "
            f"{format_count(row['origins'])} month-ends."
        )
    return text


def mix_warnings(plan: MixPlan) -> list[str]:
    """What the reader of the cheapest mix should know: unused and unknown sources, caps."""
    out = []
    if plan.unpriced_sources:
        out.append(
            "Sources without a cost are not used: " + ", ".join(map(str, plan.unpriced_sources))
        )
    if plan.unknown_sources:
        out.append(
            "Costs given for sources the export does not have: "
            + ", ".join(map(str, plan.unknown_sources))
        )
    if plan.caps_exceeded:
        out.append(
            "The target needs more than every source's cap: the extra leads go to the cheapest "
            "source."
        )
    return out


__all__ = [
    "FEW_WINS",
    "curve_alt",
    "funnel_warnings",
    "headline",
    "lags_alt",
    "mix_warnings",
    "rates_alt",
    "track_alt",
    "unit_note",
    "wins_alt",
]
