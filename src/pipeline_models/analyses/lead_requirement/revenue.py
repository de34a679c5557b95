"""Revenue draws of the planner: the amounts of simulated wins.

* Wins of open deals bring their own amounts: the deals of one cell (product x age) are alike but
  for their amounts, so a cell's wins are a uniformly random subset of its deals, drawn exactly
  for a few wins and by a normal approximation with finite-population correction for many
  (:func:`cell_revenue`).
* Wins without an amount of their own (new leads, open leads, deals without one) bring a Gamma
  sum with the mean and variance of ``k`` won amounts (:func:`gamma_sum`), at a quantile given by
  the caller: common random numbers keep the revenue monotone in the wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import gamma

EXACT_WINS = 16
"""Wins of one cell of open deals, in one draw, up to which the revenue of the won deals is
drawn exactly (above: a normal approximation, see :func:`cell_revenue`)."""


@dataclass
class Revenue:
    """Revenue per draw and month being summed over cells: an exact part, and the mean and
    covariance (draws x months x months) of a normal part."""

    exact: np.ndarray
    mean: np.ndarray
    cov: np.ndarray

    @classmethod
    def zeros(cls, draws: int, months: int) -> Revenue:
        return cls(
            np.zeros((draws, months)), np.zeros((draws, months)), np.zeros((draws, months, months))
        )

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """The exact part plus one draw of the normal part (at least zero)."""
        values, vectors = np.linalg.eigh(self.cov)
        root = vectors * np.sqrt(np.maximum(values, 0.0))[:, None, :]
        z = rng.standard_normal(self.mean.shape)
        normal = self.mean + np.einsum("dml,dl->dm", root, z)
        return self.exact + np.maximum(normal, 0.0)


@dataclass(frozen=True)
class Cells:
    """The cells of open deals that win in some draw: one row per (draw, cell) pair, ``k`` its
    wins per month, and the cell's deals ``amounts[first:first + size]`` (NaN: no amount),
    ``n_known`` of them with an amount of mean ``mu`` and variance ``s2`` (divisor
    ``n_known - 1``)."""

    draw: np.ndarray
    k: np.ndarray
    amounts: np.ndarray
    first: np.ndarray
    size: np.ndarray
    n_known: np.ndarray
    mu: np.ndarray
    s2: np.ndarray


def cell_revenue(rng: np.random.Generator, cells: Cells, out: Revenue) -> np.ndarray:
    """Add to ``out`` the revenue of the wins of cells of open deals; return, per row and month,
    the wins of deals without an amount (their revenue is drawn by the caller).

    The deals of a cell are alike but for their amounts, so its ``K`` wins of a draw are a
    uniformly random ``K`` of its ``N`` deals, ``k_1`` of them won in the first month, ``k_2``
    in the second... (exactly as deal-by-deal draws would make them).

    * ``K <= EXACT_WINS``: the won deals are drawn exactly, without replacement and in a
      random order (:func:`distinct_picks`), the first ``k_1`` for the first month and so on.
    * larger ``K``: how many of the wins have no amount is hypergeometric, as is their split
      over the months (exact); the ``k'_m`` wins with an amount are a sample without
      replacement of the cell's ``N'`` amounts, whose month sums are taken as normal with its
      moments, ``E = k'_m mu`` and ``Cov = s2 (k'_m [m = l] - k'_m k'_l / N')``: the
      finite-population correction leaves no spread when all of a cell's deals are won. A
      month sum then adds ``EXACT_WINS / months`` amounts or more on average, and the normal
      parts of all cells add up before their sum is drawn once per draw and month.
    """
    k = cells.k
    wins = k.sum(axis=1)
    unknown = np.zeros(k.shape, dtype=np.int64)
    none = cells.n_known == 0  # no deal of the cell has an amount: nothing to draw here
    unknown[none] = k[none]
    big = np.flatnonzero((wins > EXACT_WINS) & ~none)
    if len(big):
        _normal_part(rng, cells, big, unknown, out)
    for size_k in range(1, min(EXACT_WINS, int(wins.max(initial=0))) + 1):
        rows = np.flatnonzero((wins == size_k) & ~none)
        if len(rows):
            _exact_part(rng, cells, rows, size_k, unknown, out)
    return unknown


def _normal_part(
    rng: np.random.Generator, cells: Cells, big: np.ndarray, unknown: np.ndarray, out: Revenue
) -> None:
    """Rows ``big`` (more than :data:`EXACT_WINS` wins): wins without an amount by
    hypergeometric draws (into ``unknown``), the others' month sums into the normal part."""
    d, h = out.mean.shape
    k, size, n_known = cells.k, cells.size, cells.n_known
    wins = k.sum(axis=1)
    kb, at = k[big], cells.draw[big]
    mixed = np.flatnonzero(n_known[big] < size[big])  # some deals without an amount
    left = rng.hypergeometric(
        size[big[mixed]] - n_known[big[mixed]], n_known[big[mixed]], wins[big[mixed]]
    )  # wins without an amount
    taken = wins[big[mixed]]
    for m in range(h - 1):
        unknown[big[mixed], m] = rng.hypergeometric(left, taken - left, kb[mixed, m])
        left = left - unknown[big[mixed], m]
        taken = taken - kb[mixed, m]
    unknown[big[mixed], h - 1] = left
    kk = (kb - unknown[big]).astype(float)  # wins with an amount
    mu, s2 = cells.mu[big], cells.s2[big]
    scale = s2 / np.maximum(n_known[big], 1)
    for m in range(h):
        out.mean[:, m] += np.bincount(at, weights=kk[:, m] * mu, minlength=d)
        out.cov[:, m, m] += np.bincount(at, weights=kk[:, m] * s2, minlength=d)
        for j in range(h):
            out.cov[:, m, j] -= np.bincount(at, weights=kk[:, m] * kk[:, j] * scale, minlength=d)


