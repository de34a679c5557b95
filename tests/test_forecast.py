"""Forecast, as-of reconstruction, baselines, scores and the back-test file format."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from pipeline_models import sample
from pipeline_models.asof import (
    UNKNOWN_STAGE,
    month_end,
    outcomes_after,
    parse_origins,
    pipeline_as_of,
)
from pipeline_models.backtest import backtest, write_forecasts
from pipeline_models.forecast import (
    ForecastConfig,
    PipelineCounts,
    PipelineForecaster,
    forecast_table,
    open_deal_outlook,
    quarter_window,
    run_rate,
    weighted_pipeline,
)
from pipeline_models.loader import load_export
from pipeline_models.schema import conform_opportunities
from pipeline_models.scoring import (
    FORECAST_COLUMNS,
    QUANTILE_COLUMNS,
    crps_from_draws,
    crps_from_quantiles,
    quantile_row,
    score_table,
)

FAST = ForecastConfig(draws=400, calibration_origins=0)


def deals(rows):
    frame = pd.DataFrame(
        rows,
        columns=["opportunity_id", "created_date", "close_date", "status", "amount", "product"],
    )
    frame["stage"] = frame["status"].map({"won": "Won", "lost": "Lost", "open": "Proposal"})
    return conform_opportunities(frame)


@pytest.fixture(scope="module")
def history():
    config = replace(sample.SampleConfig(), n_opportunities=3_000, with_leads=False)
    return sample.simulate_history(config, random_seed=7)


@pytest.fixture(scope="module")
def final_export(history):
    return conform_opportunities(sample.snapshot(history, history.config.end)[0])


# as-of --------------------------------------------------------------------------------------------


def test_pipeline_as_of_keeps_no_later_information():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-20", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-04-02", "won", 200.0, "P"),  # won after the origin
            ("C", "2025-03-20", "2025-03-25", "lost", 50.0, "P"),  # created after the origin
            ("D", "2025-02-01", "2025-06-30", "open", 80.0, "P"),
        ]
    )
    known = pipeline_as_of(frame, "2025-02-28").set_index("opportunity_id")
    assert list(known.index) == ["A", "B", "D"]
    assert known.loc["A", "status"] == "won" and known.loc["A", "amount"] == 100.0
    assert known.loc["B", "status"] == "open"
    for deal in ("B", "D"):
        assert known.loc[deal, "stage"] == UNKNOWN_STAGE
        assert pd.isna(known.loc[deal, "amount"]) and pd.isna(known.loc[deal, "close_date"])
    assert frame.loc[1, "status"] == "won"  # the input is untouched


def test_pipeline_as_of_with_fewer_columns_keeps_the_same_values(final_export):
    origin = month_end("2026-06")
    full = pipeline_as_of(final_export, origin)
    few = pipeline_as_of(final_export, origin, columns=["product", "region"])
    assert list(few.columns) == [
        "created_date",
        "close_date",
        "status",
        "amount",
        "product",
        "region",
    ]
    pd.testing.assert_frame_equal(few, full[few.columns])


def test_outcomes_after_counts_the_window_only():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-28", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-03-01", "won", 200.0, "P"),
            ("C", "2025-01-15", "2025-04-30", "won", 300.0, "P"),
            ("D", "2025-01-15", "2025-05-01", "won", 400.0, "P"),
            ("E", "2025-01-15", "2025-03-10", "lost", 500.0, "P"),
        ]
    )
    assert outcomes_after(frame, "2025-02-28", 1) == {"count": 1.0, "revenue": 200.0}
    assert outcomes_after(frame, "2025-02-28", 2) == {"count": 2.0, "revenue": 500.0}


def test_parse_origins():
    assert parse_origins("2017-05..2017-07") == [
        month_end(m) for m in ("2017-05", "2017-06", "2017-07")
    ]
    assert parse_origins("2017-05,2017-09")[1] == pd.Timestamp("2017-09-30")
    with pytest.raises(ValueError):
        parse_origins("2017-09..2017-05")


def test_quarter_window():
    assert quarter_window("2026-10") == ("2026Q4", 2, pd.Timestamp("2026-10-01"))
    assert quarter_window("2026-09")[:2] == ("2026Q4", 3)
    assert quarter_window("2026-12")[:2] == ("2027Q1", 3)


# scores -------------------------------------------------------------------------------------------


def test_crps_of_quantiles_approximates_exact_crps():
    rng = np.random.default_rng(0)
    draws = rng.normal(100, 10, 20_000)
    exact = crps_from_draws(110.0, draws)
    approx = crps_from_quantiles(110.0, quantile_row(draws))
    # closed form for a normal: sigma * (z(2F(z)-1) + 2 f(z) - 1/sqrt(pi)) at z = 1 -> 6.02
    assert exact == pytest.approx(6.02, abs=0.1)
    assert approx == pytest.approx(exact, rel=0.25)


def test_score_table_wape_bias_and_coverage():
    table = pd.DataFrame(
        {
            "origin": ["2025-01-31", "2025-02-28"],
            "target": "count",
            "horizon_months": 1,
            "point": [110.0, 90.0],
            "model": "m",
            "actual": [100.0, 100.0],
            **{
                c: [v, v]
                for c, v in zip(QUANTILE_COLUMNS, [80, 85, 95, 100, 105, 115, 120], strict=True)
            },
        }
    )
    scores = score_table(table).iloc[0]
    assert scores["wape"] == pytest.approx(0.1)
    assert scores["bias"] == pytest.approx(0.0)
    assert scores["coverage_80"] == 1.0 and scores["coverage_50"] == 1.0


# baselines ----------------------------------------------------------------------------------------


def test_weighted_pipeline_and_run_rate_by_hand():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-01-20", "won", 100.0, "P"),
            ("B", "2025-01-15", "2025-02-10", "lost", 300.0, "P"),
            ("C", "2025-02-01", "2025-03-15", "won", 300.0, "P"),
            ("D", "2025-02-01", "2025-04-20", "open", 1000.0, "P"),
            ("E", "2025-02-01", "2025-06-20", "open", 500.0, "P"),
            ("F", "2025-02-01", None, "open", None, "P"),
        ]
    )
    wp = weighted_pipeline(frame, "2025-03-31", 1)  # win rate 2/3; D in window, E not, F always
    assert wp["count"] == pytest.approx(2 / 3 * 2)
    assert wp["revenue"] == pytest.approx(2 / 3 * (1000 + 200))  # F takes the mean won amount
    rr = run_rate(frame, "2025-03-31", 2)
    assert rr == {"count": pytest.approx(2 / 3 * 2), "revenue": pytest.approx(400 / 3 * 2)}


# the forecaster -----------------------------------------------------------------------------------


def test_old_stalled_deals_count_for_little(final_export):
    origin = month_end("2026-06")
    known = pipeline_as_of(final_export, origin)
    forecaster = PipelineForecaster(FAST).fit(known, origin)
    outlook = open_deal_outlook(forecaster, known[known["status"] == "open"], horizon=3)
    young = outlook.loc[outlook["age_months"] <= 1, "p_won_3m"].mean()
    old = outlook.loc[outlook["age_months"] >= 12, "p_won_3m"].mean()
    assert young > 0.15 and old < 0.05


def test_forecast_is_reproducible_and_adds_up(final_export):
    origin = month_end("2026-06")
    known = pipeline_as_of(final_export, origin)
    open_deals = known[known["status"] == "open"]
    a = PipelineForecaster(FAST).fit(known, origin).predict(open_deals, (1, 2), random_seed=3)
    b = PipelineForecaster(FAST).fit(known, origin).predict(open_deals, (1, 2), random_seed=3)
    for key, values in a.draws.items():
        np.testing.assert_array_equal(values, b.draws[key])
    for h in (1, 2):
        total = a.draws[(h, "count", "total")]
        np.testing.assert_allclose(
            total, a.draws[(h, "count", "open")] + a.draws[(h, "count", "new")]
        )
        by_product = sum(
            v for (hh, t, c, _), v in a.by_group.items() if (hh, t, c) == (h, "count", "product")
        )
        np.testing.assert_allclose(by_product, total)
    # windows are cumulative: two months win at least what one month wins, draw by draw
    assert np.all(a.draws[(2, "count", "total")] >= a.draws[(1, "count", "total")])
    table = forecast_table(a, known, "2026-06", target_revenue=1.0)
    assert table["p_reach_target"].iloc[0] == pytest.approx(1.0)


def test_unseen_product_and_empty_pipeline():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-10", "won", 100.0, "P"),
            ("B", "2025-01-12", "2025-02-11", "lost", 10.0, "P"),
            ("C", "2025-03-01", None, "open", 50.0, "NEW"),
        ]
    )
    forecaster = PipelineForecaster(FAST).fit(frame[frame["product"] == "P"], "2025-03-31")
    result = forecaster.predict(frame[frame["status"] == "open"], (1,), random_seed=1)
    assert 0 <= result.draws[(1, "count", "open")].mean() <= 1
    empty = forecaster.predict(frame.iloc[0:0], (1,), random_seed=1)
    assert np.all(empty.draws[(1, "count", "open")] == 0)


def _deal_by_deal_draws(forecaster, open_deals, horizons, seed):
    """The open deals' wins simulated one deal at a time (the reference for the cell
    simulation): per draw, each deal is won by month ``h`` when a uniform draw falls below its
    chance, and a deal without an amount takes one from the won amounts."""
    rng = np.random.default_rng(seed)
    S, H = forecaster.config.draws, max(horizons)
    level = {lv: i for i, lv in enumerate(forecaster.levels_)}
    g = open_deals["product"].map(level).to_numpy(int)
    T = forecaster.origin_month_
    created = open_deals["created_date"]
    age = np.maximum(T - (created.dt.year * 12 + created.dt.month - 1).to_numpy(int), 0) + 1
    K = forecaster.config.max_age_months + 1
    haz = forecaster._hazard_draws(rng, S)
    season = forecaster._month_factors(rng, S, H)
    chance = forecaster._won_by(haz, season, g, np.minimum(age, K), 0)  # (deal, draw, month)
    won_by = rng.random(chance.shape[:2])[..., None] < chance
    amounts = np.repeat(open_deals["amount"].to_numpy(float)[:, None], S, axis=1)
    everyone = forecaster.all_amounts_
    for i in np.flatnonzero(np.isnan(amounts[:, 0])):
        own = forecaster.amounts_.get(g[i], np.zeros(0))
        weight = len(own) / (len(own) + forecaster.config.amount_pooling)
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


def test_backtest_file_format(tmp_path, final_export):
    table = backtest(final_export, parse_origins("2026-05..2026-06"), (1, 2), config=FAST)
    path = write_forecasts(table, tmp_path / "forecasts.csv")
    written = pd.read_csv(path)
    assert list(written.columns) == [*FORECAST_COLUMNS, "actual"]
    assert set(written["model"]) == {"workbench", "weighted_pipeline", "run_rate"}
    assert len(written) == 2 * 2 * 2 * 3  # origins x targets x horizons x models
    wb = written[written["model"] == "workbench"]
    assert (wb[list(QUANTILE_COLUMNS)].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert written["origin"].iloc[0] == "2026-05-31"


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


@pytest.mark.shared_data
@pytest.mark.slow
def test_maven_backtest_beats_the_crm_baselines(maven_pipeline):
    frame = load_export(maven_pipeline, preset="maven", as_of="2018-01-31").frame
    table = backtest(frame, parse_origins("2017-05..2017-11"), (1, 2))
    scores = score_table(table).set_index(["model", "target", "horizon_months"])
    for target in ("count", "revenue"):
        for horizon in (1, 2):
            wape = scores["wape"].xs((target, horizon), level=("target", "horizon_months"))
            assert wape["workbench"] < wape["weighted_pipeline"]
            assert wape["workbench"] < wape["run_rate"]
