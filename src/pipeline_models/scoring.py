"""Scores of forecasts against what happened: WAPE, bias, CRPS and interval coverage.

The back-test file format (one row per origin, target and horizon) is a public interface::

    origin,target,horizon_months,point,q05,q10,q25,q50,q75,q90,q95,model[,actual]

``target`` is ``count`` (deals won) or ``revenue`` (revenue won) within the window after the
origin. Baselines that give only a point leave the quantile columns empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILES = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)
QUANTILE_COLUMNS = tuple(f"q{int(round(q * 100)):02d}" for q in QUANTILES)
FORECAST_COLUMNS = ("origin", "target", "horizon_months", "point", *QUANTILE_COLUMNS, "model")


def quantile_row(draws: np.ndarray) -> dict[str, float]:
    """The quantile columns of one predictive distribution given as draws."""
    values = np.quantile(np.asarray(draws, dtype=float), QUANTILES)
    return dict(zip(QUANTILE_COLUMNS, values.tolist(), strict=True))


def crps_from_quantiles(actual: float, quantiles: dict[str, float]) -> float:
    """CRPS approximated by twice the mean pinball loss over the stored quantile levels.

    With the seven stored levels this is the quantile score that a reader of the CSV can
    reproduce exactly; for a point forecast (no quantiles) CRPS is the absolute error.
    """
    losses = []
    for level, column in zip(QUANTILES, QUANTILE_COLUMNS, strict=True):
        q = quantiles.get(column)
        if q is None or pd.isna(q):
            return float("nan")
        losses.append(max(level * (actual - q), (level - 1) * (actual - q)))
    return 2.0 * float(np.mean(losses))


def crps_from_draws(actual: float, draws: np.ndarray) -> float:
    """Exact CRPS of an empirical distribution: E|X - y| - E|X - X'| / 2."""
    x = np.sort(np.asarray(draws, dtype=float))
    n = len(x)
    term1 = np.mean(np.abs(x - actual))
    # E|X - X'| for sorted samples: 2 / n^2 * sum_i (2i - n - 1) x_i
    weights = 2 * np.arange(1, n + 1) - n - 1
    term2 = 2.0 * np.sum(weights * x) / (n * n)
    return float(term1 - 0.5 * term2)


def score_table(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Scores per model, target and horizon from a forecasts table with an ``actual`` column.

    WAPE = sum |point - actual| / sum actual; bias = sum (point - actual) / sum actual (positive:
    forecasts too high); CRPS averaged over origins; coverage = share of actuals inside the central
    50% (q25..q75) and 80% (q10..q90) intervals.
    """
    rows = []
    for (model, target, horizon), group in forecasts.groupby(
        ["model", "target", "horizon_months"], sort=True
    ):
        actual = group["actual"].to_numpy(float)
        point = group["point"].to_numpy(float)
        denominator = np.sum(np.abs(actual))
        crps = [
            crps_from_quantiles(a, dict(zip(QUANTILE_COLUMNS, r, strict=True)))
            if not np.isnan(r).any()
            else abs(p - a)
            for a, p, r in zip(
                actual, point, group[list(QUANTILE_COLUMNS)].to_numpy(float), strict=True
            )
        ]
        has_intervals = group["q10"].notna().all()
        rows.append(
            {
                "model": model,
                "target": target,
                "horizon_months": int(horizon),
                "origins": len(group),
                "wape": float(np.sum(np.abs(point - actual)) / denominator)
                if denominator
                else np.nan,
                "bias": float(np.sum(point - actual) / denominator) if denominator else np.nan,
                "crps": float(np.mean(crps)),
                "coverage_50": float(np.mean((actual >= group["q25"]) & (actual <= group["q75"])))
                if has_intervals
                else np.nan,
                "coverage_80": float(np.mean((actual >= group["q10"]) & (actual <= group["q90"])))
                if has_intervals
                else np.nan,
            }
        )
    return pd.DataFrame(rows)
