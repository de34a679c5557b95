"""A month effect shared by every deal: variation from month to month beyond Poisson noise.

Won deals and new deals vary more from month to month than independent deals would (a busy
month, a holiday, a campaign). The forecaster measures that excess by moments (won deals: each
month weighted by its expected count; new deals and leads: from successive months' differences, so a
change of level is not taken for noise), blends it with a default so a short history cannot claim
stability, and multiplies each coming month by a mean-one log-normal factor
``exp(N(-sd^2 / 2, sd))``.
"""

from __future__ import annotations

import numpy as np

from pipeline_models.models.forecaster.config import ForecastConfig


def blend_sd(measured_var: float, n_months: int, cfg: ForecastConfig) -> float:
    """Month-effect sd: the measured log-variance blended with the default, which counts as
    ``month_sd_prior_months`` months of evidence, so a short history cannot claim stability."""
    prior = cfg.month_sd_prior_months
    var = (n_months * measured_var + prior * cfg.default_month_sd**2) / (n_months + prior)
    return max(float(np.sqrt(var)), cfg.min_month_sd)


def successive_excess_log_variance(totals: np.ndarray) -> float:
    """Log-variance of a month effect from monthly ``totals`` expected to stay near one level,
    beyond Poisson noise, read from successive months' differences (von Neumann's mean square
    successive difference): ``tau^2 = (mean(diff^2) / 2 - mean) / mean^2``. A trend or a step in
    the level moves each difference a little and counts about once, where the variance around one
    level would count it in every month (a team ramping up, a jump in lead volume)."""
    mean = float(np.mean(totals)) if len(totals) else 0.0
    if len(totals) < 2 or mean <= 0:
        return 0.0
    excess = (float(np.mean(np.diff(totals) ** 2)) / 2 - mean) / mean**2
    return float(np.log1p(max(excess, 0.0)))


def weighted_excess_log_variance(observed: np.ndarray, fitted: np.ndarray) -> float:
    """Log-variance of a month effect from each month's ``observed`` count and the count the
    model ``fitted`` to it, beyond Poisson noise: DerSimonian and Laird's moment estimator.

    The months are weighted by their expected counts ``mu = fitted * sum(observed) /
    sum(fitted)``, so a month with few expected wins (the first recorded month, say) counts for as
    little as it tells: Pearson's ``Q = sum((observed - mu)^2 / mu)`` exceeds its ``k - 1`` degrees
    of freedom by ``tau^2 (sum(mu) - sum(mu^2) / sum(mu))``, where ``tau^2`` is the variance of a
    mean-one factor on every month."""
    total = float(fitted.sum())
    if len(fitted) < 2 or total <= 0 or observed.sum() <= 0:
        return 0.0
    mu = fitted * (observed.sum() / total)
    q = float(np.sum((observed - mu) ** 2 / mu))
    scale = float(mu.sum() - (mu**2).sum() / mu.sum())
    return float(np.log1p(max(q - (len(mu) - 1), 0.0) / scale)) if scale > 0 else 0.0


def effect_draws(rng: np.random.Generator, sd: float, size: tuple[int, ...]) -> np.ndarray:
    """Mean-one log-normal month factors of log-sd ``sd``."""
    return np.exp(rng.normal(-0.5 * sd * sd, sd, size=size))


__all__ = [
    "blend_sd",
    "effect_draws",
    "successive_excess_log_variance",
    "weighted_excess_log_variance",
]
