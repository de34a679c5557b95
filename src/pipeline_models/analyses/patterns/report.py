"""The patterns report's content: stage conversion and bottlenecks, stalled and slipping deals,
what changed since last month, what distinguishes won from lost deals, owners and cohorts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd

from pipeline_models.analyses.forecast.in_hand import period_score_odds
from pipeline_models.analyses.forecast.strength import SCORE_ODDS, with_score_odds
from pipeline_models.analyses.patterns import (
    changes,
    charts,
    cohorts,
    logged,
    narrative,
    stages,
    tables,
)
from pipeline_models.analyses.patterns.effects import all_effects, no_effects
from pipeline_models.analyses.patterns.owners import owner_table
from pipeline_models.analyses.patterns.stalled import (
    MIN_WON,
    flag_stalled,
    has_won_cycle,
    old_deals,
    stalled_hotspots,
    stalled_outlook,
    stalled_outlook_empty,
    won_cycle_limits,
)
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.analyses.unavailable import missing_models
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_count, format_money, format_pct, format_points

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

_PCT = f"{INTERVAL:.0%} interval"
EFFECT_ROWS = 60
"""Rows of the effects and owners tables (every attribute level of a typical export)."""
COHORT_ROWS = 36
"""Cohorts shown: three years of monthly cohorts."""
TOP_FINDINGS = 10
"""Attribute effects spelled out as sentences (the table holds them all)."""

READING_NOTE = (
    f"Every interval in this report is a {_PCT}: the true value lies inside it with "
    f"{INTERVAL:.0%} probability. Rates by group are *partially pooled*: a group with few deals "
    "is pulled toward the team's figure, a group with many keeps its own."
)
"""How to read the report's intervals (Markdown), from the policy's constant."""


def _figure(draw):
    def chart():
        draw()
        return plt.gcf()

    return chart


def build(
    catalog: Catalog, stalled_quantile: float = 0.9, cohort_recent: int = 3, max_rows: int = 30
) -> ReportContent:
    """Everything the patterns report shows, from the run's catalog and fits."""
    frame, as_of, currency = catalog.opportunities(), catalog.as_of, catalog.currency()
    previous = catalog.previous_opportunities()
    models = catalog.period_models()
    order = stages.stage_order(frame, as_of, previous)
    comparison = changes.compare(previous, frame, order, as_of)
    history = catalog.history()
    use_history = history is not None and len(history) > 0
    content = ReportContent(title="Patterns")
    content.add_note("reading", READING_NOTE)
    if use_history:
        parts = logged.logged_conversion(history, frame, order, as_of)
        moves, conversion = parts[0], parts[1]
        logged.add_stage_parts(content, parts, frame, order, as_of, max_rows, _figure, currency)
        _bottleneck_note(content, conversion, currency)
        logged.add_slippage_parts(content, history, frame, as_of, currency, max_rows)
    else:
        moves = None if comparison is None else comparison.moves
        conversion = (
            None
            if comparison is None
            else stages.stage_conversion(comparison.moves, order, comparison.gap_days)
        )
        _stage_parts(content, frame, order, comparison, conversion, as_of, currency, max_rows)
    bars = None if comparison is None else changes.waterfall(comparison.changes)
    content.warnings = models.warnings() + narrative.thin_data_warnings(
        frame, moves, where="in the stage history" if use_history else None
    )
    content.appendix = models.diagnostic_notes()
    stalled, hotspots, flagged = _stalled_parts(
        content, frame, as_of, comparison, models, stalled_quantile, currency, catalog, max_rows
    )
    _change_parts(content, frame, comparison, bars, as_of, currency, max_rows)
    effects, owners = _effect_parts(content, frame, models, catalog.random_seed, currency)
    trend = _cohort_parts(content, frame, as_of, cohort_recent, catalog.random_seed)
    content.headline, gaps = narrative.headline(
        conversion, stalled, bars, effects, owners, currency
    )
    if gaps:
        content.add_note("headline", "{gaps}", gaps=" ".join(gaps))
    content.figures = _summary_figures(
        order, conversion, bars, stalled, hotspots, effects, owners, trend
    )
    content.fits = dict(catalog.loaded)
    return content


