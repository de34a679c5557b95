"""The pipeline as it stood at a past origin, and the outcomes after it, from a later export."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.data.asof import UNKNOWN_STAGE, outcomes_after, parse_origins, pipeline_as_of


def deals(rows: list[tuple]) -> pd.DataFrame:
    """Canonical frame from (id, created, close, status, amount, product) rows."""
    frame = pd.DataFrame(
        rows,
        columns=["opportunity_id", "created_date", "close_date", "status", "amount", "product"],
    )
    frame["stage"] = frame["status"].map({"won": "Won", "lost": "Lost", "open": "Proposal"})
    return conform_opportunities(frame)


@pytest.fixture(scope="module")
def final_export():
    config = replace(sample.SampleConfig(), n_opportunities=3_000, with_leads=False)
    history = sample.simulate_history(config, random_seed=7)
    return conform_opportunities(sample.snapshot(history, history.config.end)[0])


def test_pipeline_as_of_keeps_no_later_information():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-20", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-04-02", "won", 200.0, "P"),  # won after the origin
            ("C", "2025-03-20", "2025-03-25", "lost", 50.0, "P"),  # created after the origin
            ("D", "2025-02-01", "2025-06-30", "open", 80.0, "P"),
        ]
    )
    known = pipeline_as_of(frame, "2025-02-28").set_index("opportunity_id")
    assert list(known.index) == ["A", "B", "D"]
    assert known.loc["A", "status"] == "won" and known.loc["A", "amount"] == 100.0
    assert known.loc["B", "status"] == "open"
    for deal in ("B", "D"):
        assert known.loc[deal, "stage"] == UNKNOWN_STAGE
        assert pd.isna(known.loc[deal, "amount"]) and pd.isna(known.loc[deal, "close_date"])
    assert frame.loc[1, "status"] == "won"  # the input is untouched


def test_pipeline_as_of_with_fewer_columns_keeps_the_same_values(final_export):
    origin = month_end("2026-06")
    full = pipeline_as_of(final_export, origin)
    few = pipeline_as_of(final_export, origin, columns=["product", "region"])
    assert list(few.columns) == [
        "created_date",
        "close_date",
        "status",
        "amount",
        "product",
        "region",
    ]
    pd.testing.assert_frame_equal(few, full[few.columns])


def test_outcomes_after_counts_the_window_only():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-28", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-03-01", "won", 200.0, "P"),
            ("C", "2025-01-15", "2025-04-30", "won", 300.0, "P"),
            ("D", "2025-01-15", "2025-05-01", "won", 400.0, "P"),
            ("E", "2025-01-15", "2025-03-10", "lost", 500.0, "P"),
        ]
    )
    assert outcomes_after(frame, "2025-02-28", 1) == {"count": 1.0, "revenue": 200.0}
    assert outcomes_after(frame, "2025-02-28", 2) == {"count": 2.0, "revenue": 500.0}


def test_parse_origins():
    assert parse_origins("2017-05..2017-07") == [
        month_end(m) for m in ("2017-05", "2017-06", "2017-07")
    ]
    assert parse_origins("2017-05,2017-09")[1] == pd.Timestamp("2017-09-30")
    with pytest.raises(ValueError):
        parse_origins("2017-09..2017-05")
