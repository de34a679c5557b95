"""The fewest new leads per draw: exact to one lead, and the curve they make."""

from __future__ import annotations

import numpy as np
import pytest
from lead_cases import planned_case

from pipeline_models.analyses.lead_requirement.search import answer, thresholds, window_totals


@pytest.fixture(scope="module")
def fitted():
    return planned_case()


@pytest.mark.parametrize(
    ("target", "metric"), [(250.0, "count"), (700.0, "count"), (3e6, "revenue")]
)
def test_each_draws_threshold_is_exactly_its_fewest_leads(fitted, target, metric):
    _, _, _, model, planner = fitted
    mix = model.mix_.to_numpy(float)

    def path(t):
        return np.round(np.asarray(t, float)[..., None] * mix).astype(np.int64)

    found = thresholds(planner.draws, path, target, metric, None)
    rows = np.flatnonzero(np.isfinite(found) & (found > 0))
    assert len(rows) > 0.9 * len(found)
    at = window_totals(planner.draws, path(found[rows]), metric, None, rows)
    below = window_totals(planner.draws, path(found[rows] - 1), metric, None, rows)
    assert (at >= target).all() and (below < target).all()
    # the requirement is their quantile, an attained value
    needed = answer(found, 0.8)
    assert needed in set(found)
    assert planner.requirement(target, metric, 0.8).leads_needed == path(needed).sum()


def test_answer_is_none_when_most_draws_cannot_reach():
    assert answer(np.array([1.0, np.inf, np.inf, np.inf]), 0.8) is None
    assert answer(np.array([1.0, 2.0, 3.0, 4.0, np.inf]), 0.5) == 3.0
