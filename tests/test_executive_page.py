"""The executive page of a monthly run: the forecast, why it moved since last month's run (to
the cent against the two runs' own forecasts), risks and levers, each linking to its report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline_models.analyses.executive.attribution import read_ledger
from pipeline_models.analyses.forecast.ledger import window_total


def _summary(folder, report: str) -> dict:
    return json.loads((folder / "files" / report / "summary.json").read_text())


@pytest.mark.slow
def test_why_the_forecast_moved_balances_to_the_cent_against_both_runs(sample_run):
    published = sample_run.published
    before_set = published.parent / "2026-09"
    attribution = sample_run.manifest["executive"]["attribution"]
    window = [pd.Period(m, "M") for m in attribution["window"]]
    assert [str(m) for m in window] == ["2026-10", "2026-11", "2026-12"]  # 2026Q4 in both runs
    # this run's forecast of the quarter, as its forecast report states it
    now = _summary(published, "forecast")["figures"]["outlook"]
    assert now["quarter"] == "2026Q4"
    assert attribution["after"] == round(100 * now["revenue"]["quarter"]["expected"])
    # last month's forecast of the same quarter, as its published set states it
    then = _summary(before_set, "forecast")["figures"]["outlook"]
    assert then["quarter"] == "2026Q4"
    assert attribution["before"] == round(100 * then["revenue"]["quarter"]["expected"])
    ledger = read_ledger(before_set / "files" / "forecast" / "ledger.csv")
    assert attribution["before"] == window_total(ledger, "revenue", window)
    # the parts add up to the change, to the cent
    parts = attribution["parts"]
    assert sum(parts.values()) == attribution["after"] - attribution["before"]
    assert attribution["deals"]["won"] > 0 and parts["lost"] <= 0


@pytest.mark.slow
def test_the_executive_page_says_each_thing_once_and_links_to_its_report(sample_run):
    index = (sample_run.published / "index.html").read_text()
    for heading in ("Forecast", "Why it moved since last month", "Top risks", "Largest levers"):
        assert f"<h2>{heading}</h2>" in index
    assert "On average, last month&#39;s run (2026-09) expected" in index
    assert "Deals won since last month&#39;s run" in index
    assert 'href="forecast.html">details</a>' in index
    assert 'href="product_potential.html">details</a>' in index
    # the samplers' words are for the appendix only
    reader_part = index.split('<section class="appendix">')[0]
    for word in ("R-hat", "ESS", "divergen"):
        assert word not in reader_part


@pytest.mark.slow
def test_a_first_run_says_there_is_nothing_to_compare_with_yet(sample_run):
    index = (sample_run.published.parent / "2026-09" / "index.html").read_text()
    assert "No published run of 2026-08 is in this reports folder" in index
