"""The forecast report's headline and warnings."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.narrative import (
    forecast_warnings,
    headline_items,
    track_warnings,
)
from pipeline_models.analyses.policy import THIN_DEALS


def test_thin_data_warning_follows_the_policy():
    assert forecast_warnings(THIN_DEALS) == []
    (warning,) = forecast_warnings(THIN_DEALS - 1)
    assert warning.startswith(f"Only {THIN_DEALS - 1} deals with a creation date")


def test_track_warning_only_without_a_track_record():
    assert track_warnings(pd.DataFrame({"origin": ["2026-09-30"]})) == []
    (warning,) = track_warnings(pd.DataFrame(columns=["origin"]))
    assert "Too little history" in warning


def test_headline_items():
    table = pd.DataFrame(
        {
            "revenue_median": [1_234_567.0, 3_456_789.0],
            "revenue_80": ["1,000,000 – 1,500,000", "3,000,000 – 4,000,000"],
            "p_reach_target": [0.1, 0.42],
        },
        index=["next 1 month (2026-11)", "quarter 2026Q4 (incl. won so far)"],
    )
    items = dict(headline_items(table, "2026Q4", 3_000_000, "EUR"))
    assert items["revenue next month (median)"] == "1.23M EUR"
    assert items["80% interval"] == "1,000,000 – 1,500,000"
    assert items["revenue 2026Q4 (median)"] == "3.46M EUR"
    assert items["P(reaching 3.00M in 2026Q4)"] == "42%"
