"""Expected value of the open pipeline
(:mod:`pipeline_models.analyses.product_potential.open_pipeline`), with stand-in models whose
chance of winning and mean won amount are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from potential_cases import hand_frame

from pipeline_models.analyses.product_potential.open_pipeline import open_pipeline_draws


class Values:
    def __init__(self, values: np.ndarray) -> None:
        self.values = values


class HalfWon:
    """Every open deal is won with probability 0.5 (in every draw)."""

    columns_ = ["product"]

    def predict_outcome(self, pairs, horizon_days, random_seed=None, n_samples=None):  # noqa: ANN001, ANN201
        self.pairs = pairs
        return {"p_won": Values(np.full((n_samples, len(pairs)), 0.5))}


class MeanWon:
    """A won deal of product X is worth 1,000 on average, of any other 400."""

    def __init__(self, columns: list[str]) -> None:
        self.columns_ = columns

    def expected_amount(self, cells, random_seed=None):  # noqa: ANN001, ANN201
        size = np.where(cells["product"] == "X", 1000.0, 400.0) if len(cells.columns) else [700.0]
        return Values(np.tile(np.asarray(size, float), (5, 1)))


def test_open_value_sums_chance_times_amount_or_the_mean_won_amount():
    frame = hand_frame()
    before = frame.copy()
    cycle = HalfWon()
    value = open_pipeline_draws(
        cycle, MeanWon(["product"]), frame, "2026-09-30", ["product"], ["X", "Y", "Z"], 5, 1
    )
    pd.testing.assert_frame_equal(frame, before)  # pure
    # X: deal 4 (50); Y: deal 5 (no amount: 400) and deal 6 (20); Z has no open deal
    np.testing.assert_allclose(value, np.tile([0.5 * 50, 0.5 * (400 + 20), 0.0], (5, 1)))
    # ages at the middle of the week of age; a deal without a creation date is age 0
    assert sorted(cycle.pairs["age_days"]) == pytest.approx([0.0, 28.0 + 3.5, 56.0 + 3.5])
    without_cells = open_pipeline_draws(
        cycle, MeanWon([]), frame, "2026-09-30", ["product"], ["X", "Y"], 5, 1
    )
    np.testing.assert_allclose(without_cells[0], [0.5 * 50, 0.5 * (700 + 20)])


def test_no_open_deals_value_nothing():
    frame = hand_frame()
    closed = frame[frame["status"] != "open"]
    value = open_pipeline_draws(
        HalfWon(), MeanWon(["product"]), closed, "2026-09-30", ["product"], ["X"], 4
    )
    assert value.shape == (4, 1) and (value == 0).all()
