"""The share of not-won deals that are eventually marked lost (the rest stall and never close).

An open deal of age ``a`` has likelihood ``1 - w F_W(a) - (1 - w) lam F_L(a)``: ``lam`` decides how
much an old open deal counts as lost. It is found by maximum likelihood on a grid over the
overall win rate ``w`` and ``lam``, from the won and lost counts and the open deals.
"""

from __future__ import annotations

import numpy as np

from pipeline_models.models.funnel.config import F_MAX, LAM_MAX
from pipeline_models.models.funnel.lags import LagDistribution


def lost_share(
    won: float,
    lost: float,
    ages: np.ndarray,
    n: np.ndarray,
    lag_won: LagDistribution,
    lag_lost: LagDistribution,
) -> float:
    """Share of not-won deals that are eventually marked lost, from the won and lost counts and
    the open deals (``n`` of each distinct age in ``ages``).

    The log-likelihood is concave in the win rate for each share (a sum of logs of functions
    linear in it), so along each share's row of the grid its first maximum is found by
    bisection on the sign of the step: the grid's maximum at a fraction of the evaluations.
    """
    if not lost:
        return 0.0
    if not np.sum(n):
        return LAM_MAX
    ab = np.column_stack(
        [np.minimum(lag_won.cdf(ages), F_MAX), np.minimum(lag_lost.cdf(ages), F_MAX)]
    )
    ab, position = np.unique(ab, axis=0, return_inverse=True)
    count = np.bincount(position.ravel(), weights=n, minlength=len(ab))
    w = np.linspace(0.005, 0.995, 100)
    lam = np.linspace(0.01, LAM_MAX, 99)

    def loglik(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        wi, lj = w[i], lam[j]
        inside = 1 - wi[:, None] * ab[:, 0] - ((1 - wi) * lj)[:, None] * ab[:, 1]
        return (
            won * np.log(wi)
            + lost * np.log((1 - wi) * lj)
            + np.log(np.maximum(inside, 1e-300)) @ count
        )

    lo = np.zeros(len(lam), np.int64)
    hi = np.full(len(lam), len(w) - 1)
    while (lo < hi).any():
        rows = np.flatnonzero(lo < hi)
        mid = (lo[rows] + hi[rows]) // 2
        falls = loglik(mid, rows) >= loglik(mid + 1, rows)
        hi[rows[falls]] = mid[falls]
        lo[rows[~falls]] = mid[~falls] + 1
    best = loglik(lo, np.arange(len(lam)))
    return float(lam[np.argmax(best)])


def shrunk_lost_share(own: float, lost: float, overall: float, strength: float = 30.0) -> float:
    """A level's share shrunk toward all levels' ``overall`` share with the weight of
    ``strength`` lost deals (stalling differs by product, but a few lost deals say little)."""
    return (lost * own + strength * overall) / (lost + strength)


__all__ = ["lost_share", "shrunk_lost_share"]