def _stage_parts(content, frame, order, comparison, conversion, as_of, currency, max_rows):
    if comparison is None:
        content.add_note(
            "stages",
            "No previous export was given, so no stage moves can be seen: conversion and time in "
            "stage need last period's export. The open pipeline by stage, in {how}:",
            how=order.describe(),
        )
        table = stages.open_stage_table(frame, order, as_of)
        content.add_table(
            "open_stages",
            tables.open_stages_display(table, currency),
            "Open deals by stage",
            empty="No open deal as of the period's end: there is no open pipeline by stage.",
        )
        return
    content.add_note(
        "stages",
        "Stages are ordered by {how}. The previous export is dated {day} ({gap} days before "
        "this one).",
        how=order.describe(),
        day=comparison.previous_day.date(),
        gap=format_count(comparison.gap_days),
    )
    content.add_chart(
        "conversion",
        _figure(lambda: charts.plot_stage_conversion(conversion, currency=currency)),
        alt=charts.conversion_alt(conversion, "since the previous export"),
    )
    content.add_table(
        "conversion",
        tables.conversion_display(conversion, currency),
        f"Stage conversion since the previous export (pooled estimates with {_PCT}s)",
    )
    _bottleneck_note(content, conversion, currency)
    for by, rows in (("product", 50), ("owner", max_rows)):
        if frame[by].notna().any():
            table = stages.stage_conversion(comparison.moves, order, comparison.gap_days, by=by)
            content.add_table(
                f"conversion_by_{by}",
                tables.conversion_grid(table, by, conversion),
                f"Conversion by {by} (pooled estimates with {_PCT}s; * differs from the "
                "stage's overall rate)",
                max_rows=rows,
                empty=f"No deal of a known {by} left a stage since the previous export.",
            )


def _bottleneck_note(content, conversion, currency):
    neck = stages.bottleneck(conversion)
    if neck["lowest_stage"] is None:
        return
    value_lost = (
        " Most value was lost at **{value_stage}**: {value} ({share} of the value lost at all "
        "stages)."
        if neck["most_value_lost_stage"]
        else " No amount was lost at any stage."
    )
    content.add_note(
        "bottleneck",
        "**{stage}** converts least: {rate} of the deals leaving it move on ({pct} {bounds})"
        "{firm}." + value_lost,
        stage=neck["lowest_stage"],
        rate=format_pct(neck["lowest_conversion"]),
        pct=_PCT,
        bounds=narrative.bounds_text(*neck["lowest_interval"]),
        firm=", credibly below every other stage" if neck["credible"] else "",
        value_stage=neck["most_value_lost_stage"],
        value=format_money(neck["value_lost"], currency),
        share=format_pct(neck["value_lost_share"]),
    )


def _stalled_parts(
    content, frame, as_of, comparison, models, quantile, currency, catalog, max_rows
):
    if not has_won_cycle(frame):
        why = (
            "no won deal has both a creation and a close date, so no won cycle says how old is old"
        )
        content.add_note(
            "stalled",
            "Stalled deals cannot be shown: a deal is stalled when it is older than won deals "
            "usually take, and {why}.",
            why=why,
        )
        content.add_note("hotspots", "Where stalled deals gather cannot be shown either.")
        unknown = stalled_outlook_empty()
        unknown.attrs["unavailable"] = why
        return unknown, stalled_hotspots(frame.iloc[0:0]), frame.iloc[0:0]
    limits = won_cycle_limits(frame, q=quantile)
    forecaster = catalog.forecaster()
    # the chance of being won is the forecaster's, moved by each deal's score: the odds the
    # period's forecast read (deals without a status count as open here but not there, so an
    # export with such deals is scored here)
    flagged, scored = flag_stalled(frame, as_of, limits), period_score_odds(catalog)
    if SCORE_ODDS in scored and flagged.index.isin(scored.index).all():
        flagged[SCORE_ODDS] = scored[SCORE_ODDS].reindex(flagged.index).to_numpy()
    else:
        group = forecaster.forecast_config.group
        flagged = with_score_odds(flagged, catalog.deal_score(), group, frame, as_of)
    unchanged = None if comparison is None else changes.same_stage(comparison.changes)
    stalled = stalled_outlook(
        flagged,
        forecaster,
        models.revenue,
        unchanged=unchanged,
        random_seed=catalog.random_seed,
    )
    risk = float(stalled["value_at_risk"].sum()) if len(stalled) else 0.0
    content.add_note(
        "stalled",
        "An open deal is stalled when it is older than {q} of its product's won deals were when "
        "they closed (products with fewer than {few} won deals use all won deals). {n} of {m} open "
        "deals with a known age are stalled; their value at risk is {risk}.",
        q=format_pct(quantile),
        few=MIN_WON,
        n=format_count(len(stalled)),
        m=format_count(flagged["age_days"].notna().sum()),
        risk=format_money(risk, currency),
    )
    content.add_table(
        "stalled",
        tables.stalled_display(stalled, currency),
        "Stalled deals, largest value at risk first (value at risk: the amount times the chance "
        "of not being won within two years)",
        max_rows=max_rows,
        empty="No open deal is older than won deals usually take: nothing has stalled.",
    )
    content.files["stalled_deals"] = stalled
    hotspots = stalled_hotspots(old_deals(frame, as_of, limits))
    if len(hotspots):
        content.add_table(
            "hotspots",
            tables.hotspots_display(hotspots),
            f"Where stalled deals gather (adjusted ratios with {_PCT}s)",
        )
    else:
        content.add_note(
            "hotspots", "No group stands out: deals stall about equally often everywhere."
        )
    return stalled, hotspots, flagged


