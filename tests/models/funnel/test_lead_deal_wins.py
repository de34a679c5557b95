"""Deals from leads are won as their sources win and when they are created: the odds by source,
the place in the month, and the wins from open leads against what the simulated funnels did."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.forecaster import ForecastConfig, PipelineCounts, PipelineForecaster
from pipeline_models.models.forecaster.hazards import won_by
from pipeline_models.models.forecaster.simulation import _won_from
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel
from pipeline_models.models.funnel.deal_flow import flow_odds, month_days, open_lead_timing
from pipeline_models.models.funnel.items import items_at
from pipeline_models.models.funnel.opportunities import OpportunityTable


def test_flow_odds_weigh_each_source_by_the_deals_it_sends():
    deals = np.zeros((2, 2, 1))
    deals[:, 0, 0], deals[:, 1, 0] = 30, 10  # source 0 sends 30 deals, source 1 ten
    shares = np.array([[1.0, 0.0], [0.5, 0.5]])  # source 0 all to group 0, source 1 half
    odds = np.array([[2.0, 1.0], [0.5, 3.0]])
    got = flow_odds(deals, shares, odds)
    assert got[0, 0] == pytest.approx((30 * 2.0 + 5 * 0.5) / 35)
    assert got[1, 0] == pytest.approx(3.0)


def _hazards(months: int = 4, k: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """One group, won hazard rising with age (a cycle of some weeks), lost 0.05 a month."""
    haz = np.zeros((1, 1, k, 3))
    haz[..., 0] = np.linspace(0.05, 0.3, k)
    haz[..., 1] = 0.05
    return haz, np.ones((1, months))


def test_a_deal_created_evenly_keeps_the_hazards_and_an_early_one_is_won_sooner():
    haz, season = _hazards()
    g = np.zeros(1, np.int64)
    even = won_by(haz, season, g, np.zeros(1, np.int64), 0)
    np.testing.assert_array_equal(_won_from(haz, season, g, 0, None, 0.5), even)
    early = _won_from(haz, season, g, 0, None, 0.1)
    late = _won_from(haz, season, g, 1, None, 0.9)
    assert (early > even).all()
    # between the month's deals and those of a month earlier, on the log scale
    before = won_by(haz, np.concatenate([season[:, :1], season], axis=1), g, np.zeros(1, int), 0)
    expected = even**0.6 * before[:, :, 1:] ** 0.4
    np.testing.assert_allclose(early, expected)
    assert (late[:, :, :1] == 0).all() and (
        late[:, :, 1:] < won_by(haz, season, g, np.zeros(1, int), 1)[:, :, 1:]
    ).all()


def test_young_open_leads_turn_into_deals_early_in_the_first_month():
    funnel = simulate_funnel("conversion_only", random_seed=2)
    origin = (pd.Period(funnel.as_of, "M") - 3).end_time.normalize()
    fit = LeadFunnelModel(FunnelConfig(draws=500)).fit(
        funnel.opportunities, funnel.leads, origin, random_seed=2
    )
    start = open_lead_timing(fit, month_days(origin, 3))
    assert start[0] < 0.45  # lags of 10 to 30 days: the month's deals come early (even: 0.5)
    assert ((start > 0) & (start < 1)).all()


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["steady", "conversion_only"])
def test_wins_from_open_leads_match_what_the_funnel_did(shape):
    """Over 8 histories x 4 origins, the forecast's wins from the leads open at the origin are
    within 8% of the wins they brought over three months and 20% in the first month. Won at
    their product's average, early in the month as if created evenly, they were (8 histories x
    6 origins) 11% short over three months on the conversion-only funnel (its slow source wins
    most) and 21-25% short in the first month on both. The first month is still the roughest:
    a month's hazard cannot say which of its days a deal is won on (0.84 on the steady funnel
    here)."""
    predicted, actual = np.zeros(3), np.zeros(3)
    for seed in range(1, 9):
        funnel = simulate_funnel(shape, random_seed=seed)
        full = funnel.truth["full"]
        counts = PipelineCounts.from_frame(funnel.opportunities, ForecastConfig().group)
        table = OpportunityTable(funnel.opportunities, funnel.leads)
        for back in (3, 5, 7, 9):
            origin = (pd.Period(funnel.as_of, "M") - back).end_time.normalize()
            items = items_at(table, funnel.leads, origin, back_test=True)
            fit = LeadFunnelModel(FunnelConfig(draws=500)).fit_items(items, random_seed=seed)
            forecaster = PipelineForecaster(ForecastConfig(draws=500)).fit_as_of(counts, origin)
            result = forecaster.predict_as_of(counts, (1, 2, 3), random_seed=seed, funnel=fit)
            pending = full[(full["created_date"] <= origin) & (full["converted_date"] > origin)]
            won = pending[pending["outcome"] == "won"]
            for h in (1, 2, 3):
                predicted[h - 1] += result.draws[(h, "count", "leads")].mean()
                actual[h - 1] += (won["close_date"] <= (pd.Period(origin, "M") + h).end_time).sum()
    ratio = predicted / actual
    assert actual[-1] > 600  # a Poisson error of 4% at most: 8% is two of them
    assert abs(ratio[2] - 1) <= 0.08, ratio
    assert abs(ratio[0] - 1) <= 0.20, ratio
