"""The forecaster's self-calibration: the total by the total's check, each source by its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.models.forecaster.calibration import recalibrate
from pipeline_models.models.forecaster.result import ForecastResult

DRAWS = 4000


def _result() -> ForecastResult:
    rng = np.random.default_rng(1)
    result = ForecastResult(origin=pd.Timestamp("2026-06-30"), horizons=(1,))
    parts = {"open": rng.poisson(60, DRAWS), "leads": rng.poisson(10, DRAWS)}
    parts["new"] = rng.poisson(30, DRAWS)
    for part, values in parts.items():
        result.draws[(1, "count", part)] = values.astype(float)
    result.draws[(1, "count", "total")] = sum(parts.values()).astype(float)
    return result


def _check(bias: float, sd: float = 0.0) -> dict:
    return {"origins": 6, "bias": bias, "extra_sd": sd}


def test_parts_follow_their_own_checks_and_add_up_to_the_calibrated_total():
    """Open deals were too high at earlier origins (bias log 0.8), new deals too low (log 1.5),
    the total about right: the total keeps its calibration, the split moves toward new deals."""
    calibration = {
        (1, "count"): _check(0.0, 0.05),
        (1, "count", "open"): _check(np.log(0.8)),
        (1, "count", "new"): _check(np.log(1.5)),
    }
    result, plain = _result(), _result()
    recalibrate(calibration, result, np.random.default_rng(2), 3, DRAWS)
    total_only = {(1, "count"): calibration[(1, "count")]}
    recalibrate(total_only, plain, np.random.default_rng(2), 3, DRAWS)
    np.testing.assert_allclose(
        result.draws[(1, "count", "total")], plain.draws[(1, "count", "total")]
    )
    summed = sum(result.draws[(1, "count", p)] for p in ("open", "leads", "new"))
    np.testing.assert_allclose(summed, result.draws[(1, "count", "total")])
    share = {
        p: float(np.mean(result.draws[(1, "count", p)] / result.draws[(1, "count", "total")]))
        for p in ("open", "leads", "new")
    }
    # raw shares 60 : 10 : 30; corrected 48 : 15 : 45 of 108
    assert share["open"] == pytest.approx(48 / 108, abs=0.01)
    assert share["new"] == pytest.approx(45 / 108, abs=0.01)
    assert share["leads"] == pytest.approx(15 / 108, abs=0.01)
