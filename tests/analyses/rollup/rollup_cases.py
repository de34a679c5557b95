"""Synthetic track records of several units whose forecasts are calibrated normals and whose
misses share one common factor (a one-factor Gaussian copula with correlation ``rho``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from pipeline_models.analyses.forecast.track import FORECAST_COLUMNS
from pipeline_models.models.forecaster import QUANTILE_COLUMNS, QUANTILES


def one_factor_scores(rng: np.random.Generator, n: int, units: int, rho: float) -> np.ndarray:
    """``n`` × ``units`` standard normals, every two correlated ``rho``."""
    common = rng.standard_normal((n, 1))
    return np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal((n, units))


def normal_row(origin, target, mean, sd, actual, unit, horizon=1) -> dict:
    """A unit's ``"workbench"`` row: a normal forecast as its seven quantiles."""
    values = mean + sd * norm.ppf(QUANTILES)
    return {
        "origin": origin,
        "target": target,
        "horizon_months": horizon,
        "point": float(mean),
        **dict(zip(QUANTILE_COLUMNS, values.tolist(), strict=True)),
        "model": "workbench",
        "actual": float(actual),
        "unit": unit,
    }


def synthetic_track(
    seed: int, units: int, origins: int, rho: float, target: str = "revenue"
) -> pd.DataFrame:
    """Stacked track records: each unit's forecast ``N(mean_u, sd_u)`` at every origin, calibrated
    (its actual is ``mean_u + sd_u * Z_u``), the units' ``Z`` correlated ``rho``. Means stay far
    above zero (at least 12 sd), so no forecast reaches below zero."""
    rng = np.random.default_rng(seed)
    means = rng.uniform(120, 300, size=units)
    sds = rng.uniform(3, 10, size=units)
    z = one_factor_scores(rng, origins, units, rho)
    dates = pd.date_range("2023-01-31", periods=origins, freq="ME").strftime("%Y-%m-%d")
    rows = [
        normal_row(dates[o], target, means[u], sds[u], means[u] + sds[u] * z[o, u], f"unit {u}")
        for o in range(origins)
        for u in range(units)
    ]
    return pd.DataFrame(rows, columns=[*FORECAST_COLUMNS, "actual", "unit"])
