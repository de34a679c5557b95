"""A recent change in conversion: the leads of the last months against the earlier ones.

Leads are grouped by age in whole months (``m = 0``: created in the last 30.4 days). Under one
rate ``c`` a lead of age ``a`` has converted by now with probability ``c F(a)`` (``F`` its
source's lead -> opportunity lag), so a cohort's expected conversions are ``c E_m`` with
``E_m = sum F(a_i)``: young leads count for the part of their trial already played.

For the last ``k`` months (``k = 1..``:data:`MAX_RECENT`) against the earlier ones, the recent
conversions given all conversions are ``Binomial(O_recent + O_earlier, theta E_recent /
(theta E_recent + E_earlier))``, with ``theta = 1`` under one rate. The likelihood-ratio
statistic of ``theta`` free is compared with chi-squared(1) at :data:`CHANGE_LEVEL`: for all
sources together (one ``theta`` for every source, each source keeping its own earlier rate) and
for each source alone. A source's change is the ``k`` with the largest significant statistic of
its own, else of all sources together.

What a change does (:func:`~pipeline_models.models.funnel.rates.conversion_draws`): the source's
conversion is estimated from its leads since the change, the earlier ones left out. A month of
young leads gives a wide interval: the forecast is then honestly unsure instead of sure of a rate
the leads no longer have.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import chi2

from pipeline_models.contract.labels import DAYS_PER_MONTH

MAX_RECENT = 9
"""The earliest change point looked for, in months before the fit's date (a step up to nine months
ago is found and the leads before it left out, so the drift of :mod:`.drift` is never fitted
across a step; the lookback's first months are the earlier leads it is tested against)."""
CHANGE_LEVEL = 0.001
"""Significance of each test: with a few sources and nine change points, a stable funnel is called
changed in about one fit in fifty."""
MIN_EXPECTED = 5.0
"""Recent or earlier leads expected to have converted fewer times than this: no test (too few to
tell a change from chance)."""


def _loglik(theta: float, o_r: np.ndarray, n: np.ndarray, e_r: np.ndarray, e_p: np.ndarray):
    """Binomial log likelihood of the recent conversions ``o_r`` of ``n`` given the ratio
    ``theta`` of the recent rate to the earlier one (constants dropped)."""
    p = np.clip(theta * e_r / (theta * e_r + e_p), 1e-12, 1 - 1e-12)
    return float(np.sum(o_r * np.log(p) + (n - o_r) * np.log1p(-p)))


def change_statistic(o_r, o_p, e_r, e_p) -> tuple[float, float]:
    """The likelihood-ratio statistic of a different recent rate, and the recent rate over the
    earlier one (``theta``), for sources given as arrays (one ``theta`` for all of them)."""
    o_r, o_p, e_r, e_p = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (o_r, o_p, e_r, e_p))
    ok = (e_r > 0) & (e_p > 0) & (o_p > 0)
    if not ok.any():
        return 0.0, 1.0
    o_r, o_p, e_r, e_p = o_r[ok], o_p[ok], e_r[ok], e_p[ok]
    n = o_r + o_p
    found = minimize_scalar(
        lambda t: -_loglik(np.exp(t), o_r, n, e_r, e_p), bounds=(-5.0, 5.0), method="bounded"
    )
    g = 2.0 * max(-found.fun - _loglik(1.0, o_r, n, e_r, e_p), 0.0)
    return g, float(np.exp(found.x))


def conversion_changes(
    source: np.ndarray,
    converted: np.ndarray,
    age: np.ndarray,
    cdf: np.ndarray,
    n_sources: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Months since each source's conversion changed (0: no change found) and the recent rate
    over the earlier one (1 without a change), from its leads: source codes, converted or not,
    age in days, and ``cdf``, each lead's ``F(age)``."""
    month = np.floor(np.maximum(age, 0.0) / DAYS_PER_MONTH).astype(np.int64)
    limit = chi2.ppf(1 - CHANGE_LEVEL, 1)
    best_own = np.zeros(n_sources)
    own_k = np.zeros(n_sources, dtype=np.int64)
    own_ratio = np.ones(n_sources)
    best_all, all_k, all_ratio = 0.0, 0, 1.0
    for k in range(1, MAX_RECENT + 1):
        recent = month < k
        o_r = np.bincount(source[recent & converted], minlength=n_sources).astype(float)
        o_p = np.bincount(source[~recent & converted], minlength=n_sources).astype(float)
        e_r = np.bincount(source[recent], weights=cdf[recent], minlength=n_sources)
        e_p = np.bincount(source[~recent], weights=cdf[~recent], minlength=n_sources)
        rate = o_p / np.maximum(e_p, 1e-12)
        testable = (rate * e_r >= MIN_EXPECTED) & (o_p >= MIN_EXPECTED)
        if not testable.any():
            continue
        g, ratio = change_statistic(o_r[testable], o_p[testable], e_r[testable], e_p[testable])
        if g > limit and g > best_all:
            best_all, all_k, all_ratio = g, k, ratio
        for j in np.flatnonzero(testable):
            g, ratio = change_statistic(o_r[j], o_p[j], e_r[j], e_p[j])
            if g > limit and g > best_own[j]:
                best_own[j], own_k[j], own_ratio[j] = g, k, ratio
    own = own_k > 0
    return np.where(own, own_k, all_k), np.where(own, own_ratio, all_ratio)


__all__ = ["CHANGE_LEVEL", "MAX_RECENT", "change_statistic", "conversion_changes"]
