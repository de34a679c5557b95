"""Closing hazards of deals: won, lost or still open in each month, by group and age.

A discrete-time competing-risks model: in every calendar month an open deal of age ``k`` closes
won with hazard ``h_won[g, k]``, closes lost with ``h_lost[g, k]``, or stays open. Open deals are
right-censored observations, so deals that sit open for ever (stalled) drive the hazards of old
ages toward zero and count for little. Deal-months weigh less the older they are (half-life
``hazard_half_life``); the hazards have Dirichlet posteriors pooled over groups and ages
(:mod:`~pipeline_models.models.pooling.dirichlet_hazards`).

A month-of-quarter factor on the won hazard captures quarter-end pushes where the history supports
one: ``factor[q] ~ Gamma(strength + won[q], strength + expected[q])`` from the won deals and the
wins the hazards expect in months at position ``q`` of their quarter. What varies from month to
month beyond both is a month effect shared by all deals (:mod:`.month_effect`).

Recorded history starts at the first month in which any deal closed: months before it carry no
recorded outcome (some CRM exports drop old closes), so they are not counted as months in which
deals stayed open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_models.models.forecaster.config import ForecastConfig
from pipeline_models.models.forecaster.counts import DealView
from pipeline_models.models.forecaster.month_effect import (
    blend_sd,
    effect_draws,
    weighted_excess_log_variance,
)
from pipeline_models.models.pooling.dirichlet_hazards import pool_hazards


@dataclass(frozen=True)
class ClosingHazards:
    """The fitted hazards, month-of-quarter factor and month effect."""

    counts: np.ndarray  # (G, K, 3) weighted deal-months won, lost, stayed open
    pooled_rate: np.ndarray  # (K, 3) all-groups hazards
    alpha: np.ndarray  # (G, K, 3) Dirichlet parameters of each group's hazards
    pooled_alpha: np.ndarray  # (K, 3) Dirichlet parameters of the all-groups hazards
    season_shape: np.ndarray  # (3,) Gamma shape of the month-of-quarter factor
    season_rate: np.ndarray | None  # (3,) its rate; None: no factor
    season_point: np.ndarray  # (3,) its point value, mean one
    month_sd: float  # log-sd of the month effect on the won hazard


@dataclass(frozen=True)
class _Exposure:
    """Deal-months at risk and closes by group, age and calendar month since records began."""

    at_risk: np.ndarray  # (G, K, M)
    events: np.ndarray  # (G, K, M, 2): won, lost
    weights: np.ndarray  # (M,) recency weight of each month


def fit_hazards(
    view: DealView, n_levels: int, first_close: int, cfg: ForecastConfig
) -> ClosingHazards:
    """Hazards of the deals of ``view`` (origin ``view.month``), recorded from ``first_close``."""
    exposure = _exposure(view, n_levels, first_close, cfg)
    w = exposure.weights
    w_risk = (exposure.at_risk * w).sum(axis=2)
    w_events = (exposure.events * w[None, None, :, None]).sum(axis=2)
    counts = np.concatenate([w_events, (w_risk - w_events.sum(axis=2))[..., None]], axis=2).clip(
        min=0
    )
    # all-products hazards, each age shrunk toward the age before it (unseen ages take the
    # hazards of the last age seen), then each product shrunk toward them
    pooled = pool_hazards(counts, cfg.pooling_strength, cfg.age_smoothing)
    rate = pooled.alpha / pooled.alpha.sum(axis=2, keepdims=True)
    expected = np.einsum("gkm,gk->m", exposure.at_risk, rate[..., 0])
    observed = exposure.events[..., 0].sum(axis=(0, 1))
    position = np.arange(first_close, view.month + 1) % 3
    shape, season_rate, point = _season(observed, expected, position, w, cfg)
    return ClosingHazards(
        counts=counts,
        pooled_rate=pooled.rate,
        alpha=pooled.alpha,
        pooled_alpha=pooled.pooled_alpha,
        season_shape=shape,
        season_rate=season_rate,
        season_point=point,
        month_sd=_month_sd(observed, expected * point[position], cfg),
    )


def _exposure(view: DealView, G: int, start: int, cfg: ForecastConfig) -> _Exposure:
    """Each row of ``view`` is at risk from its creation (or the first recorded month) to its
    close; months before records began are unobserved."""
    K = cfg.max_age_months + 1
    T = view.month
    # Deals created before outcomes were recorded count from the first recorded month on (left
    # truncation); skip_unrecorded_cohorts drops them instead, for exports where their early
    # closes were moved into the first recorded month.
    rows = view.c >= start if cfg.skip_unrecorded_cohorts else np.ones(len(view.c), bool)
    g, c, e, n = view.g[rows], view.c[rows], view.e[rows], view.n[rows].astype(float)
    won, lost = view.won[rows], view.lost[rows]
    M = T - start + 1
    first = np.maximum(c, start)
    length = np.maximum(e - first + 1, 0)
    row = np.repeat(np.arange(len(c)), length)
    step = np.arange(len(row)) - np.repeat(np.cumsum(length) - length, length)
    months = first[row] + step
    ages = np.minimum(months - c[row], K - 1)
    at_risk = np.bincount(
        (g[row] * K + ages) * M + months - start, weights=n[row], minlength=G * K * M
    ).reshape(G, K, M)
    events = np.zeros((G, K, M, 2))  # won, lost
    for column, closed in enumerate((won & (length > 0), lost & (length > 0))):
        cell = (g[closed] * K + np.minimum(e[closed] - c[closed], K - 1)) * M + e[closed] - start
        events[..., column] = np.bincount(cell, weights=n[closed], minlength=G * K * M).reshape(
            G, K, M
        )
    weights = 0.5 ** ((T - np.arange(start, T + 1)) / cfg.hazard_half_life)
    return _Exposure(at_risk=at_risk, events=events, weights=weights)


def _season(
    observed: np.ndarray,
    expected: np.ndarray,
    position: np.ndarray,
    weights: np.ndarray,
    cfg: ForecastConfig,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Month-of-quarter factor of the won hazard, shrunk toward 1 (Gamma prior): shape, rate
    (``None`` without a factor) and the point factor scaled to mean one."""
    if cfg.seasonality and observed.sum() > 0:
        obs_q = np.bincount(position, weights=observed * weights, minlength=3)
        exp_q = np.bincount(position, weights=expected * weights, minlength=3)
        shape = cfg.seasonality_strength + obs_q
        rate = cfg.seasonality_strength + exp_q
    else:
        shape, rate = np.ones(3), None
    factor = shape / rate if rate is not None else np.ones(3)
    return shape, rate, factor / factor.mean()


