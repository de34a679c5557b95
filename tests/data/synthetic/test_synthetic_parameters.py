"""Tests of what a configuration implies before any draw."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_cases import SMALL

from pipeline_models.data.synthetic.parameters import (
    arrival_rates,
    daily_arrivals,
    lag_pmf,
    loss_stage_probabilities,
    month_grid,
)


def test_expected_arrivals_sum_to_the_configured_count():
    grid = month_grid(SMALL)
    rates = arrival_rates(SMALL, grid)
    assert (rates[:, None] * grid["weight"][None, :]).sum() == pytest.approx(SMALL.n_opportunities)
    _, daily = daily_arrivals(SMALL, rates, extra_days=0)
    assert daily.sum() == pytest.approx(SMALL.n_opportunities)


def test_lag_pmf_is_a_distribution_with_the_stated_median():
    for source in SMALL.lead_sources:
        pmf = lag_pmf(source)
        assert pmf.min() >= 0
        assert pmf.sum() == pytest.approx(1, abs=1e-5)
        median = int(np.searchsorted(np.cumsum(pmf), 0.5))
        assert abs(median - source.lag_median_days) <= 1, source.name


def test_loss_stage_probabilities_weigh_the_bottleneck():
    loss = loss_stage_probabilities(SMALL)
    assert loss.sum() == pytest.approx(1)
    bottleneck = SMALL.stages.index(SMALL.bottleneck_stage)
    others = np.delete(loss, bottleneck)
    assert loss[bottleneck] == pytest.approx(SMALL.bottleneck_weight * others[0])
    assert np.allclose(others, others[0])
