"""Dirichlet pooling of discrete-time competing-risk hazards over groups and ages.

In every month an item of age ``k`` in group ``g`` ends in one of ``R`` outcomes (for deals: won,
lost, or still open), with probabilities ``h[g, k]`` on the simplex. Given counts
``n[g, k, r]`` of item-months ending in outcome ``r`` (weights allowed), the conjugate prior
``h[g, k] ~ Dirichlet(strength * p[k])`` gives the posterior

    h[g, k] | n ~ Dirichlet(n[g, k] + strength * p[k]).

The common hazards ``p[k]`` are the all-groups hazards, each age shrunk toward the age before it
(an age seen rarely borrows from its neighbour, ages never seen take the last age seen):

    p[k] = (N[k] + smoothing * p[k - 1]) / sum_r (N[k, r] + smoothing * p[k - 1, r]),
    N[k] = sum_g n[g, k],   p[-1] = START,

and their own posterior is ``Dirichlet(N[k] + smoothing * p[k])``. A group with few item-months
keeps close to ``p[k]``; one with many keeps its own rates. Refitting costs a few array sums, so
a model can be refitted at every origin of a back-test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

START = (0.1, 0.1, 0.8)
"""Hazards the first age is shrunk toward (won, lost, stay): a deal-month ends in a close one time
in five, won or lost alike; the data outweigh it after a few dozen deal-months."""


@dataclass(frozen=True)
class PooledHazards:
    """Posterior of pooled hazards: Dirichlet parameters per group and age, and the common ones."""

    rate: np.ndarray  # (K, R): common hazards p[k]
    alpha: np.ndarray  # (G, K, R): each group's Dirichlet parameters
    pooled_alpha: np.ndarray  # (K, R): Dirichlet parameters of the common hazards


def pool_hazards(
    counts: np.ndarray,
    strength: float,
    smoothing: float,
    start: tuple[float, ...] = START,
) -> PooledHazards:
    """Pool the hazards of ``counts`` (G, K, R: item-months by group, age and outcome).

    Parameters
    ----------
    counts
        Weighted item-months ending in each outcome, by group and age (``>= 0``).
    strength
        Prior weight, in item-months, of the common hazards on each group.
    smoothing
        Prior weight, in item-months, of the previous age's common hazards on an age.
    start
        Hazards the first age is shrunk toward (one per outcome, summing to 1).
    """
    pooled = counts.sum(axis=0)
    K = pooled.shape[0]
    rate = np.empty((K, pooled.shape[1]))
    previous = np.array(start)
    for k in range(K):
        alpha = pooled[k] + smoothing * previous
        rate[k] = alpha / alpha.sum()
        previous = rate[k]
    return PooledHazards(
        rate=rate,
        alpha=counts + strength * rate[None, :, :],
        pooled_alpha=pooled + smoothing * rate,
    )


def dirichlet_draws(rng: np.random.Generator, alpha: np.ndarray, draws: int) -> np.ndarray:
    """``draws`` Dirichlet draws over the last axis of ``alpha``: array ``(draws, *alpha.shape)``
    (normalised Gamma draws)."""
    gamma = rng.gamma(alpha[None, ...], 1.0, size=(draws, *alpha.shape))
    return gamma / gamma.sum(axis=-1, keepdims=True)


__all__ = ["START", "PooledHazards", "dirichlet_draws", "pool_hazards"]
