"""Lag distributions of the funnel (days from lead to opportunity, opportunity to won or lost, lead
to won), corrected for what an export cannot show yet, and pooled over levels.

An item's lag is seen only inside its window ``[lower, upper]`` (:func:`observation_windows`):
recent items show only their quick outcomes, and an export whose history starts later than its
oldest items has lost theirs. :func:`truncation_weights` undoes both; :func:`pooled_lags` mixes a
level's lags with all levels' lags, worth ``strength`` lags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.groups import distinct, whole_days


@dataclass(frozen=True)
class LagDistribution:
    """An empirical distribution of days (values with weights summing to 1).

    Kept as its distinct values in increasing order with their summed weights and the cumulative
    weights, so that ``cdf`` and ``quantile`` cost a binary search whatever the number of lags.
    """

    values: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=float)
        weights = np.broadcast_to(np.asarray(self.weights, dtype=float), values.shape)
        unique, position = np.unique(values, return_inverse=True)
        summed = np.bincount(position.ravel(), weights=weights.ravel(), minlength=len(unique))
        object.__setattr__(self, "values", unique)
        object.__setattr__(self, "weights", summed)
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(summed)]))

    @property
    def n(self) -> int:
        """Number of distinct values."""
        return len(self.values)

    def cdf(self, days: np.ndarray | float) -> np.ndarray:
        """P(lag <= days)."""
        idx = np.searchsorted(self.values, np.asarray(days, dtype=float), side="right")
        return self._cum[idx]

    def quantile(self, q: float) -> float:
        """The smallest value whose cumulative weight reaches ``q`` (NaN when empty)."""
        if not self.n:
            return float("nan")
        return float(self.values[min(np.searchsorted(self._cum[1:], q), self.n - 1)])


def no_lag() -> LagDistribution:
    """A lag of 0 days for sure (a step the data cannot time, or one that takes no time)."""
    return LagDistribution(np.zeros(1), np.ones(1))


def truncation_weights(
    lag: np.ndarray, lower: np.ndarray, upper: np.ndarray, iterations: int = 500
) -> np.ndarray:
    """Weights that undo the truncation of observed lags (Efron-Petrosian NPMLE).

    An item's lag (days, e.g. from creation to won) is seen only if it falls inside the item's
    window ``[lower, upper]``: ``upper`` is the days from its creation to the as-of date (a deal
    created last month is seen only if it was won fast), ``lower`` the days from its creation to
    the first recorded outcome of the export (an export whose history starts later than its
    oldest deals has lost their quick outcomes). Plain counts would make lags look short (and,
    where early outcomes are missing, long). The nonparametric maximum likelihood of the lag
    distribution under double truncation gives each item the weight ``f(x) / n(x)``; iterate
    ``F_i = f([lower_i, upper_i])``, ``f(t) = n(t) / sum_i 1[lower_i <= t <= upper_i] / F_i``.

    Returns
    -------
    numpy.ndarray
        One weight per item, summing to 1 (empty input: empty output).
    """
    x = np.rint(np.asarray(lag, float)).astype(np.int64)
    if not len(x):
        return np.zeros(0)
    top = int(x.max())
    lo = np.clip(np.rint(np.asarray(lower, float)).astype(np.int64), 0, None)
    hi = np.clip(np.rint(np.asarray(upper, float)).astype(np.int64), None, top)
    lo, hi = np.minimum(lo, x), np.maximum(hi, x)  # an observed lag lies in its own window
    # items with the same window enter the iteration alike: iterate over distinct windows
    key = lo * (top + 2) + hi
    if (top + 2) ** 2 <= 4 * len(key) + 2**20:  # count rather than sort
        n_window = np.bincount(key)
        windows = np.flatnonzero(n_window)
        n_window = n_window[windows]
    else:
        windows, n_window = np.unique(key, return_counts=True)
    w_lo, w_hi = windows // (top + 2), windows % (top + 2)
    counts = np.bincount(x, minlength=top + 1).astype(float)
    f = counts / counts.sum()
    at_risk = np.ones(top + 1)
    for _ in range(iterations):
        cum = np.concatenate([[0.0], np.cumsum(f)])
        share = n_window / np.maximum(cum[w_hi + 1] - cum[w_lo], 1e-300)
        change = np.bincount(w_lo, weights=share, minlength=top + 2) - np.bincount(
            w_hi + 1, weights=share, minlength=top + 2
        )
        at_risk = np.cumsum(change)[: top + 1]
        new = np.where(counts > 0, counts / np.maximum(at_risk, 1e-300), 0.0)
        new /= new.sum()
        done = np.abs(new - f).max() < 1e-9
        f = new
        if done:
            break
    w = 1 / np.maximum(at_risk[x], 1e-300)
    return w / w.sum()


def observation_windows(
    created: np.ndarray | pd.Series, as_of: pd.Timestamp, first: pd.Timestamp | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's observable lag window ``[lower, upper]`` in days (see
    :func:`truncation_weights`); ``created``: the items' creation dates, ``first``: the first
    recorded outcome of the export (None: no left truncation)."""
    created = np.asarray(created, dtype="datetime64[ns]")
    upper = whole_days(np.datetime64(as_of, "ns"), created)
    if first is None:
        return np.zeros(len(created)), upper
    return np.clip(whole_days(np.datetime64(first, "ns"), created), 0, None), upper


def pooled_lags(
    values: np.ndarray,
    weights: np.ndarray,
    codes: np.ndarray,
    levels: list[str],
    strength: float,
    distinct_days: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, LagDistribution]:
    """Each level's lags (weighted) mixed with all levels' lags worth ``strength`` observations.

    ``codes`` gives each lag's level (a position in ``levels``); a level's own lags weigh
    ``n / (n + strength)`` (``n`` its lags), all levels' together the rest. Without any lag
    every level gets a lag of 0 days. ``distinct_days``: ``distinct(values)``, when known.
    """
    values = np.asarray(values, float)
    if not len(values):
        return {lv: no_lag() for lv in levels}
    weights = np.asarray(weights, float)
    days, position = distinct(values) if distinct_days is None else distinct_days
    k = len(days)
    every = np.bincount(position, weights=weights, minlength=k)
    own = np.bincount(codes * k + position, weights=weights, minlength=len(levels) * k)
    own = own.reshape(len(levels), k)
    n = np.bincount(codes, minlength=len(levels))
    out = {}
    for j, lv in enumerate(levels):
        share_own = n[j] / (n[j] + strength)
        mixed = share_own * own[j] / max(own[j].sum(), 1e-300) + (1 - share_own) * every / (
            every.sum()
        )
        out[lv] = LagDistribution(days, mixed)
    return out


__all__ = [
    "LagDistribution",
    "no_lag",
    "observation_windows",
    "pooled_lags",
    "truncation_weights",
]
