"""The cure-aware weighted pipeline baseline: open deals at the win share of deals of their age."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.models.forecaster import PipelineCounts


def test_each_open_deal_counts_at_the_share_of_its_age_won_in_the_window():
    """By hand, origin end of March, one-month windows: at the end of January D1 and D2 are open at
    age 0, at the end of February D3 and D5 (age 0) and D2 (age 1). Of the four age-0 deals D1
    and D3 were won the month after: 1/2; D2 was not: 0 at age 1. Open at the origin: D4 at age 0
    (1/2) and D5 at age 1 (0). D5's later win (and amount) is not known at the origin."""
    frame = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2", "D3", "D4", "D5"],
            "created_date": pd.to_datetime(
                ["2026-01-05", "2026-01-20", "2026-02-10", "2026-03-03", "2026-02-25"]
            ),
            "close_date": pd.to_datetime(
                ["2026-02-14", "2026-03-09", "2026-03-20", None, "2026-04-10"]
            ),
            "status": ["won", "lost", "won", "open", "won"],
            "amount": [100.0, 50.0, 300.0, 80.0, 1000.0],
            "product": ["A"] * 5,
            "region": ["North"] * 5,
        }
    )
    counts = PipelineCounts.from_frame(frame, "product")
    got = counts.cure_weighted_pipeline(pd.Timestamp("2026-03-31"), 1)
    assert got["count"] == pytest.approx(0.5)
    assert got["revenue"] == pytest.approx(0.5 * 200.0)  # mean of the wins known then
