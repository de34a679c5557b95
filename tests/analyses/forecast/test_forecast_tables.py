"""The leader's forecast table and its reader formatting."""

from __future__ import annotations

import pytest
from forecaster_cases import FAST, sample_export

from pipeline_models.analyses.forecast.tables import (
    forecast_display,
    forecast_table,
    format_scores,
    group_display,
)
from pipeline_models.analyses.forecast.track import backtest, score_table
from pipeline_models.contract.period import month_end
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.forecaster import PipelineForecaster

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


def test_forecast_display_formats_for_readers(result, known):
    table = forecast_table(result, known, "2026-06", target_revenue=1e6)
    revenue = forecast_display(table, "revenue")
    assert all(c.startswith("revenue") or c == "p_reach_target" for c in revenue)
    assert revenue["p_reach_target"].str.endswith("%").all()
    assert revenue["revenue_median"].iloc[0] == f"{table['revenue_median'].iloc[0]:,.0f}"
    count = forecast_display(table, "count")
    assert all(c.startswith("count") for c in count)
    assert table["revenue_median"].dtype == float  # the table itself is left as it was


def test_group_display_shows_the_planners_interval(result):
    shown = group_display(result, "product", horizon=3)
    assert list(shown.columns) == ["product", "low (10%)", "median", "high (90%)"]
    assert (shown["low (10%)"] <= shown["median"]).all()
    assert (shown["median"] <= shown["high (90%)"]).all()


def test_format_scores(known):
    track = backtest(known, [month_end("2026-04")], (1,), config=FAST)
    text = format_scores(score_table(track))
    assert "workbench" in text and "crps" in text.splitlines()[0]
