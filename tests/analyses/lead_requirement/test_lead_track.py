"""The requirement's track record: nothing after an origin is used; coverage by window."""

from __future__ import annotations

import pandas as pd
import pytest
from lead_cases import planned_case

from pipeline_models.analyses.lead_requirement import track
from pipeline_models.analyses.lead_requirement.track import backtest_requirement, coverage_table
from pipeline_models.contract import period
from pipeline_models.models.funnel import FunnelConfig


@pytest.fixture(scope="module")
def fitted():
    return planned_case()


def test_backtest_uses_nothing_after_its_origin(fitted):
    _, frame, leads, _, _ = fitted
    origin = pd.Timestamp("2025-12-31")
    config = FunnelConfig(draws=300)
    first = backtest_requirement(frame, leads, [origin], 3, random_seed=1, config=config)
    # rewrite everything that happened after the origin, but keep the new leads' counts
    later = frame["close_date"] > origin
    changed = frame.copy()
    changed.loc[later & (changed["status"] == "won"), "status"] = "lost"
    changed.loc[later, "amount"] = changed.loc[later, "amount"] * 3
    second = backtest_requirement(changed, leads, [origin], 3, random_seed=1, config=config)
    cols = ["point", "q10", "q50", "q90"]
    pd.testing.assert_frame_equal(first[cols], second[cols])
    assert (second["actual"] <= first["actual"]).all() and (
        second["actual"] < first["actual"]
    ).any()
    assert set(first["horizon_months"]) == {1, 2, 3}
    cov = coverage_table(first)
    assert set(cov["target"]) == {"count", "revenue"}
    assert (cov["origins"] == 1).all() and cov["inside_80"].between(0, 1).all()


def test_backtest_without_leads_counts_new_opportunities(fitted):
    _, frame, _, _, _ = fitted
    rows = backtest_requirement(
        frame, None, [pd.Timestamp("2025-12-31")], 2, random_seed=1, config=FunnelConfig(draws=200)
    )
    assert len(rows) == 4 and (rows["new_leads"] > 0).all()
    assert (rows["q10"] <= rows["q90"]).all()


def test_origins_are_the_periods_origins(fitted):
    _, frame, _, _, _ = fitted
    assert track.backtest_origins is period.backtest_origins
    origins = track.backtest_origins(frame, "2026-03", 3, 4)
    assert origins == [period.month_end(m) for m in ("2025-09", "2025-10", "2025-11", "2025-12")]
