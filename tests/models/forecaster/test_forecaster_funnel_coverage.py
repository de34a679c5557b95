"""With its leads, the forecast's 80% intervals hold the truth about 80% of the time on simulated
funnels that shift and that record only conversions (the full study over seven shapes and six
origins each: ``bench/funnel_shapes.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.data.asof import outcomes_after, pipeline_as_of
from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["level_shift", "conversion_only"])
def test_80_percent_intervals_with_leads_cover_about_80_percent(shape):
    """30 histories x 2 targets x 2 horizons = 120 intervals, at the month-end two months before
    each export (for level_shift, four months after its jump). As in the forecaster's own
    coverage test, the band 0.65..0.93 allows for the correlation within a history and still
    fails intervals that are clearly too narrow or too wide."""
    inside = []
    for seed in range(1, 31):
        funnel = simulate_funnel(shape, random_seed=seed, months=26)
        final = funnel.opportunities
        origin = (pd.Period(funnel.as_of, "M") - 2).end_time.normalize()
        known = pipeline_as_of(final, origin)
        forecaster = PipelineForecaster(ForecastConfig(draws=600)).fit(known, origin)
        fit = LeadFunnelModel(FunnelConfig(draws=600)).fit(
            final, funnel.leads, origin, random_seed=seed
        )
        open_deals = known[known["status"] == "open"]
        result = forecaster.predict(open_deals, (1, 2), random_seed=seed, funnel=fit)
        for h in (1, 2):
            actual = outcomes_after(final, origin, h)
            for target in ("count", "revenue"):
                lo, hi = np.quantile(result.draws[(h, target, "total")], [0.1, 0.9])
                inside.append(lo <= actual[target] <= hi)
    share = float(np.mean(inside))
    assert 0.65 <= share <= 0.93, share
