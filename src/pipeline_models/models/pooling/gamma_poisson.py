"""Gamma-Poisson partial pooling of event rates (empirical Bayes).

``E_j ~ Poisson(rate_j * T_j)``, ``rate_j ~ Gamma(alpha, beta)``. ``alpha`` and ``beta`` maximise
the marginal (negative binomial) likelihood of all groups,

    sum_j [ log G(E_j + alpha) - log G(alpha) + alpha log(beta) - (E_j + alpha) log(beta + T_j) ],

then each group's posterior is ``Gamma(alpha + E_j, beta + T_j)``: a group with little exposure is
pulled toward the common rate, one with much exposure keeps its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

FLAT_PRIOR = (0.5, 1e-6)
"""``(alpha, beta)`` when the spread of the groups cannot be learned: nearly flat, so each group
keeps its own rate."""


def _fit_prior(e: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """``(alpha, beta)`` maximising the groups' marginal likelihood (fitted as ``log alpha`` and
    the log prior mean ``log(alpha / beta)``)."""
    pooled = (e.sum() + 0.5) / t.sum()

    def loss(theta: np.ndarray) -> float:
        alpha = np.exp(theta[0])
        beta = alpha / np.exp(theta[1])  # theta[1] = log prior mean
        return -float(
            np.sum(
                special.gammaln(e + alpha)
                - special.gammaln(alpha)
                + alpha * np.log(beta)
                - (e + alpha) * np.log(beta + t)
            )
        )

    start = np.array([np.log(5.0), np.log(pooled)])
    fit = optimize.minimize(
        loss, start, method="L-BFGS-B", bounds=[(np.log(0.2), np.log(1e5)), (-20, 20)]
    )
    alpha = float(np.exp(fit.x[0]))
    return alpha, alpha / float(np.exp(fit.x[1]))


def gamma_poisson_rates(
    events: Sequence[float] | np.ndarray,
    exposure: Sequence[float] | np.ndarray,
    interval: float = 0.90,
    index: Sequence | pd.Index | None = None,
) -> pd.DataFrame:
    """Pooled event rate of each group with its equal-tailed interval.

    With fewer than two groups holding exposure each group gets the nearly flat
    :data:`FLAT_PRIOR`.

    Parameters
    ----------
    events, exposure
        Events and exposure per group (both ``>= 0``).
    interval
        Probability of the equal-tailed interval (the reports pass
        :data:`pipeline_models.analyses.policy.INTERVAL`).
    index
        Labels of the groups (default 0..n-1).

    Returns
    -------
    pandas.DataFrame
        Columns ``events, exposure, observed, mean, lower, upper`` (rates per unit of exposure);
        ``attrs`` holds ``prior_alpha`` and ``prior_beta``.
    """
    e = np.asarray(events, dtype=float)
    t = np.asarray(exposure, dtype=float)
    if e.shape != t.shape or np.any(e < 0) or np.any(t < 0):
        raise ValueError("need events >= 0 and exposure >= 0, one of each per group")
    used = t > 0
    alpha, beta = _fit_prior(e[used], t[used]) if used.sum() >= 2 else FLAT_PRIOR
    a, b = alpha + e, beta + t
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(t > 0, e / np.where(t > 0, t, 1), np.nan)
    out = pd.DataFrame(
        {
            "events": e,
            "exposure": t,
            "observed": observed,
            "mean": a / b,
            "lower": stats.gamma.ppf(lo, a, scale=1 / b),
            "upper": stats.gamma.ppf(hi, a, scale=1 / b),
        },
        index=None if index is None else pd.Index(index),
    )
    out.attrs = {"prior_alpha": alpha, "prior_beta": beta}
    return out


__all__ = ["FLAT_PRIOR", "gamma_poisson_rates"]
