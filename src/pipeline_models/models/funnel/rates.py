"""The funnel's rates with censoring: opportunity -> won by level, lead -> opportunity by source.

Per level, a won deal is a success, a lost deal a failure, and an open deal of age ``a`` the
censored trial ``1 - w F_W(a) - (1 - w) lam F_L(a)`` (``lam``: the level's share of not-won deals
marked lost); a converted lead is a success and an open lead of age ``a`` the trial
``1 - c F_1(a)``. The rates are drawn by :func:`~pipeline_models.models.pooling.censored_beta.
censored_beta_rates`, pooled over levels by a Beta population.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import DAYS_PER_MONTH
from pipeline_models.models.funnel.change import conversion_changes
from pipeline_models.models.funnel.config import F_MAX, FunnelConfig
from pipeline_models.models.funnel.drift import drift_fit, drifted, estimate_age
from pipeline_models.models.funnel.groups import codes, distinct_pairs
from pipeline_models.models.funnel.lags import LagDistribution
from pipeline_models.models.funnel.lost_share import lost_share, shrunk_lost_share
from pipeline_models.models.funnel.tally import Tally, exposure_rows, recorded
from pipeline_models.models.funnel.timing import ALL
from pipeline_models.models.pooling.censored_beta import censored_beta_rates


def recency_weights(age_days: np.ndarray, half_life_months: float | None) -> np.ndarray:
    """``0.5 ** (age in months / half_life_months)``; all ones without a half-life."""
    age_days = np.asarray(age_days, dtype=float)
    if not half_life_months:
        return np.ones(len(age_days))
    return 0.5 ** (np.maximum(age_days, 0.0) / DAYS_PER_MONTH / half_life_months)


def lost_shares(
    tally: Tally,
    levels: list[str],
    lag_won: dict[str, LagDistribution],
    lag_lost: dict[str, LagDistribution],
    overall: float,
) -> dict[str, float]:
    """Each level's share of not-won deals that are marked lost, shrunk toward the ``overall``
    share (:func:`~.lost_share.shrunk_lost_share`)."""
    out = {}
    for j, lv in enumerate(levels):
        won, lost, ages, n = tally.level(j)
        own = lost_share(
            won, lost, ages, n, lag_won.get(lv, lag_won[ALL]), lag_lost.get(lv, lag_lost[ALL])
        )
        out[lv] = shrunk_lost_share(own, lost, overall)
    return out


def win_draws(
    tally: Tally,
    levels: list[str],
    lag_won: dict[str, LagDistribution],
    lag_lost: dict[str, LagDistribution],
    shares: dict[str, float],
    overall_share: float,
    cfg: FunnelConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Posterior draws of each level's chance that an opportunity is ever won (draws x levels)."""
    k, exposures = [], []
    for j, lv in enumerate(levels):
        lam = shares.get(lv, overall_share)
        won, lost, ages, n = tally.level(j)
        fw = lag_won.get(lv, lag_won[ALL])
        fl = lag_lost.get(lv, lag_lost[ALL])
        a = np.minimum(fw.cdf(ages), F_MAX)
        b = lam * np.minimum(fl.cdf(ages), F_MAX)
        rows_ab = exposure_rows(a, b, n.astype(float))
        if lost:
            rows_ab = np.vstack([rows_ab, [[1.0, 0.0, lost]]])
        k.append(won)
        exposures.append(rows_ab)
    return censored_beta_rates(
        np.array(k), exposures, cfg.draws, rng, cfg.kappa_median, cfg.kappa_log_sd
    )


def conversion_draws(
    leads: pd.DataFrame,
    start: pd.Timestamp,
    first_conversion: pd.Timestamp | None,
    sources: list[str],
    lag_convert: dict[str, LagDistribution],
    cfg: FunnelConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Posterior draws of each source's chance that a lead ever converts (draws x sources), from
    the leads created after ``start`` (and recorded), with the counts behind them: leads,
    converted, ``still_open`` (the young leads' share of a trial not yet played), ``changed``
    (months since a change in the source's conversion, 0: none found), ``change_ratio`` (the
    recent rate over the earlier one) and ``estimate_age`` (the months the weighted rate speaks
    for, 0 after a change: the rate is not moved); and the drift's posterior mean and sd
    (:func:`~.drift.drift_fit`).

    Each lead's trial is weighted by its recency, ``0.5 ** (age in months /
    conversion_half_life)`` (a discounted likelihood): the rate follows a shift or drift in
    conversion, and its interval widens as recent leads carry less weight than all leads would.
    Where the last months' leads convert unlike the earlier ones (:mod:`.change`), only the
    leads since the change count, and the rate is current. A drift common to the other sources,
    fitted on their leads, moves each of their rates from the age its leads speak for to now
    (:mod:`.drift`).
    """
    created = leads["created"].to_numpy(dtype="datetime64[ns]")
    recent = recorded(created > np.datetime64(start, "ns"), created, first_conversion)
    source = codes(leads["source"], sources)[recent]
    converted = leads["converted"].to_numpy(bool)[recent]
    age = leads["age"].to_numpy(float)[recent]
    cdf = np.zeros(len(age))
    for j, s in enumerate(sources):
        pick = source == j
        cdf[pick] = np.minimum(lag_convert[s].cdf(age[pick]), F_MAX)
    changed, ratio = conversion_changes(source, converted, age, cdf, len(sources))
    since = np.where(changed > 0, changed * DAYS_PER_MONTH, np.inf)
    kept = age < since[source]
    weight = recency_weights(age, cfg.conversion_half_life) * kept
    n_leads = np.bincount(source, minlength=len(sources))
    n_converted = np.bincount(source[converted], minlength=len(sources))
    k_weighted = np.bincount(source[converted], weights=weight[converted], minlength=len(sources))
    level, ages, n = distinct_pairs(source[~converted], age[~converted])
    k, exposures, counts = [], [], []
    for j, s in enumerate(sources):
        pick = level == j
        f1 = np.minimum(lag_convert[s].cdf(ages[pick]), F_MAX)
        k.append(float(k_weighted[j]))
        n_weighted = n[pick] * recency_weights(ages[pick], cfg.conversion_half_life)
        n_weighted = n_weighted * (ages[pick] < since[j])
        exposures.append(exposure_rows(f1, np.zeros(len(f1)), n_weighted))
        young = float(((1 - f1) * n[pick]).sum())
        counts.append(
            (int(n_leads[j]), int(n_converted[j]), young, int(changed[j]), float(ratio[j]))
        )
    draws = censored_beta_rates(
        np.array(k), exposures, cfg.draws, rng, cfg.kappa_median, cfg.kappa_log_sd
    )
    steady = changed[source] == 0  # after a step a rate is already current: not moved
    drift = drift_fit(source[steady], converted[steady], age[steady], cdf[steady], len(sources))
    aged = np.where(changed > 0, 0.0, estimate_age(source, age, cdf, weight, len(sources)))
    draws = drifted(draws, aged, drift, rng)
    table = pd.DataFrame(
        counts,
        index=sources,
        columns=["leads", "converted", "still_open", "changed", "change_ratio"],
    )
    table["estimate_age"] = aged
    return draws, table, drift


__all__ = ["conversion_draws", "lost_shares", "recency_weights", "win_draws"]
