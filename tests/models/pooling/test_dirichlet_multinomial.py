"""Dirichlet-multinomial pooling: the marginal likelihood is the textbook one, the concentration is
recovered, groups that differ stay apart and alike groups pool."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import gammaln

from pipeline_models.models.pooling import pool_mixes
from pipeline_models.models.pooling.dirichlet_multinomial import (
    dirichlet_multinomial_loglik,
    fit_concentration,
    mix_draws,
)


def test_marginal_likelihood_is_scipys_without_the_multinomial_coefficient():
    counts = np.array([[3, 0, 2], [1, 4, 0], [0, 0, 1]])
    alpha = np.array([0.7, 1.5, 2.0])
    scipy_total = sum(stats.dirichlet_multinomial.logpmf(row, alpha, row.sum()) for row in counts)
    coefficient = sum(gammaln(row.sum() + 1) - gammaln(row + 1).sum() for row in counts)
    assert dirichlet_multinomial_loglik(counts, alpha) == pytest.approx(scipy_total - coefficient)


def test_concentration_of_simulated_groups_is_recovered():
    rng = np.random.default_rng(1)
    mean, c = np.array([0.5, 0.3, 0.15, 0.05]), 4.0
    theta = rng.dirichlet(c * mean, size=3000)
    counts = np.array([rng.multinomial(6, p) for p in theta])
    assert fit_concentration(counts, mean) == pytest.approx(c, rel=0.15)


def test_groups_with_one_count_each_say_nothing_about_the_concentration():
    counts = np.eye(3)[[0, 1, 2, 0]]
    assert fit_concentration(counts, np.full(3, 1 / 3), upper=500.0) == 500.0


def test_alike_groups_pool_and_groups_that_differ_keep_their_own_mix():
    alike = pool_mixes(np.array([[50, 30, 20], [52, 29, 19], [49, 31, 20]]))
    differ = pool_mixes(np.array([[90, 5, 5], [5, 90, 5], [5, 5, 90]]))
    assert alike.pooled and differ.pooled
    assert alike.concentration > 20 * differ.concentration
    assert differ.mean[0, 0] > 0.8 and differ.mean[1, 1] > 0.8
    assert np.allclose(alike.mean, alike.mean[0], atol=0.02)
    assert alike.concentration <= 300  # capped at all the counts together


def test_a_small_group_is_pulled_toward_the_common_mix():
    mixes = pool_mixes(np.array([[400, 300, 300], [350, 350, 300], [3, 0, 0]]))
    small = mixes.mean[2]
    assert small[0] < 0.8  # three purchases of one product do not make it certain
    assert small[1] > 0.05


def test_one_group_gets_jeffreys_prior():
    mixes = pool_mixes(np.array([[3, 1, 0]]))
    assert not mixes.pooled
    assert np.allclose(mixes.alpha, [[3.5, 1.5, 0.5]])


def test_mix_draws_are_dirichlet_draws():
    rng = np.random.default_rng(0)
    alpha = np.array([[2.0, 3.0, 5.0], [10.0, 1.0, 1.0]])
    draws = mix_draws(alpha, 20_000, rng)
    assert draws.shape == (2, 3, 20_000)
    assert np.allclose(draws.sum(axis=1), 1.0)
    assert np.allclose(draws.mean(axis=2), alpha / alpha.sum(axis=1, keepdims=True), atol=0.01)
