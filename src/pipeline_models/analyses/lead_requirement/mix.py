"""The cheapest source mix that reaches the target with the chosen chance.

Sources are ranked by cost per expected win inside the window (``cost / E[q_s]``) and filled in
that order, each up to ``max_multiple`` times its recent lead volume over the window (a source
cannot grow without limit). For the expected number of wins this greedy fill is the exact optimum
(a fractional knapsack); the chance of reaching the target depends on little else, so the fill's
mix is near-optimal. Sources without a cost are not used. Beyond all caps, further leads go to the
cheapest source and the plan says the caps were exceeded.

The plan is then stated as a requirement in that mix: its leads are
``planner.requirement(target, mix=plan.by_source)``, the fewest leads in the mix's proportions
that give the chance, repeated in the answer's own proportions until they no longer change
(:func:`settle`). A report that shows the requirement for the plan's mix and the plan's table
therefore shows one number of leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.search import Path, answer, thresholds
from pipeline_models.analyses.lead_requirement.targets import check_target, parse_costs

if TYPE_CHECKING:
    from pipeline_models.analyses.lead_requirement.planner import LeadPlanner

MAX_ROUNDS = 50
"""Rounds of :func:`settle` at most (each can only lower the leads; one or two are the rule)."""


@dataclass
class MixPlan:
    """The cheapest source mix reaching the target with the chosen chance."""

    table: pd.DataFrame
    by_source: pd.Series  # leads by source (all sources, zeros for those not used)
    leads: int | None
    cost: float
    p_reach: float
    current_mix_leads: int | None
    current_mix_cost: float
    caps_exceeded: bool
    unknown_sources: list[str]
    unpriced_sources: list[str]
    requirement: LeadRequirement | None = None  # the requirement in this mix: the same leads


def fill_path(idx: np.ndarray, order: np.ndarray, caps: np.ndarray, n_sources: int) -> Path:
    """Leads by source for ``t`` leads filled into sources ``idx[order]`` in turn, each up to its
    cap; beyond all caps the rest goes to the first."""
    before = np.concatenate([[0.0], np.cumsum(caps[order])[:-1]])

    def path(t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, float)[..., None]
        take = np.clip(t - before, 0, caps[order])
        n = np.zeros((*t.shape[:-1], n_sources))
        n[..., idx[order]] = take
        n[..., idx[order[0]]] += np.maximum(t[..., 0] - caps.sum(), 0)
        return np.round(n).astype(np.int64)

    return path


def settle(
    planner: LeadPlanner, target: float, metric: str, confidence: float, leads: np.ndarray
) -> LeadRequirement:
    """The requirement in the mix of ``leads``, asked again in the mix of its answer until the
    answer is the mix itself.

    ``leads`` reach the target with the chance, so each answer lies at or below the leads it was
    asked for, source by source; the leads can only fall, and they stop falling at a mix whose
    requirement is itself.
    """
    by_source = pd.Series(leads, index=planner.model.sources_)
    req = planner.requirement(target, metric, confidence, mix=by_source)
    for _ in range(MAX_ROUNDS):
        if req.leads_needed is None or np.array_equal(req.by_source.to_numpy(), by_source):
            break
        by_source = req.by_source
        req = planner.requirement(target, metric, confidence, mix=by_source)
    return req


def _current_cost(planner: LeadPlanner, current: LeadRequirement, costs: dict[str, float]):
    sources = planner.model.sources_
    if not all(s in costs for s in sources) or current.leads_needed is None:
        return float("nan")
    return float(sum(current.by_source[s] * costs[s] for s in sources))


def cheapest_mix(
    planner: LeadPlanner,
    target: float,
    cost_per_lead: dict[str, float],
    metric: str = "count",
    confidence: float = 0.8,
    max_multiple: float = 3.0,
) -> MixPlan:
    """The source mix of least cost with ``P(target) >= confidence`` (see the module doc)."""
    check_target(target, metric, confidence)
    m = planner.model
    costs = parse_costs(cost_per_lead)
    known = [s for s in m.sources_ if s in costs]
    if not known:
        raise ValueError("cost_per_lead names none of the sources: " + ", ".join(m.sources_))
    idx = np.array([m.sources_.index(s) for s in known])
    eff = planner.q.mean(axis=0)[idx]
    cost = np.array([costs[s] for s in known])
    per_win = np.where(eff > 0, cost / np.maximum(eff, 1e-12), np.inf)
    order = np.argsort(per_win, kind="stable")
    caps = np.maximum(
        np.ceil(max_multiple * m.monthly_leads_.to_numpy(float)[idx] * planner.horizon), 0
    )
    path = fill_path(idx, order, caps, len(m.sources_))
    needed = answer(thresholds(planner.draws, path, target, metric, None), confidence)
    req = None
    n = np.zeros(len(m.sources_), np.int64)
    if needed is not None:
        req = settle(planner, target, metric, confidence, path(needed))
        n = req.by_source.to_numpy(np.int64)
    table = pd.DataFrame(
        {
            "source": known,
            "cost_per_lead": cost,
            "wins_per_100_leads": 100 * eff,
            "cost_per_win": per_win,
            "cap": caps.astype(int),
            "leads": n[idx],
        }
    )
    table["cost"] = table["leads"] * table["cost_per_lead"]
    table = table.iloc[order].reset_index(drop=True)
    current = planner.requirement(target, metric, confidence)
    found = req is not None and req.leads_needed is not None
    return MixPlan(
        table=table,
        by_source=pd.Series(n, index=m.sources_),
        leads=int(n.sum()) if found else None,
        cost=float(table["cost"].sum()) if found else float("nan"),
        p_reach=planner.p_reach(n, target, metric) if found else float("nan"),
        current_mix_leads=current.leads_needed,
        current_mix_cost=_current_cost(planner, current, costs),
        caps_exceeded=bool(found and (table["leads"] > table["cap"]).any()),
        unknown_sources=sorted(set(costs) - set(m.sources_)),
        unpriced_sources=[s for s in m.sources_ if s not in costs],
        requirement=req,
    )


__all__ = ["MAX_ROUNDS", "MixPlan", "cheapest_mix", "fill_path", "settle"]
