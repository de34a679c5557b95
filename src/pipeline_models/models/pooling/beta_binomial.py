"""Beta-binomial partial pooling of rates (empirical Bayes).

``k_j ~ Binomial(n_j, p_j)``, ``p_j ~ Beta(m * s, (1 - m) * s)``. The prior mean ``m`` and strength
``s`` (worth ``s`` trials) maximise the marginal likelihood of all groups,

    sum_j [ log B(k_j + m s, n_j - k_j + (1 - m) s) - log B(m s, (1 - m) s) ],

then each group's posterior is ``Beta(m s + k_j, (1 - m) s + n_j - k_j)``. A group with few trials
is pulled toward the common rate and a large group keeps its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

JEFFREYS = 0.5
"""Both Beta parameters of Jeffreys' prior, used when the spread of the groups cannot be learned."""


def _fit_prior(k: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Prior mean ``m`` and strength ``s`` maximising the groups' marginal likelihood.

    ``s`` is capped at the total number of trials, so that a group's interval stays at least as
    wide as the common rate's own uncertainty (the prior never outweighs all the data together).
    """

    def loss(theta: np.ndarray) -> float:
        m, s = special.expit(theta[0]), np.exp(theta[1])
        a, b = m * s, (1 - m) * s
        return -float(np.sum(special.betaln(k + a, n - k + b) - special.betaln(a, b)))

    pooled = (k.sum() + 0.5) / (n.sum() + 1.0)
    top = np.log(max(n.sum(), 1.0))
    start = np.array([special.logit(pooled), min(np.log(10.0), top)])
    fit = optimize.minimize(
        loss, start, method="L-BFGS-B", bounds=[(-12, 12), (min(np.log(0.5), top), top)]
    )
    return float(special.expit(fit.x[0])), float(np.exp(fit.x[1]))


def beta_binomial_rates(
    successes: Sequence[float] | np.ndarray,
    trials: Sequence[float] | np.ndarray,
    interval: float = 0.90,
    index: Sequence | pd.Index | None = None,
) -> pd.DataFrame:
    """Pooled rate of each group with its equal-tailed interval.

    Groups that hardly differ get a large strength ``s`` (their rates pool to the common rate);
    with fewer than two groups holding trials nothing can be learned about the spread and each
    group gets Jeffreys' ``Beta(1/2, 1/2)`` prior.

    Parameters
    ----------
    successes, trials
        Counts per group (``0 <= successes <= trials``).
    interval
        Probability of the equal-tailed interval (the reports pass
        :data:`pipeline_models.analyses.policy.INTERVAL`).
    index
        Labels of the groups (default 0..n-1).

    Returns
    -------
    pandas.DataFrame
        Columns ``successes, trials, observed, mean, lower, upper``; ``attrs`` holds
        ``prior_mean`` and ``prior_strength``.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    if k.shape != n.shape or np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= successes <= trials, one of each per group")
    used = n > 0
    if used.sum() >= 2:
        m, s = _fit_prior(k[used], n[used])
        a0, b0 = m * s, (1 - m) * s
    else:
        a0 = b0 = JEFFREYS
        m, s = 0.5, 1.0
    a, b = a0 + k, b0 + n - k
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    out = pd.DataFrame(
        {
            "successes": k,
            "trials": n,
            "observed": observed,
            "mean": a / (a + b),
            "lower": stats.beta.ppf(lo, a, b),
            "upper": stats.beta.ppf(hi, a, b),
        },
        index=None if index is None else pd.Index(index),
    )
    out.attrs = {"prior_mean": m, "prior_strength": s}
    return out


__all__ = ["JEFFREYS", "beta_binomial_rates"]
