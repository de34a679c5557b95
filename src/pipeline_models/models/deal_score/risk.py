"""Deal scores as the forecaster reads them: each open deal's odds against the deals that were
open at the same age.

The forecaster's hazards at age ``k`` are learned from the deals that were still open at age
``k`` (its risk set). Deals that win quickly leave the risk set early, so the deals still open at
an age are weaker on average than the deals that were created. Scaling an open deal's hazards by
its odds against *all* fitted deals would count that twice. Here the reference is the mean
log-odds score of the deals of the same group that were open at the same age (at least
``MIN_RISK_SET`` of them; else the same age over all groups; else the group's deals), so an open
deal that is as strong as the deals usually still open at its age keeps the forecaster's chance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.models.deal_score.deals import with_account_past

if TYPE_CHECKING:
    from pipeline_models.models.deal_score.model import DealScoreModel

MAX_AGE = 24
"""Ages in months beyond this share the reference of this age (few deals live longer)."""
MIN_RISK_SET = 30
"""Fewer deals open at an age in a group than this: the reference of that age over all groups."""


def _months(dates: pd.Series) -> np.ndarray:
    dates = pd.to_datetime(dates)
    return (dates.dt.year * 12 + dates.dt.month).to_numpy(dtype=float, na_value=np.nan)


def risk_set_odds(
    score: DealScoreModel,
    opportunities: pd.DataFrame,
    origin: pd.Timestamp | str,
    group: str = "product",
) -> pd.Series:
    """Every deal's odds of being won against the deals of its ``group`` level that were open
    at its age at ``origin`` (index of ``opportunities``; 1 for a deal without a creation date).
    ``opportunities`` is the whole table as known at ``origin``."""
    view = with_account_past(opportunities)
    p = np.clip(score.predict(view), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p))
    origin = pd.Timestamp(origin)
    origin_month = origin.year * 12 + origin.month
    created = _months(view["created_date"])
    close = pd.to_datetime(view["close_date"])
    closed = view["status"].isin(["won", "lost"]).to_numpy() & (close <= origin).to_numpy()
    end = np.where(closed, _months(close), origin_month)
    dated = np.isfinite(created)
    span = np.clip(np.nan_to_num(end - created), 0, MAX_AGE).astype(np.int64)
    age = np.clip(np.nan_to_num(origin_month - created), 0, MAX_AGE).astype(np.int64)
    levels = view[group].astype(str).to_numpy() if group in view else np.full(len(view), "")
    codes, names = pd.factorize(levels)
    ref = _reference(z[dated], span[dated], codes[dated], len(names))
    odds = np.ones(len(view))
    odds[dated] = np.exp(z[dated] - ref[codes[dated], age[dated]])
    return pd.Series(odds, index=opportunities.index)


def _reference(z: np.ndarray, span: np.ndarray, codes: np.ndarray, groups: int) -> np.ndarray:
    """Mean score (log-odds) of the deals open at each age, (groups, ages): deals seen open at
    ages 0 to ``span``."""
    ages = MAX_AGE + 1

    def at_least(weights: np.ndarray, where: np.ndarray) -> np.ndarray:
        # sums over deals whose span is at least each age: counts by span, summed from the top
        by_span = np.bincount(span[where], weights=weights[where], minlength=ages)
        return by_span[::-1].cumsum()[::-1]

    everyone = np.ones(len(z), bool)
    total_n, total_z = at_least(np.ones(len(z)), everyone), at_least(z, everyone)
    overall = np.divide(total_z, total_n, out=np.zeros(ages), where=total_n > 0)
    overall = np.where(total_n >= MIN_RISK_SET, overall, z.mean() if len(z) else 0.0)
    ref = np.empty((max(groups, 1), ages))
    for g in range(groups):
        mine = codes == g
        n, s = at_least(np.ones(len(z)), mine), at_least(z, mine)
        mean = np.divide(s, n, out=np.zeros(ages), where=n > 0)
        ref[g] = np.where(n >= MIN_RISK_SET, mean, overall)
    return ref


__all__ = ["MAX_AGE", "MIN_RISK_SET", "risk_set_odds"]
