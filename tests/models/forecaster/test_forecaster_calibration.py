"""The forecaster's self-calibration: the total by the total's check, each source by its own; the
deals the open leads bring by the check of the deal stage alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import sample_export

from pipeline_models.contract.period import month_end
from pipeline_models.models.forecaster import ForecastConfig, PipelineCounts, PipelineForecaster
from pipeline_models.models.forecaster.calibration import recalibrate
from pipeline_models.models.forecaster.result import ForecastResult

DRAWS = 4000


def _result(leads: int = 0) -> ForecastResult:
    rng = np.random.default_rng(1)
    result = ForecastResult(origin=pd.Timestamp("2026-06-30"), horizons=(1,))
    parts = {"open": rng.poisson(60, DRAWS), "leads": rng.poisson(leads, DRAWS)}
    parts["new"] = rng.poisson(30, DRAWS)
    for part, values in parts.items():
        result.draws[(1, "count", part)] = values.astype(float)
    result.draws[(1, "count", "total")] = sum(parts.values()).astype(float)
    return result


def _check(bias: float, sd: float = 0.0) -> dict:
    return {"origins": 6, "bias": bias, "extra_sd": sd}


CALIBRATION = {
    (1, "count"): _check(0.0, 0.05),
    (1, "count", "open"): _check(np.log(0.8)),
    (1, "count", "new"): _check(np.log(1.5)),
}
"""Open deals were too high at earlier origins (bias log 0.8), new deals too low (log 1.5), the
total about right."""


def _shares(result: ForecastResult) -> dict[str, float]:
    total = result.draws[(1, "count", "total")]
    return {
        p: float(np.mean(result.draws[(1, "count", p)] / total)) for p in ("open", "leads", "new")
    }


def test_parts_follow_their_own_checks_and_add_up_to_the_calibrated_total():
    """Without leads the total keeps its calibration, the split moves toward new deals."""
    result, plain = _result(), _result()
    recalibrate(CALIBRATION, result, np.random.default_rng(2), 3, DRAWS)
    total_only = {(1, "count"): CALIBRATION[(1, "count")]}
    recalibrate(total_only, plain, np.random.default_rng(2), 3, DRAWS)
    np.testing.assert_allclose(
        result.draws[(1, "count", "total")], plain.draws[(1, "count", "total")]
    )
    summed = sum(result.draws[(1, "count", p)] for p in ("open", "leads", "new"))
    np.testing.assert_allclose(summed, result.draws[(1, "count", "total")])
    share = _shares(result)
    # raw shares 60 : 30; corrected 48 : 45 of 93
    assert share["open"] == pytest.approx(48 / 93, abs=0.01)
    assert share["new"] == pytest.approx(45 / 93, abs=0.01)
    assert share["leads"] == 0


def test_with_leads_the_deals_the_leads_bring_take_the_deal_stage_check_alone():
    """The checks are made without the leads: the deals the open leads bring take only the
    check of how created deals were won (``closing``), the other parts their own checks, and
    the total is what they add up to."""
    calibration = {**CALIBRATION, (1, "count", "closing"): _check(np.log(1.2))}
    result, raw = _result(leads=10), _result(leads=10)
    recalibrate(calibration, result, np.random.default_rng(2), 3, DRAWS, with_leads=True)
    for part, ratio in (("open", 0.8), ("leads", 1.2), ("new", 1.5)):
        np.testing.assert_allclose(
            result.draws[(1, "count", part)], raw.draws[(1, "count", part)] * ratio
        )
    summed = sum(result.draws[(1, "count", p)] for p in ("open", "leads", "new"))
    np.testing.assert_allclose(summed, result.draws[(1, "count", "total")])
    assert np.mean(result.draws[(1, "count", "total")]) == pytest.approx(48 + 12 + 45, rel=0.01)


def test_the_deal_stage_is_checked_at_origins_before_a_product_existed():
    """A product first sold in 2026-06: the checks at earlier month-ends, whose pipelines lack
    it, still check how the deals created afterwards were won (its own deals left out, as the
    forecaster there could not place them), as often as they check new deals."""
    frame = sample_export()
    late = (frame["product"] == "Enterprise") & (frame["created_date"] < "2026-06-01")
    counts = PipelineCounts.from_frame(frame[~late])
    forecaster = PipelineForecaster(ForecastConfig(draws=400)).fit_as_of(
        counts, month_end("2026-09")
    )
    checks = forecaster.calibration_
    assert checks[(1, "count", "new")]["origins"] == 6
    assert checks[(1, "count", "closing")]["origins"] == checks[(1, "count", "new")]["origins"]