def _change_parts(content, frame, comparison, bars, as_of, currency, max_rows):
    if comparison is None:
        content.add_note(
            "changes",
            "No previous export was given, so what changed cannot be shown: run the report with "
            "last period's export to see new, won, lost and pushed deals and the waterfall.",
        )
    else:
        content.add_chart(
            "waterfall",
            _figure(lambda: charts.plot_waterfall(bars, currency=currency)),
            alt=charts.waterfall_alt(bars, currency),
        )
        content.add_table(
            "waterfall",
            tables.waterfall_display(bars, currency),
            "Open pipeline waterfall, from the previous export to this one",
        )
        summary = changes.change_summary(comparison.changes)
        content.add_table(
            "changes", tables.change_display(summary, currency), "What changed, deal by deal"
        )
        content.files["waterfall"] = bars
        slipping = changes.slipping_deals(comparison.changes, comparison.previous_day)
        content.add_note(
            "slipping",
            "{n} open deals slipped badly since the last export.",
            n=format_count(len(slipping)),
        )
        content.add_table(
            "slipping",
            tables.deal_list(slipping, currency),
            "Deals pushed by more than a month or while overdue",
            max_rows=max_rows,
            empty="No open deal was pushed by more than a month or while overdue.",
        )
        content.files["slipping_deals"] = slipping
    overdue = changes.overdue_deals(frame, as_of)
    content.add_note(
        "overdue",
        "{n} open deals have an expected close date before {day}.",
        n=format_count(len(overdue)),
        day=as_of.date(),
    )
    if len(overdue):
        content.add_table(
            "overdue",
            tables.deal_list(overdue, currency),
            "Overdue open deals, largest first",
            max_rows=max_rows,
        )


def _effect_parts(content, frame, models, seed, currency):
    missing = missing_models(models, ("win_rate",))
    if missing:
        content.add_note(
            "effects", "What wins cannot be shown: {why}.", why=missing[0].split(": ", 1)[1]
        )
        content.add_note("owners", "Owners cannot be compared on win rate without closed deals.")
        unknown = no_effects()
        unknown.attrs["unavailable"] = missing[0].split(": ", 1)[1]
        return unknown, None
    effects, notes = all_effects(frame, models.win_rate)
    shown = effects[effects["term"] != "owner"]
    findings = narrative.effect_sentences(shown, top=TOP_FINDINGS)
    if len(findings):
        template, values = narrative.bullets(findings["finding"])
        content.add_note("effects", template, **values)
    else:
        content.add_note(
            "effects",
            f"No attribute moves the win rate credibly: every {_PCT} includes the average.",
        )
    content.add_box("effects", notes)
    labelled = shown.assign(label=shown["term"].str.replace("_", " ") + ": " + shown["level"])
    if len(shown):
        _effects_chart(content, labelled, shown)
    content.add_table(
        "effects",
        tables.effects_display(shown),
        f"Every attribute's effect, strongest first (ratios with {_PCT}s; owners below)",
        max_rows=EFFECT_ROWS,
        empty="The win-rate model compares no attribute on this export.",
    )
    owners = owner_table(frame, models.win_rate, random_seed=seed)
    _owner_parts(content, owners, currency)
    return effects, owners


def _effects_chart(content, labelled, shown):
    content.add_chart(
        "effects",
        _figure(
            lambda: charts.plot_ranked_intervals(
                labelled,
                "label",
                value="rate_ratio",
                reference=1.0,
                log=True,
                xlabel=f"win rate relative to the average deal ({_PCT})",
            )
        ),
        alt=charts.effects_alt(shown),
    )


