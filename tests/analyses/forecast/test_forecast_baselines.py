"""The CRM's weighted pipeline, by hand."""

from __future__ import annotations

import pytest
from forecaster_cases import deals

from pipeline_models.analyses.forecast.baselines import weighted_pipeline, weighted_pipelines


def test_weighted_pipeline_by_hand():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-01-20", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-02-10", "lost", 300.0, "P"),
            ("C", "2025-02-01", "2025-03-15", "won", 300.0, "P"),
            ("D", "2025-02-01", "2025-04-20", "open", 1000.0, "P"),
            ("E", "2025-02-01", "2025-06-20", "open", 500.0, "P"),
            ("F", "2025-02-01", None, "open", None, "P"),
        ]
    )
    wp = weighted_pipeline(frame, "2025-03-31", 1)  # win rate 2/3; D in window, E not, F always
    assert wp["count"] == pytest.approx(2 / 3 * 2)
    assert wp["revenue"] == pytest.approx(2 / 3 * (1000 + 200))  # F takes the mean won amount
    several = weighted_pipelines(frame, "2025-03-31", (1, 3))
    assert several[1] == wp
    assert several[3]["count"] == pytest.approx(2 / 3 * 3)  # E's close date is in the window
