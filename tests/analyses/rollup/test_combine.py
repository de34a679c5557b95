"""Units' draws combined by a Gaussian copula: each unit kept whole, the company mean exact, the
dependence as asked; a unit's forecast read back from its seven quantiles; the common
correlation recovered from synthetic track records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rollup_cases import synthetic_track
from scipy import stats
from scipy.stats import norm

from pipeline_models.analyses.rollup import (
    MIN_ORIGINS,
    ROLLUP_FORMULA,
    combine_draws,
    estimate_dependence,
    pit_from_quantiles,
    quantile_draws,
)
from pipeline_models.models.forecaster import QUANTILE_COLUMNS, QUANTILES


def _units(seed: int, n: int, units: int = 4, columns: int = 3) -> list[np.ndarray]:
    """Skewed draws (gamma, lognormal) of different sizes per unit, several columns each."""
    rng = np.random.default_rng(seed)
    out = []
    for u in range(units):
        base = rng.gamma(2.0 + u, 10.0 * (u + 1), size=n)
        extra = rng.lognormal(1.0, 0.5, size=(n, columns - 1)) * (u + 1)
        out.append(np.column_stack([base, base[:, None] * 0.3 + extra]))
    return out


def _sorted_rows(matrix: np.ndarray) -> np.ndarray:
    """The rows of a matrix in lexicographic order (its multiset of rows)."""
    return matrix[np.lexsort(matrix.T[::-1])]


def test_the_formula_is_stated():
    assert "Φ(Z_u)" in ROLLUP_FORMULA and "ρ·11ᵀ" in ROLLUP_FORMULA
    assert MIN_ORIGINS == 4


# ---------------------------------------------------------------------------------------------
# combine_draws


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_each_column_mean_is_the_sum_of_the_units_means(rho):
    units = _units(1, 5_000)
    total = combine_draws(units, key=0, rho=rho, random_seed=7)
    assert total.shape == (5_000, 3)
    expected = np.sum([unit.mean(axis=0) for unit in units], axis=0)
    np.testing.assert_allclose(total.mean(axis=0), expected, rtol=1e-9)


@pytest.mark.parametrize("rho", [0.0, 0.5, 1.0])
def test_a_units_rows_come_through_whole(rho):
    rng = np.random.default_rng(2)
    unit = rng.gamma(2.0, 5.0, size=(3_000, 4))
    zeros = np.zeros_like(unit)
    total = combine_draws([zeros, unit, zeros], key=1, rho=rho, random_seed=3)
    np.testing.assert_array_equal(_sorted_rows(total), _sorted_rows(unit))


def test_every_units_paths_across_columns_stay_together():
    # column 0 is the shared key; unit A alone fills columns 1-2, unit B alone columns 3-4, so
    # the total's columns 1-2 are A's rows and 3-4 are B's rows, each reordered as one
    rng = np.random.default_rng(4)
    n = 2_000
    a = rng.gamma(3.0, 2.0, size=(n, 3))
    b = rng.gamma(2.0, 4.0, size=(n, 3))
    unit_a = np.column_stack([a[:, 0], a[:, 1:], np.zeros((n, 2))])
    unit_b = np.column_stack([b[:, 0], np.zeros((n, 2)), b[:, 1:]])
    total = combine_draws([unit_a, unit_b], key=0, rho=0.5, random_seed=5)
    np.testing.assert_array_equal(_sorted_rows(total[:, 1:3]), _sorted_rows(a[:, 1:]))
    np.testing.assert_array_equal(_sorted_rows(total[:, 3:5]), _sorted_rows(b[:, 1:]))


def test_independent_units_add_their_variances():
    units = _units(6, 20_000)
    total = combine_draws(units, key=0, rho=0.0, random_seed=8)
    # Var(total) - Σ Var(unit) is twice the sum of the 6 pairwise sample covariances, each a
    # sample correlation of sd 1/sqrt(n) = 0.0071 times the pair's sd product; for these four
    # units (variances 200, 1200, 3600, 8000) that sd is about 0.7% of Σ Var, so 5% is ~7 sd
    summed = np.sum([unit[:, 0].var() for unit in units])
    assert total[:, 0].var() == pytest.approx(summed, rel=0.05)


def test_units_moving_together_add_their_quantiles():
    units = _units(9, 4_000)
    total = combine_draws(units, key=0, rho=1.0, random_seed=10)
    # comonotone: the total's k-th smallest key draw is the sum of the units' k-th smallest
    np.testing.assert_allclose(
        np.sort(total[:, 0]), np.sum([np.sort(u[:, 0]) for u in units], axis=0), rtol=1e-12
    )
    levels = np.asarray(QUANTILES)
    np.testing.assert_allclose(
        np.quantile(total[:, 0], levels),
        np.sum([np.quantile(u[:, 0], levels) for u in units], axis=0),
        rtol=1e-12,
    )


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.7])
def test_two_units_rank_correlation_is_the_copulas(rho):
    n = 20_000
    rng = np.random.default_rng(11)
    a, b = rng.gamma(2.0, 3.0, size=n), rng.lognormal(2.0, 0.8, size=n)
    zeros = np.zeros(n)
    # the key column is shared; columns 1 and 2 show each unit's reordered key on its own
    total = combine_draws(
        [np.column_stack([a, a, zeros]), np.column_stack([b, zeros, b])],
        key=0,
        rho=rho,
        random_seed=12,
    )
    spearman = stats.spearmanr(total[:, 1], total[:, 2]).statistic
    # Spearman's rho of a Gaussian copula; its sampling sd is below 1/sqrt(n - 1) = 0.0071,
    # so 0.03 is more than 4 sd
    assert spearman == pytest.approx(6 / np.pi * np.arcsin(rho / 2), abs=0.03)


def test_units_with_fewer_draws_are_spread_evenly_over_the_largest():
    rng = np.random.default_rng(13)
    small, large = rng.gamma(2.0, 1.0, size=500), rng.gamma(2.0, 1.0, size=2_000)
    total = combine_draws([small, large], key=0, rho=1.0, random_seed=14)
    assert total.shape == (2_000,)
    # each of the small unit's draws is taken exactly four times (comonotone with rho = 1)
    spread = np.sort(total) - np.sort(large)
    np.testing.assert_allclose(spread, np.repeat(np.sort(small), 4), rtol=0, atol=1e-12)


def test_one_unit_comes_back_as_given():
    unit = np.random.default_rng(15).gamma(2.0, 1.0, size=(100, 2))
    np.testing.assert_array_equal(combine_draws([unit], key=1, rho=0.4, random_seed=1), unit)


def test_the_same_seed_gives_the_same_total():
    units = _units(16, 1_000)
    first = combine_draws(units, key=0, rho=0.4, random_seed=17)
    np.testing.assert_array_equal(first, combine_draws(units, key=0, rho=0.4, random_seed=17))


def test_ties_in_the_key_keep_their_order():
    # every key value equal: the unit's rows are placed in their own order along Z's ranks
    unit = np.column_stack([np.zeros(50), np.arange(50.0)])
    other = np.column_stack([np.arange(50.0), np.zeros(50)])
    total = combine_draws([unit, other], key=0, rho=1.0, random_seed=18)
    # with rho = 1 both units share Z's ranks, so the row holding the other's k-th key holds
    # the unit's k-th row
    np.testing.assert_array_equal(total[:, 1], total[:, 0])


@pytest.mark.parametrize(
    "units, key, rho",
    [([], 0, 0.5), ([np.ones((3, 2)), np.ones((3, 3))], 0, 0.5), ([np.ones(3)], 1, 0.5)],
)
def test_bad_input_is_refused(units, key, rho):
    with pytest.raises(ValueError):
        combine_draws(units, key=key, rho=rho, random_seed=0)


def test_rho_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        combine_draws([np.ones(3), np.ones(3)], key=0, rho=1.2, random_seed=0)


# ---------------------------------------------------------------------------------------------
# pit_from_quantiles and quantile_draws


GAMMA = stats.gamma(3.0, scale=2.0)
GAMMA_QUANTILES = dict(zip(QUANTILE_COLUMNS, GAMMA.ppf(QUANTILES), strict=True))


def test_pit_follows_the_true_cdf_inside_the_stored_quantiles():
    grid = np.linspace(GAMMA_QUANTILES["q05"], GAMMA_QUANTILES["q95"], 200)
    pits = np.array([pit_from_quantiles(x, GAMMA_QUANTILES) for x in grid])
    # linear interpolation of the CDF between stored levels: about 0.015 at worst for this gamma
    np.testing.assert_allclose(pits, GAMMA.cdf(grid), atol=0.02)
    for level, column in zip(QUANTILES, QUANTILE_COLUMNS, strict=True):
        assert pit_from_quantiles(GAMMA_QUANTILES[column], GAMMA_QUANTILES) == pytest.approx(level)


def test_pit_beyond_the_outer_quantiles_follows_a_normal_tail_then_clips():
    # a normal forecast's seven quantiles: beyond q05 and q95 the tail is the normal's own
    q = dict(zip(QUANTILE_COLUMNS, norm.ppf(QUANTILES, 100.0, 15.0), strict=True))
    for actual in (72.0, 74.0, 126.0, 128.0):  # beyond q05 and q95, inside the clip limits
        assert pit_from_quantiles(actual, q) == pytest.approx(norm.cdf(actual, 100.0, 15.0))
    assert pit_from_quantiles(-100.0, q) == 0.005
    assert pit_from_quantiles(1e6, q) == 0.995


def test_pit_at_a_flat_stretch_is_the_middle_of_its_levels():
    zeros = dict.fromkeys(QUANTILE_COLUMNS, 0.0)
    assert pit_from_quantiles(0.0, zeros) == 0.5
    assert pit_from_quantiles(1.0, zeros) == 0.995
    # zero up to q25: the tied levels run from 0 (the flat lower tail) to 0.25
    q = dict(zip(QUANTILE_COLUMNS, [0, 0, 0, 1, 2, 3, 4], strict=True))
    assert pit_from_quantiles(0.0, q) == pytest.approx(0.125)
    # q50 and q75 both 3: the middle of 0.5 and 0.75
    q = dict(zip(QUANTILE_COLUMNS, [1, 2, 2.5, 3, 3, 4, 5], strict=True))
    assert pit_from_quantiles(3.0, q) == pytest.approx(0.625)


def test_pit_of_nan_is_nan():
    assert np.isnan(pit_from_quantiles(np.nan, GAMMA_QUANTILES))
    assert np.isnan(pit_from_quantiles(5.0, {**GAMMA_QUANTILES, "q50": np.nan}))


def test_quantile_draws_pass_through_the_stored_quantiles():
    # with n = 10 the levels (i + 0.5) / 10 include 0.05, 0.25, 0.75 and 0.95 exactly
    draws = quantile_draws(GAMMA_QUANTILES, 10)
    expected = [GAMMA_QUANTILES[c] for c in ("q05", "q25", "q75", "q95")]
    np.testing.assert_allclose(draws[[0, 2, 7, 9]], expected, rtol=1e-12)


def test_quantile_draws_give_back_the_stored_quantiles():
    n = 2_000
    draws = quantile_draws(GAMMA_QUANTILES, n)
    assert np.all(np.diff(draws) >= 0)
    stored = np.array(list(GAMMA_QUANTILES.values()))
    # np.quantile at level p reads the draw of level p - (p - 0.5) / n: off by at most the
    # steepest segment's slope (39 per unit level here) times 0.45 / n, about 0.009
    np.testing.assert_allclose(np.quantile(draws, QUANTILES), stored, atol=0.01)
    # and they follow the true distribution between the stored levels
    levels = (np.arange(n) + 0.5) / n
    inside = (levels >= 0.05) & (levels <= 0.95)
    # (the straight line between q75 and q90 runs up to 3.0% above the gamma's own curve)
    np.testing.assert_allclose(draws[inside], GAMMA.ppf(levels[inside]), rtol=0.04)


def test_quantile_draws_are_never_negative():
    q = dict(zip(QUANTILE_COLUMNS, [0, 1, 2, 3, 4, 5, 6], strict=True))
    draws = quantile_draws(q, 1_000)
    assert draws.min() == 0.0 and draws.max() > 6.0  # the upper tail goes on beyond q95
    with pytest.raises(ValueError):
        quantile_draws({**q, "q90": np.nan}, 10)


def test_quantile_draws_rebuild_a_normal_forecast_with_its_tails():
    # a straight continuation beyond q05/q95 would keep about 92% of the variance
    q = dict(zip(QUANTILE_COLUMNS, norm.ppf(QUANTILES, 100.0, 15.0), strict=True))
    draws = quantile_draws(q, 4_000)
    # the straight segments between stored levels add about 1% to the sd
    assert draws.std() == pytest.approx(15.0, rel=0.02)
    assert np.quantile(draws, 0.01) == pytest.approx(norm.ppf(0.01, 100.0, 15.0), rel=0.002)


# ---------------------------------------------------------------------------------------------
# estimate_dependence


def test_the_common_correlation_is_recovered():
    # at 8 units and 24 origins the estimate's sd across seeds is about 0.10 (mostly the common
    # factor's own sample spread over 24 months; its mean over 40 seeds was 0.48), so one track
    # is held to ±0.15 and the mean of ten tracks (sd about 0.03) to ±0.08
    one = estimate_dependence(synthetic_track(1, 8, 24, 0.5), "revenue")
    assert one.source == "estimated" and one.pairs == 28 and one.origins == 24
    assert one.rho == pytest.approx(0.5, abs=0.15)
    mean = np.mean(
        [estimate_dependence(synthetic_track(s, 8, 24, 0.5), "revenue").rho for s in range(10)]
    )
    assert mean == pytest.approx(0.5, abs=0.08)


def test_independent_units_are_found_independent():
    found = estimate_dependence(synthetic_track(2, 8, 24, 0.0), "revenue")
    # clipped at 0 from below, so the estimate sits in [0, 0.1] (sd across seeds about 0.03)
    assert found.source == "estimated" and found.rho == pytest.approx(0.0, abs=0.15)
    assert "8 units" in found.reason and "24 past months" in found.reason


def test_too_few_shared_origins_assume_the_units_move_together():
    found = estimate_dependence(synthetic_track(3, 5, 3, 0.5), "revenue")
    assert (found.rho, found.source, found.pairs, found.origins) == (1.0, "assumed", 0, 0)
    assert found.reason.startswith("assumed: fewer than 4 past months")
    assert "widest interval" in found.reason


def test_a_single_unit_has_nothing_to_combine():
    found = estimate_dependence(synthetic_track(4, 1, 12, 0.5), "revenue")
    assert (found.rho, found.source, found.pairs, found.origins) == (0.0, "single unit", 0, 0)
    assert "one unit" in found.reason
    empty = estimate_dependence(synthetic_track(4, 1, 12, 0.5).iloc[0:0], "revenue")
    assert empty.source == "single unit" and empty.rho == 0.0


def test_only_the_asked_target_horizon_and_workbench_rows_count():
    track = synthetic_track(5, 4, 12, 0.5)
    assert estimate_dependence(track, "count").source == "single unit"
    assert estimate_dependence(track, "revenue", horizon=2).source == "single unit"
    baseline = track.assign(model="run_rate")
    assert estimate_dependence(baseline, "revenue").source == "single unit"


def test_an_excluded_origin_is_left_out():
    track = synthetic_track(6, 4, 5, 0.5)
    first = track["origin"].iloc[0]
    assert estimate_dependence(track, "revenue").origins == 5
    left_out = estimate_dependence(track, "revenue", exclude_origin=first)
    assert left_out.origins == 4 and left_out.source == "estimated"
    assert left_out == estimate_dependence(track[track["origin"] != first], "revenue")
    # a timestamp names the same origin
    assert estimate_dependence(track, "revenue", exclude_origin=pd.Timestamp(first)) == left_out
    # two left out: fewer than MIN_ORIGINS shared
    fewer = track[track["origin"] != track["origin"].iloc[-1]]
    assert estimate_dependence(fewer, "revenue", exclude_origin=first).source == "assumed"


def test_pairs_count_only_their_shared_origins():
    track = synthetic_track(7, 3, 10, 0.5)
    # unit 2 only at the last 3 origins: its pairs have too few shared origins
    track = track[(track["unit"] != "unit 2") | (track["origin"] >= track["origin"].iloc[-1])]
    found = estimate_dependence(track, "revenue")
    assert found.pairs == 1 and found.origins == 10
    assert "2 units'" in found.reason


def test_a_unit_whose_misses_never_vary_gives_no_pair():
    track = synthetic_track(8, 2, 6, 0.5)
    flat = track["unit"] == "unit 1"
    track.loc[flat, "actual"] = track.loc[flat, "q50"]
    found = estimate_dependence(track, "revenue")
    assert found.source == "assumed" and found.rho == 1.0


def test_negative_correlation_is_taken_as_independence():
    z = np.random.default_rng(9).standard_normal(12)
    track = synthetic_track(9, 2, 12, 0.0)
    sd = track["q95"] - track["q50"]
    sign = np.where(track["unit"] == "unit 0", 1.0, -1.0)
    track["actual"] = track["q50"] + 0.3 * sd * sign * np.repeat(z, 2)
    found = estimate_dependence(track, "revenue")
    assert found.rho == 0.0 and "independent" in found.reason
