"""Tests of the ground truth: the simulated deals recover what it states."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_cases import SEED, SMALL, closed_by_product, small_history

from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


def test_truth_holds_the_documented_parts_in_order(history):
    assert list(history.truth) == [
        "generator", "config", "history", "win", "amount", "cycle", "stages", "stall",
        "arrivals", "leads", "close_dates", "mix", "realised",
    ]  # fmt: skip
    assert history.truth["generator"] == {
        "module": "pipeline_models.data.synthetic",
        "format": 1,
        "random_seed": SEED,
    }


def test_truth_without_the_simulation_matches_the_truth_with_it(history):
    alone = synthetic.ground_truth(SMALL, SEED)
    assert "realised" not in alone
    assert alone == {k: v for k, v in history.truth.items() if k != "realised"}


def test_win_rate_per_product_matches_truth(history):
    truth = history.truth["win"]["marginal_win_rate"]
    for product, group in closed_by_product(history):
        p = truth[product]
        n = len(group)
        observed = (group["outcome"] == "won").mean()
        assert abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n), product


def test_products_have_clearly_different_win_rates(history):
    rates = sorted(history.truth["win"]["marginal_win_rate"].values())
    assert rates[-1] - rates[0] > 0.2
    assert min(np.diff(rates)) > 0.03


def test_mean_log_amount_of_won_deals_matches_mu(history):
    truth = history.truth["amount"]
    sd = truth["sd_log_amount"]
    for product, group in closed_by_product(history):
        won = group[group["outcome"] == "won"]
        mean = np.log(won["amount"]).mean()
        assert abs(mean - truth["mean_log_amount"][product]) <= 4 * sd / np.sqrt(len(won)), product


def test_mean_log_cycle_matches_mu(history):
    # rounding to whole days and the quarter-end pull move the mean log cycle by < 0.01
    truth = history.truth["cycle"]
    for product, group in closed_by_product(history):
        for outcome in ("won", "lost"):
            rows = group[group["outcome"] == outcome]
            mean = np.log(rows["cycle_days"].astype(float)).mean()
            mu = truth["by_product"][product][outcome]["mu"]
            se = truth["sigma"][outcome] / np.sqrt(len(rows))
            assert abs(mean - mu) <= 4 * se + 0.01, (product, outcome)


def test_strong_source_wins_most(history):
    deals = history.deals[history.deals["outcome"] != "stalled"]
    rates = deals.groupby("lead_source", observed=True)["outcome"].apply(
        lambda s: (s == "won").mean()
    )
    assert rates.idxmax() == SMALL.strong_source
    truth = history.truth["win"]["lead_source_effect"]
    assert max(truth, key=truth.get) == SMALL.strong_source


def test_arrivals_match_expected_total(history):
    expected = history.truth["arrivals"]["expected_total"]
    assert abs(len(history.deals) - expected) <= 4 * np.sqrt(expected)
    assert expected == pytest.approx(SMALL.n_opportunities)


def test_stage_pass_rates_multiply_to_the_win_rate(history):
    # a deal that closes is won exactly when it passes every open stage
    truth = history.truth
    for product, p in truth["win"]["marginal_win_rate"].items():
        passed = np.prod(list(truth["stages"]["pass_rate"][product].values()))
        assert passed == pytest.approx(p), product
