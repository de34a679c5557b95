"""Reader tables of the product potential report
(:mod:`pipeline_models.analyses.product_potential.tables`): estimates carry the estimates'
interval, the forecast revenue the forecast's, and captions and headers say which."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from potential_cases import H, make_draws

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.analyses.product_potential.levers import lever_table
from pipeline_models.analyses.product_potential.ranking import rank_probabilities
from pipeline_models.analyses.product_potential.tables import (
    CAPTIONS,
    estimate_text,
    lever_reader_table,
    ranking_reader_table,
    selling_table,
    volume_table,
)
from pipeline_models.present.formats import format_money, format_pct


def spread_draws(name: str) -> xr.DataArray:
    """0, 1, ..., 1000 for one level: the q-quantile is exactly 1000 q."""
    return xr.DataArray(
        np.arange(1001.0)[:, None], dims=("sample", "product"), coords={"product": ["A"]}, name=name
    )


def test_estimates_show_the_estimates_interval_and_forecasts_the_forecasts():
    lo, hi = 1000 * (1 - INTERVAL) / 2, 1000 * (1 + INTERVAL) / 2
    text = estimate_text(spread_draws("revenue_per_month"), format_money)
    assert text["A"] == f"500\u00a0({format_money(lo)}–{format_money(hi)})"
    f_lo, f_hi = 1000 * (1 - FORECAST_INTERVAL) / 2, 1000 * (1 + FORECAST_INTERVAL) / 2
    text = estimate_text(spread_draws("forecast_revenue"), format_money)
    assert text["A"] == f"500\u00a0({format_money(f_lo)}–{format_money(f_hi)})"
    assert estimate_text(spread_draws("x"), format_money, prob=0.5)["A"] == "500\u00a0(250–750)"


def test_volume_table_gives_the_forecast_its_own_interval():
    draws = make_draws(levels=("A",), n=1001)
    draws["revenue_per_month"] = spread_draws("revenue_per_month")
    raw = pd.DataFrame(
        {"per_month_recent": [2.0], "open_deals": [3], "open_amount": [1e4]},
        index=["A"],
    ).assign(open_without_amount=0)
    forecast = spread_draws("next_quarter")  # the table knows it is a forecast, not its name
    table = volume_table(draws, raw, forecast, horizon_months=3)
    assert table.loc["A", "revenue per month of volume"] == "500\u00a0(50–950)"
    assert table.loc["A", "forecast revenue, next 3 m"] == "500\u00a0(100–900)"


def test_selling_table_writes_raw_and_pooled_with_the_shared_formats():
    raw = pd.DataFrame(
        {
            "closed": [4, 0, 0],
            "win_rate": [0.25, np.nan, np.nan],
            "won_with_amount": [2, 0, 0],
            "mean_won_amount": [9500.0, np.nan, np.nan],
            "median_days_won": [30.0, np.nan, np.nan],
        },
        index=["A", "B", "C"],
    )
    draws = make_draws(n=2000)
    table = selling_table(draws, raw, "win_size")
    assert list(table.index) == ["A", "B", "C"]  # by revenue per opportunity
    assert table.loc["A", "win rate: raw"] == "25%"
    assert table.loc["A", "mean won deal: raw"] == "9.50k"
    values = draws["win_rate"].sel(product="A").values
    lo, med, hi = np.quantile(values, [(1 - INTERVAL) / 2, 0.5, (1 + INTERVAL) / 2])
    expected = f"{format_pct(med)}\u00a0({format_pct(lo)}–{format_pct(hi)})"
    assert table.loc["A", "win rate: pooled"] == expected
    value = selling_table(draws, raw, "value")
    assert {"days to win: pooled", "never close", "revenue per opportunity"} <= set(value)
    assert "win rate: raw" not in value
    assert value.loc["A", "days to win: raw median"] == "30"
    assert value.loc["B", "days to win: raw median"] == "n/a"


def test_captions_and_headers_name_the_interval_shown():
    shown, forecast = f"{INTERVAL:.0%} interval", f"{FORECAST_INTERVAL:.0%} interval"
    assert shown in CAPTIONS["win_size"] and shown in CAPTIONS["value"]
    assert shown in CAPTIONS["volume"] and forecast in CAPTIONS["volume"]
    assert not any(forecast in CAPTIONS[k] for k in ("win_size", "value"))
    draws = make_draws()
    levers = lever_reader_table(lever_table(draws, 10.0, H, scenarios=("percent",)))
    assert shown in levers.columns
    ranking = rank_probabilities(draws["win_rate"], 2)
    reader = ranking_reader_table(ranking, draws["win_rate"], 2)
    assert list(reader.columns) == [
        "win rate of closed deals",
        "P(best)",
        "P(top 2)",
        f"rank ({shown})",
    ]
