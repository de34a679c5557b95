"""The forecast report as leaders read it, on the small sample: reader tables, one interval
policy stated in the captions, a headline without n/a, words for every chart, the models' own
words in the appendix alone, and the CSV files beside the report left as machines read them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import re  # noqa: E402

import pytest  # noqa: E402
from report_reading import assert_reads_as_report  # noqa: E402

from pipeline_models.analyses.forecast import narrative, report, window  # noqa: E402

PERIOD = "2026-10"
pytestmark = pytest.mark.slow  # the sample prepared and its fits made: about a minute


@pytest.fixture(scope="module")
def catalog(small_sample_catalog):
    return small_sample_catalog


@pytest.fixture(scope="module")
def content(catalog):
    return report.build(catalog, backtest_months=2)


def test_the_report_reads_as_a_report(content):
    assert_reads_as_report(content)


def test_the_headline_writes_money_and_its_interval_once(content):
    values = dict(content.headline)
    assert re.fullmatch(r"\d+(\.\d+)?[kM] USD", values["revenue next month (median)"])
    interval = values["revenue next month, 80% interval"]
    assert re.fullmatch(r"\d+(\.\d+)?[kM]–\d+(\.\d+)?[kM] USD", interval)
    (chance,) = [k for k in values if k.startswith("chance to reach ")]
    assert values[chance].endswith("%")


def test_the_reader_tables_name_their_columns_and_show_one_interval(content):
    revenue = content.table("revenue").frame
    assert list(revenue.columns)[:3] == ["Window", "Revenue won (median)", "80% interval"]
    assert not [c for c in revenue.columns if "50%" in c]  # the middle half stays in the CSV
    assert content.table("revenue").caption.startswith(
        "Revenue won by window: median with its 80% interval."
    )
    by_product = content.table("by_product").frame
    assert list(by_product.columns) == ["Product", "Revenue won (median)", "80% interval"]
    assert content.table("top_deals").frame.columns[0] == "Deal"


def test_the_csv_files_keep_machine_values(content):
    table = content.files["forecast_table"]
    assert table["revenue_median"].dtype == float
    assert {"revenue_50", "revenue_80", "count_50", "count_80"} <= set(table.columns)
    assert content.files["backtest"]["point"].dtype == float


def test_every_chart_says_what_it_shows(content):
    assert set(content.charts) >= {"outlook", "track"}
    outlook = content.chart("outlook").alt
    assert "Revenue won next month: median " in outlook and "80% interval" in outlook
    assert "month-ends" in content.chart("track").alt


def test_the_appendix_holds_the_models_words(content):
    assert content.appendix[0].startswith("forecast model: ")
    assert any(a.startswith("deal score model: ") for a in content.appendix)


def test_without_a_target_the_chance_is_left_out_and_a_sentence_says_why(catalog, monkeypatch):
    monkeypatch.setattr(window, "default_target", lambda frame, period: 0.0)
    content = report.build(catalog, backtest_months=0)
    assert not [k for k, _ in content.headline if "chance" in k]
    assert content.note("target").template == narrative.NO_TARGET
    assert not [c for c in content.table("revenue").frame.columns if c.startswith("Chance")]
    assert_reads_as_report(content)
