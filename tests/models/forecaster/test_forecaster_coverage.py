"""The forecaster's 80% intervals hold the truth about 80% of the time on simulated histories."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.data.asof import outcomes_after, pipeline_as_of
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster


@pytest.mark.slow
def test_80_percent_intervals_cover_about_80_percent_of_simulated_histories():
    """Over many simulated histories the 80% interval holds the truth about 80% of the time.

    30 histories x 2 targets x 2 horizons = 120 intervals (correlated within a history). With
    independent trials the share's sd would be 0.037; the band 0.65..0.93 allows for the
    correlation and still fails intervals that are clearly too narrow or too wide.
    """
    config = replace(sample.SampleConfig(), n_opportunities=2_500, with_leads=False)
    origin = month_end("2026-06")
    inside = []
    for seed in range(30):
        history = sample.simulate_history(config, random_seed=1000 + seed)
        final = conform_opportunities(sample.snapshot(history, config.end)[0])
        known = pipeline_as_of(final, origin)
        forecaster = PipelineForecaster(ForecastConfig(draws=600)).fit(known, origin)
        result = forecaster.predict(known[known["status"] == "open"], (1, 2), random_seed=seed)
        for h in (1, 2):
            actual = outcomes_after(final, origin, h)
            for target in ("count", "revenue"):
                lo, hi = np.quantile(result.draws[(h, target, "total")], [0.1, 0.9])
                inside.append(lo <= actual[target] <= hi)
    share = float(np.mean(inside))
    print(f"80% interval coverage over {len(inside)} intervals: {share:.3f}")
    assert 0.65 <= share <= 0.93, share
