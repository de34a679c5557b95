"""Cohorts judged after the same window, and a planted improvement seen in their trend."""

from __future__ import annotations

import numpy as np
import pandas as pd
from patterns_cases import AS_OF, deals

from pipeline_models.analyses.patterns.cohorts import cohort_horizon, cohort_table, cohort_trend


def test_cohort_table_judges_only_old_enough_cohorts():
    rows = []
    for month, won_days in (("2026-01", [10, 20, 200]), ("2026-02", [15]), ("2026-09", [5])):
        for i, d in enumerate(won_days):
            created = pd.Timestamp(f"{month}-10")
            rows.append((f"{month}-{i}", created, created + pd.Timedelta(days=d), "Closed Won",
                         "won", 1.0, "a", "p"))  # fmt: skip
        rows.append((f"{month}-open", pd.Timestamp(f"{month}-11"), None, "Discovery", "open", 1.0,
                     "a", "p"))  # fmt: skip
    table = cohort_table(deals(rows), AS_OF, horizon_days=90)
    assert [str(c) for c in table.index] == ["2026-01", "2026-02"]
    assert table.loc[pd.Period("2026-01"), "won_within"] == 2  # the 200-day win is outside
    assert table.loc[pd.Period("2026-01"), "created"] == 4
    assert table.loc[pd.Period("2026-01"), "median_days_to_win"] == 15
    assert table.attrs["too_young"] == 1


def test_cohort_horizon_rounds_the_won_cycle_up_to_whole_months():
    rows = [(f"w{i}", "2026-01-01", pd.Timestamp("2026-01-01") + pd.Timedelta(days=d),
             "Closed Won", "won", 1.0, "a", "p") for i, d in enumerate(range(10, 111))]  # fmt: skip
    assert cohort_horizon(deals(rows)) == 120  # 0.9 quantile 100 days -> four 30-day months
    assert cohort_horizon(deals(rows[:0])) == 90  # no won deal: the default window


def test_cohort_trend_sees_a_planted_improvement():
    idx = pd.period_range("2025-01", "2025-12", freq="M")
    rate = np.r_[[0.2] * 9, [0.4] * 3]
    cohorts = pd.DataFrame(
        {"created": 500, "won_within": (rate * 500).astype(int), "median_days_to_win": 30.0},
        index=idx,
    )
    trend = cohort_trend(cohorts, recent=3, random_seed=1)
    assert trend["lower"] > 0.1 and trend["p_improved"] > 0.99
