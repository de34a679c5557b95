"""The planner's draws, and per draw the fewest new leads that reach a target.

Every draw combines parameter uncertainty (posterior draws of ``c``, ``w``, amounts; lag
uncertainty by a Bayesian bootstrap), binomial noise, and what is in hand. Wins from ``n_s`` new
leads are ``Binomial(n_s, q_s)`` and their revenue a Gamma sum, both drawn by their inverse CDFs
at the draw's fixed uniforms ``u``, ``v`` (common random numbers): in each draw the total is
non-decreasing in the leads, so each draw has a threshold, the fewest leads along a path (a mix
scaled up, or a fill order) with which it reaches the target. ``P(target | leads)`` is the
empirical CDF of the thresholds, exactly non-decreasing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import binom

from pipeline_models.analyses.lead_requirement.kernels import NewLeadKernels
from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.revenue import gamma_sum
from pipeline_models.analyses.lead_requirement.won_paths import WonPaths

LIMIT = 1e8
"""More new leads than this in a window is not a plan: such a draw cannot reach the target."""

Path = Callable[[np.ndarray], np.ndarray]
"""Leads per source (``t.shape + (sources,)``, integers) for a number ``t`` along a path."""


@dataclass(frozen=True)
class PlannerDraws:
    """All draws of a planner, made once: the window (``x`` days to each month's end, its
    ``months``), the won paths, the new-lead kernels, what is in hand (with its window totals
    per metric) and the uniforms of the binomial and gamma inverse CDFs (draws x sources)."""

    x: np.ndarray
    months: list[str]
    paths: WonPaths
    kernels: NewLeadKernels
    in_hand: WindowOutlook
    in_hand_total: dict[str, np.ndarray]
    u: np.ndarray
    v: np.ndarray


def window_totals(
    draws: PlannerDraws,
    n: np.ndarray,
    metric: str,
    factor: np.ndarray | None,
    rows: slice | np.ndarray = slice(None),
) -> np.ndarray:
    """Per draw: in hand + what ``n`` (draws x sources, or sources) new leads bring."""
    k_ = draws.kernels
    q = k_.q[rows] if factor is None else np.clip(k_.q[rows] * factor, 0, 1)
    k = binom.ppf(draws.u[rows], n, q)
    if metric == "count":
        return draws.in_hand_total["count"][rows] + k.sum(axis=1)
    rev = gamma_sum(k, k_.amount_mean[rows], k_.amount_var[rows], draws.v[rows])
    return draws.in_hand_total["revenue"][rows] + rev.sum(axis=1)


def _first_guess(
    draws: PlannerDraws,
    path: Path,
    rows: np.ndarray,
    target: float,
    metric: str,
    factor: np.ndarray | None,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Per draw a first guess of its threshold, and the bracket around it to start from.

    The shortfall over the expected yield of one unit of ``t``; for a deal target refined by
    the normal approximation (with a skewness term) of the draw's binomial wins at its ``u``.
    """
    ref = 1000.0
    k_ = draws.kernels
    q = k_.q[rows] if factor is None else np.clip(k_.q[rows] * factor, 0, 1)
    per_lead = q if metric == "count" else q * k_.amount_mean[rows]
    rate = (path(np.array(ref)) * per_lead).sum(axis=1) / ref
    shortfall = target - draws.in_hand_total[metric][rows]
    guess = np.where(rate > 0, shortfall / np.maximum(rate, 1e-300), LIMIT)
    guess = np.clip(guess, 1.0, LIMIT)
    if metric != "count":
        return guess, (0.8, 1.25)
    z = ndtri(draws.u[rows])
    skew = (1 - 2 * q) * (z**2 - 1) / 6
    for _ in range(3):
        n = path(guess).astype(float)
        wins = (n * q + z * np.sqrt(n * q * (1 - q)) + skew).sum(axis=1)
        step = (shortfall - wins) / np.maximum(rate, 1e-300)
        guess = np.clip(np.where(rate > 0, guess + step, LIMIT), 1.0, LIMIT)
    return guess, (0.99, 1.01)


def thresholds(
    draws: PlannerDraws, path: Path, target: float, metric: str, factor: np.ndarray | None
) -> np.ndarray:
    """Per draw, the smallest ``t`` whose leads ``path(t)`` reach the target (0 when what is in
    hand does; inf beyond :data:`LIMIT`), exact to one lead. ``P(target | path(t)) =
    mean(threshold <= t)``.

    A bisection run on all draws at once, started from a narrow bracket around each draw's
    answer (:func:`_first_guess`), moved and widened where that misses.
    """
    d = draws.kernels.q.shape[0]
    out = np.zeros(d)

    def ok(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return window_totals(draws, path(t), metric, factor, rows) >= target

    rows = np.flatnonzero(~ok(np.zeros(d), np.arange(d)))
    if not len(rows):
        return out
    guess, spread = _first_guess(draws, path, rows, target, metric, factor)
    lo, hi = np.floor(spread[0] * guess), np.ceil(spread[1] * guess)
    for _ in range(60):  # move and widen (twice the width each time) until lo fails, hi reaches
        high_ok = ok(hi, rows)
        low_fail = (lo <= 0) | ~ok(lo, rows)
        if (high_ok | (hi >= LIMIT)).all() and low_fail.all():
            break
        width = np.maximum(hi - lo, 1)
        lo, hi = (
            np.where(high_ok, np.where(low_fail, lo, np.maximum(lo - 2 * width, 0)), hi),
            np.where(high_ok, np.where(low_fail, hi, lo), np.minimum(hi + 2 * width, LIMIT)),
        )
    hi = np.where(high_ok, hi, np.inf)
    finite = np.isfinite(hi)
    while True:
        active = np.flatnonzero(finite & (hi - lo > 1))
        if not len(active):
            break
        mid = np.floor((lo[active] + hi[active]) / 2)
        reached = ok(mid, rows[active])
        hi[active[reached]] = mid[reached]
        lo[active[~reached]] = mid[~reached]
    out[rows] = hi
    return out


def answer(values: np.ndarray, level: float) -> float | None:
    """The ``level`` quantile of the thresholds (an attained value), None when infinite."""
    value = float(np.quantile(values, level, method="higher"))
    return None if not np.isfinite(value) else value


__all__ = [
    "LIMIT",
    "Path",
    "PlannerDraws",
    "answer",
    "thresholds",
    "window_totals",
]
