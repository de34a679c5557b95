"""The forecast report on valid but odd exports (tests/odd_exports.py): whatever the export cannot
say (no revenue, no target, no open deal, no track record) reads as a sentence, never as n/a."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from odd_exports import PERIOD  # noqa: E402
from report_reading import assert_reads_as_report, odd_export  # noqa: E402

from pipeline_models.analyses.forecast import narrative, report  # noqa: E402
from pipeline_models.run.catalog import Catalog  # noqa: E402
from pipeline_models.run.inputs import Sources, prepare  # noqa: E402


def forecast_of(kind: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = odd_export(kind).write(Path(tmp) / "export.csv")
        sources = Sources(export=path, period=PERIOD, random_seed=3, cache_dir=Path(tmp) / "f")
        catalog = Catalog.open(prepare(sources, Path(tmp) / "run").catalog.folder)
        content = report.build(catalog, backtest_months=2)
        for chart in content.charts.values():  # every chart draws on this export
            plt.close(chart.draw())
        return content


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind", ["mixed", "only_open", "no_lost", "no_closed_won", "no_amounts", "one_deal", "very_old"]
)
def test_an_odd_export_reads_as_a_report(kind):
    content = forecast_of(kind)
    assert_reads_as_report(content)


def test_without_revenue_the_report_speaks_of_deals_and_says_why():
    content = forecast_of("no_amounts")
    assert [k for k, _ in content.headline][0] == "deals won next month (median)"
    assert not [k for k, _ in content.headline if "revenue" in k or "chance" in k]
    assert any(w.startswith("Revenue is not forecast: ") for w in content.warnings)
    assert content.table("revenue").frame.empty
    assert content.table("revenue").empty.startswith("Revenue won cannot be forecast: ")
    assert content.note("in_hand").template == narrative.IN_HAND_COUNT_SENTENCE
    assert content.note("target").template == narrative.NO_TARGET


def test_without_open_deals_the_deal_tables_are_sentences():
    content = forecast_of("same_cycle")  # every deal closed: none is open
    assert content.table("top_deals").frame.empty and content.table("top_deals").empty
    assert content.table("age_bands").frame.empty and content.table("age_bands").empty
