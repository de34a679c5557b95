"""The lead requirement report's content: the new leads that reach a target with a chosen chance,
what is in hand, where the wins land, the funnel by source, the cheapest mix and the track record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt

from pipeline_models.analyses.forecast.honesty import NO_LOST, lost_recorded
from pipeline_models.analyses.forecast.in_hand import monthly_parts, period_outlook
from pipeline_models.analyses.lead_requirement import charts, narrative, tables, targets
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.analyses.lead_requirement.requirement import funnel_ratio_leads
from pipeline_models.analyses.lead_requirement.track import coverage_table
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_count, format_money

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

SENSITIVITY = 0.10
"""Change of one source's rate in the sensitivity table: a change a source's rates plausibly see
from one quarter to the next."""


def build(
    catalog: Catalog,
    target_deals: int = 0,
    target_revenue: float = 0.0,
    horizon_months: int = 3,
    confidence: float = 0.8,
    cost_per_lead: dict | str | None = None,
    max_source_multiple: float = 3.0,
    backtest_months: int = 6,
) -> ReportContent:
    """Everything the lead requirement report shows, from the run's catalog and fits."""
    frame, as_of, currency, seed = (
        catalog.opportunities(),
        catalog.as_of,
        catalog.currency(),
        catalog.random_seed,
    )
    models = catalog.period_models()
    model = catalog.lead_funnel()
    # what is in hand: the very draws of the period's forecast (open deals and open leads)
    forecast, _ = period_outlook(catalog, horizon_months)
    hand = monthly_parts(forecast, horizon_months)
    planner = LeadPlanner(model, horizon_months, random_seed=seed, in_hand=hand)
    target, metric, target_note = targets.resolve_target(
        frame, as_of, horizon_months, target_deals, target_revenue
    )
    content = ReportContent(title="Lead requirement")
    content.warnings = models.warnings() + narrative.funnel_warnings(model, metric)
    content.add_note("unit", narrative.unit_note(model))
    costs = targets.parse_costs(cost_per_lead)
    plan = (
        planner.cheapest_mix(target, costs, metric, confidence, max_source_multiple)
        if costs
        else None
    )
    cheapest = plan is not None and plan.leads
    req = planner.requirement(target, metric, confidence, mix=plan.by_source if cheapest else None)
    ratio = funnel_ratio_leads(model, target, metric)
    content.headline = narrative.headline(req, currency)
    _answer_parts(
        content, model, planner, req, ratio, target, metric, target_note, cheapest, currency
    )
    _funnel_parts(content, model, models, planner, req, seed, currency)
    _mix_parts(content, plan, model, currency)
    sensitivity = planner.sensitivity(target, metric, confidence, SENSITIVITY)
    content.add_table(
        "sensitivity",
        tables.sensitivity_display(sensitivity, SENSITIVITY),
        f"New leads needed if one source's rate changes by {SENSITIVITY:.0%}",
    )
    coverage = _track_parts(
        content,
        catalog.lead_track(horizon_months, backtest_months),
        model,
        horizon_months,
        lost_recorded(catalog.opportunities()),
    )
    content.files["funnel"] = tables.funnel_display(model).reset_index()
    content.files["requirement_curve"] = req.curve
    content.figures = _summary_figures(
        req, model, target, metric, confidence, ratio, plan, coverage
    )
    content.fits = dict(catalog.loaded)
    return content


def _answer_parts(content, model, planner, req, ratio, target, metric, note, cheapest, currency):
    monthly = float(model.monthly_leads_.sum())
    content.add_note(
        "target",
        "Target: **{target}** in **{window}** ({note}). New leads are assumed to be generated "
        "evenly over the window, in the {mix}.",
        target=targets.target_text(target, metric, currency),
        window=req.window,
        note=note,
        mix="cheapest source mix for the costs given (see below)"
        if cheapest
        else "current source mix",
    )
    content.add_table("answer", tables.requirement_display(req, monthly, currency))
    content.add_note(
        "ratio",
        "A CRM's funnel ratio would say **{ratio}** new {units}: the target divided by the average "
        "lead-to-won rate of the current mix. It ignores the deals already in hand and the weeks a "
        "new lead needs to close.",
        ratio=format_count(ratio),
        units=req.units,
    )

    def curve():
        charts.plot_requirement_curve(req)
        return plt.gcf()

    content.add_chart("curve", curve)
    content.add_table(
        "split", tables.split_display(req, planner), f"The recommended new {req.units} by source"
    )


