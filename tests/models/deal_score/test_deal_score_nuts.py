"""The deal score's Laplace approximation against NUTS on the same model and spreads."""

from __future__ import annotations

import numpy as np
import pytest
from deal_cases import simulate_deals

from pipeline_models.models.deal_score import DealScoreConfig, DealScoreModel

pytestmark = pytest.mark.slow


def test_laplace_chances_match_nuts():
    """With the spreads the score estimated held fixed, the posterior mean chance of every
    product x region cell from the Laplace approximation is within 0.01 of NUTS's (about 25
    deals a cell: where a normal approximation of a logistic posterior is weakest)."""
    pm = pytest.importorskip("pymc")
    frame, _ = simulate_deals(300, seed=21)
    attrs = ("product", "region")
    model = DealScoreModel(DealScoreConfig(attributes=attrs, amount=None)).fit(
        frame, frame["won"].to_numpy()
    )
    levels = model.coding_.levels
    P, R = len(levels["product"]), len(levels["region"])
    sd = 1.0 / np.sqrt(model.fit_.tau)  # intercept, product, region, product:region
    prod = frame["product"].map({v: i for i, v in enumerate(levels["product"])}).to_numpy()
    reg = frame["region"].map({v: i for i, v in enumerate(levels["region"])}).to_numpy()
    cell = prod * R + reg
    n = np.bincount(cell, minlength=P * R)
    y = np.bincount(cell, weights=frame["won"].to_numpy(float), minlength=P * R)
    with pm.Model():
        b0 = pm.Normal("b0", 0.0, sd[0])
        bp = pm.Normal("bp", 0.0, sd[1], shape=P)
        br = pm.Normal("br", 0.0, sd[2], shape=R)
        bpr = pm.Normal("bpr", 0.0, sd[3], shape=P * R)
        cells = np.arange(P * R)
        eta = b0 + bp[cells // R] + br[cells % R] + bpr
        pm.Deterministic("p", pm.math.sigmoid(eta))
        pm.Binomial("won", n=n, p=pm.math.sigmoid(eta), observed=y)
        tree = pm.sample(
            draws=2000,
            tune=1000,
            chains=2,
            cores=1,
            random_seed=7,
            progressbar=False,
            compute_convergence_checks=False,
            nuts={"target_accept": 0.95},
        )
    nuts = tree["posterior"]["p"].mean(dim=("chain", "draw")).to_numpy()
    grid = frame.head(0).reindex(range(P * R))
    grid["product"] = [levels["product"][c // R] for c in range(P * R)]
    grid["region"] = [levels["region"][c % R] for c in range(P * R)]
    laplace = model.predict(grid)
    assert np.abs(laplace - nuts).max() < 0.01, np.c_[laplace, nuts]
