"""The company's forecast from units' draws: sums of means, the units' targets together, units
in other currencies or over other months, and the page's sentences for it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.analyses.rollup.summary import UnitForecast, company_forecast
from pipeline_models.run.company_page import forecast_lines, together_sentences, window_rows

WINDOWS = ["next 1 month (2026-11)", "quarter 2026Q4 (incl. won so far)"]


def _draws(seed: int, windows=WINDOWS, n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.gamma(5.0, 200.0, n)
    later = first + rng.gamma(4.0, 300.0, n)
    return pd.DataFrame(
        {
            "window": np.repeat(windows, n),
            "months": np.repeat([1, 2], n),
            "draw": np.tile(np.arange(n), 2),
            "count": np.concatenate([first / 100, later / 100]),
            "revenue": np.concatenate([first, later]),
        }
    )


def test_expected_figures_are_the_sums_of_the_units_and_targets_add_up():
    units = [
        UnitForecast("a", _draws(1), "USD", 2_000.0),
        UnitForecast("b", _draws(2), "USD", 3_000.0),
    ]
    rollup = company_forecast(units, random_seed=3)
    table = rollup.table.set_index("window")
    for metric in ("count", "revenue"):
        sums = sum(u.draws.groupby("window")[metric].mean() for u in units)
        np.testing.assert_allclose(table[f"{metric}_expected"], sums.loc[table.index], rtol=1e-9)
        # moving fully together is wider than independent, at the same expected figure
        width = table[f"{metric}_high_together"] - table[f"{metric}_low_together"]
        assert (
            width > table[f"{metric}_high_independent"] - table[f"{metric}_low_independent"]
        ).all()
    assert rollup.target_revenue == 5_000.0
    assert 0.0 < table.loc[WINDOWS[1], "p_reach_target"] < 1.0
    # no track record: the units are taken to move fully together, and the page says so
    assert rollup.dependence.source == "assumed" and rollup.dependence.rho == 1.0
    assert table.loc[WINDOWS[0], "revenue_low"] == pytest.approx(
        table.loc[WINDOWS[0], "revenue_low_together"]
    )
    said = " ".join(together_sentences(rollup))
    assert "correlation of 1.00" in said and "were the units independent" in said
    assert any(
        line.startswith("Chance to reach the units' targets together")
        for line in forecast_lines(rollup)
    )


def test_units_in_other_currencies_are_added_up_in_deals_only():
    units = [UnitForecast("a", _draws(1), "USD", 1.0), UnitForecast("b", _draws(2), "EUR", 1.0)]
    rollup = company_forecast(units, random_seed=3)
    assert "different currencies (EUR, USD)" in rollup.revenue_reason
    assert "revenue_expected" not in rollup.table and "p_reach_target" not in rollup.table
    lines = forecast_lines(rollup)
    assert lines[0].startswith("Deals won, next 1 month")
    assert lines[-1] == (
        "Revenue is not added up: the units report in different currencies (EUR, USD). "
        "Deals won are."
    )
    assert all(row["revenue"] is None for row in window_rows(rollup))


def test_a_unit_over_other_months_or_without_draws_is_left_out_with_its_reason():
    other = ["next 1 month (2026-12)", "quarter 2027Q1 (incl. won so far)"]
    units = [
        UnitForecast("a", _draws(1)),
        UnitForecast("b", _draws(2, other)),
        UnitForecast("c", pd.DataFrame()),
    ]
    rollup = company_forecast(units, random_seed=3)
    assert rollup.units == ["a"]
    assert rollup.excluded == {
        "b": "its forecast covers other months than the first unit's",
        "c": "its forecast wrote no draws",
    }
    assert rollup.dependence.source == "single unit"
    assert company_forecast([UnitForecast("c", pd.DataFrame())], 3) is None
