"""The forecast report's headline and warnings."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.forecast.narrative import (
    NO_TARGET,
    count_headline,
    forecast_caption,
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


def _table(chance: float | None = 0.42) -> pd.DataFrame:
    windows = ["next 1 month (2026-11)", "quarter 2026Q4 (incl. won so far)"]
    table = pd.DataFrame(
        {
            "count_median": [171.0, 490.0],
            "revenue_median": [1_234_567.0, 3_456_789.0],
            "revenue_80": ["1,000,000 – 1,500,000", "3,000,000 – 4,000,000"],
            "p_reach_target": [0.1, chance],
        },
        index=windows,
    )
    table.attrs["bounds"] = {
        "revenue": {windows[0]: (1_000_000.0, 1_500_000.0)},
        "count": {windows[0]: (147.0, 198.0)},
    }
    return table


def test_headline_items_write_money_and_the_interval_once():
    items = dict(headline_items(_table(), "2026Q4", 3_000_000, "EUR"))
    assert items == {
        "revenue next month (median)": "1.23M EUR",
        "revenue next month, 80% interval": "1.00M–1.50M EUR",
        "revenue 2026Q4 (median)": "3.46M EUR",
        "chance to reach 3.00M EUR in 2026Q4": "42%",
    }


def test_a_headline_without_a_target_leaves_the_chance_out_and_says_why():
    assert "chance" not in " ".join(k for k, _ in headline_items(_table(None), "2026Q4", 0.0))
    assert "chance" not in " ".join(k for k, _ in headline_items(_table(), "2026Q4", 0.0))
    assert "{quarter}" in NO_TARGET and "n/a" not in NO_TARGET


def test_the_count_headline_speaks_of_deals():
    assert count_headline(_table(), "2026Q4") == [
        ("deals won next month (median)", "171"),
        ("deals won next month, 80% interval", "147–198"),
        ("deals won 2026Q4 (median)", "490"),
    ]


def test_captions_say_which_interval_the_figures_carry():
    caption = forecast_caption("revenue", "estimate")
    assert caption.startswith("Revenue won by window: median with its 80% interval.")
    assert "the export carries no CRM probability" in caption
