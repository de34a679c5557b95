"""Deals the leads bring: the deals created in each coming month from the leads open at a date and
from leads not yet created, by the forecaster's groups.

A lead of source ``s`` open at age ``a`` (days) becomes a deal in the coming month ``m`` (days
``(x[m-1], x[m]]`` after the date) with chance::

    c_s (F_s(a + x[m]) - F_s(a + x[m-1])) / (1 - c_s F_s(a))

(``c_s``: the chance a lead ever converts, a posterior draw; ``F_s``: its lead -> deal lag
distribution, corrected for truncation): a lead older than most conversions is mostly a lead that
never converts, the cure model. Leads of one source and age share that chance and are drawn
together, exactly (a multinomial over the months). New leads arrive by source and month
(:mod:`.arrivals`); one created uniformly within coming month ``k`` becomes a deal in month ``m``
with ``c_s`` times the lag mass that falls there, averaged over its creation day, so by Poisson
thinning its deals are Poisson too. A deal goes to a group (product) as the source's recent deals
did, pooled toward all sources' mix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.config import F_MAX
from pipeline_models.models.funnel.groups import codes, distinct_pairs

if TYPE_CHECKING:
    from pipeline_models.models.funnel.model import LeadFunnelModel

MIX_POOLING = 5.0
"""Deals' worth of all sources' product mix in each source's own."""

_DAYS_IN_MONTH = 8
"""Creation days a new lead's month is averaged over (evenly spaced)."""


def month_days(origin: pd.Timestamp, months: int) -> np.ndarray:
    """Days from ``origin`` to the end of each coming month, after a first 0: ``(months + 1,)``."""
    origin = pd.Timestamp(origin).normalize()
    ends = [(pd.Period(origin, "M") + m).end_time.normalize() for m in range(1, months + 1)]
    return np.array([0.0, *[(e - origin).days for e in ends]])


