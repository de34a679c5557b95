"""The funnel's conversion intervals on synthetic funnels of several shapes with known truth: the
90% interval of each source's chance of ever converting holds the truth in at least 85% of 30
simulated histories per shape (the full study, with the forecast and the lead requirement:
``bench/funnel_shapes.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel

HISTORIES = 30


@pytest.mark.slow
@pytest.mark.parametrize(
    "shape", ["steady", "conversion_only", "long_lags", "level_shift", "cohort_drift"]
)
def test_conversion_intervals_hold_the_truth(shape):
    held = []
    for seed in range(1, HISTORIES + 1):
        funnel = simulate_funnel(shape, random_seed=seed)
        fit = LeadFunnelModel(FunnelConfig(draws=1000)).fit(
            funnel.opportunities, funnel.leads, funnel.as_of, random_seed=seed
        )
        for j, source in enumerate(fit.sources_):
            truth = funnel.truth["conversion"][source]
            low, high = np.quantile(fit.conversion_[:, j], [0.05, 0.95])
            held.append(low <= truth <= high)
    # 3 or 4 sources x 30 histories; a 90% interval should hold about 90% of the time
    assert len(held) >= 90
    assert np.mean(held) >= 0.85, f"{np.mean(held):.3f} of {len(held)}"
