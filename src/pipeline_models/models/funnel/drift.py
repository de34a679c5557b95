"""A steady drift in conversion, common to every source, and the conversion it leads to now.

Lead quality seldom stands still: campaigns age, markets fill, a sales team learns. A
recency-weighted rate (:func:`~pipeline_models.models.funnel.rates.conversion_draws`) follows a
drift but lags it: it estimates the conversion of leads about as old as the leads that carry its
information, and those are months old, since a lead's conversion shows only after its lag.

The drift is one slope in the lookback's leads, ``logit c_s(t) = alpha_s + beta t`` (``t``: the
month a lead was created), fitted by maximum likelihood with each lead's chance of having
converted by now ``c_s(t) F_s(age)`` (young leads count for the part of their trial already
played). It is fitted on the leads of the sources where :mod:`.change` found no step, so a step
does not pass for a drift; a rate read from the leads since a step is current and is not moved.
Its posterior is normal, from the likelihood's curvature and a prior ``beta ~ N(0,``
:data:`DRIFT_PRIOR_SD` ``^2)``. A source's rate is then moved from the age its estimate speaks for
to now: ``logit c_s(now) = logit c_s + beta * age_s``, with ``age_s`` the mean age of its leads
weighted as the rate weighs them, ``w F(age)``. Each draw takes its own ``beta``, so the rate's
interval widens by what the slope is unsure of; on a funnel without drift the slope is near zero
and the move small. The slope is not carried past today: leads of the coming months convert at
today's rate.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.models.funnel.groups import groups

DRIFT_PRIOR_SD = 0.05
"""Prior sd of the drift, in logit per month: a drift of 0.6 a year (conversion odds that change
by a factor 1.8 in a year) is about the steadiest change a funnel shows."""
_ITERATIONS = 30


def _cells(source, converted, age_days, cdf):
    """Leads counted by (source, age in days): codes, months, ``F``, trials and conversions of
    each cell."""
    first, group = groups(source, age_days)
    n = np.bincount(group, minlength=len(first)).astype(float)
    k = np.bincount(group, weights=converted.astype(float), minlength=len(first))
    return source[first], age_days[first] / DAYS_PER_MONTH, cdf[first], n, k


def drift_fit(
    source: np.ndarray,
    converted: np.ndarray,
    age_days: np.ndarray,
    cdf: np.ndarray,
    n_sources: int,
) -> tuple[float, float]:
    """Posterior mean and sd of the drift ``beta`` (logit per month of creation date) from the
    leads' source codes, converted flags, ages in days and ``cdf`` (each lead's ``F(age)``)."""
    if len(source) == 0 or not converted.any():
        return 0.0, DRIFT_PRIOR_SD
    s, months, f, n, k = _cells(source, converted, age_days, cdf)
    keep = f > 0
    s, months, f, n, k = s[keep], months[keep], f[keep], n[keep], k[keep]
    x = np.zeros((len(s), n_sources + 1))
    x[np.arange(len(s)), s] = 1.0
    x[:, -1] = np.average(months, weights=n * f) - months  # creation month, centred
    exposure = np.bincount(s, weights=n * f, minlength=n_sources)
    won = np.bincount(s, weights=k, minlength=n_sources)
    rate = np.clip(won / np.maximum(exposure, 1e-12), 1e-4, 0.99)
    theta = np.append(logit(rate), 0.0)
    ridge = np.full(n_sources + 1, 1e-2)  # alpha ~ N(0, 10^2): sources that never converted
    ridge[-1] = DRIFT_PRIOR_SD**-2
    for _ in range(_ITERATIONS):  # Fisher scoring
        sig = expit(x @ theta)
        p = np.clip(sig * f, 1e-12, 1 - 1e-12)
        score = k * (1 - sig) - (n - k) * f * sig * (1 - sig) / (1 - p)
        info = n * f * sig * (1 - sig) ** 2 / (1 - p)
        fisher = (x * info[:, None]).T @ x + np.diag(ridge)
        step = np.linalg.solve(fisher, x.T @ score - ridge * theta)
        theta = theta + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return float(theta[-1]), float(np.sqrt(np.linalg.inv(fisher)[-1, -1]))


def estimate_age(
    source: np.ndarray, age_days: np.ndarray, cdf: np.ndarray, weight: np.ndarray, n_sources: int
) -> np.ndarray:
    """Per source, the age in months its recency-weighted rate speaks for: the mean age of its
    leads weighted by ``weight * F(age)`` (0 for a source without such leads)."""
    u = weight * cdf
    total = np.bincount(source, weights=u, minlength=n_sources)
    aged = np.bincount(source, weights=u * age_days / DAYS_PER_MONTH, minlength=n_sources)
    return np.where(total > 0, aged / np.maximum(total, 1e-300), 0.0)


def drifted(
    draws: np.ndarray, age_months: np.ndarray, drift: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Draws of each source's rate (draws x sources) moved to now: ``logit c + beta * age``, a
    ``beta`` drawn from the drift's posterior for each draw."""
    mean, sd = drift
    beta = rng.normal(mean, sd, size=(len(draws), 1))
    return expit(logit(np.clip(draws, 1e-12, 1 - 1e-12)) + beta * age_months[None, :])


__all__ = ["DRIFT_PRIOR_SD", "drift_fit", "drifted", "estimate_age"]
