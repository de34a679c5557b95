"""The period's forecast is drawn once per run: the first report that asks draws it, the next one
(in a kernel of its own) reads the very same draws and open deals from the fit cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.analyses.forecast import strength
from pipeline_models.analyses.forecast.in_hand import FORECAST_MONTHS, period_outlook
from pipeline_models.models.forecaster import ForecastResult
from pipeline_models.run.catalog import Catalog


def _same(a: ForecastResult, b: ForecastResult) -> None:
    assert a.origin == b.origin and a.horizons == b.horizons
    assert a.draws.keys() == b.draws.keys() and a.by_group.keys() == b.by_group.keys()
    for key, values in a.draws.items():
        assert np.array_equal(values, b.draws[key]), key
    for key, values in a.by_group.items():
        assert np.array_equal(values, b.by_group[key]), key


def _direct(catalog: Catalog, horizons: tuple[int, ...]) -> tuple[ForecastResult, pd.DataFrame]:
    """The forecast drawn as the reports drew it before it was kept: no table in between."""
    frame, forecaster = catalog.opportunities(), catalog.forecaster()
    open_deals = strength.with_score_odds(
        frame[frame["status"] == "open"],
        catalog.deal_score(),
        forecaster.forecast_config.group,
        frame,
        catalog.as_of,
    )
    result = forecaster.predict(
        open_deals, horizons=horizons, random_seed=catalog.random_seed, funnel=catalog.lead_funnel()
    )
    return result, open_deals


def test_a_second_report_reads_the_draws_the_first_one_made(small_sample_catalog):
    first = Catalog.open(small_sample_catalog.folder)
    drawn, open_deals = period_outlook(first, 3)
    kept = {
        path: path.stat().st_mtime_ns
        for pattern in ("outlook-*.parquet", "score_odds-*.parquet")
        for path in first.cache_dir.glob(pattern)
    }
    assert len(kept) == 2  # the draws, and the open deals' score odds they were drawn with
    second = Catalog.open(small_sample_catalog.folder)  # another kernel: nothing in memory
    read, read_deals = period_outlook(second, 2)  # fewer months: the same windows 1..4
    _same(drawn, read)
    pd.testing.assert_frame_equal(open_deals, read_deals)
    # read, not drawn and written again
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert strength.SCORE_ODDS in read_deals and read_deals[strength.SCORE_ODDS].notna().all()
    direct, direct_deals = _direct(second, tuple(range(1, FORECAST_MONTHS + 1)))
    _same(direct, read)
    pd.testing.assert_frame_equal(direct_deals, read_deals)


def test_a_forecast_survives_its_table_form():
    rng = np.random.default_rng(5)
    result = ForecastResult(origin=pd.Timestamp("2026-10-31"), horizons=(1, 2))
    for h in (1, 2):
        result.draws[(h, "count", "total")] = rng.poisson(30, 500).astype(float)
        result.draws[(h, "revenue", "open")] = rng.gamma(2.0, 1e5, 500)
        result.by_group[(h, "revenue", "product", "GTX <b>Pro</b>")] = rng.gamma(2.0, 1e4, 500)
    back = ForecastResult.from_frame(result.to_frame())
    _same(result, back)


@pytest.mark.parametrize("months", [FORECAST_MONTHS + 2])
def test_more_months_are_drawn_and_kept_apart(small_sample_catalog, months):
    catalog = Catalog.open(small_sample_catalog.folder)
    drawn, _ = period_outlook(catalog, months)
    assert drawn.horizons == tuple(range(1, months + 1))
    shorter, _ = period_outlook(Catalog.open(small_sample_catalog.folder), FORECAST_MONTHS)
    assert shorter.horizons == tuple(range(1, FORECAST_MONTHS + 1))
