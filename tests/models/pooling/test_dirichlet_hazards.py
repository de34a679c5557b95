"""Dirichlet pooling of competing-risk hazards: shrinkage toward the common hazards and draws."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_models.models.pooling.dirichlet_hazards import (
    START,
    dirichlet_draws,
    pool_hazards,
)


def test_common_hazards_by_hand():
    counts = np.array([[[2.0, 1.0, 7.0], [0.0, 0.0, 0.0]]])  # one group, two ages
    pooled = pool_hazards(counts, strength=4.0, smoothing=10.0)
    first = (counts[0, 0] + 10.0 * np.array(START)) / (10.0 + 10.0)
    np.testing.assert_allclose(pooled.rate[0], first)
    np.testing.assert_allclose(pooled.rate[1], first)  # an unseen age takes the age before it
    np.testing.assert_allclose(pooled.alpha[0], counts[0] + 4.0 * pooled.rate)
    np.testing.assert_allclose(pooled.pooled_alpha, counts[0] + 10.0 * pooled.rate)
    np.testing.assert_allclose(pooled.rate.sum(axis=1), 1.0)


def test_a_small_group_is_pulled_toward_the_others_a_large_one_keeps_its_own():
    large = np.array([[300.0, 100.0, 600.0]])  # won 30%
    small = np.array([[0.0, 2.0, 2.0]])  # won none of four
    other = np.array([[100.0, 100.0, 800.0]])
    counts = np.stack([large, small, other])  # (G=3, K=1, 3)
    pooled = pool_hazards(counts, strength=30.0, smoothing=10.0)
    mean = pooled.alpha / pooled.alpha.sum(axis=2, keepdims=True)
    assert mean[0, 0, 0] == pytest.approx(0.3, abs=0.01)
    # four deal-months say "never won"; the pooled prior keeps a chance near the others'
    assert mean[1, 0, 0] > 0.8 * pooled.rate[0, 0]
    np.testing.assert_allclose(mean.sum(axis=2), 1.0)


def test_draws_lie_on_the_simplex_around_the_posterior_mean():
    alpha = np.array([[[20.0, 10.0, 70.0]], [[1.0, 1.0, 8.0]]])
    draws = dirichlet_draws(np.random.default_rng(0), alpha, 20_000)
    assert draws.shape == (20_000, *alpha.shape)
    np.testing.assert_allclose(draws.sum(axis=-1), 1.0)
    np.testing.assert_allclose(
        draws.mean(axis=0), alpha / alpha.sum(axis=-1, keepdims=True), atol=0.005
    )
