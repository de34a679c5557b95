"""Deals not yet created: new deals per group and month, Gamma-Poisson.

New deals of group ``g`` arrive at a Poisson rate with a Gamma posterior fitted to recent months,
recency-weighted (half-life ``arrival_half_life`` months, over the last ``arrival_window``):

    rate[g] ~ Gamma(0.5 + sum_m w_m n[g, m], 0.001 + sum_m w_m),   w_m = 0.5 ** (age_m / half-life).

The months vary together beyond Poisson noise (a shared month effect of log-sd ``arrival_sd``,
:mod:`.month_effect`). Each new deal then closes through the same hazards as open deals, from
age 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_models.models.forecaster.config import ForecastConfig
from pipeline_models.models.forecaster.counts import DealView
from pipeline_models.models.forecaster.month_effect import (
    blend_sd,
    effect_draws,
    successive_excess_log_variance,
)


@dataclass(frozen=True)
class Arrivals:
    """Posterior of the arrival rates and the month effect on arrivals."""

    shape: np.ndarray  # (G,) Gamma shape of each group's monthly rate
    rate: np.ndarray  # (G,) Gamma rate
    sd: float  # log-sd of the month effect shared by all groups
    months: np.ndarray  # the months the rates were fitted on


def fit_arrivals(view: DealView, n_levels: int, cfg: ForecastConfig) -> Arrivals:
    """Arrival rates of the groups of ``view`` from the deals created in recent months."""
    T = view.month
    first = max(int(view.c.min()) if len(view.c) else T, T - cfg.arrival_window + 1)
    months = np.arange(first, T + 1)
    weights = 0.5 ** ((T - months) / cfg.arrival_half_life)
    counts = np.zeros((n_levels, len(months)))
    recent = view.c >= first
    np.add.at(counts, (view.g[recent], view.c[recent] - first), view.n[recent])
    shape, rate, sd = recent_rates(counts, weights, cfg)
    return Arrivals(shape=shape, rate=rate, sd=sd, months=months)


def recent_rates(
    counts: np.ndarray, weights: np.ndarray, cfg: ForecastConfig
) -> tuple[np.ndarray, np.ndarray, float]:
    """Gamma posterior (shape, rate) of each level's monthly rate from its counts (levels x
    months, oldest first) weighted by recency, and the log-sd of the month effect they share.

    The prior is Gamma(0.5, small); the month effect is the variation of all levels' monthly
    totals beyond Poisson noise, from successive months' differences (a change of level counts
    about once), blended with the default (:func:`.month_effect.blend_sd`; the differences count
    as its months of evidence). New deals (:func:`fit_arrivals`) and new leads
    (``models/funnel/arrivals``) both use it."""
    totals = counts.sum(axis=0)
    measured, n_months = 0.0, 0
    if len(totals) >= 3 and totals.mean() > 1.0:
        measured, n_months = successive_excess_log_variance(totals), len(totals) - 1
    return (
        0.5 + counts @ weights,
        1e-3 + weights.sum() * np.ones(len(counts)),
        blend_sd(measured, n_months, cfg),
    )


def arrival_draws(
    rng: np.random.Generator,
    shape: np.ndarray,
    rate: np.ndarray,
    sd: float,
    draws: int,
    months: int,
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """New deals in each coming month: per month with any, ``(month ahead, groups with a new
    deal in some draw, deals (group, draw))``."""
    G = len(shape)
    monthly = rng.gamma(shape[None, :], 1.0 / rate[None, :], size=(draws, G))
    out = []
    for m_ahead in range(1, months + 1):
        effect = effect_draws(rng, sd, (draws, 1))
        arrivals = rng.poisson(monthly * effect)  # (S, G)
        active = np.flatnonzero(arrivals.max(axis=0) > 0)
        if len(active):
            out.append((m_ahead, active, arrivals[:, active].T))
    return out


__all__ = ["Arrivals", "arrival_draws", "fit_arrivals", "recent_rates"]
