"""The requirement's track record on exports that would give the answer away."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lead_cases import planned_case

from pipeline_models.analyses.forecast.honesty import NO_LOST
from pipeline_models.analyses.lead_requirement.track import TRACK_COLUMNS, backtest_requirement
from pipeline_models.models.funnel import FunnelConfig

ORIGIN = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def fitted():
    return planned_case()


def test_current_stage_and_probability_are_never_read(fitted):
    _, frame, leads, _, _ = fitted
    config = FunnelConfig(draws=300)
    first = backtest_requirement(frame, leads, [ORIGIN], 2, random_seed=1, config=config)
    encoded = frame.copy()
    encoded["stage"] = encoded["status"].map(
        {"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}
    )
    encoded["probability"] = np.where(encoded["status"].eq("won"), 1.0, 0.0)
    second = backtest_requirement(encoded, leads, [ORIGIN], 2, random_seed=1, config=config)
    pd.testing.assert_frame_equal(first, second)


def test_an_export_without_lost_deals_is_not_scored(fitted):
    _, frame, leads, _, _ = fitted
    assert frame["status"].eq("lost").any()
    deleted = frame[~frame["status"].eq("lost")].reset_index(drop=True)
    rows = backtest_requirement(deleted, leads, [ORIGIN], 2, random_seed=1)
    assert rows.empty and list(rows.columns) == list(TRACK_COLUMNS)
    assert rows.attrs["not_scored"] == {"lead funnel": NO_LOST}
    kept = backtest_requirement(
        frame, leads, [ORIGIN], 2, random_seed=1, config=FunnelConfig(draws=200)
    )
    assert list(kept.columns) == list(TRACK_COLUMNS) and len(kept) == 4


def test_the_report_says_why_there_is_no_track_record():
    from pipeline_models.analyses.lead_requirement import report
    from pipeline_models.present.content import ReportContent

    content = ReportContent(title="Lead requirement")
    assert report._track_parts(content, None, None, 3, lost_known=False) is None
    assert content.box("track").messages == (f"No track record: {NO_LOST}.",)
