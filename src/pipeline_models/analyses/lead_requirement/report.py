"""The lead requirement report's content: the new leads that reach a target with a chosen chance,
what is in hand, where the wins land, the funnel by source, the cheapest mix and the track record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np

from pipeline_models.analyses.forecast.honesty import NO_LOST, lost_recorded
from pipeline_models.analyses.forecast.in_hand import monthly_parts, period_outlook
from pipeline_models.analyses.forecast.tables import interval_words
from pipeline_models.analyses.lead_requirement import charts, narrative, tables, targets
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.analyses.lead_requirement.requirement import funnel_ratio_leads
from pipeline_models.analyses.lead_requirement.track import coverage_table
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.content import ReportContent
from pipeline_models.present.formats import format_count, format_money, format_pct

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
    content.appendix = [
        *models.diagnostic_notes(),
        f"lead funnel model: {model.diagnostics().message}",
        f"forecast model (what is in hand): {catalog.forecaster().diagnostics().message}",
    ]
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
        tables.sensitivity_display(sensitivity, SENSITIVITY, req.units),
        f"New {req.units} needed for {tables.chance_words(confidence)} if one source's rate "
        f"changes by {format_pct(SENSITIVITY)} (each a number of {req.units} to generate, so "
        "without an interval)",
        empty="No lead source to vary.",
    )
    coverage = _track_parts(
        content,
        catalog.lead_track(horizon_months, backtest_months),
        model,
        horizon_months,
        lost_recorded(catalog.opportunities()),
        currency,
    )
    content.files["funnel"] = tables.funnel_file(model)
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
    content.add_table(
        "answer",
        tables.requirement_display(req, monthly, currency),
        f"The answer: new {req.units} for the chosen chance and for an even chance, and what is "
        f"in hand with its {interval_words()}",
        empty="No answer to show for this target.",
    )
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

    content.add_chart("curve", curve, alt=narrative.curve_alt(req))
    content.add_table(
        "split",
        tables.split_display(req, planner),
        f"The recommended new {req.units} by source, and the wins they are expected to bring "
        "inside the window (expected values, without an interval)",
        empty=f"No new {req.units} are recommended.",
    )


PER_MONTH = "expected per part, and the total's median with its {interval}"
"""What the tables of wins per month show (with the planner's interval)."""


def _in_hand_tables(content, model, planner, currency) -> None:
    """Deals (and revenue) won from what is in hand, per month; a sentence when nothing is."""
    hand = planner.in_hand
    nothing = not any(np.any(part["count"] > 0) for part in hand.parts.values())
    empty = (
        f"Nothing is in hand: no open deal or open {model.unit} at the period's end is expected "
        "to bring a win in the window."
    )
    per_month = PER_MONTH.format(interval=interval_words())
    for metric, what in (("count", "Deals"), ("revenue", "Revenue")):
        if metric == "revenue" and not model.has_amounts_:
            continue
        shown = tables.outlook_display(hand, metric, currency)
        content.add_table(
            f"in_hand_{metric}",
            shown.iloc[0:0] if nothing else shown,
            f"{what} won from what is in hand: {per_month}",
            empty=empty,
        )


def _funnel_parts(content, model, models, planner, req, seed, currency):
    _in_hand_tables(content, model, planner, currency)
    per_month = PER_MONTH.format(interval=interval_words())
    outlook = planner.new_leads(req.by_source, random_seed=seed)
    targets_ = ("count", "revenue") if model.has_amounts_ else ("count",)

    def wins():
        fig, axes = plt.subplots(
            1, len(targets_), figsize=(11 if len(targets_) > 1 else 6, 3.6), squeeze=False
        )
        for ax, what in zip(axes[0], targets_, strict=True):
            charts.plot_outlook(outlook, what, ax=ax, currency=currency)
        fig.tight_layout()
        return fig

    content.add_chart("wins", wins, alt=narrative.wins_alt(outlook, targets_, currency))
    content.add_table(
        "wins",
        tables.outlook_display(outlook, "count"),
        f"Deals won per month with the recommended new {req.units}: {per_month}",
        empty="No month in the window to show.",
    )
    months = model.funnel_config.lookback_months
    content.add_table(
        "funnel",
        tables.funnel_display(model),
        f"Funnel by lead source over the last {months} months: rates with their "
        f"{interval_words(INTERVAL)}s",
        empty="No lead source in the last months of this export.",
    )

    rates_shown = ("lead_to_opp", "lead_to_won") if model.has_leads_ else ("opp_to_won",)

    def rates():
        fig, axes = plt.subplots(
            1,
            len(rates_shown),
            figsize=(5.5 * len(rates_shown), 0.45 * len(model.sources_) + 1.6),
            squeeze=False,
        )
        for ax, rate in zip(axes[0], rates_shown, strict=True):
            charts.plot_rates(model, rate, ax=ax)
        fig.tight_layout()
        return fig

    content.add_chart("rates", rates, alt=narrative.rates_alt(model, rates_shown[-1]))
    content.add_table(
        "products",
        tables.product_display(model),
        "The chance that an opportunity of each product is ever won, with its "
        f"{interval_words(INTERVAL)}",
        empty="The export names no product for its recent opportunities.",
    )
    content.add_table(
        "cross_check",
        tables.win_rate_comparison(model, models.win_rate),
        "Cross-check: chance of ever being won (this report) against the win-rate model's "
        f"won-of-closed rate, each with its {interval_words(INTERVAL)}; the rate as recorded "
        "has none",
        empty="No lead source to compare.",
    )
    content.add_table(
        "lags",
        tables.lag_display(model),
        "Days per step of the funnel: the median, and in brackets the day by which "
        f"{tables.LAG_QUANTILE} of the eventual wins have happened (days observed, without an "
        "interval)",
        empty="No lead source with a step to time.",
    )

    def lags():
        charts.plot_lags(model, horizon_days=planner.x[-1])
        return plt.gcf()

    content.add_chart("lags", lags, alt=narrative.lags_alt(model, planner.x[-1]))


def _mix_parts(content, plan, model, currency):
    if plan is None:
        content.add_note(
            "mix",
            "No cost per lead given: set `cost_per_lead` (source to cost) to see the cheapest mix.",
        )
        return
    content.add_table(
        "mix",
        tables.mix_display(plan, currency),
        "Cheapest mix, sources in order of cost per win (expected wins and costs, without an "
        "interval)",
        empty="No source has a cost: no mix to show.",
    )
    if plan.leads is None:
        content.add_note(
            "mix",
            "No mix of the sources with a cost reaches the target with the chosen chance in "
            "this window.",
        )
        return
    current = (
        "the current mix cannot reach the target with the chosen chance"
        if plan.current_mix_leads is None
        else f"{format_count(plan.current_mix_leads)} {model.units} for "
        f"{format_money(plan.current_mix_cost, currency)} in the current mix"
    )
    content.add_note(
        "mix",
        "Cheapest mix: **{leads}** new {units} for **{cost}**; {current}.",
        leads=format_count(plan.leads),
        units=model.units,
        cost=format_money(plan.cost, currency),
        current=current,
    )
    content.add_box("mix", narrative.mix_warnings(plan))


def _track_parts(content, track, model, horizon_months, lost_known=True, currency=""):
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
            1, len(targets_), figsize=(11 if len(targets_) > 1 else 6, 4.2), squeeze=False
        )
        for ax, what in zip(axes[0], targets_, strict=True):
            charts.plot_backtest(track, what, horizon_months, ax=ax, currency=currency)
        fig.tight_layout()
        return fig

    content.add_chart("track", chart, alt=narrative.track_alt(coverage, horizon_months))
    content.add_table(
        "coverage",
        tables.coverage_display(coverage),
        "How often what was won fell inside the predicted intervals, and the bias of the "
        "median (positive: predicted too high)",
        empty="No month-end could be scored.",
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
