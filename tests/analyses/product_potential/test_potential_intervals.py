"""Posterior intervals per level and which interval a quantity is shown with
(:mod:`pipeline_models.analyses.product_potential.intervals`)."""

from __future__ import annotations

import pandas as pd
import pytest
from potential_cases import make_draws

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.analyses.product_potential.intervals import interval_for, interval_table


def test_interval_table_puts_raw_beside_the_posterior():
    draws = make_draws(n=2000)
    raw = pd.Series({"A": 0.1, "B": 0.3, "C": 0.6})
    table = interval_table(draws["win_rate"], raw)
    assert list(table.index) == ["C", "B", "A"]
    assert table.loc["A", "raw"] == 0.1
    assert (table["lower"] < table["median"]).all() and (table["median"] < table["upper"]).all()
    inside = draws["win_rate"].sel(product="B")
    share = float(
        ((inside >= table.loc["B", "lower"]) & (inside <= table.loc["B", "upper"])).mean()
    )
    assert share == pytest.approx(INTERVAL, abs=0.01)


def test_estimates_and_outcomes_to_come_have_their_own_interval():
    assert interval_for("win_rate") == INTERVAL
    assert interval_for("revenue_per_opportunity") == INTERVAL
    assert interval_for("open_value") == INTERVAL
    assert interval_for("forecast_revenue") == FORECAST_INTERVAL
    assert interval_for(None) == INTERVAL
    assert INTERVAL != FORECAST_INTERVAL  # else the test above could not fail
