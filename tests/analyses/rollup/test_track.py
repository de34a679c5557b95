"""The company's track record: calibrated where the units' forecasts are, the dependence estimate
doing the work, baselines added up, and only origins every unit forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rollup_cases import normal_row, synthetic_track

from pipeline_models.analyses.forecast.track import FORECAST_COLUMNS, score_table
from pipeline_models.analyses.rollup import rollup_backtest
from pipeline_models.models.forecaster import QUANTILE_COLUMNS

COLUMNS = [*FORECAST_COLUMNS, "actual"]


def _covered(table: pd.DataFrame, model: str) -> float:
    rows = table[table["model"] == model]
    return float(np.mean((rows["actual"] >= rows["q10"]) & (rows["actual"] <= rows["q90"])))


def test_the_company_interval_covers_as_it_says():
    # 30 histories of 6 units at 12 origins, the units' misses correlated 0.4 and every unit's
    # own forecast calibrated
    table = pd.concat(
        [
            rollup_backtest(synthetic_track(100 + h, 6, 12, 0.4), random_seed=h, n=1_200)
            for h in range(30)
        ]
    )
    assert (table["model"] == "workbench").sum() == 360
    # binomial sd of a coverage near 0.8 over 360 origins: sqrt(0.8 * 0.2 / 360) = 0.021, so
    # [0.74, 0.86] is about ±2.9 sd.
    workbench = _covered(table, "workbench")
    assert 0.74 <= workbench <= 0.86
    # taken as independent, the total's sd is about 0.6 of the true one: coverage near 0.54
    assert _covered(table, "workbench_independent") < 0.74
    # taken as moving together it is too wide
    assert _covered(table, "workbench_together") > 0.86
    scores = score_table(table).set_index("model")
    assert scores.loc["workbench", "origins"] == 360
    assert scores.loc["workbench", "coverage_80"] == pytest.approx(workbench)


def _unit_rows(unit: str, origin: str, actual: float, baselines: dict[str, float]) -> list[dict]:
    rows = [normal_row(origin, "count", 20.0, 3.0, actual, unit)]
    for model, point in baselines.items():
        rows.append({**rows[0], **dict.fromkeys(QUANTILE_COLUMNS, np.nan), "model": model,
                     "point": point})  # fmt: skip
    return rows


def test_baselines_add_up_and_origins_missing_a_unit_are_dropped():
    rows = [
        *_unit_rows("north", "2026-01-31", 18.0, {"run_rate": 17.0, "weighted_pipeline": 21.0}),
        *_unit_rows("south", "2026-01-31", 25.0, {"run_rate": 19.0, "weighted_pipeline": 24.0}),
        # south has no run-rate here, so the company has none either
        *_unit_rows("north", "2026-02-28", 22.0, {"run_rate": 18.0, "weighted_pipeline": 20.0}),
        *_unit_rows("south", "2026-02-28", 21.0, {"weighted_pipeline": 23.0}),
        # south has no forecast at all here: the origin is not rolled up
        *_unit_rows("north", "2026-03-31", 20.0, {"run_rate": 18.0}),
    ]
    track = pd.DataFrame(rows)
    track = track[~((track["unit"] == "south") & (track["origin"] == "2026-03-31"))]
    table = rollup_backtest(track, random_seed=1, n=1_000)
    assert list(table.columns) == COLUMNS
    assert sorted(table["origin"].unique()) == ["2026-01-31", "2026-02-28"]
    first = table[table["origin"] == "2026-01-31"].set_index("model")
    assert list(first.index) == [
        "workbench",
        "workbench_independent",
        "workbench_together",
        "weighted_pipeline",
        "run_rate",
    ]
    assert first.loc["run_rate", "point"] == 36.0
    assert first.loc["weighted_pipeline", "point"] == 45.0
    assert first["actual"].eq(43.0).all()
    assert first.loc["run_rate", list(QUANTILE_COLUMNS)].isna().all()
    second = table[table["origin"] == "2026-02-28"].set_index("model")
    assert "run_rate" not in second.index
    assert second.loc["weighted_pipeline", "point"] == 43.0
    # two units sharing only two origins: no correlation can be read, they move together
    dependence = table.attrs["dependence"]["count"]
    assert (dependence.source, dependence.rho) == ("assumed", 1.0)
    np.testing.assert_allclose(
        first.loc["workbench", list(QUANTILE_COLUMNS)].to_numpy(float),
        first.loc["workbench_together", list(QUANTILE_COLUMNS)].to_numpy(float),
    )


def test_the_combined_forecasts_centre_on_the_sum_of_the_units():
    track = synthetic_track(3, 4, 8, 0.3)
    table = rollup_backtest(track, random_seed=2, n=2_000)
    first = track[track["origin"] == track["origin"].iloc[0]]
    rows = table[table["origin"] == track["origin"].iloc[0]].set_index("model")
    # symmetric unit forecasts: every total's median is the sum of the units' medians, up to
    # the Monte Carlo sd of a median of 2000 draws, 1.25 * sd / sqrt(2000) = 0.28 for the
    # narrowest total (sd 10), so 1.0 is over 3.5 sd
    for model in ("workbench", "workbench_independent", "workbench_together"):
        assert rows.loc[model, "point"] == pytest.approx(first["q50"].sum(), abs=1.0)
        assert rows.loc[model, "point"] == rows.loc[model, "q50"]
    # moving together: the total's quantiles are the units' quantiles added up
    np.testing.assert_allclose(
        rows.loc["workbench_together", list(QUANTILE_COLUMNS)].to_numpy(float),
        first[list(QUANTILE_COLUMNS)].sum().to_numpy(float),
        rtol=2e-3,
    )
    widths = rows["q90"] - rows["q10"]
    assert widths["workbench_independent"] < widths["workbench"] < widths["workbench_together"]
    dependence = table.attrs["dependence"]["revenue"]
    assert dependence.source == "estimated" and dependence.origins == 8 and dependence.pairs == 6


def test_each_origin_is_scored_with_a_correlation_it_did_not_inform():
    track = synthetic_track(4, 3, 6, 0.5)
    table = rollup_backtest(track, random_seed=3, n=500)
    again = rollup_backtest(track, random_seed=3, n=500)
    pd.testing.assert_frame_equal(table, again)
    # changing one origin's actuals changes the other origins' workbench intervals, not its own
    origin = track["origin"].iloc[0]
    moved = track.copy()
    at = moved["origin"] == origin
    moved.loc[at, "actual"] = moved.loc[at, "q95"]
    other = rollup_backtest(moved, random_seed=3, n=500)
    own = (table["origin"] == origin) & (table["model"] == "workbench")
    quantiles = list(QUANTILE_COLUMNS)
    np.testing.assert_array_equal(table.loc[own, quantiles], other.loc[own, quantiles])
    rest = (table["origin"] != origin) & (table["model"] == "workbench")
    assert not np.array_equal(table.loc[rest, quantiles], other.loc[rest, quantiles])


def test_a_single_unit_is_its_own_company():
    track = synthetic_track(5, 1, 4, 0.0)
    table = rollup_backtest(track, random_seed=4, n=1_000)
    assert table.attrs["dependence"]["revenue"].source == "single unit"
    rows = table[table["origin"] == track["origin"].iloc[0]].set_index("model")
    np.testing.assert_allclose(
        rows.loc["workbench", list(QUANTILE_COLUMNS)].to_numpy(float),
        track.iloc[0][list(QUANTILE_COLUMNS)].to_numpy(float),
        rtol=1e-3,
    )


@pytest.mark.parametrize(
    "track",
    [
        pd.DataFrame(columns=[*COLUMNS, "unit"]),
        synthetic_track(6, 2, 4, 0.0).drop(columns="unit"),
    ],
    ids=["empty", "no unit column"],
)
def test_nothing_to_roll_up_gives_an_empty_table(track):
    table = rollup_backtest(track, random_seed=5)
    assert table.empty and list(table.columns) == COLUMNS
    assert table.attrs["dependence"] == {}
