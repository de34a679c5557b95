"""The censored Beta-grid pooling engine: young trials count as fractions, small levels shrink."""

from __future__ import annotations

import numpy as np

from pipeline_models.models.funnel import LagDistribution, exposure_rows
from pipeline_models.models.pooling import censored_beta_rates
from pipeline_models.models.pooling.censored_beta import censored_loglik


def test_censored_rate_counts_young_leads_as_fractions_not_failures():
    rng = np.random.default_rng(0)
    c, n = 0.3, 6000
    age = rng.integers(0, 120, n).astype(float)  # many leads younger than the lag
    lag = np.rint(20 * np.exp(0.6 * rng.standard_normal(n)))
    converted = (rng.random(n) < c) & (lag <= age)
    dist = LagDistribution(lag, np.full(n, 1 / n))
    f = np.minimum(dist.cdf(age[~converted]), 0.999)
    exposure = exposure_rows(f, np.zeros(len(f)))
    draws = censored_beta_rates(np.array([converted.sum()]), [exposure], 2000, rng)[:, 0]
    naive = converted.mean()
    assert naive < 0.8 * c  # counting young leads as failures is badly biased
    lo, hi = np.quantile(draws, [0.005, 0.995])
    assert lo < c < hi
    assert abs(draws.mean() - c) < 0.015


def test_pooled_rates_shrink_a_small_level_toward_the_others():
    rng = np.random.default_rng(1)
    successes = np.array([300.0, 320.0, 280.0, 1.0])
    exposures = [np.array([[1.0, 0.0, 700.0]])] * 3 + [np.array([[1.0, 0.0, 1.0]])]
    draws = censored_beta_rates(successes, exposures, 2000, rng)
    assert abs(draws[:, 0].mean() - 0.3) < 0.02
    # one success in two trials: raw 50%, pooled well below, toward the 30% of the others
    assert 0.28 < draws[:, 3].mean() < 0.45
    # a level without any data gets the population's rate
    empty = censored_beta_rates(np.array([300.0, 0.0]), [exposures[0], np.zeros((0, 3))], 2000, rng)
    assert 0.1 < empty[:, 1].mean() < 0.5


def test_censored_loglik_of_plain_failures_is_the_binomial_one():
    p = np.array([0.2, 0.5])
    ll = censored_loglik(p, 3.0, np.array([[1.0, 0.0, 7.0]]))
    assert np.allclose(ll, 3 * np.log(p) + 7 * np.log1p(-p))
    # a trial that cannot have happened yet (A = B = 0) says nothing
    assert np.allclose(censored_loglik(p, 3.0, np.array([[0.0, 0.0, 7.0]])), 3 * np.log(p))


def test_draws_are_fixed_by_the_generator():
    exposures = [np.array([[1.0, 0.0, 50.0]]), np.array([[0.5, 0.1, 20.0]])]
    a = censored_beta_rates(np.array([10.0, 4.0]), exposures, 300, np.random.default_rng(3))
    b = censored_beta_rates(np.array([10.0, 4.0]), exposures, 300, np.random.default_rng(3))
    assert a.shape == (300, 2) and np.array_equal(a, b)
    assert ((a > 0) & (a < 1)).all()
