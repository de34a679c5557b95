"""Cells of open deals simulated together have the distribution of deals simulated one by one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import sample_export

from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster


@pytest.fixture(scope="module")
def final_export():
    return sample_export()


def _deal_by_deal_draws(forecaster, open_deals, horizons, seed):
    """The open deals' wins simulated one deal at a time (the reference for the cell
    simulation): per draw, each deal is won by month ``h`` when a uniform draw falls below its
    chance, and a deal without an amount takes one from the won amounts."""
    rng = np.random.default_rng(seed)
    S, H = forecaster.forecast_config.draws, max(horizons)
    level = {lv: i for i, lv in enumerate(forecaster.levels_)}
    g = open_deals["product"].map(level).to_numpy(int)
    T = forecaster.origin_month_
    created = open_deals["created_date"]
    age = np.maximum(T - (created.dt.year * 12 + created.dt.month - 1).to_numpy(int), 0) + 1
    K = forecaster.forecast_config.max_age_months + 1
    haz = forecaster._hazard_draws(rng, S)
    season = forecaster._month_factors(rng, S, H)
    chance = forecaster._won_by(haz, season, g, np.minimum(age, K), 0)  # (deal, draw, month)
    won_by = rng.random(chance.shape[:2])[..., None] < chance
    amounts = np.repeat(open_deals["amount"].to_numpy(float)[:, None], S, axis=1)
    everyone = forecaster.all_amounts_
    for i in np.flatnonzero(np.isnan(amounts[:, 0])):
        own = forecaster.amounts_.get(g[i], np.zeros(0))
        weight = len(own) / (len(own) + forecaster.forecast_config.amount_pooling)
        draws = rng.choice(everyone, S)
        if len(own):
            draws = np.where(rng.random(S) < weight, rng.choice(own, S), draws)
        amounts[i] = draws
    out = {}
    for h in horizons:
        won = won_by[:, :, h - 1]
        groups = {("total", ""): np.ones(len(g), bool)}
        for column in ("product", "region"):
            for value in open_deals[column].unique():
                groups[(column, value)] = (open_deals[column] == value).to_numpy()
        for key, rows in groups.items():
            out[(h, "count", *key)] = won[rows].sum(axis=0).astype(float)
            out[(h, "revenue", *key)] = (won[rows] * amounts[rows]).sum(axis=0)
    return out


def test_cell_simulation_matches_deal_by_deal_simulation(final_export):
    """Open deals simulated by cell (binomial counts, exact or normal sums of amounts) have the
    distribution of the deal-by-deal simulation: means within four Monte Carlo standard errors
    of each other, 10th and 90th percentiles within 0.15 standard deviations (about four times
    the standard error of a difference of percentiles of 4,000 draws), plus one deal for
    counts, whose percentiles move in whole deals."""
    origin = month_end("2026-06")
    known = pipeline_as_of(final_export, origin)
    forecaster = PipelineForecaster(ForecastConfig(draws=4000, calibration_origins=0))
    forecaster.fit(known, origin)
    forecaster.arrival_shape_ = np.full_like(forecaster.arrival_shape_, 1e-12)  # no new deals
    first, second = forecaster.levels_[:2]
    # (product, age in months, deals, amounts known): young large cells win more than 30 deals
    # per draw (normal sums), mid-sized cells a few (exact sums by selection or by sampling),
    # old cells with few wins, single deals, and cells without amounts
    spec = [
        (first, 0, 400, True),
        (first, 1, 60, True),
        (first, 14, 300, True),
        (second, 0, 1, True),
        (second, 2, 5, True),
        (second, 0, 150, False),
        (second, 3, 12, False),
    ]
    rng = np.random.default_rng(11)
    rows = []
    for product, age, n, has_amount in spec:
        created = (pd.Period(origin, "M") - age).start_time
        amounts = rng.lognormal(9, 1, n) if has_amount else np.full(n, np.nan)
        for i in range(n):
            rows.append(
                (f"{product}-{age}-{i}", created, None, "open", amounts[i], product, "AB"[i % 2])
            )
    open_deals = conform_opportunities(
        pd.DataFrame(
            rows,
            columns=[
                "opportunity_id",
                "created_date",
                "close_date",
                "status",
                "amount",
                "product",
                "region",
            ],
        )
    )
    horizons = (1, 2, 3)
    cells = forecaster.predict(open_deals, horizons, random_seed=1)
    reference = _deal_by_deal_draws(forecaster, open_deals, horizons, seed=2)
    for (h, target, column, level), expected in reference.items():
        draws = (
            cells.draws[(h, target, "total")]
            if column == "total"
            else cells.by_group[(h, target, column, level)]
        )
        se = np.sqrt(draws.var() / len(draws) + expected.var() / len(expected))
        assert abs(draws.mean() - expected.mean()) < 4 * se, (h, target, column, level)
        sd = np.sqrt((draws.var() + expected.var()) / 2)
        for q in (0.1, 0.9):
            gap = abs(np.quantile(draws, q) - np.quantile(expected, q))
            assert gap <= 0.15 * sd + (target == "count"), (h, target, column, level, q)