def _exact_part(
    rng: np.random.Generator,
    cells: Cells,
    rows: np.ndarray,
    size_k: int,
    unknown: np.ndarray,
    out: Revenue,
) -> None:
    """Rows with ``size_k`` wins: the won deals drawn exactly, their amounts summed per month
    into the exact part, the wins without an amount counted into ``unknown``."""
    d, h = out.mean.shape
    k = cells.k
    picks = distinct_picks(rng, cells.size[rows], size_k)  # (rows, K): ordered, no repeats
    value = cells.amounts[cells.first[rows, None] + picks]
    missing = np.isnan(value)
    # picks ends[m - 1] .. ends[m] - 1 are won in month m: differences of running sums
    ends = np.cumsum(k[rows], axis=1)
    running = np.zeros((len(rows), size_k + 1))
    np.cumsum(np.where(missing, 0.0, value), axis=1, out=running[:, 1:])
    month_sum = np.diff(np.take_along_axis(running, ends, axis=1), axis=1, prepend=0.0)
    running[:, 1:] = np.cumsum(missing, axis=1)
    unknown[rows] = np.diff(np.take_along_axis(running, ends, axis=1), axis=1, prepend=0.0)
    for m in range(h):
        out.exact[:, m] += np.bincount(cells.draw[rows], weights=month_sum[:, m], minlength=d)


def distinct_picks(rng: np.random.Generator, n: np.ndarray, k: int) -> np.ndarray:
    """For each row, ``k`` positions of ``range(n)`` drawn uniformly without replacement, in
    the order drawn (``n >= k`` per row; shape rows x k).

    Where ``n <= 2 k`` the row is a random permutation (sorting ``n`` uniform keys), cut to ``k``.
    Elsewhere positions are drawn with replacement and every position that repeats an earlier
    one is drawn again until none does (each repeat is at most an even chance): the process
    treats all positions alike, so every ordered ``k`` of distinct positions is equally likely.
    """
    n = np.asarray(n, dtype=np.int64)
    out = np.zeros((len(n), k), dtype=np.int64)
    dense = n <= 2 * k
    if dense.any():
        rows = np.flatnonzero(dense)
        width = int(n[rows].max())
        keys = rng.random((len(rows), width))
        keys[np.arange(width)[None, :] >= n[rows, None]] = 2.0  # not a position of the row
        out[rows] = np.argsort(keys, axis=1)[:, :k]
    rows = np.flatnonzero(~dense)
    if not len(rows):
        return out
    picks = np.floor(rng.random((len(rows), k)) * n[rows, None]).astype(np.int64)
    ranked = np.sort(picks, axis=1)
    todo = np.flatnonzero((ranked[:, 1:] == ranked[:, :-1]).any(axis=1))  # rows with a repeat
    while len(todo):
        sub = picks[todo]
        order = np.argsort(sub, axis=1, kind="stable")
        ranked = np.take_along_axis(sub, order, axis=1)
        again = np.zeros(sub.shape, dtype=bool)  # a repeat of an earlier position
        np.put_along_axis(again, order[:, 1:], ranked[:, 1:] == ranked[:, :-1], axis=1)
        has = again.any(axis=1)
        todo, sub, again = todo[has], sub[has], again[has]
        fresh = np.floor(rng.random(sub.shape) * n[rows[todo], None]).astype(np.int64)
        picks[todo] = np.where(again, fresh, sub)
    out[rows] = picks
    return out


def gamma_sum(k: np.ndarray, mean: np.ndarray, var: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Revenue of ``k`` wins: the Gamma with the mean and variance of a sum of ``k`` amounts,
    at quantile ``u`` (inverse CDF: common random numbers keep it monotone in ``k``)."""
    mean = np.maximum(mean, 0.0)
    shape = k * mean**2 / var
    scale = var / np.maximum(mean, 1e-300)
    out = gamma.ppf(u, np.maximum(shape, 1e-300), scale=scale)
    return np.where((k > 0) & (mean > 0), out, 0.0)


def weighted_moments(
    w: np.ndarray, weight: np.ndarray, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per draw (rows of ``w``): mean and variance of an amount whose first and second moments
    per lag are ``first``, ``second``, under weights ``w * weight`` (``weight`` of shape (lags,)
    or (lags, k): one answer per column)."""
    if weight.ndim == 1:
        mean, var = weighted_moments(w, weight[:, None], first, second)
        return mean[:, 0], var[:, 0]
    total = w @ weight
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w @ (weight * first[:, None])) / total
        second = (w @ (weight * second[:, None])) / total
    return mean, np.maximum(second - mean**2, 1e-9)


__all__ = [
    "EXACT_WINS",
    "Cells",
    "Revenue",
    "cell_revenue",
    "distinct_picks",
    "gamma_sum",
    "weighted_moments",
]
