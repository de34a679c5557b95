"""The export's own figures per level (:mod:`pipeline_models.analyses.product_potential.raw`),
counted by hand on eight deals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from potential_cases import hand_frame

from pipeline_models.analyses.product_potential.raw import raw_figures, volume_windows


def test_raw_figures_count_by_hand():
    frame = hand_frame()
    before = frame.copy()
    raw = raw_figures(frame, "2026-09-30", volume_months=3)
    pd.testing.assert_frame_equal(frame, before)  # pure
    x = raw.loc["X"]
    assert (x["opportunities"], x["closed"], x["won"]) == (4, 3, 2)
    assert x["win_rate"] == pytest.approx(2 / 3)
    assert x["mean_won_amount"] == pytest.approx(200.0)
    assert x["median_days_won"] == pytest.approx((31 + 41) / 2)
    assert x["created_recent"] == 1  # Jul-Sep: deal 4
    assert x["per_month_earlier"] == pytest.approx(1 / 3)  # Apr-Jun: deal 3
    assert x["open_amount"] == 50 and x["open_without_amount"] == 0
    y = raw.loc["Y"]
    assert y["won_with_amount"] == 0 and np.isnan(y["mean_won_amount"])  # a 0 amount is excluded
    assert y["open_without_amount"] == 1 and y["open_without_created"] == 1
    assert raw.loc["(none)", "closed"] == 1  # a deal without product is a level of its own
    by_region = raw_figures(frame, "2026-09-30", ("product", "region"), 3)
    assert "X · S" in by_region.index and "Y · (none)" in by_region.index


def test_trend_is_unknown_when_the_export_is_too_short():
    raw = raw_figures(hand_frame(), "2026-09-30", volume_months=6)
    assert raw["per_month_earlier"].isna().all()  # Oct 2025 - Mar 2026 starts before the export


def test_volume_windows_are_whole_months_ending_with_the_export_month():
    recent, earlier = volume_windows(pd.Timestamp("2026-09-30"), 3)
    assert (recent, earlier) == (pd.Timestamp("2026-07-01"), pd.Timestamp("2026-04-01"))
    with pytest.raises(ValueError, match=">= 1"):
        volume_windows(pd.Timestamp("2026-09-30"), 0)
