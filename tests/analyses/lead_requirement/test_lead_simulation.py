"""What is in hand: open deals simulated by cells agree with a deal-by-deal simulation; the exact
draws behind them."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from lead_cases import per_deal_open_deals, planned_case

from pipeline_models.analyses.lead_requirement import LeadPlanner, simulation
from pipeline_models.analyses.lead_requirement.revenue import EXACT_WINS, distinct_picks
from pipeline_models.models.funnel import Amounts
from pipeline_models.models.funnel.deal_flow import multinomial, split


@pytest.fixture(scope="module")
def fitted():
    return planned_case()


def test_open_deals_by_cells_agree_with_deal_by_deal(fitted, monkeypatch):
    """The open deals simulated as cells of equal chance (product x age: exact multinomial
    wins, revenue exactly drawn up to EXACT_WINS wins of a cell and normal with finite-population
    correction above) agree in distribution with a deal-by-deal simulation.

    Every open deal is copied 40 times with its amount spread, so that cells hold many deals and
    both revenue paths are used; the win rates are fixed at their posterior means (all 4,000
    draws alike), so that the spread compared is the simulation's own, not the parameters'. Per
    month and for the window, the mean and standard deviation of wins and revenue are compared:
    a difference of means has the standard error ``sqrt(v_1 / n + v_2 / n)``, one of standard
    deviations ``sqrt(se_1^2 + se_2^2)`` with ``se = sd sqrt((kurtosis - 1) / (4 n))``
    (the delta method on the sample variance), both from the draws; the tolerance is 4 standard
    errors (one in 16,000 for each of the 16 comparisons, were the two the same).
    """
    _, _, _, fitted_model, _ = fitted
    model = copy.copy(fitted_model)
    draws = 4000
    model.product_win_ = np.tile(fitted_model.product_win_.mean(axis=0), (draws, 1))
    model.win_ = np.tile(fitted_model.win_.mean(axis=0), (draws, 1))
    model.conversion_ = np.tile(fitted_model.conversion_.mean(axis=0), (draws, 1))
    for name in ("amounts_", "product_amounts_"):
        a = getattr(fitted_model, name)
        setattr(model, name, Amounts(a.mean, a.var, np.tile(a.mean, (draws, 1))))
    opps = fitted_model.items_.opportunities
    is_open = opps["outcome"] == "open"
    copies = opps[is_open].loc[np.repeat(opps.index[is_open], 40)].reset_index(drop=True)
    spread = np.random.default_rng(0).lognormal(0.0, 0.6, len(copies))
    copies["amount"] = copies["amount"].fillna(5000.0) * spread
    model.items_ = dataclasses.replace(
        fitted_model.items_,
        opportunities=pd.concat([opps[~is_open], copies], ignore_index=True),
        has_leads=False,
    )
    model.has_leads_ = False
    most = []
    cell_revenue = simulation.cell_revenue

    def watched(rng, cells, out):
        most.append(int(cells.k.sum(axis=1).max(initial=0)))
        return cell_revenue(rng, cells, out)

    monkeypatch.setattr(simulation, "cell_revenue", watched)
    planner = LeadPlanner(model, 3, random_seed=21)
    cells = planner.in_hand.parts["open deals"]
    deals = per_deal_open_deals(planner, seed=22)
    n = draws
    for metric in ("count", "revenue"):
        a = np.column_stack([cells[metric], cells[metric].sum(axis=1)])
        b = np.column_stack([deals[metric], deals[metric].sum(axis=1)])
        se_mean = np.sqrt(a.var(axis=0) / n + b.var(axis=0) / n)
        assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) < 4 * se_mean), metric

        def se_sd(x):
            z = (x - x.mean(axis=0)) / x.std(axis=0)
            return x.std(axis=0) * np.sqrt(((z**4).mean(axis=0) - 1) / (4 * n))

        se = np.sqrt(se_sd(a) ** 2 + se_sd(b) ** 2)
        assert np.all(np.abs(a.std(axis=0) - b.std(axis=0)) < 4 * se), metric
    # both revenue paths were taken: some cells win more than EXACT_WINS deals in a draw
    assert max(most) > EXACT_WINS


def test_split_and_multinomial_keep_their_totals():
    rng = np.random.default_rng(0)
    share = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    out = split(rng, np.array([1000, 7]), share)
    assert out.sum(axis=1).tolist() == [1000, 7] and out[1].tolist() == [7, 0, 0]
    p = np.array([[0.1, 0.2], [0.0, 0.0]])
    k = multinomial(rng, np.array([500, 500]), p)
    assert k[1].sum() == 0 and 0 < k[0].sum() <= 500
    assert abs(k[0].sum() - 150) < 45  # Binomial(500, 0.3): sd 10


def test_distinct_picks_never_repeat_and_are_uniform():
    rng = np.random.default_rng(1)
    n = np.array([5] * 4000 + [100] * 4000)
    picks = distinct_picks(rng, n, 3)
    assert all(len(set(row)) == 3 for row in picks)
    assert (picks < n[:, None]).all() and (picks >= 0).all()
    first = np.bincount(picks[:4000, 0], minlength=5) / 4000
    assert np.allclose(first, 0.2, atol=0.03)
