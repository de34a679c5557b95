"""Dirichlet-multinomial partial pooling of mixes (empirical Bayes).

Group ``g`` holds counts ``n_g`` over ``K`` categories, ``n_g ~ Multinomial(N_g, p_g)``,
``p_g ~ Dirichlet(c m)``. The prior mean ``m`` is the common mix (the groups' counts summed, plus
half a count each) and the concentration ``c`` (worth ``c`` counts) maximises the marginal
likelihood of all groups,

    sum_g [ log G(c) - log G(c + N_g) + sum_j ( log G(c m_j + n_gj) - log G(c m_j) ) ],

then each group's posterior is ``Dirichlet(c m + n_g)``. Groups whose mixes hardly differ get a
large ``c`` (their mixes pool to the common one); groups that differ much keep their own. Counts
may be fractional (weighted counts): the likelihood is then a pseudo-likelihood, read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

JEFFREYS = 0.5
"""Prior count of each category when the spread of the groups cannot be learned."""

MIN_CONCENTRATION = 1.0
"""Smallest concentration considered: a prior worth less than one count says nothing."""


def dirichlet_multinomial_loglik(counts: np.ndarray, alpha: np.ndarray) -> float:
    """Log marginal likelihood of the groups' counts (rows) under ``Dirichlet(alpha)`` priors.

    ``alpha``: one row per group or one row for all. The multinomial coefficient, which does not
    depend on ``alpha``, is left out.
    """
    counts = np.asarray(counts, dtype=float)
    alpha = np.broadcast_to(np.asarray(alpha, dtype=float), counts.shape)
    total = alpha.sum(axis=1)
    return float(
        np.sum(special.gammaln(total) - special.gammaln(total + counts.sum(axis=1)))
        + np.sum(special.gammaln(alpha + counts) - special.gammaln(alpha))
    )


def fit_concentration(
    counts: np.ndarray, mean: np.ndarray, lower: float = MIN_CONCENTRATION, upper: float = 1e4
) -> float:
    """The concentration ``c`` maximising the groups' marginal likelihood under
    ``Dirichlet(c mean)`` (``mean``: one row per group or one for all), within ``[lower, upper]``.

    Groups holding one count each say nothing about ``c`` (their likelihood is ``mean`` whatever
    ``c``); with no group holding two, ``upper`` is returned: nothing shows that groups differ.
    """
    counts = np.asarray(counts, dtype=float)
    mean = np.broadcast_to(np.asarray(mean, dtype=float), counts.shape)
    informative = counts.sum(axis=1) > 1 + 1e-9
    if not informative.any() or upper <= lower:
        return float(upper)
    counts, mean = counts[informative], mean[informative]

    def loss(log_c: float) -> float:
        return -dirichlet_multinomial_loglik(counts, np.exp(log_c) * mean)

    fit = optimize.minimize_scalar(
        loss, bounds=(np.log(lower), np.log(upper)), method="bounded", options={"xatol": 1e-4}
    )
    return float(np.exp(fit.x))


@dataclass(frozen=True)
class PooledMixes:
    """Posterior ``Dirichlet(alpha[g])`` of each group's mix, and the prior they share."""

    alpha: np.ndarray
    """Posterior Dirichlet parameters, one row per group."""
    prior_mean: np.ndarray
    concentration: float
    pooled: bool
    """Whether the concentration was learned (two or more groups hold counts)."""

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean mix of each group (rows sum to one)."""
        return self.alpha / self.alpha.sum(axis=1, keepdims=True)


def pool_mixes(counts: np.ndarray) -> PooledMixes:
    """Each group's mix pooled toward the common mix (see the module doc).

    The concentration is capped at the total count, so the prior never outweighs all the data
    together; with fewer than two groups holding counts each group gets Jeffreys'
    ``Dirichlet(1/2, ..., 1/2)`` prior.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or np.any(counts < 0):
        raise ValueError("counts must be a non-negative groups x categories array")
    k = counts.shape[1]
    prior_mean = (counts.sum(axis=0) + JEFFREYS) / (counts.sum() + JEFFREYS * k)
    if (counts.sum(axis=1) > 0).sum() < 2:
        return PooledMixes(counts + JEFFREYS, np.full(k, 1.0 / k), JEFFREYS * k, False)
    upper = max(float(counts.sum()), MIN_CONCENTRATION)
    c = fit_concentration(counts, prior_mean, MIN_CONCENTRATION, upper)
    return PooledMixes(counts + c * prior_mean, prior_mean, c, True)


def mix_draws(alpha: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of ``Dirichlet(alpha)`` for every row of ``alpha``: shape ``(rows, K, draws)``."""
    alpha = np.atleast_2d(np.asarray(alpha, dtype=float))
    gammas = rng.standard_gamma(alpha[:, :, None], size=(*alpha.shape, draws))
    total = gammas.sum(axis=1, keepdims=True)
    return gammas / np.where(total > 0, total, 1.0)


__all__ = [
    "JEFFREYS",
    "MIN_CONCENTRATION",
    "PooledMixes",
    "dirichlet_multinomial_loglik",
    "fit_concentration",
    "mix_draws",
    "pool_mixes",
]
