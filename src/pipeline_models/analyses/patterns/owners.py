"""Owners against the team: win rate and revenue per closed deal, shrunk toward the team and
adjusted for the mix of deals each owner got.

Win rate: the pooled win-rate model's owner level with the other groups (product, region, lead
source) at their average. Deal size: each won deal's log amount minus the mean log amount of its
product (the mix), averaged per owner and pooled across owners (normal-normal empirical Bayes,
:func:`~pipeline_models.models.pooling.normal_means`); ``size index = exp(pooled residual)``.
Revenue per closed deal at the team's mix = win rate x team mean won amount x size index.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.effects import rate_draws
from pipeline_models.analyses.patterns.fields import CLOSED, WON, deal_status, level_text
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.pooling import normal_means


def _verdict(low: np.ndarray, high: np.ndarray, ref: float) -> np.ndarray:
    """``higher`` / ``lower`` when the interval excludes ``ref``, else ``in line``."""
    return np.where(low > ref, "higher", np.where(high < ref, "lower", "in line"))


def _closed_counts(status: pd.Series, owner: pd.Series, levels: list[str]) -> pd.DataFrame:
    """Closed and won deals per owner level."""
    closed = pd.Series(status.isin(CLOSED).to_numpy(), index=status.index)
    won = pd.Series((status == WON).to_numpy(), index=status.index)
    return pd.DataFrame(
        {
            "closed": closed.groupby(owner.to_numpy()).sum(),
            "won": won.groupby(owner.to_numpy()).sum(),
        }
    ).reindex(levels, fill_value=0)


def _size_index(
    frame: pd.DataFrame,
    owner: pd.Series,
    won_mask: np.ndarray,
    levels: list[str],
    n_draws: int,
    random_seed: int | None,
) -> tuple[np.ndarray, float]:
    """Draws (draw, owner) of each owner's mix-adjusted size index, and the team's mean won
    amount."""
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    ok = won_mask & (amount > 0).fillna(False).to_numpy()
    logs = np.log(amount[ok])
    mix = level_text(frame.loc[ok, "product"]) if "product" in frame else pd.Series("", logs.index)
    resid = logs - logs.groupby(mix.to_numpy()).transform("mean")
    u = normal_means(resid, owner[ok], levels)
    rng = np.random.default_rng(random_seed)
    draws = u["mean"].to_numpy()[None, :] + u["sd"].to_numpy()[None, :] * rng.standard_normal(
        (n_draws, len(levels))
    )
    team_amount = float(amount[ok].mean()) if ok.any() else np.nan
    return np.exp(draws), team_amount


def owner_table(
    frame: pd.DataFrame,
    win_model: object,
    interval: float = INTERVAL,
    random_seed: int | None = None,
) -> pd.DataFrame | None:
    """Win rate and revenue per closed deal per owner, shrunk toward the team and mix-adjusted.

    See the module docstring for the estimates. ``vs team`` is ``higher`` / ``lower`` when the
    interval excludes the team's value (the average owner), else ``in line``. ``None`` when the
    win-rate model has no owner term.

    Returns
    -------
    pandas.DataFrame
        Indexed by owner: ``closed, won, observed rate, win rate, lower, upper, win rate vs team,
        revenue won, size index, revenue per closed deal, rev lower, rev upper, revenue vs team``;
        sorted by win rate. ``attrs`` holds ``team_rate`` and ``team_revenue_per_deal``.
    """
    if "owner" not in getattr(win_model, "terms_", {}):
        return None
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    base, rates, levels = rate_draws(win_model, "owner")
    status = deal_status(frame)
    owner = level_text(frame["owner"])
    won_mask = (status == WON).to_numpy()
    counts = _closed_counts(status, owner, levels)
    size_index, team_amount = _size_index(
        frame, owner, won_mask, levels, rates.shape[0], random_seed
    )
    revenue = rates * team_amount * size_index
    team_rate = float(np.mean(base))
    team_rev = team_rate * team_amount
    amount = pd.to_numeric(frame["amount"], errors="coerce")
    revenue_won = amount.where(won_mask).groupby(owner.to_numpy()).sum().reindex(levels).fillna(0)
    r_lo, r_hi = np.quantile(rates, [lo, hi], axis=0)
    v_lo, v_hi = np.quantile(revenue, [lo, hi], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = counts["won"] / counts["closed"].replace(0, np.nan)
    out = pd.DataFrame(
        {
            "closed": counts["closed"].astype(int).to_numpy(),
            "won": counts["won"].astype(int).to_numpy(),
            "observed rate": observed.to_numpy(),
            "win rate": rates.mean(axis=0),
            "lower": r_lo,
            "upper": r_hi,
            "win rate vs team": _verdict(r_lo, r_hi, team_rate),
            "revenue won": revenue_won.to_numpy(),
            "size index": size_index.mean(axis=0),
            "revenue per closed deal": revenue.mean(axis=0),
            "rev lower": v_lo,
            "rev upper": v_hi,
            "revenue vs team": _verdict(v_lo, v_hi, team_rev),
        },
        index=pd.Index(levels, name="owner"),
    )
    out = out.sort_values("win rate", ascending=False)
    out.attrs = {"team_rate": team_rate, "team_revenue_per_deal": team_rev}
    return out


__all__ = ["owner_table"]
