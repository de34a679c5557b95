"""The chance that an account buys at all within a horizon: learned from the horizon just past.

At the window's start ``t0 = as_of - horizon`` an account is *at risk* when it had a deal by then
(created, or closed when it has no creation date). It *bought* when it won a deal closing in
``(t0, as_of]``. Accounts with a deal open at ``t0`` buy far more often than the others, so the
two are counted apart: per state (open deal or not) and segment, ``bought ~ Binomial(at risk, p)``
with the segments' ``p`` drawn from a Beta population per state, ``p ~ Beta(mu kappa, (1 - mu)
kappa)``, whose ``mu`` and ``kappa`` are integrated over on a grid
(:func:`~pipeline_models.models.pooling.censored_beta.censored_beta_rates`). An account today gets
the rate of its segment in its state today.

Why not the empirical-Bayes Beta-binomial (:mod:`~pipeline_models.models.pooling.beta_binomial`):
with a few segments of some tens of accounts each, its single best ``kappa`` often sits at its cap
(all trials), and the segments' intervals are then too narrow: on simulated accounts whose
segments differ, its 90% intervals held the true chance of accounts with an open deal in about
two cells in three; integrating over ``kappa`` brings that to nine in ten.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.models.pooling.censored_beta import censored_beta_rates

from .purchases import Purchases, horizon_start

STATES = (False, True)
"""Whether an account has an open deal (at the window's start, or today)."""


def buy_counts(
    frame: pd.DataFrame, purchases: Purchases, as_of: pd.Timestamp, horizon_months: int
) -> pd.DataFrame:
    """Accounts at risk at the window's start and those that bought in it, by state and segment
    (index ``open_deal``, ``segment``; columns ``at_risk``, ``bought``)."""
    t0 = horizon_start(as_of, horizon_months)
    as_of = pd.Timestamp(as_of).normalize()
    rows = frame[frame["account"].notna()]
    start = pd.to_datetime(rows["created_date"]).fillna(pd.to_datetime(rows["close_date"]))
    close = pd.to_datetime(rows["close_date"])
    status = rows["status"].astype("string")
    closed = status.isin(["won", "lost"]).to_numpy(dtype=bool, na_value=False)
    known = (start <= t0).to_numpy(dtype=bool, na_value=False)
    closed_by_t0 = closed & (close <= t0).to_numpy(dtype=bool, na_value=False)
    won_in = (status == "won").to_numpy(dtype=bool, na_value=False) & (
        (close > t0) & (close <= as_of)
    ).to_numpy(dtype=bool, na_value=False)
    per_deal = pd.DataFrame(
        {
            "account": rows["account"].astype(str).to_numpy(),
            "at_risk": known,
            "open_deal": known & ~closed_by_t0,
            "bought": won_in,
        }
    )
    per_account = per_deal.groupby("account").any()
    per_account = per_account[per_account["at_risk"]]
    segment = pd.Series(
        np.asarray(purchases.segments)[purchases.segment_of], index=purchases.accounts
    )
    per_account["segment"] = segment.reindex(per_account.index).fillna(purchases.segments[0])
    counts = per_account.groupby(["open_deal", "segment"]).agg(
        at_risk=("at_risk", "size"), bought=("bought", "sum")
    )
    full = pd.MultiIndex.from_product([STATES, purchases.segments], names=["open_deal", "segment"])
    return counts.reindex(full, fill_value=0).astype(int)


def buy_draws(
    counts: pd.DataFrame,
    draws: int,
    rng: np.random.Generator,
    kappa_median: float,
    kappa_log_sd: float,
) -> np.ndarray:
    """Posterior draws of each state and segment's chance to buy (rows of ``counts`` x draws),
    segments pooled within each state under a Beta population whose concentration is integrated
    over (:func:`~pipeline_models.models.pooling.censored_beta.censored_beta_rates`, every trial
    a plain one)."""
    out = np.empty((len(counts), draws))
    for state in STATES:
        rows = np.flatnonzero(counts.index.get_level_values("open_deal") == state)
        c = counts.iloc[rows]
        failures = [
            np.array([[1.0, 0.0, float(n - k)]])
            for k, n in zip(c["bought"], c["at_risk"], strict=True)
        ]
        out[rows] = censored_beta_rates(
            c["bought"].to_numpy(dtype=float), failures, draws, rng, kappa_median, kappa_log_sd
        ).T
    return out


def buy_rates(counts: pd.DataFrame, draws: np.ndarray, interval: float) -> pd.DataFrame:
    """``counts`` with the chance to buy: posterior ``mean`` and the equal-tailed ``interval``
    (``lower``, ``upper``) of ``draws`` (rows as in ``counts``)."""
    lower, upper = np.quantile(draws, [(1 - interval) / 2, (1 + interval) / 2], axis=1)
    return counts.assign(mean=draws.mean(axis=1), lower=lower, upper=upper)


__all__ = ["STATES", "buy_counts", "buy_draws", "buy_rates"]