def split(rng: np.random.Generator, total: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Multinomial(``total``, ``share``) per row (``share`` rows sum to 1), by conditional
    binomials."""
    out = np.zeros(share.shape, dtype=np.int64)
    left = np.asarray(total, dtype=np.int64)
    rest = np.ones(len(left))
    for m in range(share.shape[1] - 1):
        out[:, m] = rng.binomial(left, np.clip(share[:, m] / np.maximum(rest, 1e-300), 0, 1))
        left = left - out[:, m]
        rest = rest - share[:, m]
    out[:, -1] = left
    return out


def multinomial(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Counts per category (last axis of ``p``; the remainder is "not in the window"), exact:
    the total in the window is ``Binomial(n, sum(p))``, split over the categories by
    conditional binomials where it is not zero."""
    p = np.asarray(p, dtype=float)
    m = p.shape[-1]
    total = p.sum(axis=-1)
    k = rng.binomial(np.broadcast_to(n, total.shape), np.clip(total, 0, 1))
    out = np.zeros(p.shape, dtype=np.int64)
    hit = np.flatnonzero(k.ravel() > 0)
    if len(hit):
        share = p.reshape(-1, m)[hit] / total.ravel()[hit, None]
        out.reshape(-1, m)[hit] = split(rng, k.ravel()[hit], share)
    return out


@dataclass(frozen=True)
class DealFlow:
    """New deals per draw, group and coming month: ``in_hand`` from the leads open at the date,
    ``new`` from leads not yet created; ``other_share`` of new deals come without a lead."""

    in_hand: np.ndarray  # (draws, groups, months)
    new: np.ndarray  # (draws, groups, months)
    other_share: float
    in_hand_odds: np.ndarray | None = None  # (groups, months): odds of winning against the
    new_odds: np.ndarray | None = None  # group's average, by the sources the deals come from
    in_hand_start: np.ndarray | None = None  # (months,) where in its month a deal from an
    # open lead is created on average (0: its first day, 0.5: evenly over the month)


def _conversion(funnel: LeadFunnelModel, draws: int) -> np.ndarray:
    """The funnel's conversion draws, repeated to ``draws`` rows."""
    c = funnel.conversion_
    return c[np.arange(draws) % c.shape[0]]


def _open_leads(funnel: LeadFunnelModel, points: np.ndarray):
    """Per source with leads open at the fit's date: its index, the open leads of each distinct
    age, and their lag CDF at ``age + points`` (ages x points)."""
    leads = funnel.items_.leads
    if not len(leads):
        return
    pending = ~leads["converted"].to_numpy(bool)
    level, age, n = distinct_pairs(
        codes(leads["source"], funnel.sources_)[pending], leads["age"].to_numpy(float)[pending]
    )
    for j, source in enumerate(funnel.sources_):
        pick = level == j
        if pick.any():
            lag = funnel.lag_convert_[source]
            yield j, n[pick], np.minimum(lag.cdf(age[pick, None] + points[None, :]), F_MAX)


def _cure(c: np.ndarray, f: np.ndarray) -> np.ndarray:
    """The cure model's chance that a lead open with lag CDF ``f`` at the points (last axis)
    converts between consecutive points: ``c (F(t_k) - F(t_(k-1))) / (1 - c F(t_0))``."""
    return c * np.diff(f, axis=-1) / np.maximum(1 - c * f[..., :1], 1e-12)


def open_lead_deals(
    funnel: LeadFunnelModel, x: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Deals from the leads open at the fit's date: (draws, sources, months)."""
    out = np.zeros((draws, len(funnel.sources_), len(x) - 1), np.int64)
    c = _conversion(funnel, draws)
    for j, n, f in _open_leads(funnel, x):
        p = _cure(c[:, j, None, None], f[None])  # (draws, ages, months)
        out[:, j] = multinomial(rng, n[None, :], p).sum(axis=1)
    return out


def open_lead_timing(funnel: LeadFunnelModel, x: np.ndarray, steps: int = 8) -> np.ndarray:
    """Where in each coming month the deals from the leads open at the fit's date are created
    on average, as a fraction of the month (0.5: evenly; young leads convert soon, so their
    deals come early in the first month), from the funnel's mean conversion and lags."""
    months = len(x) - 1
    grid = np.concatenate(
        [x[m] + np.arange(steps) / steps * (x[m + 1] - x[m]) for m in range(months)] + [x[-1:]]
    )
    c = funnel.conversion_.mean(axis=0)
    expected = np.zeros((months, steps))
    for j, n, f in _open_leads(funnel, grid):
        expected += (n[:, None] * _cure(c[j], f)).sum(axis=0).reshape(months, steps)
    total = expected.sum(axis=1)
    middle = expected @ ((np.arange(steps) + 0.5) / steps)
    return np.where(total > 0, middle / np.maximum(total, 1e-300), 0.5)


def new_lead_deals(
    funnel: LeadFunnelModel, x: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Deals from leads created in the coming months: (draws, sources, months)."""
    months = len(x) - 1
    volume = funnel.lead_arrivals_.volume(rng, draws, months)  # (draws, sources, months)
    c = _conversion(funnel, draws)
    mean = np.zeros((draws, len(funnel.sources_), months))
    fraction = (np.arange(_DAYS_IN_MONTH) + 0.5) / _DAYS_IN_MONTH
    for j, source in enumerate(funnel.sources_):
        lag = funnel.lag_convert_[source]
        for k in range(months):  # leads created in coming month k + 1, on evenly spaced days
            day = x[k] + fraction * (x[k + 1] - x[k])
            f = np.minimum(lag.cdf(x[None, k:] - day[:, None]), F_MAX)  # 0 before creation
            step = np.diff(f, axis=1).mean(axis=0)  # months k + 1 .. end
            mean[:, j, k:] += volume[:, j, k, None] * c[:, j, None] * step[None, :]
    return rng.poisson(mean)


def _source_groups(funnel: LeadFunnelModel, levels: list[str]) -> np.ndarray:
    """Recent deals per source and group of ``levels`` (sources x groups)."""
    counts = funnel.source_products_.reindex(index=funnel.sources_, fill_value=0)
    return counts.reindex(columns=levels, fill_value=0).to_numpy(float)


def group_shares(funnel: LeadFunnelModel, levels: list[str]) -> np.ndarray:
    """Each source's share of deals per group of ``levels`` (sources x groups), from the source's
    recent deals pooled toward all sources' mix; products the forecaster never saw are left out."""
    counts = _source_groups(funnel, levels)
    overall = counts.sum(axis=0)
    overall = overall / overall.sum() if overall.sum() else np.full(len(levels), 1 / len(levels))
    shares = counts + MIX_POOLING * overall[None, :]
    return shares / shares.sum(axis=1, keepdims=True)


def source_odds(funnel: LeadFunnelModel, levels: list[str]) -> np.ndarray:
    """Each source's odds of winning a deal against the average of the deals of each group of
    ``levels`` (sources x groups): ``odds(w_s) / odds(w_g)``, ``w_s`` the funnel's win rate of
    the source and ``w_g`` that of the group's recent deals, averaged over their sources. The
    forecaster's hazards are by group; a group's deals from a source that wins more often are
    won more often."""
    w = np.clip(funnel.win_.mean(axis=0), 1e-6, 1 - 1e-6)
    counts = _source_groups(funnel, levels)
    overall = counts.sum(axis=1)
    overall = overall if overall.sum() else np.ones(len(w))
    counts = np.where(counts.sum(axis=0, keepdims=True) > 0, counts, overall[:, None])
    group = np.clip((counts * w[:, None]).sum(axis=0) / counts.sum(axis=0), 1e-6, 1 - 1e-6)
    return (w / (1 - w))[:, None] / (group / (1 - group))[None, :]


def flow_odds(deals: np.ndarray, shares: np.ndarray, odds: np.ndarray) -> np.ndarray:
    """The mean odds (groups x months) of deals per (draw, source, month) sent to groups by
    ``shares``, each with its source's ``odds`` (sources x groups); 1 where none is expected."""
    expected = deals.mean(axis=0)  # (sources, months)
    weight = expected[:, None, :] * shares[:, :, None]  # (sources, groups, months)
    total = weight.sum(axis=0)
    mean = (weight * odds[:, :, None]).sum(axis=0)
    return np.where(total > 0, mean / np.maximum(total, 1e-300), 1.0)


def to_groups(rng: np.random.Generator, deals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Deals per (draw, source, month) sent to groups: (draws, groups, months)."""
    draws, n_sources, months = deals.shape
    out = np.zeros((draws, shares.shape[1], months), np.int64)
    for j in range(n_sources):
        for m in range(months):
            if deals[:, j, m].any():
                out[:, :, m] += rng.multinomial(deals[:, j, m], shares[j])
    return out


def deal_flow(
    funnel: LeadFunnelModel,
    levels: list[str],
    origin: pd.Timestamp,
    months: int,
    draws: int,
    rng: np.random.Generator,
) -> DealFlow:
    """The deals the leads bring in the ``months`` after ``origin``, by group of ``levels``."""
    x = month_days(origin, months)
    shares = group_shares(funnel, levels)
    odds = source_odds(funnel, levels)
    in_hand = open_lead_deals(funnel, x, draws, rng)
    new = new_lead_deals(funnel, x, draws, rng)
    return DealFlow(
        in_hand=to_groups(rng, in_hand, shares),
        new=to_groups(rng, new, shares),
        other_share=float(1.0 - funnel.linked_share_),
        in_hand_odds=flow_odds(in_hand, shares, odds),
        new_odds=flow_odds(new, shares, odds),
        in_hand_start=open_lead_timing(funnel, x),
    )


__all__ = [
    "MIX_POOLING",
    "DealFlow",
    "deal_flow",
    "flow_odds",
    "group_shares",
    "month_days",
    "multinomial",
    "new_lead_deals",
    "open_lead_deals",
    "open_lead_timing",
    "source_odds",
    "split",
    "to_groups",
]
