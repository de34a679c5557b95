"""The lead planner: from a fitted funnel, what is in hand, how many new leads a target needs, at
what cost, and how sensitive that is.

``LeadPlanner(model, horizon_months, random_seed)`` stores its configuration; :meth:`prepare`
makes every draw once (fixed by ``random_seed``; the first question prepares a planner that was
not). Every question reuses the draws, so answers for different lead counts are comparable and
``P(target)`` is monotone in leads.

The requirement (:meth:`LeadPlanner.requirement`). New leads are created evenly over the window
in the current source mix (or a given one); wins from ``n_s`` leads are ``Binomial(n_s, q_s)``,
revenue of ``k`` wins ``Gamma`` with the mean and variance of ``k`` won amounts, plus what is in
hand (:mod:`.simulation`, :mod:`.kernels`). Each draw has a threshold, the fewest leads with which
it reaches the target (:mod:`.search`); the requirement is their ``confidence`` quantile and the
median case their median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.in_hand import IN_HAND_QUANTILES
from pipeline_models.analyses.lead_requirement.kernels import new_lead_kernels, new_lead_outlook
from pipeline_models.analyses.lead_requirement.mix import MixPlan, cheapest_mix
from pipeline_models.analyses.lead_requirement.outlook import (
    WindowOutlook,
    window_days,
    window_months,
)
from pipeline_models.analyses.lead_requirement.requirement import LeadRequirement
from pipeline_models.analyses.lead_requirement.search import (
    PlannerDraws,
    answer,
    thresholds,
    window_totals,
)
from pipeline_models.analyses.lead_requirement.simulation import in_hand
from pipeline_models.analyses.lead_requirement.targets import check_target
from pipeline_models.analyses.lead_requirement.won_paths import WonPaths
from pipeline_models.models.funnel.model import LeadFunnelModel


def prepare_draws(
    model: LeadFunnelModel,
    horizon_months: int,
    random_seed: int | None,
    hand_parts: dict[str, dict[str, np.ndarray]] | None = None,
) -> PlannerDraws:
    """Every draw of a planner: new-lead kernels, what is in hand, and the uniforms of the
    new leads' inverse CDFs (in this order from one generator seeded by ``random_seed``).

    ``hand_parts``: what is in hand as given (part -> metric -> draws x months, e.g. the
    period's forecast, :func:`~pipeline_models.analyses.forecast.in_hand.monthly_parts`), its
    draws taken in turn to the planner's number; without it the funnel simulates its own.
    """
    rng = np.random.default_rng(random_seed)
    x = window_days(model.as_of_, horizon_months)
    months = window_months(model.as_of_, horizon_months)
    paths = WonPaths(model)
    kernels = new_lead_kernels(model, x, paths, rng)
    d, s = kernels.q.shape
    if hand_parts is None:
        hand = in_hand(model, x, months, paths, rng)
    else:
        hand = WindowOutlook(
            months,
            {
                part: {m: v[np.arange(d) % v.shape[0], :horizon_months] for m, v in metrics.items()}
                for part, metrics in hand_parts.items()
            },
        )
    u = np.clip(rng.random((d, s)), 1e-12, 1 - 1e-12)
    v = np.clip(rng.random((d, s)), 1e-12, 1 - 1e-12)
    totals = {
        "count": hand.total("count").sum(axis=1),
        "revenue": hand.total("revenue").sum(axis=1),
    }
    return PlannerDraws(x, months, paths, kernels, hand, totals, u, v)


class LeadPlanner:
    """Simulates the coming ``horizon_months`` months from a fitted :class:`LeadFunnelModel` and
    answers: what is in hand, how many new leads a target needs, at what cost, how sensitive.

    ``in_hand``: what the open deals and open leads bring, as draws x months per part and metric
    (the period's forecast, so that both reports give one figure); without it the funnel
    simulates it.
    """

    def __init__(
        self,
        model: LeadFunnelModel,
        horizon_months: int = 3,
        random_seed: int | None = None,
        in_hand: dict[str, dict[str, np.ndarray]] | None = None,
    ):
        if horizon_months < 1:
            raise ValueError("horizon_months must be >= 1")
        self.model = model
        self.horizon = int(horizon_months)
        self.random_seed = random_seed
        self.hand_parts = in_hand

    def prepare(self) -> LeadPlanner:
        """Make every draw (once); returns ``self``."""
        if getattr(self, "draws_", None) is None:
            self.draws_ = prepare_draws(self.model, self.horizon, self.random_seed, self.hand_parts)
        return self

    @property
    def draws(self) -> PlannerDraws:
        """The planner's draws (prepared on first use)."""
        return self.prepare().draws_

    # ------------------------------------------------------------------ the draws, by name
    @property
    def x(self) -> np.ndarray:
        """Days from the as-of date to the end of each coming month: ``[0, x_1, ..., x_H]``."""
        return self.draws.x

    @property
    def months(self) -> list[str]:
        return self.draws.months

    @property
    def window_label(self) -> str:
        return self.months[0] if self.horizon == 1 else f"{self.months[0]}..{self.months[-1]}"

    @property
    def in_hand(self) -> WindowOutlook:
        """What open deals and open leads bring in each coming month."""
        return self.draws.in_hand

    @property
    def q(self) -> np.ndarray:
        """Per draw and source: the chance that a lead created evenly over the window is won
        inside it."""
        return self.draws.kernels.q

    @property
    def kernel(self) -> np.ndarray:
        return self.draws.kernels.kernel

    @property
    def even(self) -> np.ndarray:
        return self.draws.kernels.even

    @property
    def new_amount_mean(self) -> np.ndarray:
        return self.draws.kernels.amount_mean

    @property
    def new_amount_var(self) -> np.ndarray:
        return self.draws.kernels.amount_var

    # ------------------------------------------------------------------ new leads
    def new_leads(
        self, leads: pd.DataFrame | pd.Series, random_seed: int | None = None
    ) -> WindowOutlook:
        """Wins per coming month from given new leads, with what is in hand.

        ``leads``: a Series (source -> leads over the window, created evenly) or a DataFrame
        (sources x months, leads created evenly within each month).
        """
        rng = np.random.default_rng(random_seed)
        return new_lead_outlook(self.model, self.draws.kernels, self.in_hand, leads, rng)

    def p_reach(
        self, n: np.ndarray, target: float, metric: str = "count", factor: np.ndarray | None = None
    ) -> float:
        """P(in hand + wins of ``n`` new leads per source reach ``target`` in the window)."""
        n = np.asarray(n, dtype=np.int64)
        return float(np.mean(window_totals(self.draws, n[None, :], metric, factor) >= target))

    def p_in_hand(self, target: float, metric: str = "count") -> float:
        """P(what is in hand alone reaches ``target``)."""
        return float(np.mean(self.draws.in_hand_total[metric] >= target))

    # ------------------------------------------------------------------ answers
    def requirement(
        self,
        target: float,
        metric: str = "count",
        confidence: float = 0.8,
        mix: pd.Series | None = None,
        factor: np.ndarray | None = None,
        curve_points: int = 41,
    ) -> LeadRequirement:
        """New leads (in ``mix``, default the current source mix) for ``P(target) >= confidence``,
        the median case (``P >= 0.5``) and the curve ``P(target)`` against leads.

        ``mix``: shares or lead counts by source (only their proportions count); leads along it
        are ``round(t * share)`` per source. ``factor``: a multiplier of each source's lead ->
        won chance (sensitivity).
        """
        check_target(target, metric, confidence)
        m = self.model
        mix = (m.mix_ if mix is None else mix.reindex(m.sources_, fill_value=0.0)).to_numpy(float)
        mix = mix / mix.sum()

        def path(t: np.ndarray) -> np.ndarray:
            return np.round(np.asarray(t, float)[..., None] * mix).astype(np.int64)

        found = thresholds(self.draws, path, target, metric, factor)
        needed = answer(found, confidence)
        median = answer(found, 0.5)
        finite = found[np.isfinite(found)]
        top = max(needed or 0, float(np.quantile(finite, 0.98)) if len(finite) else 0, 10)
        grid = np.unique(np.round(np.linspace(0, 1.25 * top, curve_points)))
        curve = pd.DataFrame(
            {
                "leads": path(grid).sum(axis=1),
                "p_reach": (found[None, :] <= grid[:, None]).mean(axis=1),
            }
        )
        n_needed = path(needed) if needed is not None else np.zeros(len(mix), np.int64)
        return LeadRequirement(
            target=float(target),
            metric=metric,
            confidence=float(confidence),
            window=self.window_label,
            months=self.horizon,
            unit=m.unit,
            units=m.units,
            leads_needed=int(n_needed.sum()) if needed is not None else None,
            median_case=int(path(median).sum()) if median is not None else None,
            by_source=pd.Series(n_needed, index=m.sources_),
            p_in_hand=self.p_in_hand(target, metric),
            p_at_needed=float(np.mean(found <= needed)) if needed is not None else float("nan"),
            in_hand_expected=float(self.draws.in_hand_total[metric].mean()),
            in_hand_interval=tuple(
                float(v) for v in np.quantile(self.draws.in_hand_total[metric], IN_HAND_QUANTILES)
            ),
            curve=curve,
        )

    def cheapest_mix(
        self,
        target: float,
        cost_per_lead: dict[str, float],
        metric: str = "count",
        confidence: float = 0.8,
        max_multiple: float = 3.0,
    ) -> MixPlan:
        """The source mix of least cost with ``P(target) >= confidence`` (see
        :func:`~.mix.cheapest_mix`)."""
        return cheapest_mix(self, target, cost_per_lead, metric, confidence, max_multiple)

    def sensitivity(
        self, target: float, metric: str = "count", confidence: float = 0.8, change: float = 0.10
    ) -> pd.DataFrame:
        """New leads needed (current mix) if one source's lead -> won rate falls or rises by
        ``change``, the others unchanged; leads and deals in hand are left as they are."""
        m = self.model
        base = self.requirement(target, metric, confidence, curve_points=2).leads_needed
        rows = []
        for j, s in enumerate(m.sources_):
            row = {"source": s, "mix": float(m.mix_[s]), "leads_needed": base}
            for sign, name in ((-1, "if_rate_falls"), (1, "if_rate_rises")):
                factor = np.ones(len(m.sources_))
                factor[j] = 1 + sign * change
                row[name] = self.requirement(
                    target, metric, confidence, factor=factor, curve_points=2
                ).leads_needed
            rows.append(row)
        table = pd.DataFrame(rows)
        table["swing"] = table["if_rate_falls"] - table["if_rate_rises"]
        return table.sort_values("swing", ascending=False, ignore_index=True)


__all__ = ["LeadPlanner", "prepare_draws"]
