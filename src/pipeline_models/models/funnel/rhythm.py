"""Quarter rhythm of wins: in which calendar month a lead's win lands, beyond what its lag says.

Sales teams push deals to close by a quarter's end, so a win's month depends on the calendar as
well as on the lead -> won lag: a lead created in a quarter's first month is won in that quarter's
last month more often than the lag alone would put it there, and in the months before less often.
The won paths are grouped by the position ``p`` of the lead's creation month in its quarter (0:
first .. 2: last) and the calendar months ``o`` from that month to the win's. The paths seen at
``(p, o)``, ``n[p, o]``, are set against those the lags alone put there, ``e[p, o]``: each path's
creation day with the lead -> won lag distribution of all paths (truncation-weighted), restricted
to the lags its own observation window lets through (the path is seen because its lag fell there).
The factor on the lags' share of wins at ``(p, o)`` is pooled toward a factor of the win month's
position in its quarter, ``q = (p + o) mod 3`` (a quarter-end push raises every cell that lands in
a quarter's last month)::

    level[q] ~ Gamma(k + N[q], k + E[q])                (N, E: n and e summed over the cells of q)
    r[p, o]  ~ Gamma(k level[q] + n[p, o], k + e[p, o])   (k: ``rhythm_strength`` paths)

each draw scaled so that ``sum_o e[p, o] r[p, o] = sum_o e[p, o]``: a rhythm moves wins between
months, it does not add any. Without a rhythm ``n`` follows ``e`` and ``r`` stays near 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.groups import groups
from pipeline_models.models.funnel.lags import observation_windows

_CELLS = 2_000_000
"""Creation days x lag days worked at once (bounds the memory of the expected counts)."""


@dataclass(frozen=True)
class QuarterRhythm:
    """Won paths seen and expected by quarter position of the lead's month and months to the win
    (``observed``, ``expected``: 3 x offsets), with the prior's ``strength`` in paths."""

    observed: np.ndarray
    expected: np.ndarray
    strength: float

    def _win_month(self) -> np.ndarray:
        """The quarter position of each cell's win month, ``(p + o) mod 3``: 3 x offsets."""
        p, o = np.indices(self.observed.shape)
        return (p + o) % 3

    def _level_posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Gamma shape and rate of the factor of each win month's quarter position."""
        cell = self._win_month().ravel()
        n, e = (
            np.bincount(cell, weights=v.ravel(), minlength=3)
            for v in (self.observed, self.expected)
        )
        return self.strength + n, self.strength + e

    def levels(self) -> tuple[np.ndarray, np.ndarray]:
        """The factor of each win month's quarter position (first, second, last month): the
        posterior mean and the sd of its log (``1 / sqrt(shape)``)."""
        shape, rate = self._level_posterior()
        return shape / rate, shape**-0.5

    def factors(self, rng: np.random.Generator, draws: int) -> np.ndarray:
        """Posterior draws of the factor: (draws, 3, offsets)."""
        shape, rate = self._level_posterior()
        level = rng.gamma(shape, 1.0 / rate, (draws, 3))[:, self._win_month()]
        k = self.strength
        return self._conserving(rng.gamma(k * level + self.observed, 1.0 / (k + self.expected)))

    def point(self) -> np.ndarray:
        """The factor's posterior mean, scaled as the draws are: (3, offsets)."""
        k = self.strength
        level = self.levels()[0][self._win_month()]
        return self._conserving(((k * level + self.observed) / (k + self.expected))[None])[0]

    def _conserving(self, r: np.ndarray) -> np.ndarray:
        """``r`` scaled per draw and position so the expected wins over all offsets stay."""
        kept = (r * self.expected).sum(axis=-1, keepdims=True)
        total = self.expected.sum(axis=-1, keepdims=True)
        return r * np.where(kept > 0, total / np.maximum(kept, 1e-300), 1.0)

    def at(self, factor: np.ndarray, position: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """``factor[..., position, offset]`` with 1 where the offset was never seen (negative or
        beyond the last)."""
        n = factor.shape[-1]
        inside = (offset >= 0) & (offset < n)
        picked = factor[..., position, np.clip(offset, 0, max(n - 1, 0))] if n else 1.0
        return np.where(inside, picked, 1.0)


def month_numbers(days: np.ndarray) -> np.ndarray:
    """Months since year 0 of dates (``datetime64``)."""
    return np.asarray(days, dtype="datetime64[M]").astype(np.int64) + 1970 * 12


def fit_quarter_rhythm(
    paths: pd.DataFrame,
    as_of: pd.Timestamp,
    first_close: pd.Timestamp | None,
    strength: float,
) -> QuarterRhythm:
    """The rhythm of the won paths (``lead_created``, ``lag_total`` in days, ``weight``: the
    truncation weights of :func:`~pipeline_models.models.funnel.timing.path_lags`)."""
    if not len(paths):
        return QuarterRhythm(np.zeros((3, 0)), np.zeros((3, 0)), strength)
    created = np.asarray(paths["lead_created"], dtype="datetime64[D]")
    lag = np.rint(paths["lag_total"].to_numpy(float)).astype(np.int64)
    start = month_numbers(created)
    offset = month_numbers(created + lag) - start
    lower, upper = observation_windows(created, as_of, first_close)
    # each distinct creation day once, with its paths and its observation window
    first, day = groups(created.astype(np.int64))
    n_day = np.bincount(day)
    lags, at = np.unique(lag, return_inverse=True)
    f = np.bincount(at, weights=paths["weight"].to_numpy(float), minlength=len(lags))
    n_offsets = int(lags.max()) // 28 + 2  # no lag of L days spans more months
    expected = np.zeros(3 * n_offsets)
    step = max(1, _CELLS // len(lags))
    for c0 in range(0, len(first), step):
        rows = first[c0 : c0 + step]
        seen = (lags[None, :] >= np.rint(lower[rows])[:, None]) & (
            lags[None, :] <= np.rint(upper[rows])[:, None]
        )
        share = np.where(seen, f[None, :], 0.0)
        share *= (n_day[c0 : c0 + step] / np.maximum(share.sum(axis=1), 1e-300))[:, None]
        o = month_numbers(created[rows, None] + lags[None, :]) - start[rows, None]
        cell = (start[rows, None] % 3) * n_offsets + o
        expected += np.bincount(cell.ravel(), weights=share.ravel(), minlength=3 * n_offsets)
    observed = np.bincount((start % 3) * n_offsets + offset, minlength=3 * n_offsets)
    return QuarterRhythm(
        observed.reshape(3, n_offsets).astype(float), expected.reshape(3, n_offsets), strength
    )


__all__ = ["QuarterRhythm", "fit_quarter_rhythm", "month_numbers"]
