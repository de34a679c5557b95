"""The deal-by-deal simulation agrees with the levers' closed form
(:mod:`pipeline_models.analyses.product_potential.simulation`)."""

from __future__ import annotations

import numpy as np
from potential_cases import H, make_draws

from pipeline_models.analyses.product_potential.levers import added_revenue, lever_target
from pipeline_models.analyses.product_potential.simulation import simulate_added_revenue


def test_deal_by_deal_simulation_agrees_with_the_arithmetic():
    draws = make_draws(n=300)
    plan = {"A": "win_rate", "B": "deal_size", "C": "cycle_time"}
    singles = [lever_target(draws, lv, "percent", 25.0, level=p) for p, lv in plan.items()]
    joint = {t.name: t for t in singles}
    sim_joint = simulate_added_revenue(draws, joint, H, n_draws=300, random_seed=4)
    sim_singles = [
        simulate_added_revenue(draws, {t.name: t}, H, n_draws=300, random_seed=4) for t in singles
    ]
    # common random numbers: a product's simulation ignores the others' changes, so the joint
    # simulation is the sum of the single-lever simulations, deal for deal
    np.testing.assert_allclose(sim_joint.values, sum(s.values for s in sim_singles), rtol=1e-12)
    for s, level in zip(sim_singles, plan, strict=True):
        assert (s.drop_sel(product=level).values == 0).all()
    # and on average it gives what the formula gives (within 4 Monte Carlo standard errors)
    analytic = added_revenue(draws, joint, H).isel(sample=sim_joint["sample"].values)
    diff = sim_joint.values - analytic.values
    for j, level in enumerate(plan):
        se = diff[:, j].std(ddof=1) / np.sqrt(len(diff))
        assert abs(diff[:, j].mean()) < 4 * se, level
        assert analytic.values[:, j].mean() > 4 * se  # the check has power: the effect is visible
