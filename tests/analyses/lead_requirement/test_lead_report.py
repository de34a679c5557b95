"""The lead requirement report as leaders read it: on the small sample and on odd exports, reader
tables with one interval policy stated in their captions, a headline without n/a, words for every
chart, the models' own words in the appendix alone, and the funnel's CSV in machine names."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from report_reading import SAMPLER_WORDS, assert_reads_as_report, odd_export  # noqa: E402

from pipeline_models.analyses.lead_requirement import report  # noqa: E402
from pipeline_models.run.catalog import Catalog  # noqa: E402
from pipeline_models.run.inputs import Sources, prepare  # noqa: E402

pytestmark = pytest.mark.slow  # the period's models are fitted: tens of seconds per export
PERIOD = "2026-10"


@pytest.fixture(scope="module")
def content(small_sample_catalog):
    return report.build(small_sample_catalog, backtest_months=2)


def test_the_report_reads_as_a_report(content):
    assert_reads_as_report(content)
    for chart in content.charts.values():
        plt.close(chart.draw())


def test_the_headline_gives_the_answer_and_what_is_in_hand_with_its_interval(content):
    labels = [label for label, _ in content.headline]
    assert labels[:4] == [
        "target, 2026-11..2027-01",
        "new leads for an 80% chance",
        "new leads, median case",
        "expected from what is in hand",
    ]
    values = dict(content.headline)
    assert values["expected from what is in hand"].endswith(" deals")
    assert values["what is in hand, 80% interval"].endswith(" deals")


def test_every_chart_says_what_it_shows(content):
    assert set(content.charts) >= {"curve", "wins", "rates", "lags"}
    assert "new leads give an 80% chance" in content.chart("curve").alt
    assert "80% interval" in content.chart("wins").alt
    assert "90% interval" in content.chart("rates").alt


def test_the_models_words_are_in_the_appendix_alone(content):
    notes = " ".join(content.appendix)
    assert "win rate model: " in notes and "lead funnel model: " in notes
    assert not [w for w in content.warnings if SAMPLER_WORDS.search(w)]


def test_the_funnel_csv_keeps_its_columns(content):
    funnel = content.files["funnel"]
    assert list(funnel.columns)[:2] == ["source", "share of new leads"]
    assert funnel["leads"].dtype.kind == "i"


@pytest.mark.parametrize("kind", ["mixed", "only_open", "no_lost", "no_amounts", "one_deal"])
def test_an_odd_export_reads_as_a_report(kind):
    with tempfile.TemporaryDirectory() as tmp:
        path = odd_export(kind).write(Path(tmp) / "export.csv")
        sources = Sources(export=path, period=PERIOD, random_seed=3, cache_dir=Path(tmp) / "f")
        catalog = Catalog.open(prepare(sources, Path(tmp) / "run").catalog.folder)
        content = report.build(catalog, backtest_months=2)
        for chart in content.charts.values():
            plt.close(chart.draw())
    assert_reads_as_report(content)
