"""A change in conversion: found after a jump, rarely called in a stable funnel, and the rate
then read from the leads since the change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import lognorm

from pipeline_models.analyses.lead_requirement.narrative import funnel_warnings
from pipeline_models.data.synthetic.funnels import simulate_funnel
from pipeline_models.models.funnel.change import (
    change_statistic,
    conversion_changes,
)
from pipeline_models.models.funnel.config import FunnelConfig
from pipeline_models.models.funnel.items import items_at
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.models.funnel.opportunities import OpportunityTable

RATES = np.array([0.06, 0.22, 0.10, 0.08])
LEADS_A_MONTH = np.array([600, 150, 250, 300])
LAG = lognorm(s=0.6, scale=21.0)  # days from lead to opportunity


def _leads(rng: np.random.Generator, jump: float = 1.0, months_since: int = 1):
    """Twelve months of leads of four sources (ages in days); conversion times ``jump`` for the
    leads of the last ``months_since`` months. Converted by now with probability ``c F(age)``."""
    n = LEADS_A_MONTH * 12
    source = np.repeat(np.arange(4), n)
    age = rng.uniform(0, 12 * 30.4375, len(source))
    c = RATES[source] * np.where(age < months_since * 30.4375, jump, 1.0)
    cdf = LAG.cdf(age)
    converted = rng.random(len(source)) < c * cdf
    return source, converted, age, cdf


def test_statistic_is_zero_for_equal_rates_and_finds_the_ratio():
    g, theta = change_statistic(20.0, 200.0, 10.0, 100.0)  # the same rate, 2 per unit
    assert g == pytest.approx(0.0, abs=1e-6) and theta == pytest.approx(1.0, rel=1e-3)
    g, theta = change_statistic(36.0, 200.0, 10.0, 100.0)  # 3.6 against 2: 1.8 times
    assert theta == pytest.approx(1.8, rel=1e-3)
    # one source: the binomial likelihood ratio in closed form
    p0, p_hat = 10 / 110, 36 / 236
    closed = 2 * (36 * np.log(p_hat / p0) + 200 * np.log((1 - p_hat) / (1 - p0)))
    assert g == pytest.approx(closed, rel=1e-6)


def test_a_stable_funnel_is_rarely_called_changed():
    rng = np.random.default_rng(7)
    calls = [conversion_changes(*_leads(rng), n_sources=4)[0].any() for _ in range(300)]
    # 45 tests at CHANGE_LEVEL each, of nested windows and so correlated: 2.3% of 1,000 fits
    # were called changed; 3% is 1 sd of 300 fits above that
    assert np.mean(calls) <= 0.03


@pytest.mark.parametrize("months_since", [1, 2, 3])
def test_a_jump_is_found_with_its_month(months_since):
    rng = np.random.default_rng(months_since)
    found = [conversion_changes(*_leads(rng, 1.8, months_since), n_sources=4) for _ in range(50)]
    ratio = np.array([r for _, r in found])
    found = np.array([k for k, _ in found])
    assert (found > 0).all(axis=1).mean() >= 0.9  # the jump is seen in nine fits in ten
    assert np.median(found) == months_since
    assert np.median(ratio[found == months_since]) == pytest.approx(1.8, rel=0.15)


def test_a_fall_is_found_too():
    rng = np.random.default_rng(11)
    found = np.array([conversion_changes(*_leads(rng, 0.5, 2), n_sources=4)[0] for _ in range(50)])
    assert (found > 0).all(axis=1).mean() >= 0.9
    assert (found == 2).mean() >= 0.8  # of sources, the right month


def _fit_after_shift(shape: str, seed: int) -> LeadFunnelModel:
    """The funnel fitted at the end of the first month after the level-shift funnel's jump
    (conversion x1.8 from 2025-09)."""
    funnel = simulate_funnel(shape, random_seed=seed)
    origin = pd.Timestamp("2025-09-30")
    table = OpportunityTable(funnel.opportunities, funnel.leads)
    items = items_at(table, funnel.leads, origin, back_test=True)
    return LeadFunnelModel(FunnelConfig(draws=1000)).fit_items(items, random_seed=seed)


def test_one_month_after_the_jump_the_rates_are_the_new_ones():
    funnel = simulate_funnel("level_shift", random_seed=3)
    new = funnel.truth["conversion"]  # the rates after the shift
    fit = _fit_after_shift("level_shift", 3)
    counts = fit.lead_counts_
    assert (counts["changed"] == 1).sum() >= 3
    # a rate read from the leads since a step is current: the drift does not move it
    assert (counts.loc[counts["changed"] > 0, "estimate_age"] == 0).all()
    assert (counts.loc[counts["changed"] == 0, "estimate_age"] > 0).all()
    held = 0
    for j, source in enumerate(fit.sources_):
        lo, hi = np.quantile(fit.conversion_[:, j], [0.05, 0.95])
        held += lo <= new[source] <= hi
    assert held >= 3  # the 90% intervals hold the new rates


def test_the_same_date_in_a_steady_funnel_finds_no_change():
    fit = _fit_after_shift("steady", 3)
    assert (fit.lead_counts_["changed"] == 0).all()


def test_the_report_says_which_sources_changed_and_how():
    fit = _fit_after_shift("level_shift", 3)
    changed = fit.conversion_changes()
    assert len(changed) >= 3 and (changed["ratio"] > 1.3).all()
    text = " ".join(funnel_warnings(fit))
    assert "Leads of the last 1 month(s) convert unlike the earlier ones" in text
    assert "higher" in text
    assert "convert unlike" not in " ".join(funnel_warnings(_fit_after_shift("steady", 3)))
