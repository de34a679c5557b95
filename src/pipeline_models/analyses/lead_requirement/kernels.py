"""What new leads bring: where a new lead's win lands, and the chance it lands inside the window.

New leads are created evenly (uniformly in time) over the window of the next ``H`` months. A lead
of source ``s`` created at a uniform time is won inside the window with probability
``q_s = c_s w_s G_s`` with ``G_s = E[max(0, X - L_s) / X]`` (``X`` the window's days, ``L_s`` the
lead -> won lag): leads created late have less time to close. Created in month ``j``, it is won in
month ``m`` with ``c_s w_s K_s[j, m]``, the kernel, times the funnel's quarter-rhythm factor of
month ``j``'s position in its quarter and ``m - j`` months (:mod:`~pipeline_models.models.funnel.
rhythm`: where deals are pushed to close by a quarter's end, a window that ends a quarter holds
more wins than one that ends a month earlier); ``G_s`` is scaled by the same factors. Lags carry
their uncertainty by a Bayesian bootstrap (:func:`new_lead_kernels`), the rhythm by its
posterior draws; amounts stay tied to lags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.revenue import gamma_sum, weighted_moments
from pipeline_models.analyses.lead_requirement.won_paths import WonPaths
from pipeline_models.models.forecaster.codes import month_of
from pipeline_models.models.funnel.deal_flow import multinomial
from pipeline_models.models.funnel.model import LeadFunnelModel


@dataclass(frozen=True)
class Bootstrap:
    """One source's bootstrap of its lead -> won lags: weights (draws x lags), the share of each
    created month's window that a lag puts in each won month (lags x j x m), and the first and
    second moments of the amount per lag."""

    weights: np.ndarray
    overlap: np.ndarray
    amount: np.ndarray
    amount2: np.ndarray


@dataclass(frozen=True)
class NewLeadKernels:
    """Per draw and source: the kernel (draws x sources x created month x won month), ``even``
    (``G``), ``q`` (the chance that a lead created evenly over the window is won inside it),
    the mean and variance of a new win's amount, and each source's bootstrap."""

    kernel: np.ndarray
    even: np.ndarray
    q: np.ndarray
    amount_mean: np.ndarray
    amount_var: np.ndarray
    boot: list[Bootstrap]


def _by_day(model: LeadFunnelModel, paths: WonPaths, j: int, days, position):
    """Source ``j``'s pooled path weights, amounts and squared amounts per lead -> won day (one
    day 0 of the mean amount without any path)."""
    if len(days):
        return days, [
            np.bincount(position, weights=v[j], minlength=len(days))
            for v in (paths.weight, paths.amount, paths.amount2)
        ]
    mean = model.amounts_.mean[j : j + 1]
    return np.zeros(1), [np.ones(1), mean, mean**2]


def _window_rhythm(
    model: LeadFunnelModel, h: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The quarter-rhythm factor of a lead created in window month ``j`` and won in month ``m``:
    draws (draws x j x m) and its posterior mean (j x m); ones where the fit has no rhythm."""
    d = model.conversion_.shape[0]
    rhythm = model.quarter_rhythm_
    if rhythm is None:
        return np.ones((d, h, h)), np.ones((h, h))
    position = (month_of(model.as_of_) + 1 + np.arange(h)) % 3  # of each window month
    offset = np.arange(h)[None, :] - np.arange(h)[:, None]
    at = position[:, None].repeat(h, axis=1)
    draws = rhythm.at(rhythm.factors(rng, d), at, offset)
    return draws, rhythm.at(rhythm.point(), at, offset)


