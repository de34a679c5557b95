"""How likely each level is the best on a measure, from joint posterior draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.analyses.policy import INTERVAL

from .levels import level_dim_of

MEASURES: dict[str, tuple[str, bool]] = {
    "revenue_per_opportunity": ("expected revenue per opportunity", True),
    "revenue_per_month": ("expected revenue per month of current volume", True),
    "win_rate": ("win rate of closed deals", True),
    "deal_size": ("mean won deal", True),
    "cycle_days": ("median days to win", False),
    "forecast_revenue": ("forecast revenue", True),
    "revenue_per_lead": ("expected revenue per lead", True),
}
"""Measures a ranking can use: variable -> (reader's label, higher is better)."""


def rank_probabilities(
    values: xr.DataArray,
    top_k: int = 1,
    higher_is_better: bool = True,
    prob: float = INTERVAL,
    random_seed: int | None = 0,
) -> pd.DataFrame:
    """How likely each level is the best, or among the best ``top_k``, from joint draws.

    In every joint draw the levels are ranked (1 = best; exact ties broken at random); a level's
    ``p_best`` is the share of draws in which it ranks first and ``p_top_k`` the share in which it
    ranks ``top_k`` or better, so the ``p_top_k`` of all levels sum to ``min(top_k, levels)``. A
    level with few deals has wide draws and does not rank first on luck: it ranks first only in
    the draws where it really beats the others.

    Returns
    -------
    pandas.DataFrame
        Indexed by level: ``p_best``, ``p_top_k``, ``median_rank``, ``rank_lower``,
        ``rank_upper`` (``prob`` interval), sorted by ``p_top_k`` then ``p_best``.
    """
    dim = level_dim_of(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    if not higher_is_better:
        arr = -arr
    arr = np.where(np.isnan(arr), -np.inf, arr)
    rng = np.random.default_rng(random_seed)
    jitter = rng.random(arr.shape)  # breaks exact ties only: lexsort uses it after the value
    order = np.lexsort((jitter, -arr), axis=1)
    ranks = np.empty_like(order)
    rows = np.arange(arr.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, arr.shape[1] + 1)[None, :]
    lo, med, hi = np.quantile(ranks, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    table = pd.DataFrame(
        {
            "p_best": (ranks == 1).mean(axis=0),
            "p_top_k": (ranks <= top_k).mean(axis=0),
            "median_rank": med,
            "rank_lower": lo,
            "rank_upper": hi,
        },
        index=pd.Index(values[dim].values.tolist(), name=dim),
    )
    return table.sort_values(
        ["p_top_k", "p_best", "median_rank"], ascending=[False, False, True], kind="stable"
    )
