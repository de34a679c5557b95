"""Rates of many levels under a Beta population, with censored trials, computed exactly on grids.

The model, for levels ``l`` (lead sources, products)::

    p_l ~ Beta(mu kappa, (1 - mu) kappa),   mu ~ Uniform(0, 1),
    log kappa ~ Normal(log kappa_median, kappa_log_sd)

Level ``l`` has ``k_l`` successes and trials without a success in rows ``(A, B, n)``: ``n`` trials
each with likelihood ``1 - p A - (1 - p) B``. A plain failure is ``(1, 0, n)``; a censored trial
(an item whose outcome may still come) has ``A < 1``: a lead of age ``a`` not yet converted is
``(F(a), 0, 1)`` with ``F`` its lag distribution, an open deal ``(F_W(a), lam F_L(a), 1)``.
So the log-likelihood of a level is

    log L(p) = k log p + sum_rows n log(1 - p A - (1 - p) B).

The posterior is computed on grids: the hyper-parameters ``(mu, kappa)`` on a 41 x 31 grid, each
level's rate on its own logit grid around its likelihood. A level's marginal likelihood given
``(mu, kappa)`` is a sum over its grid, the hyper-posterior their product times the prior, and
draws take a hyper-parameter from it, then each level's rate from its conditional posterior
(with a uniform jitter inside the grid cell). Exact Bayesian updating on counts, in milliseconds:
a level without data gets the population's predictive rate.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, expit, logsumexp

_COARSE = np.linspace(-9.2, 9.2, 369)
"""Logit grid on which each level's likelihood is first located (rates 1e-4 .. 1 - 1e-4)."""

_SPAN = 30.0
"""A level's fine grid covers the rates whose log-likelihood is within this of its maximum."""


def censored_loglik(p: np.ndarray, k: float, exposure: np.ndarray) -> np.ndarray:
    """``log L(p) = k log p + sum n log(1 - p A - (1 - p) B)`` for rows ``(A, B, n)``."""
    ll = k * np.log(p)
    if len(exposure):
        a, b, n = exposure[:, 0], exposure[:, 1], exposure[:, 2]
        inside = 1 - p[..., None] * a - (1 - p[..., None]) * b
        ll = ll + (n * np.log(np.maximum(inside, 1e-300))).sum(axis=-1)
    return ll


def _level_grids(
    successes: np.ndarray, exposures: list[np.ndarray], grid_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each level's logit grid around its likelihood, and the log-likelihood on it (levels x
    grid)."""
    n_levels = len(successes)
    etas = np.empty((n_levels, grid_points))
    lls = np.empty((n_levels, grid_points))
    step = _COARSE[1] - _COARSE[0]
    for j in range(n_levels):
        ll = censored_loglik(expit(_COARSE), successes[j], exposures[j])
        keep = np.flatnonzero(ll > ll.max() - _SPAN)
        lo, hi = _COARSE[keep[0]] - step, _COARSE[keep[-1]] + step
        etas[j] = np.linspace(lo, hi, grid_points)
        lls[j] = censored_loglik(expit(etas[j]), successes[j], exposures[j])
    return etas, lls


def _joint(
    etas: np.ndarray, lls: np.ndarray, kappa_median: float, kappa_log_sd: float
) -> tuple[np.ndarray, np.ndarray]:
    """Log prior of the hyper-parameter grid (hyper,) and the log joint of hyper-parameters and
    each level's rate on its grid (hyper, level, grid)."""
    p = expit(etas)
    deta = etas[:, 1] - etas[:, 0]
    log_dp = np.log(p) + np.log1p(-p) + np.log(deta)[:, None]  # dp = p (1 - p) d eta
    mu = expit(np.linspace(-6, 6, 41))
    log_kappa = np.linspace(np.log(0.5), np.log(5000), 31)
    mu_g, lk_g = (a.ravel() for a in np.meshgrid(mu, log_kappa, indexing="ij"))
    kappa = np.exp(lk_g)
    a, b = mu_g * kappa, (1 - mu_g) * kappa
    log_hyper = (
        np.log(mu_g) + np.log1p(-mu_g)  # uniform mu on a logit grid
        - 0.5 * ((lk_g - np.log(kappa_median)) / kappa_log_sd) ** 2
    )  # fmt: skip
    log_prior = (
        (a[:, None, None] - 1) * np.log(p)[None]
        + (b[:, None, None] - 1) * np.log1p(-p)[None]
        - betaln(a, b)[:, None, None]
        + log_dp[None]
    )  # (hyper, level, grid)
    return log_hyper, log_prior + lls[None]


def censored_beta_rates(
    successes: np.ndarray,
    exposures: list[np.ndarray],
    draws: int,
    rng: np.random.Generator,
    kappa_median: float = 20.0,
    kappa_log_sd: float = 1.5,
    grid_points: int = 120,
) -> np.ndarray:
    """Posterior draws of per-level rates under a Beta population, with censored trials.

    Parameters
    ----------
    successes
        Successes per level.
    exposures
        Per level, rows ``(A, B, n)`` of trials without a success (see the module docstring).
    draws
        Number of posterior draws.
    rng
        Random generator of the draws.
    kappa_median, kappa_log_sd
        Prior of the population's concentration: median, and sd of its log.
    grid_points
        Points of each level's rate grid.

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, levels)``.
    """
    n_levels = len(successes)
    etas, lls = _level_grids(successes, exposures, grid_points)
    deta = etas[:, 1] - etas[:, 0]
    log_hyper, joint = _joint(etas, lls, kappa_median, kappa_log_sd)
    log_marginal = logsumexp(joint, axis=2)  # (hyper, level)
    log_post = log_hyper + log_marginal.sum(axis=1)
    post = np.exp(log_post - log_post.max())
    hyper = rng.choice(len(post), size=draws, p=post / post.sum())
    out = np.empty((draws, n_levels))
    for h in np.unique(hyper):
        rows = np.flatnonzero(hyper == h)
        cond = np.exp(joint[h] - joint[h].max(axis=1, keepdims=True))
        cum = np.cumsum(cond, axis=1)
        cum /= cum[:, -1:]
        u = rng.random((len(rows), n_levels))
        idx = (u[:, :, None] > cum[None]).sum(axis=2)
        eta = etas[np.arange(n_levels), idx] + (rng.random((len(rows), n_levels)) - 0.5) * deta
        out[rows] = expit(eta)
    return out


__all__ = ["censored_beta_rates", "censored_loglik"]
