"""Chances to be the best from joint draws
(:mod:`pipeline_models.analyses.product_potential.ranking`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from potential_cases import make_draws

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.analyses.product_potential.ranking import rank_probabilities


def test_rank_probabilities_sum_to_k_and_find_a_clear_best():
    draws = make_draws(n=2000)
    for k in (1, 2, 3):
        ranking = rank_probabilities(draws["win_rate"], top_k=k)
        assert ranking["p_top_k"].sum() == pytest.approx(k)
    ranking = rank_probabilities(draws["win_rate"])
    assert ranking.index[0] == "C" and ranking.loc["C", "p_best"] > 0.99
    lowest = rank_probabilities(draws["cycle_days"], higher_is_better=False)
    assert lowest.index[0] == "C"  # 20 days: the fastest


def test_rank_probabilities_do_not_reward_a_lucky_product():
    """A product with few deals and a high but uncertain figure is not ranked first for sure."""
    rng = np.random.default_rng(1)
    values = xr.DataArray(
        np.column_stack([rng.normal(0.55, 0.15, 4000), rng.normal(0.50, 0.01, 4000)]),
        dims=("sample", "product"),
        coords={"product": ["few deals", "many deals"]},
    )
    ranking = rank_probabilities(values)
    assert 0.55 < ranking.loc["few deals", "p_best"] < 0.75
    same = xr.DataArray(rng.normal(0, 1, (8000, 4)), dims=("sample", "product"))
    assert np.allclose(rank_probabilities(same)["p_best"], 0.25, atol=0.03)


def test_rank_probabilities_break_exact_ties_evenly():
    values = xr.DataArray(
        np.zeros((4000, 2)), dims=("sample", "product"), coords={"product": ["a", "b"]}
    )
    ranking = rank_probabilities(values, random_seed=3)
    assert ranking["p_best"].sum() == pytest.approx(1)
    assert ranking["p_best"].min() > 0.45


def test_rank_interval_is_the_estimates_interval():
    """Four levels in random order: each rank is uniform on 1..4, so the equal-tailed interval
    spans ranks 1-4 at the estimates' interval (90%) and ranks 2-3 at 40%."""
    rng = np.random.default_rng(2)
    values = xr.DataArray(rng.normal(0, 1, (8000, 4)), dims=("sample", "product"))
    default = rank_probabilities(values, random_seed=1)
    pd.testing.assert_frame_equal(default, rank_probabilities(values, prob=INTERVAL, random_seed=1))
    assert (default["rank_lower"] == 1).all() and (default["rank_upper"] == 4).all()
    narrow = rank_probabilities(values, prob=0.4, random_seed=1)
    assert (narrow["rank_lower"] == 2).all() and (narrow["rank_upper"] == 3).all()
