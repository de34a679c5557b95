"""Posterior median and equal-tailed interval per level, and which interval a quantity is shown
with: an estimate (a rate, size, value or lever) with :data:`~pipeline_models.analyses.policy.
INTERVAL`, an outcome still to come (the forecast revenue) with
:data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL

from .levels import level_dim_of

OUTCOMES = ("forecast_revenue",)
"""Variables of the draws that are outcomes still to come rather than estimates."""


def interval_for(variable: object) -> float:
    """Probability of the interval a variable of the draws is shown with."""
    return FORECAST_INTERVAL if variable in OUTCOMES else INTERVAL


def interval_table(
    values: xr.DataArray, raw: pd.Series | None = None, prob: float = INTERVAL
) -> pd.DataFrame:
    """Posterior median and equal-tailed ``prob`` interval per level, the raw figure beside.

    Returns columns ``raw, median, lower, upper``, indexed by level, sorted by median (highest
    first).
    """
    dim = level_dim_of(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    lo, med, hi = np.nanquantile(arr, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    table = pd.DataFrame(
        {"median": med, "lower": lo, "upper": hi},
        index=pd.Index(values[dim].values.tolist(), name=dim),
    )
    table.insert(0, "raw", np.nan if raw is None else raw.reindex(table.index).to_numpy(float))
    return table.sort_values("median", ascending=False)
