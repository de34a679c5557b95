"""The report's windows: the coming quarter, the trailing run-rate and the default target."""

from __future__ import annotations

import pandas as pd
import pytest
from forecaster_cases import deals, sample_export

from pipeline_models.analyses.forecast.window import default_target, quarter_window, run_rate
from pipeline_models.contract.period import month_end


def test_quarter_window():
    assert quarter_window("2026-10") == ("2026Q4", 2, pd.Timestamp("2026-10-01"))
    assert quarter_window("2026-09")[:2] == ("2026Q4", 3)
    assert quarter_window("2026-12")[:2] == ("2027Q1", 3)


def test_run_rate_by_hand():
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
    rr = run_rate(frame, "2025-03-31", 2)
    assert rr == {"count": pytest.approx(2 / 3 * 2), "revenue": pytest.approx(400 / 3 * 2)}


def test_default_target_is_the_run_rate_of_the_months_to_come_plus_the_quarter_so_far():
    frame = deals(
        [
            ("A", "2026-08-01", "2026-10-15", "won", 100.0, "P"),  # in the quarter
            ("B", "2026-08-01", "2026-11-20", "won", 200.0, "P"),  # in the quarter
            ("C", "2026-08-01", "2026-09-10", "won", 300.0, "P"),  # before it, in the run-rate
            ("D", "2026-08-01", "2026-12-02", "won", 1000.0, "P"),  # after the period
            ("E", "2026-08-01", "2026-11-01", "lost", 50.0, "P"),
            ("F", "2026-08-01", "2026-10-20", "won", None, "P"),  # no amount: counts as 0
        ]
    )
    # period 2026-11: one month (December) of 2026Q4 to come; run-rate (100 + 200 + 300) / 3
    assert default_target(frame, "2026-11") == pytest.approx(600 / 3 + 300)
    # period 2026-09: all of 2026Q4 to come, nothing won in it yet
    assert default_target(frame, "2026-09") == pytest.approx(300 / 3 * 3)


@pytest.mark.parametrize("period", ["2026-10", "2026-09", "2026-06"])
def test_default_target_is_the_forecast_report_rule(period):
    """The rule the forecast report has applied when its ``target_revenue`` is 0."""
    frame = sample_export()
    origin = month_end(period)
    quarter, remaining, _ = quarter_window(period)
    expected = run_rate(frame, origin, remaining)["revenue"] + float(
        frame[
            (frame["status"] == "won")
            & (frame["close_date"] >= pd.Period(quarter).start_time)
            & (frame["close_date"] <= origin)
        ]["amount"].sum()
    )
    assert default_target(frame, period) == expected
    assert expected > 0
