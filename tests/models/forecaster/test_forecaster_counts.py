"""An export counted once gives, at any earlier month-end, what the rebuilt pipeline gives."""

from __future__ import annotations

import numpy as np
import pytest
from forecaster_cases import sample_export

from pipeline_models.analyses.forecast.baselines import weighted_pipeline
from pipeline_models.analyses.forecast.window import run_rate
from pipeline_models.contract.period import month_end
from pipeline_models.data.asof import outcomes_after, pipeline_as_of
from pipeline_models.models.forecaster import ForecastConfig, PipelineCounts, PipelineForecaster


@pytest.fixture(scope="module")
def final_export():
    return sample_export()


def test_counts_give_the_forecast_of_the_rebuilt_pipeline(final_export):
    """Counting the export once gives, at an earlier month-end, the same fit, self-calibration,
    draws, baselines and outcomes as the pipeline rebuilt by pipeline_as_of."""
    counts = PipelineCounts.from_frame(final_export)
    config = ForecastConfig(draws=400)
    for period in ("2026-09", "2026-05"):
        origin = month_end(period)
        known = pipeline_as_of(final_export, origin)
        rebuilt = PipelineForecaster(config).fit(known, origin)
        counted = PipelineForecaster(config).fit_as_of(counts, origin)
        for name in ("levels_", "regions_", "first_close_month_", "n_deals_", "calibration_"):
            assert getattr(counted, name) == getattr(rebuilt, name)
        for name in ("alpha_", "arrival_shape_", "season_shape_", "region_shares_"):
            np.testing.assert_allclose(getattr(counted, name), getattr(rebuilt, name))
        a = rebuilt.predict(known[known["status"] == "open"], (1, 2), 5, breakdown=())
        b = counted.predict_as_of(counts, (1, 2), 5)
        for key, values in a.draws.items():
            np.testing.assert_array_equal(b.draws[key], values)
        for h in (1, 2, 3):
            assert counts.outcomes(origin, h) == outcomes_after(final_export, origin, h)
            for name, baseline in (
                ("weighted_pipeline", weighted_pipeline),
                ("run_rate", run_rate),
            ):
                expected = baseline(known, origin, h)
                assert getattr(counts, name)(origin, h) == pytest.approx(expected, rel=1e-9)


def test_fit_as_of_refuses_a_mid_month_origin_and_other_groups(final_export):
    counts = PipelineCounts.from_frame(final_export)
    with pytest.raises(ValueError, match="month-end"):
        PipelineForecaster(ForecastConfig(draws=100)).fit_as_of(counts, "2026-05-15")
    with pytest.raises(ValueError, match="groups by 'region'"):
        PipelineForecaster(ForecastConfig(group="region")).fit_as_of(counts, month_end("2026-05"))
