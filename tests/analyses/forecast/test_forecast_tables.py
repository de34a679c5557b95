"""The leader's forecast table and its reader formatting."""

from __future__ import annotations

import pytest
from forecaster_cases import FAST, sample_export
from report_reading import assert_reader_table

from pipeline_models.analyses.forecast.deals import age_band_table, open_deal_outlook
from pipeline_models.analyses.forecast.tables import (
    age_band_display,
    forecast_display,
    forecast_table,
    format_scores,
    group_display,
    open_deals_display,
    scores_display,
)
from pipeline_models.analyses.forecast.track import backtest, score_table
from pipeline_models.contract.period import month_end
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.forecaster import PipelineForecaster
from pipeline_models.present.formats import format_money

ORIGIN = month_end("2026-06")


@pytest.fixture(scope="module")
def known():
    return pipeline_as_of(sample_export(), ORIGIN)


@pytest.fixture(scope="module")
def result(known):
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    return forecaster.predict(known[known["status"] == "open"], (1, 2, 3), random_seed=3)


def test_forecast_table_windows_and_target(result, known):
    table = forecast_table(result, known, "2026-06", target_revenue=1.0)
    assert table["p_reach_target"].iloc[0] == pytest.approx(1.0)
    assert list(table.index) == [
        "next 1 month (2026-07)",
        "next 2 months (2026-07..2026-08)",
        "next 3 months (2026-07..2026-09)",
        "quarter 2026Q3 (incl. won so far)",
    ]
    assert table["revenue_median"].is_monotonic_increasing
    low, high = (float(v.replace(",", "")) for v in table["count_80"].iloc[0].split(" – "))
    assert low <= table["count_median"].iloc[0] <= high
    assert table["revenue_from_open"].between(0, 1).all()
    assert "p_reach_target" not in forecast_table(result, known, "2026-06")
    low, high = table.attrs["bounds"]["count"][table.index[0]]
    assert table["count_80"].iloc[0] == f"{low:,.0f} – {high:,.0f}"


def test_forecast_display_names_columns_and_writes_money_once(result, known):
    table = forecast_table(result, known, "2026-06", target_revenue=1e6)
    revenue = forecast_display(table, "revenue", "EUR", 1e6)
    assert list(revenue.columns) == [
        "Window",
        "Revenue won (median)",
        "80% interval",
        "From open deals",
        "Weighted pipeline",
        "Run-rate",
        "Chance to reach 1.00M EUR",
    ]
    assert_reader_table(revenue)
    assert revenue["Revenue won (median)"].iloc[0] == format_money(
        table["revenue_median"].iloc[0], "EUR"
    )
    low, high = table.attrs["bounds"]["revenue"][table.index[0]]
    assert revenue["80% interval"].iloc[0] == f"{format_money(low)}–{format_money(high, 'EUR')}"
    # the target is the quarter's: its chance stands on the quarter's row alone
    chance = revenue["Chance to reach 1.00M EUR"]
    assert chance.iloc[-1].endswith("%") and (chance.iloc[:-1] == "").all()
    count = forecast_display(table, "count")
    assert list(count.columns)[:3] == ["Window", "Deals won (median)", "80% interval"]
    assert_reader_table(count)
    assert count["80% interval"].str.fullmatch(r"[\d,]+–[\d,]+").all()
    assert "Chance to reach" not in " ".join(forecast_display(table, "revenue", "EUR").columns)
    assert table["revenue_median"].dtype == float  # the table itself is left as it was
    assert table["revenue_50"].str.contains(" – ").all()  # and its CSV keeps the middle half


def test_group_display_shows_the_planners_interval_as_money(result):
    shown = group_display(result, "product", horizon=3, currency="USD")
    assert list(shown.columns) == ["Product", "Revenue won (median)", "80% interval"]
    assert_reader_table(shown)
    assert shown["80% interval"].str.endswith(" USD").all()
    deals = group_display(result, "product", horizon=3, target="count")
    assert list(deals.columns) == ["Product", "Deals won (median)", "80% interval"]
    assert_reader_table(deals)


def test_open_deal_tables_read_as_reports(result, known):
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    deals = open_deal_outlook(forecaster, known[known["status"] == "open"], horizon=3)
    deals.loc[0, "amount"] = float("nan")
    shown = open_deals_display(deals, 3, rows=5, currency="USD")
    assert list(shown.columns) == [
        "Deal",
        "Product",
        "Region",
        "Owner",
        "Stage",
        "Amount",
        "Age (months)",
        "Chance won in 3 months",
    ]
    assert_reader_table(shown)
    assert shown["Amount"].iloc[0] == ""  # no amount: a blank cell, never nan
    bands = age_band_display(age_band_table(deals, 3), 3)
    assert list(bands.columns) == ["Age (months)", "Open deals", "Mean chance won in 3 months"]
    assert_reader_table(bands)
    assert bands["Age (months)"].iloc[0] == "0-2"


def test_scores_display_names_models_and_writes_shares(known):
    track = backtest(known, [month_end("2026-03"), month_end("2026-04")], (1,), config=FAST)
    shown = scores_display(score_table(track), "USD")
    assert_reader_table(shown)
    assert list(shown.columns) == [
        "Model",
        "Forecast of",
        "Month-ends scored",
        "Error (WAPE)",
        "Bias",
        "CRPS",
        "Inside the 50% interval",
        "Inside the 80% interval",
    ]
    assert shown["Model"].iloc[0] == "Workbench" and shown["Forecast of"].iloc[0] == "Revenue won"
    assert shown["Error (WAPE)"].str.endswith("%").all()
    assert shown["Bias"].str.fullmatch(r"[+-]\d+%").all()
    baseline = shown[shown["Model"] == "Run-rate"]
    assert (baseline["Inside the 80% interval"] == "").all()  # a point has no interval


def test_format_scores(known):
    track = backtest(known, [month_end("2026-04")], (1,), config=FAST)
    text = format_scores(score_table(track))
    assert "workbench" in text and "crps" in text.splitlines()[0]
