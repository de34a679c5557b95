"""The deals the leads bring: open leads and new leads turned into deals by month, against what
the simulated funnels actually did, and their place in the forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel
from pipeline_models.models.funnel.deal_flow import month_days, new_lead_deals, open_lead_deals

SEEDS = range(1, 6)


def _origin(funnel) -> pd.Timestamp:
    return (pd.Period(funnel.as_of, "M") - 3).end_time.normalize()


def _actual_deals(funnel, origin: pd.Timestamp, months: int) -> tuple[int, int]:
    """Deals created in the ``months`` after ``origin``: from leads open at it, and from leads
    created after it (the simulation's full truth)."""
    full = funnel.truth["full"]
    end = (pd.Period(origin, "M") + months).end_time
    converted = full[full["converts"] & (full["converted_date"] > origin)]
    converted = converted[converted["converted_date"] <= end]
    from_open = int((converted["created_date"] <= origin).sum())
    return from_open, len(converted) - from_open


@pytest.mark.parametrize("shape", ["steady", "long_lags", "conversion_only"])
def test_deals_from_open_and_new_leads_match_what_the_funnel_did(shape):
    """Summed over five histories, the expected deals of the next two months from the leads open
    at the origin and from leads not yet created are within four Poisson standard errors of the
    deals that came (a conversion rate off by a fifth would be far outside)."""
    predicted, actual = np.zeros(2), np.zeros(2)
    for seed in SEEDS:
        funnel = simulate_funnel(shape, random_seed=seed)
        origin = _origin(funnel)
        fit = LeadFunnelModel(FunnelConfig(draws=1000)).fit(
            funnel.opportunities, funnel.leads, origin, random_seed=seed
        )
        x, rng = month_days(origin, 2), np.random.default_rng(seed)
        predicted += [
            open_lead_deals(fit, x, 1000, rng).sum(axis=(1, 2)).mean(),
            new_lead_deals(fit, x, 1000, rng).sum(axis=(1, 2)).mean(),
        ]
        actual += _actual_deals(funnel, origin, 2)
    assert (actual > 100).all()  # enough deals for the check to mean something
    assert np.all(np.abs(predicted - actual) <= 4 * np.sqrt(actual)), (predicted, actual)


@pytest.fixture(scope="module")
def fitted():
    funnel = simulate_funnel("steady", random_seed=7)
    origin = _origin(funnel)
    frame = funnel.opportunities
    forecaster = PipelineForecaster(ForecastConfig(draws=500)).fit(frame, origin)
    known = pipeline_as_of(frame, origin)
    open_deals = known[known["status"] == "open"]
    return funnel, origin, frame, forecaster, open_deals


def test_a_funnel_without_leads_leaves_the_forecast_as_it_was(fitted):
    funnel, origin, frame, forecaster, open_deals = fitted
    no_leads = LeadFunnelModel(FunnelConfig(draws=1000)).fit(frame, None, origin, random_seed=1)
    plain = forecaster.predict(open_deals, (1, 2), random_seed=5)
    same = forecaster.predict(open_deals, (1, 2), random_seed=5, funnel=no_leads)
    for key, values in plain.draws.items():
        np.testing.assert_array_equal(values, same.draws[key])
    assert not plain.draws[(2, "count", "leads")].any()


def test_open_leads_are_in_hand_and_new_deals_come_from_leads(fitted):
    funnel, origin, frame, forecaster, open_deals = fitted
    fit = LeadFunnelModel(FunnelConfig(draws=1000)).fit(frame, funnel.leads, origin, random_seed=1)
    assert fit.linked_share_ == pytest.approx(1.0)  # every simulated deal comes from a lead
    result = forecaster.predict(open_deals, (1, 2), random_seed=5, funnel=fit)
    leads = result.draws[(2, "count", "leads")]
    assert np.median(leads) > 0
    total = sum(result.draws[(2, "count", part)] for part in ("open", "leads", "new"))
    np.testing.assert_allclose(result.draws[(2, "count", "total")], total)


def test_a_funnel_fitted_at_another_date_is_refused(fitted):
    funnel, origin, frame, forecaster, open_deals = fitted
    earlier = (pd.Period(origin, "M") - 1).end_time.normalize()
    fit = LeadFunnelModel(FunnelConfig(draws=1000)).fit(frame, funnel.leads, earlier, random_seed=1)
    with pytest.raises(ValueError, match="fitted at"):
        forecaster.predict(open_deals, (1,), random_seed=5, funnel=fit)
