"""Scores of win probabilities: known values by hand, the limits of perfect and blind predictors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline_models.models.deal_score.scores import auc, brier, ece, log_loss, reliability


def test_perfect_predictions_score_near_zero_loss_and_full_auc():
    y = np.array([1, 0, 0, 1, 0, 1, 1, 0])
    p = y.astype(float)
    assert log_loss(p, y) == pytest.approx(0.0, abs=2e-6)  # only the clip keeps it above 0
    assert brier(p, y) == 0.0
    assert ece(p, y) == 0.0
    assert auc(p, y) == 1.0
    assert auc(1 - p, y) == 0.0  # perfectly wrong ranking


def test_constant_predictor_at_the_base_rate_is_calibrated_but_ranks_nothing():
    y = np.array([1, 0, 0, 0] * 25, dtype=bool)
    p = np.full(y.shape, 0.25)
    assert ece(p, y) == pytest.approx(0.0, abs=1e-12)
    assert auc(p, y) == 0.5
    entropy = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert log_loss(p, y) == pytest.approx(entropy)
    assert brier(p, y) == pytest.approx(0.25 * 0.75)


def test_small_hand_computed_values():
    p, y = np.array([0.8, 0.4]), np.array([1, 0])
    assert log_loss(p, y) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)
    assert brier(p, y) == pytest.approx((0.2**2 + 0.4**2) / 2)
    # won deals scored 0.35 and 0.8, lost 0.1 and 0.4: three of the four pairs ordered right
    assert auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)


def test_log_loss_clips_a_certain_miss():
    assert log_loss(np.array([0.0]), np.array([1])) == pytest.approx(-math.log(1e-6))
    assert log_loss(np.array([0.0]), np.array([1]), eps=1e-3) == pytest.approx(-math.log(1e-3))


def test_ties_count_half_in_auc():
    # won 0.5 and 0.9 against lost 0.5 and 0.2: the tied pair counts 1/2, the other three 1
    p, y = np.array([0.5, 0.5, 0.2, 0.9]), np.array([1, 0, 0, 1])
    assert auc(p, y) == pytest.approx(3.5 / 4)
    assert auc(np.full(6, 0.3), np.array([1, 0, 1, 0, 0, 0])) == 0.5


def test_auc_is_nan_when_one_outcome_is_absent():
    assert math.isnan(auc(np.array([0.2, 0.7]), np.array([1, 1])))
    assert math.isnan(auc(np.array([0.2, 0.7]), np.array([0, 0])))


def test_reliability_bins_hold_every_deal_and_give_the_ece():
    p = np.array([0.15, 0.15, 0.85, 0.85, 1.0, 0.0])
    y = np.array([0, 1, 1, 1, 1, 0])
    table = reliability(p, y, bins=10)
    assert list(table.columns) == [
        "bin_low",
        "bin_high",
        "deals",
        "mean_predicted",
        "observed_rate",
    ]
    assert table["deals"].sum() == len(p)
    assert table["bin_low"].tolist() == pytest.approx([0.0, 0.1, 0.8, 0.9])  # 1.0 in the last bin
    assert table["bin_high"].tolist() == pytest.approx([0.1, 0.2, 0.9, 1.0])
    row = table.iloc[1]
    assert (row["deals"], row["mean_predicted"], row["observed_rate"]) == (2, 0.15, 0.5)
    # gaps 0.35 (2 deals) and 0.15 (2 deals); the bins of 0 and 1 are exact
    assert ece(p, y) == pytest.approx((2 * 0.35 + 2 * 0.15) / 6)


def test_reliability_of_many_deals_sums_to_n_with_fewer_bins():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=1000)
    y = rng.uniform(size=1000) < p
    table = reliability(p, y, bins=4)
    assert len(table) == 4
    assert table["deals"].sum() == 1000
    assert ece(p, y, bins=4) < 0.05  # outcomes drawn from p: calibrated up to noise


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="shape"):
        brier(np.array([0.2, 0.3]), np.array([1]))