def _owner_parts(content, owners, currency):
    if owners is None:
        content.add_note(
            "owners", "The export has no owner column (or a single owner): nothing to compare."
        )
        return
    content.add_chart(
        "owners",
        _figure(
            lambda: charts.plot_ranked_intervals(
                owners.reset_index(),
                "owner",
                value="win rate",
                reference=owners.attrs["team_rate"],
                xlabel=f"win rate, pooled and mix-adjusted ({_PCT}); dashed: average owner",
                share=True,
            )
        ),
        alt=charts.owners_alt(owners),
    )
    content.add_note(
        "owners",
        "Credibly above the team's win rate: {above}. Credibly below: {below}.",
        above=", ".join(owners.index[owners["win rate vs team"] == "higher"]) or "nobody",
        below=", ".join(owners.index[owners["win rate vs team"] == "lower"]) or "nobody",
    )
    content.add_table(
        "owners",
        tables.owner_display(owners, currency),
        f"Owners: pooled win rate and revenue per closed deal (estimates with {_PCT}s)",
        max_rows=EFFECT_ROWS,
    )
    content.files["owners"] = owners.reset_index()


def _cohort_parts(content, frame, as_of, recent, seed):
    table = cohorts.cohort_table(frame, as_of, cohorts.cohort_horizon(frame))
    trend = cohorts.cohort_trend(table, recent=recent, random_seed=seed)
    horizon = format_count(table.attrs["horizon_days"])
    if len(table):
        content.add_chart(
            "cohorts", _figure(lambda: charts.plot_cohorts(table)), alt=charts.cohorts_alt(table)
        )
    content.add_table(
        "cohorts",
        tables.cohort_display(table),
        f"Cohorts judged after the same window of {horizon} days (win rates with {_PCT}s)",
        max_rows=COHORT_ROWS,
        empty="No cohort is old enough to be judged yet.",
    )
    content.add_note(
        "young_cohorts",
        "{young} recent cohorts are younger than the {h}-day window and are not judged yet.",
        young=format_count(table.attrs["too_young"]),
        h=horizon,
    )
    if trend is not None:
        content.add_note(
            "trend",
            "The latest cohorts ({recent}) won {r} of their deals within the window against {e} "
            "for earlier ones ({earlier}): a difference of {d} points ({pct} {lo} to {hi} "
            "points); chance that the recent ones do better: {p}. Median days to a win: {rd} "
            "against {ed}.",
            recent=_month_span(trend["recent_cohorts"]),
            earlier=_month_span(trend["earlier_cohorts"]),
            r=format_pct(trend["recent_rate"]),
            e=format_pct(trend["earlier_rate"]),
            d=format_points(trend["difference"]),
            pct=_PCT,
            lo=format_points(trend["lower"]),
            hi=format_points(trend["upper"]),
            p=format_pct(trend["p_improved"]),
            rd=format_count(trend["recent_days_to_win"]),
            ed=format_count(trend["earlier_days_to_win"]),
        )
    return trend


def _month_span(span: str) -> str:
    """``"2026-05 to 2026-07"`` as a reader writes it: ``"May 2026 to Jul 2026"``."""
    return " to ".join(pd.Period(m, "M").strftime("%b %Y") for m in span.split(" to "))


def _summary_figures(order, conversion, bars, stalled, hotspots, effects, owners, trend) -> dict:
    credible = effects.loc[effects["credible"], ["term", "level", "rate_ratio"]]
    return {
        "stage_order": list(order.stages),
        "stage_order_method": order.method,
        "bottleneck": None if conversion is None else stages.bottleneck(conversion),
        "waterfall_cents": None
        if bars is None
        else dict(zip(bars["bar"], bars["cents"].astype(int), strict=True)),
        "stalled_deals": len(stalled),
        "value_at_risk": float(stalled["value_at_risk"].sum()) if len(stalled) else 0.0,
        "stalled_hotspots": [
            f"{a}={lv}" for a, lv in zip(hotspots["attribute"], hotspots["level"], strict=True)
        ],
        "credible_effects": {
            f"{t}={lv}": round(float(r), 3) for t, lv, r in credible.itertuples(index=False)
        },
        "owners_above": []
        if owners is None
        else list(owners.index[owners["win rate vs team"] == "higher"]),
        "owners_below": []
        if owners is None
        else list(owners.index[owners["win rate vs team"] == "lower"]),
        "cohort_trend": trend,
    }


__all__ = ["build"]
