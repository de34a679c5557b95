"""Reader tables of the product potential report
(:mod:`pipeline_models.analyses.product_potential.tables`): estimates carry the estimates'
interval, the forecast revenue the forecast's, and captions and headers say which."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from potential_cases import H, make_draws, reader_faults

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.analyses.product_potential.levers import lever_table
from pipeline_models.analyses.product_potential.ranking import rank_probabilities
from pipeline_models.analyses.product_potential.tables import (
    CAPTIONS,
    estimate_text,
    lever_reader_table,
    ranking_reader_table,
    selling_reader_table,
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
    table = volume_table(draws, raw, forecast, horizon_months=3).set_index("Product")
    assert table.loc["A", "Revenue per month of volume"] == "500\u00a0(50–950)"
    assert table.loc["A", "Forecast revenue, next 3 months"] == "500\u00a0(100–900)"
    assert table.loc["A", "New deals per month (last 6 months)"] == "2"  # never "2.0"
    assert table.loc["A", "Open deals"] == "3"
    assert table.loc["A", "Open amount (CRM)"] == "10.0k"


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
        "Product",
        "Win rate of closed deals",
        "Chance to be the best",
        "Chance to be in the top 2",
        f"Rank ({shown})",
    ]
    assert isinstance(reader.index, pd.RangeIndex)


def _raw_with_gaps() -> pd.DataFrame:
    """Raw figures of three products, two of them without a closed or won deal."""
    return pd.DataFrame(
        {
            "closed": [4_321, 0, 0],
            "win_rate": [0.25, np.nan, np.nan],
            "won_with_amount": [1_234, 0, 0],
            "mean_won_amount": [9500.0, np.nan, np.nan],
            "median_days_won": [30.0, np.nan, np.nan],
        },
        index=pd.Index(["A", "B", "C"], name="product"),
    )


def test_reader_selling_table_has_business_names_formats_and_words_for_gaps():
    draws = make_draws(n=2000)
    table = selling_reader_table(draws, _raw_with_gaps(), currency="EUR")
    assert reader_faults(table) == []
    assert list(table.columns[:7]) == [
        "Product",
        "Closed deals",
        "Win rate (raw)",
        "Win rate (pooled)",
        "Won deals with an amount",
        "Mean won deal (raw)",
        "Mean won deal (pooled)",
    ]
    rows = table.set_index("Product")
    assert rows.loc["A", "Closed deals"] == "4,321"
    assert rows.loc["A", "Mean won deal (raw)"] == "9.50k EUR"
    assert rows.loc["A", "Mean won deal (pooled)"].split("\u00a0")[0].endswith(" EUR")
    assert rows.loc["B", "Win rate (raw)"] == "no closed deal"
    assert rows.loc["B", "Mean won deal (raw)"] == "no won amount"
    assert rows.loc["B", "Days to win (raw median)"] == "no win yet"


def test_the_products_file_keeps_its_layout():
    """The file beside the report is not a reader table: its columns and cells stay as they were."""
    table = selling_table(make_draws(n=2000), _raw_with_gaps())
    assert table.index.name == "product"
    assert list(table.columns[:3]) == ["closed deals", "win rate: raw", "win rate: pooled"]
    assert table.loc["A", "closed deals"] == 4321
    assert table.loc["A", "mean won deal: raw"] == "9.50k"
    assert table.loc["B", "win rate: raw"] == "n/a"


def test_reader_lever_and_ranking_tables_carry_money_and_one_interval_style():
    draws = make_draws()
    levers = lever_reader_table(lever_table(draws, 10.0, H, scenarios=("percent",)), currency="EUR")
    assert reader_faults(levers) == []
    assert list(levers.columns) == [
        "Product",
        "Lever",
        "Change",
        "Kind",
        "Added revenue (mean)",
        f"{INTERVAL:.0%} interval",
        "Chance it adds revenue",
    ]
    assert levers["Added revenue (mean)"].str.endswith(" EUR").all()
    assert levers[f"{INTERVAL:.0%} interval"].str.fullmatch(r"[\d.]+[kM]?–[\d.]+[kM]?").all()
    ranking = rank_probabilities(draws["revenue_per_opportunity"], 2)
    reader = ranking_reader_table(ranking, draws["revenue_per_opportunity"], 2, "EUR")
    assert reader_faults(reader) == []
    assert reader.iloc[0, 1].split("\u00a0")[0].endswith(" EUR")


def test_reader_volume_table_shows_no_raw_figure():
    draws = make_draws(levels=("A",), n=1001)
    raw = pd.DataFrame(
        {"per_month_recent": [51.0], "open_deals": [3_000], "open_amount": [np.nan]},
        index=["A"],
    ).assign(open_without_amount=0)
    table = volume_table(draws, raw, None, horizon_months=3, currency="EUR")
    assert reader_faults(table) == []
    row = table.iloc[0]
    assert row["New deals per month (last 6 months)"] == "51"
    assert row["Open deals"] == "3,000"
    assert row["Open amount (CRM)"] == "none recorded"
    assert row["Trend vs the 6 months before"].split("\u00a0")[0].endswith("x")