def _moved(kernel: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """Per draw, the window's wins with the rhythm over those without it."""
    before = plain.sum(axis=(1, 2))
    return np.where(before > 0, kernel.sum(axis=(1, 2)) / np.maximum(before, 1e-300), 1.0)


def new_lead_kernels(
    model: LeadFunnelModel, x: np.ndarray, paths: WonPaths, rng: np.random.Generator
) -> NewLeadKernels:
    """The kernels of new leads over the window ``x`` (days to each month's end).

    Each source's won paths (lead -> won lag with the deal's amount, pooled with all sources'
    paths) are grouped by lag in days and given Bayesian-bootstrap weights worth the paths
    observed (a Dirichlet over the days: by Gamma additivity the same as one over paths), so
    lags carry their uncertainty. Amounts stay tied to lags: wins that close inside a short
    window are the quick deals, often the small ones.
    """
    m = model
    span = x[-1]
    d, n_src, h = m.conversion_.shape[0], len(m.sources_), len(x) - 1
    kernel = np.zeros((d, n_src, h, h))
    g = np.zeros((d, n_src))
    amount_mean = np.tile(m.amounts_.mean, (d, 1))
    amount_var = np.tile(m.amounts_.var, (d, 1))
    boot = []
    starts, ends = x[:-1], x[1:]
    days, position = np.unique(np.rint(paths.lag_total), return_inverse=True)
    rhythm, point = _window_rhythm(m, h, rng)
    for j in range(n_src):
        lags, (total, wa, wa2) = _by_day(m, paths, j, days, position)
        share = total / total.sum()
        a1, a2 = wa / total, wa2 / total
        n_eff = paths.n_own[j] + m.funnel_config.lag_pooling
        w = rng.gamma(np.maximum(share * n_eff, 1e-3), size=(d, len(lags)))
        w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
        lo = np.maximum(starts[None, :, None], starts[None, None, :] - lags[:, None, None])
        hi = np.minimum(ends[None, :, None], ends[None, None, :] - lags[:, None, None])
        overlap = np.maximum(hi - lo, 0) / (ends - starts)[None, :, None]  # (lag, j, m)
        plain = np.einsum("dl,ljm->djm", w, overlap)
        moved = plain * rhythm  # a lead is won at most once: each created month's row <= 1
        kernel[:, j] = moved / np.maximum(moved.sum(axis=2, keepdims=True), 1.0)
        inside = np.maximum(span - lags, 0) / span
        g[:, j] = np.minimum((w @ inside) * _moved(kernel[:, j], plain), 1.0)
        # amounts follow the wins the rhythm moves: each lag weighs what it lands in the window
        lands = overlap.sum(axis=(1, 2))
        overlap = overlap * point
        inside = inside * np.where(
            lands > 0, overlap.sum(axis=(1, 2)) / np.maximum(lands, 1e-300), 1
        )
        mean, var = weighted_moments(w, inside, a1, a2)
        ok = g[:, j] > 0
        amount_mean[ok, j] = mean[ok]
        amount_var[ok, j] = var[ok]
        boot.append(Bootstrap(w, overlap, a1, a2))
    q = m.conversion_ * m.win_ * g
    return NewLeadKernels(kernel, g, q, amount_mean, amount_var, boot)


def lead_grid(leads, sources: list[str], months: list[str], mix: pd.Series) -> np.ndarray:
    """Leads per (source, month) from a Series (window totals, spread evenly) or a DataFrame.
    Leads of a source the fit does not know are spread over the known sources by the mix."""
    h = len(months)
    if isinstance(leads, pd.DataFrame):
        table = leads.reindex(columns=months, fill_value=0).fillna(0)
    else:
        series = pd.Series(leads, dtype=float)
        table = pd.DataFrame({mo: series / h for mo in months})
    unknown = table.loc[~table.index.isin(sources)].sum(axis=0)
    table = table.reindex(sources, fill_value=0).astype(float)
    table = table + np.outer(mix.reindex(sources).to_numpy(float), unknown.to_numpy(float))
    return np.round(table.to_numpy(float)).astype(np.int64)


def new_lead_outlook(
    model: LeadFunnelModel,
    kernels: NewLeadKernels,
    in_hand: WindowOutlook,
    leads: pd.DataFrame | pd.Series,
    rng: np.random.Generator,
) -> WindowOutlook:
    """Wins per coming month from given new leads (a Series: source -> leads over the window,
    created evenly; a DataFrame: sources x months, created evenly within each month), with
    what is in hand."""
    m = model
    counts = lead_grid(leads, m.sources_, in_hand.months, m.mix_)
    d, h = kernels.q.shape[0], len(in_hand.months)
    k = np.zeros((d, len(m.sources_), h), dtype=np.int64)
    for j in range(len(m.sources_)):
        cw = (m.conversion_[:, j] * m.win_[:, j])[:, None, None]
        p = cw * kernels.kernel[:, j]  # (D, created month, won month)
        k[:, j] = multinomial(rng, counts[j][None, :], p).sum(axis=1)
    mean = np.zeros(k.shape)
    var = np.ones(k.shape)
    for j, b in enumerate(kernels.boot):
        by_month = np.einsum("j,ljm->lm", counts[j].astype(float), b.overlap)  # (lag, m)
        mu, v = weighted_moments(b.weights, by_month, b.amount, b.amount2)
        mean[:, j] = np.where(np.isfinite(mu), mu, m.amounts_.mean[j])
        var[:, j] = np.where(np.isfinite(v), v, m.amounts_.var[j])
    u = np.clip(rng.random(k.shape), 1e-12, 1 - 1e-12)
    revenue = gamma_sum(k, mean, var, u)
    out = WindowOutlook(in_hand.months, dict(in_hand.parts))
    out.parts["new leads"] = {
        "count": k.sum(axis=1).astype(float),
        "revenue": revenue.sum(axis=1),
    }
    return out


__all__ = [
    "Bootstrap",
    "NewLeadKernels",
    "lead_grid",
    "new_lead_kernels",
    "new_lead_outlook",
]
