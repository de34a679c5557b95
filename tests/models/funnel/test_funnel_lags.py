"""Lag distributions: truncation weights undo short and long biases; pooling over levels."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_models.models.funnel.lags import LagDistribution, pooled_lags, truncation_weights


@pytest.mark.parametrize(
    ("first", "as_of", "naive_off"),
    [(0.0, 300.0, "short"), (150.0, 1000.0, "long")],
)
def test_truncation_weights_undo_short_and_long_biases(first, as_of, naive_off):
    """Lags seen only inside each item's window: recent items show only quick wins (right
    truncation: plain counts look short), items older than the export's first recorded outcome
    only slow ones (left truncation: plain counts look long)."""
    rng = np.random.default_rng(3)
    n = 40_000
    created = rng.uniform(0, 300, n)
    lag = np.rint(40 * np.exp(0.6 * rng.standard_normal(n)))
    lower, upper = np.maximum(first - created, 0), as_of - created
    seen = (lag >= lower) & (lag <= upper)
    x, lo, hi = lag[seen], lower[seen], upper[seen]
    w = truncation_weights(x, lo, hi)
    naive = LagDistribution(x, np.full(len(x), 1 / len(x))).quantile(0.9)
    fixed = LagDistribution(x, w).quantile(0.9)
    true_p90 = 40 * np.exp(0.6 * 1.2816)  # 86.3 days
    assert (naive < true_p90 - 6) if naive_off == "short" else (naive > true_p90 + 6)
    assert abs(fixed - true_p90) < 2
    assert np.isclose(w.sum(), 1) and (w > 0).all()


def test_truncation_weights_are_equal_without_truncation():
    flat = truncation_weights(np.array([3.0, 5, 9]), np.zeros(3), np.full(3, 50.0))
    assert np.allclose(flat, 1 / 3)


def test_lag_distribution_merges_equal_days():
    dist = LagDistribution(np.array([5.0, 1.0, 5.0, 3.0]), np.full(4, 0.25))
    assert dist.n == 3 and np.allclose(dist.weights, [0.25, 0.25, 0.5])
    assert np.allclose(dist.cdf([0.0, 1.0, 4.0, 5.0]), [0.0, 0.25, 0.5, 1.0])
    assert dist.quantile(0.5) == 3.0 and dist.quantile(0.51) == 5.0


def test_a_level_with_few_lags_leans_on_all_levels():
    values = np.array([10.0] * 100 + [40.0])
    codes = np.array([0] * 100 + [1])
    pooled = pooled_lags(values, np.full(101, 1 / 101), codes, ["many", "one"], strength=5.0)
    # the one lag of level "one" weighs 1 / (1 + 5); all levels' lags (almost all 10) the rest
    assert np.isclose(pooled["one"].cdf(10.0), 5 / 6 * 100 / 101)
    assert pooled["many"].cdf(10.0) > 0.99
    # without any lag: no lag at all
    assert pooled_lags(np.zeros(0), np.zeros(0), np.zeros(0, int), ["a"], 5.0)["a"].cdf(0.0) == 1
