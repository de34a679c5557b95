"""What the lead requirement report says around its numbers: the headline, what a "lead" is, and
warnings about thin data and the mix."""

from __future__ import annotations

from pipeline_models.analyses.lead_requirement.mix import MixPlan
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.tables import in_hand_text
from pipeline_models.analyses.lead_requirement.targets import target_text
from pipeline_models.models.funnel.config import THIN_SOURCE
from pipeline_models.models.funnel.model import LeadFunnelModel

FEW_WINS = 100
"""Fewer recent wins than this, and the rates, lags and so the requirement are uncertain."""


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
    if model.items_.undated_open:
        out.append(
            f"{model.items_.undated_open} open deals have no creation date: they cannot be "
            "placed in time and are left out of what is in hand."
        )
    if metric == "revenue" and not model.has_amounts_:
        out.append("No won deal has an amount: a revenue target cannot be planned.")
    return out


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
    """The report's headline figures."""

    def leads(n: int | None) -> str:
        return "not reachable" if n is None else f"{n:,}"

    return [
        ("target", f"{target_text(req.target, req.metric, currency)} in {req.window}"),
        (f"new {req.units} for a {req.confidence:.0%} chance", leads(req.leads_needed)),
        (f"new {req.units}, median case", leads(req.median_case)),
        ("expected from what is in hand", in_hand_text(req, currency)),
    ]


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


__all__ = ["FEW_WINS", "funnel_warnings", "headline", "mix_warnings", "unit_note"]