def _month_sd(observed: np.ndarray, fitted: np.ndarray, cfg: ForecastConfig) -> float:
    """Month-to-month variation beyond the model (a month effect shared by all deals): the
    variance of observed against expected wins, less the Poisson part, by moments, each month
    weighted by its expected wins (the months' expected counts differ: the first recorded months
    have few deals at risk)."""
    usable = fitted > 1.0
    measured, n_months = 0.0, int(usable.sum())
    if n_months >= 3:
        measured = weighted_excess_log_variance(observed[usable], fitted[usable])
    return blend_sd(measured, n_months, cfg)


def month_factors(
    rng: np.random.Generator,
    season_shape: np.ndarray,
    season_rate: np.ndarray | None,
    month_sd: float,
    origin_month: int,
    draws: int,
    months: int,
) -> np.ndarray:
    """(draws, months) factors on the won hazard of each coming month: the month-of-quarter
    factor (Gamma ``season_shape``, ``season_rate``; none when the rate is ``None``) times a
    month effect of log-sd ``month_sd`` shared by every deal in that month."""
    if season_rate is None:
        season = np.ones((draws, 3))
    else:
        season = rng.gamma(season_shape, 1.0 / season_rate, size=(draws, 3))
        season = season / season.mean(axis=1, keepdims=True)
    position = (origin_month + 1 + np.arange(months)) % 3
    effect = effect_draws(rng, month_sd, (draws, months))
    return season[:, position] * effect


def won_by(
    haz: np.ndarray,
    factor: np.ndarray,
    g: np.ndarray,
    age0: np.ndarray,
    first: int,
    odds: np.ndarray | None = None,
) -> np.ndarray:
    """P(closed won by the end of each coming month), array (N, S, months).

    ``haz`` (S, G, K, 3); ``factor`` (S, months) for the months after the origin; deals of
    group ``g`` are aged ``age0`` in coming month ``first`` (0: the month after the origin) and
    cannot be won before it. ``odds`` (N,): each deal's odds of winning against its group's
    average (its deal score); each month's outcome odds of won against lost or still open are
    multiplied by it, ``hw' = r hw / (1 + (r - 1) hw)`` and ``hl' = hl / (1 + (r - 1) hw)``.
    """
    S, months = factor.shape
    G, K = haz.shape[1:3]
    N = len(g)
    out = np.zeros((N, S, months))
    alive = np.ones((S, N))
    won = np.zeros((S, N))
    # each step's arrays are written into these: large temporaries made afresh every step cost
    # more than the arithmetic (the allocator maps and clears new pages for each)
    hw, hl, tmp = np.empty((S, N)), np.empty((S, N)), np.empty((S, N))
    haz_won = np.ascontiguousarray(haz[..., 0]).reshape(S, G * K)
    haz_lost = np.ascontiguousarray(haz[..., 1]).reshape(S, G * K)
    shift = None if odds is None else odds - 1.0
    for step in range(first, months):
        cell = g * K + np.minimum(age0 + step - first, K - 1)
        np.take(haz_lost, cell, axis=1, out=hl)
        np.take(haz_won, cell, axis=1, out=hw)
        hw *= factor[:, step, None]
        np.minimum(hw, np.subtract(1.0, hl, out=tmp), out=hw)
        if shift is not None:  # scale = 1 + (r - 1) hw; hw = r hw / scale; hl = hl / scale
            np.multiply(shift, hw, out=tmp)
            tmp += 1.0
            hw *= odds
            hw /= tmp
            hl /= tmp
        won += np.multiply(alive, hw, out=tmp)
        np.subtract(1.0, hw, out=tmp)
        tmp -= hl
        alive *= tmp
        out[:, :, step] = won.T
    return out


__all__ = ["ClosingHazards", "fit_hazards", "month_factors", "won_by"]
