"""The levers' arithmetic (:mod:`pipeline_models.analyses.product_potential.levers`) on hand-made
posterior draws: closed forms against integrals, additivity across products, the interaction term,
bounds and the ranked table."""

from __future__ import annotations

import numpy as np
import pytest
from potential_cases import H, make_draws
from scipy import integrate
from scipy.stats import lognorm

from pipeline_models.analyses.product_potential.levers import (
    LEVERS,
    SCENARIOS,
    added_revenue,
    closing_share,
    lever_table,
    lever_target,
    merge_scaling_levers,
)
from pipeline_models.analyses.product_potential.tables import lever_reader_table
from pipeline_models.contract.labels import DAYS_PER_MONTH


@pytest.mark.parametrize(
    ("mu", "sigma", "months"),
    [(np.log(45), 0.5, 3), (np.log(120), 0.9, 3), (np.log(10), 0.3, 1), (np.log(60), 0.7, 12)],
)
def test_closing_share_is_the_average_cdf_over_the_horizon(mu, sigma, months):
    days = months * DAYS_PER_MONTH
    cdf = lognorm(s=sigma, scale=np.exp(mu)).cdf
    expected = integrate.quad(cdf, 0, days, limit=200)[0] / days
    assert closing_share(mu, sigma, months) == pytest.approx(expected, rel=1e-7, abs=1e-10)


def test_closing_share_limits():
    assert closing_share(np.log(30), 0.5, 0) == 0
    assert closing_share(np.log(30), 0.5, 1000) == pytest.approx(1, abs=0.01)
    assert closing_share(np.log(3000), 0.5, 1) == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize("lever", LEVERS)
def test_moving_no_lever_adds_exactly_nothing(lever):
    draws = make_draws()
    target = lever_target(draws, lever, "percent", 0.0)
    added = added_revenue(draws, {target.name: target}, H)
    assert np.array_equal(added.values, np.zeros_like(added.values))
    table = lever_table(draws, lever_pct=0.0, horizon_months=H, scenarios=("percent",))
    assert (table[["mean", "median", "lower", "upper"]].to_numpy() == 0).all()


def test_levers_on_different_products_add_up_to_the_joint_change():
    """Non-interacting case: each product moves through at most one lever."""
    draws = make_draws()
    plan = {"A": "win_rate", "B": "deal_size", "C": "cycle_time"}
    singles = {
        level: lever_target(draws, lever, "percent", 10.0, level=level)
        for level, lever in plan.items()
    }
    joint = {t.name: t for t in singles.values()}  # one changed variable per product
    joint_added = added_revenue(draws, joint, H)
    single_added = sum(added_revenue(draws, {t.name: t}, H) for t in singles.values())
    np.testing.assert_allclose(joint_added.values, single_added.values, rtol=1e-12, atol=1e-9)
    total = joint_added.sum("product").values
    np.testing.assert_allclose(total, single_added.sum("product").values, rtol=1e-12)
    assert (total > 0).all()
    # the levers table moves every product at once; each product's row is its single lever
    table = lever_table(draws, 10.0, H, scenarios=("percent",))
    for level, lever in plan.items():
        row = table[(table["product"] == level) & (table["lever"] == lever)].iloc[0]
        alone = added_revenue(draws, {singles[level].name: singles[level]}, H)
        assert row["mean"] == pytest.approx(float(alone.sel(product=level).mean()), rel=1e-12)


def test_two_levers_on_one_product_interact_by_the_stated_term():
    draws = make_draws()
    q1 = lever_target(draws, "win_rate", "percent", 10.0, level="B")
    s1 = lever_target(draws, "deal_size", "percent", 10.0, level="B")
    both = added_revenue(draws, {"win_rate": q1, "deal_size": s1}, H)
    apart = added_revenue(draws, {"win_rate": q1}, H) + added_revenue(draws, {"deal_size": s1}, H)
    b = draws.sel(product="B")
    term = (
        b["volume"]
        * H
        * (1 - b["stalled_share"])
        * (q1.sel(product="B") - b["win_rate"])
        * (s1.sel(product="B") - b["deal_size"])
    )
    np.testing.assert_allclose((both - apart).sel(product="B"), term, rtol=1e-9)
    np.testing.assert_allclose((both - apart).drop_sel(product="B"), 0, atol=1e-9)


