"""The month effect's moment estimators: won deals' months weighted by their expected counts, new
deals' and leads' from successive months' differences."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_models.models.forecaster.month_effect import (
    successive_excess_log_variance,
    weighted_excess_log_variance,
)


def _months(seed: int, sd: float, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Counts of ``n`` months whose expected counts range 2-80, each times a mean-one log-normal
    month effect of log-sd ``sd``."""
    rng = np.random.default_rng(seed)
    fitted = rng.uniform(2, 80, n)
    effect = np.exp(rng.normal(-sd * sd / 2, sd, n))
    return rng.poisson(fitted * effect).astype(float), fitted


@pytest.mark.parametrize("sd", [0.1, 0.25])
def test_the_estimate_recovers_a_known_month_effect(sd):
    """Over 40 histories of 400 months, the mean estimate is within 0.01 of the truth (200
    histories gave 0.1007 and 0.2495, each with an sd of 0.014 by history: the mean of 40 has an
    sd of 0.0022), and every history within 0.06 (the 1%-99% range was +-0.035)."""
    estimates = np.array(
        [np.sqrt(weighted_excess_log_variance(*_months(seed, sd))) for seed in range(40)]
    )
    assert abs(estimates.mean() - sd) < 0.01
    assert np.abs(estimates - sd).max() < 0.06


def test_poisson_months_show_little_effect():
    """Without a month effect the estimate is small (truncated at zero, so not zero on average:
    200 histories gave a mean of 0.018 and a 99% point of 0.068)."""
    estimates = [np.sqrt(weighted_excess_log_variance(*_months(seed, 0.0))) for seed in range(40)]
    assert np.mean(estimates) < 0.035
    assert max(estimates) < 0.1


def test_a_month_with_few_expected_counts_weighs_little():
    """A first recorded month with 7 wins where 2.8 were expected, beside 24 steady months of 40:
    weighted by expected counts it moves the estimate little (below 0.1); as a plain variance of
    the ratios, which counts 7 / 2.8 like any month, it gave 0.25-0.26 on the same months."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        fitted = np.r_[2.8, np.full(24, 40.0)]
        observed = np.r_[7.0, rng.poisson(40, 24)]
        assert np.sqrt(weighted_excess_log_variance(observed, fitted)) < 0.1


def test_equal_expected_counts_weigh_months_alike():
    """With every month expecting the same count the weights are equal: the ratios' variance
    about their mean, less 1 / mean, by hand."""
    observed = np.array([30.0, 52.0, 41.0, 25.0, 47.0])
    mean = observed.mean()
    by_hand = np.var(observed / mean, ddof=1) - 1 / mean
    assert by_hand > 0
    assert weighted_excess_log_variance(observed, np.full(5, 10.0)) == pytest.approx(
        np.log1p(by_hand)
    )


@pytest.mark.parametrize("sd", [0.1, 0.25])
def test_successive_differences_recover_a_known_month_effect(sd):
    """Months at one level of 500 with a month effect: over 40 histories of 200 months the mean
    estimate is within 0.015 of the truth (200 histories gave 0.101 and 0.251 with an sd of 0.008
    and 0.019 by history)."""
    estimates = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        effect = np.exp(rng.normal(-sd * sd / 2, sd, 200))
        totals = rng.poisson(500 * effect).astype(float)
        estimates.append(np.sqrt(successive_excess_log_variance(totals)))
    assert abs(np.mean(estimates) - sd) < 0.015


@pytest.mark.parametrize(("shape", "bound"), [("ramp", 0.12), ("step", 0.15)])
def test_a_change_of_level_is_not_taken_for_month_to_month_noise(shape, bound):
    """Twelve months ramping from 300 to 900 (a team growing), or stepping from 500 to 800 after
    six (a jump in lead volume), without a month effect. The successive differences see little:
    the ramp below 0.12 in each of 20 histories (0.085 at the 99% point of 200), the step below
    0.15 (its one difference of 300 alone gives about 0.1; 0.127 at the 99% point). The variance
    about one level takes the change itself for noise: above 0.2 in every history."""
    level = (
        np.linspace(300, 900, 12) if shape == "ramp" else np.r_[np.full(6, 500), np.full(6, 800)]
    )
    for seed in range(20):
        totals = np.random.default_rng(seed).poisson(level).astype(float)
        assert np.sqrt(successive_excess_log_variance(totals)) < bound
        about_one_level = np.var(totals / totals.mean(), ddof=1) - 1 / totals.mean()
        assert np.sqrt(np.log1p(about_one_level)) > 0.2


def test_no_counts_or_one_month_measure_nothing():
    assert weighted_excess_log_variance(np.zeros(4), np.full(4, 3.0)) == 0.0
    assert weighted_excess_log_variance(np.array([5.0]), np.array([4.0])) == 0.0
    assert successive_excess_log_variance(np.zeros(4)) == 0.0
    assert successive_excess_log_variance(np.array([5.0])) == 0.0