def _funnel_parts(content, model, models, planner, req, seed, currency):
    content.add_table(
        "in_hand_count",
        tables.outlook_display(planner.in_hand, "count"),
        "Deals won from what is in hand",
    )
    if model.has_amounts_:
        content.add_table(
            "in_hand_revenue",
            tables.outlook_display(planner.in_hand, "revenue", currency),
            "Revenue won from what is in hand",
        )
    outlook = planner.new_leads(req.by_source, random_seed=seed)
    targets_ = ("count", "revenue") if model.has_amounts_ else ("count",)

    def wins():
        fig, axes = plt.subplots(
            1, len(targets_), figsize=(11 if len(targets_) > 1 else 6, 3.6), squeeze=False
        )
        for ax, what in zip(axes[0], targets_, strict=True):
            charts.plot_outlook(outlook, what, ax=ax)
        fig.tight_layout()
        return fig

    content.add_chart("wins", wins)
    content.add_table(
        "wins",
        tables.outlook_display(outlook, "count"),
        "Deals won per month with the recommended new leads",
    )
    content.add_table(
        "funnel",
        tables.funnel_display(model),
        f"Funnel by lead source (last 12 months; rates with {INTERVAL:.0%} intervals)",
    )

    def rates():
        fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(model.sources_) + 1.6))
        charts.plot_rates(model, "lead_to_opp" if model.has_leads_ else "opp_to_won", ax=axes[0])
        charts.plot_rates(model, "lead_to_won" if model.has_leads_ else "opp_to_won", ax=axes[1])
        fig.tight_layout()
        return fig

    content.add_chart("rates", rates)
    content.add_table(
        "products",
        tables.product_display(model),
        f"Opportunity to won by product ({INTERVAL:.0%} intervals)",
    )
    content.add_table(
        "cross_check",
        tables.win_rate_comparison(model, models.win_rate),
        "Cross-check: chance of ever being won (this report) against the win-rate model's "
        "won-of-closed rate",
    )
    content.add_table(
        "lags", tables.lag_display(model), "Days per step of the funnel: median (80th percentile)"
    )

    def lags():
        charts.plot_lags(model, horizon_days=planner.x[-1])
        return plt.gcf()

    content.add_chart("lags", lags)


def _mix_parts(content, plan, model, currency):
    if plan is None:
        content.add_note(
            "mix",
            "No cost per lead given: set `cost_per_lead` (source to cost) to see the cheapest mix.",
        )
        return
    content.add_table(
        "mix", tables.mix_display(plan, currency), "Cheapest mix, sources in order of cost per win"
    )
    content.add_note(
        "mix",
        "Cheapest mix: **{leads}** new {units} for **{cost}**, against {current_leads} {units} for "
        "{current_cost} in the current mix.",
        leads="not reachable" if plan.leads is None else format_count(plan.leads),
        units=model.units,
        cost=format_money(plan.cost, currency),
        current_leads="n/a"
        if plan.current_mix_leads is None
        else format_count(plan.current_mix_leads),
        current_cost=format_money(plan.current_mix_cost, currency),
    )
    content.add_box("mix", narrative.mix_warnings(plan))


def _track_parts(content, track, model, horizon_months, lost_known=True):
    if not lost_known:  # no honest score on an export without lost deals
        content.add_box("track", [f"No track record: {NO_LOST}."])
        return None
    if track is None or track.empty:
        content.add_box(
            "track",
            [
                "Too little history for a track record (a full window after at least three months "
                "of closes)."
            ],
        )
        return None
    coverage = coverage_table(track)
    content.files["backtest"] = track
    targets_ = ("count", "revenue") if model.has_amounts_ else ("count",)

    def chart():
        fig, axes = plt.subplots(
            1, len(targets_), figsize=(11 if len(targets_) > 1 else 6, 3.5), squeeze=False
        )
        for ax, what in zip(axes[0], targets_, strict=True):
            charts.plot_backtest(track, what, horizon_months, ax=ax)
        fig.tight_layout()
        return fig

    content.add_chart("track", chart)
    content.add_table(
        "coverage",
        tables.coverage_display(coverage),
        "Coverage of the intervals and bias of the median (positive: predicted too high)",
    )
    return coverage


def _summary_figures(req, model, target, metric, confidence, ratio, plan, coverage) -> dict:
    return {
        "target": float(target),
        "metric": metric,
        "window": req.window,
        "unit": model.unit,
        "has_leads": bool(model.has_leads_),
        "confidence": float(confidence),
        "leads_needed": req.leads_needed,
        "median_case": req.median_case,
        "leads_needed_by_source": {str(k): int(v) for k, v in req.by_source.items()},
        "p_in_hand": req.p_in_hand,
        "in_hand_expected": req.in_hand_expected,
        "funnel_ratio_leads": ratio,
        "cheapest_mix_cost": None if plan is None else plan.cost,
        "backtest_coverage": None if coverage is None else coverage.to_dict(orient="records"),
    }


__all__ = ["build"]