def test_ten_percent_on_win_rate_or_deal_size_adds_ten_percent_of_the_cohort_revenue():
    draws = make_draws()
    cohort = draws["volume"] * H * draws["revenue_per_opportunity"]
    for lever in ("win_rate", "deal_size"):
        t = lever_target(draws, lever, "percent", 10.0)
        np.testing.assert_allclose(added_revenue(draws, {t.name: t}, H), 0.1 * cohort, rtol=1e-9)


def test_faster_cycle_brings_revenue_into_the_horizon_only():
    draws = make_draws()
    t = lever_target(draws, "cycle_time", "percent", 20.0)
    added = added_revenue(draws, {t.name: t}, H)
    cohort = draws["volume"] * H * draws["revenue_per_opportunity"]
    assert (added > 0).all()
    assert (added < cohort).all()  # never more than the cohort's whole revenue
    # a very long horizon: nearly everything closes inside it either way, nothing is added
    far = added_revenue(draws, {t.name: t}, 600) / (
        draws["volume"] * 600 * draws["revenue_per_opportunity"]
    )
    assert float(abs(far).max()) < 0.01


def test_peer_median_moves_each_product_to_the_median_of_the_others():
    draws = make_draws(n=5)
    q = np.tile([0.2, 0.3, 0.5], (5, 1))
    draws["win_rate"] = (("sample", "product"), q)
    target = lever_target(draws, "win_rate", "peer_median")
    np.testing.assert_allclose(target.values, np.tile([0.4, 0.35, 0.25], (5, 1)))
    one = make_draws(levels=("A",), n=5)
    same = lever_target(one, "win_rate", "peer_median")
    np.testing.assert_array_equal(same.values, one["win_rate"].values)


def test_lever_targets_respect_bounds():
    draws = make_draws(win=(0.95, 0.3, 0.5))
    q = lever_target(draws, "win_rate", "percent", 50.0)
    assert float(q.max()) <= 1.0
    with pytest.raises(ValueError, match="100%"):
        lever_target(draws, "cycle_time", "percent", 100.0)
    with pytest.raises(ValueError):
        lever_target(draws, "price", "percent", 10.0)


def test_lever_table_is_ranked_and_merges_equal_levers_for_readers():
    draws = make_draws()
    table = lever_table(draws, 10.0, H)
    assert table["mean"].is_monotonic_decreasing
    assert set(table["kind"]) == {"more revenue", "earlier revenue"}
    assert len(table) == 3 * len(LEVERS) * len(SCENARIOS)
    merged = merge_scaling_levers(table[table["scenario"] == "percent"])
    assert set(merged["lever"]) == {"win_rate|deal_size", "cycle_time"}
    reader = lever_reader_table(table[table["scenario"] == "percent"], top=20)
    assert len(reader) == 6 and "win rate or deal size" in set(reader["Lever"])
    # peers' median: the product with the best win rate has nothing to gain from it
    peers = table[(table["scenario"] == "peer_median") & (table["lever"] == "win_rate")]
    assert (
        peers.set_index("product").loc["C", "mean"]
        < 0
        < peers.set_index("product").loc["A", "mean"]
    )


def test_lever_table_interval_has_the_asked_probability():
    draws = make_draws(n=2000)
    table = lever_table(draws, 10.0, H, scenarios=("percent",), levers=("win_rate",), prob=0.5)
    t = lever_target(draws, "win_rate", "percent", 10.0)
    added = added_revenue(draws, {t.name: t}, H).sel(product="B").values
    row = table.set_index("product").loc["B"]
    assert row["lower"] == pytest.approx(np.quantile(added, 0.25))
    assert row["upper"] == pytest.approx(np.quantile(added, 0.75))
