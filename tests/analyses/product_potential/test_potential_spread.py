"""How much products differ (:mod:`pipeline_models.analyses.product_potential.spread`), from
stand-in posteriors of the between-product sd."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.analyses.product_potential.spread import spread_table


def fitted(sd: np.ndarray, terms: dict) -> SimpleNamespace:
    posterior = xr.Dataset({"sd_product": (("chain", "draw"), sd.reshape(1, -1))})
    return SimpleNamespace(terms_=terms, posterior_=xr.DataTree.from_dict({"posterior": posterior}))


def test_spread_is_the_typical_factor_between_two_products():
    sd = np.linspace(0.0, 1.0, 1001)
    models = SimpleNamespace(
        win_rate=fitted(sd, {"product": ["a", "b"]}), revenue=fitted(2 * sd, {"region": ["n"]})
    )
    table = spread_table(models)
    assert list(table.index) == ["win odds"]  # the revenue model has no product term
    row = table.loc["win odds"]
    assert row["sd (log scale)"] == pytest.approx(0.5)
    assert row["typical factor"] == pytest.approx(np.exp(0.5))
    assert row["factor lower"] == pytest.approx(np.exp((1 - INTERVAL) / 2))
    assert row["factor upper"] == pytest.approx(np.exp((1 + INTERVAL) / 2))
    models.win_rate.terms_ = {}
    assert spread_table(models).empty
