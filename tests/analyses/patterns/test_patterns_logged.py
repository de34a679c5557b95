"""The patterns report's parts read from a stage history: conversion with measured time in stage,
the time-in-stage table, and every push of an open deal's expected close date."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from patterns_cases import ORDER, deals, reader_faults

from pipeline_models.analyses.patterns import logged
from pipeline_models.analyses.patterns.history import slippage, slippage_summary
from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.contract.schema import HISTORY_COLUMNS, conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.present.content import ReportContent


@pytest.fixture(scope="module")
def pipeline():
    config = replace(sample.SampleConfig(), with_leads=False, n_opportunities=3_000)
    history = sample.simulate_history(config, 3)
    day = pd.Timestamp(sample.month_ends(config, 1)[0])
    frame = conform_opportunities(sample.snapshot(history, day)[0])
    return frame, sample.history_snapshot(history, day), day, history.truth


def _figure(draw):
    return draw


def test_conversion_reads_time_in_stage_from_the_visits_not_from_exits(pipeline):
    frame, log, day, _ = pipeline
    moves, conversion, dwell = logged.logged_conversion(log, frame, ORDER, day)
    by_stage = dwell.set_index(dwell["stage"].astype(str))
    for row in conversion.itertuples():
        assert row.months_in_stage == pytest.approx(
            by_stage.loc[str(row.stage), "days_in_stage"] / DAYS_PER_MONTH
        )
    # every exit counted in the conversion is a visit that ended inside the window
    assert (conversion["passed"] + conversion["lost"]).sum() > 1_000
    assert set(moves["outcome"]) <= {"passed", "lost", "stayed", "back"}


def test_measured_time_in_stage_is_near_the_simulated_dwell(pipeline):
    """The exponential exit-rate reading of two exports a year apart would be months off; the
    visits give the simulated mean dwell of deals that left each stage."""
    frame, log, day, _ = pipeline
    _, conversion, dwell = logged.logged_conversion(log, frame, ORDER, day)
    done = dwell["completed"] > 0
    assert (dwell.loc[done, "median_days"] < 60).all()
    months = conversion["months_in_stage"].to_numpy()
    assert np.all((months > 0.1) & (months < 3)), months


def test_the_time_in_stage_table_says_when_most_visits_are_still_running():
    dwell = pd.DataFrame(
        {
            "stage": ["Qualification", "Discovery"],
            "visits": [10, 4],
            "ongoing": [2, 3],
            "median_days": [12.0, np.nan],
            "days_in_stage": [15.2, 40.0],
            "days_lower": [11.0, 20.0],
            "days_upper": [20.0, 90.0],
        }
    )
    shown = logged.dwell_display(dwell)
    assert reader_faults(shown) == []
    rows = shown.set_index("Stage")
    assert rows.loc["Qualification", "Median days"] == "12"
    assert rows.loc["Discovery", "Median days"] == "more than half still there"
    assert rows.loc["Discovery", "Still there"] == "3"


def _history(rows):
    out = pd.DataFrame(rows, columns=["opportunity_id", "changed_date", "stage", "close_date"])
    out["changed_date"] = pd.to_datetime(out["changed_date"])
    out["close_date"] = pd.to_datetime(out["close_date"])
    out["amount"] = np.nan
    out["probability"] = np.nan
    return out[list(HISTORY_COLUMNS)]


CREATED = "2026-01-10"
FRAME = deals(
    [
        ("thrice", CREATED, "2026-12-31", "Proposal", "open", 900.0, "ann", "A"),
        ("twice", CREATED, "2026-11-30", "Discovery", "open", 5_000.0, "bob", "B"),
        ("once", CREATED, "2026-11-30", "Discovery", "open", 100.0, "bob", "B"),
        ("won", CREATED, "2026-06-30", "Closed Won", "won", 50.0, "ann", "A"),
    ]
)
HISTORY = _history(
    [
        ("thrice", CREATED, "Qualification", "2026-03-31"),
        ("thrice", "2026-03-20", None, "2026-05-31"),
        ("thrice", "2026-05-20", "Proposal", "2026-08-31"),
        ("thrice", "2026-08-20", None, "2026-12-31"),
        ("twice", CREATED, "Discovery", "2026-04-30"),
        ("twice", "2026-04-20", None, "2026-06-30"),
        ("twice", "2026-06-20", None, "2026-11-30"),
        ("once", CREATED, "Discovery", "2026-10-31"),
        ("once", "2026-10-20", None, "2026-11-30"),
        ("won", CREATED, "Qualification", "2026-03-31"),
        ("won", "2026-03-20", None, "2026-05-31"),
        ("won", "2026-04-20", None, "2026-06-30"),
    ]
)


def test_deals_pushed_twice_or_more_are_listed_most_pushes_first():
    slips = slippage(HISTORY, FRAME, "2026-10-31")
    table = logged.pushed_deals(slips, "USD")
    # the won deal was pushed twice too, but only open deals are listed
    assert table["Deal"].tolist() == ["thrice", "twice"]
    assert table["Pushes"].tolist() == ["3", "2"]
    assert table["Days pushed"].tolist() == ["275", "214"]
    assert str(table.loc[0, "First expected close"]) == "2026-03-31"
    assert table.loc[1, "Amount"].endswith("USD")
    assert list(table.columns[:5]) == ["Owner", "Deal", "Product", "Stage", "Amount"]


def test_the_slippage_note_gives_the_shares_of_the_summary():
    content = ReportContent(title="Patterns")
    logged.add_slippage_parts(content, HISTORY, FRAME, pd.Timestamp("2026-10-31"), "USD", 30)
    summary = slippage_summary(slippage(HISTORY, FRAME, "2026-10-31")).iloc[0]
    note = content.notes["slippage"]
    assert note.values["n"] == "3"
    assert note.values["once"] == "100%" and summary["share_pushed_1"] == 1.0
    assert note.values["twice"] == "67%"
    assert len(content.tables["pushed"].frame) == 2


def test_a_history_without_moves_through_the_open_stages_says_so():
    content = ReportContent(title="Patterns")
    empty = HISTORY.iloc[0:0]
    parts = logged.logged_conversion(empty, FRAME, ORDER, pd.Timestamp("2026-10-31"))
    logged.add_stage_parts(content, parts, FRAME, ORDER, pd.Timestamp("2026-10-31"), 30, _figure)
    assert "conversion cannot be shown" in content.notes["stages"].template
    assert "conversion" not in content.tables
    content = ReportContent(title="Patterns")
    logged.add_slippage_parts(content, empty, FRAME, pd.Timestamp("2026-10-31"), "USD", 30)
    assert "no slippage can be counted" in content.notes["slippage"].template


def test_mean_days_in_stage_read_as_whole_days_with_their_interval():
    dwell = pd.DataFrame(
        {
            "stage": ["Qualification"],
            "visits": [10],
            "ongoing": [2],
            "median_days": [12.0],
            "days_in_stage": [27.4],
            "days_lower": [25.2],
            "days_upper": [30.6],
        }
    )
    shown = logged.dwell_display(dwell)
    assert shown.iloc[0, -1] == "27 (25–31)"
