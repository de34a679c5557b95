"""Amounts of the deals won: known amounts of open deals, draws from won amounts for the rest.

An open deal's own amount counts where the export has one; otherwise (and for deals not yet
created) the amount is a draw from the won amounts of its group, partially pooled with all groups
while the group has few wins (weight ``n / (n + amount_pooling)`` on its own amounts).

The revenue of ``k`` won deals is the sum of their amounts. Up to :data:`EXACT_SUM_MAX` won deals
the amounts are drawn one by one, so the sum is exact; beyond, the sum is drawn from a normal
approximation with the exact mean and variance (for a subset of ``n`` known amounts ``k * mean``
and ``k * var * (n - k) / (n - 1)``, the finite-population correction). A sum of more than 30 deal
amounts is close to normal, and totals add up many cells.
"""

from __future__ import annotations

import numpy as np

from pipeline_models.models.forecaster.cells import OpenCells
from pipeline_models.models.forecaster.codes import tally
from pipeline_models.models.forecaster.counts import DealView

EXACT_SUM_MAX = 30  # up to this many won deals of a cell, amounts are drawn one by one


def won_amounts(view: DealView) -> dict[int, np.ndarray]:
    """The positive won amounts of ``view`` by group (groups without any left out)."""
    ends = np.cumsum(np.bincount(view.won_g, minlength=len(view.levels)))
    pieces = np.split(view.won_amount, ends[:-1])
    return {gi: piece for gi, piece in enumerate(pieces) if len(piece)}


def drawn_revenue(
    rng: np.random.Generator,
    pools: AmountPools,
    g: np.ndarray,
    levels: list[np.ndarray],
    count: np.ndarray,
) -> np.ndarray:
    """Revenue won by the end of each coming month, (C, S, months), by cells of group ``g``
    whose ``count`` won deals draw their amounts from the won amounts.

    The amounts are independent draws from the group's won amounts, so the cells of one group
    and the same breakdown ``levels`` are summed together: the revenue of their wins is put on
    the first of them (the others get none), which leaves every total by level as it is.
    """
    merged = tally(g, *levels)[2]
    first = np.unique(merged, return_index=True)[1]
    order = np.argsort(merged, kind="stable")
    starts = np.flatnonzero(np.diff(merged[order], prepend=-1))
    gained = np.diff(count, axis=2, prepend=0)
    together = np.add.reduceat(gained[order], starts, axis=0)
    revenue = np.zeros(count.shape)
    revenue[first] = pools.sums(rng, g[first], together).cumsum(axis=2)
    return revenue


class AmountPools:
    """Amounts of deals whose amount is unknown (open deals without one, new deals): draws from
    the won amounts of their group, mixed with all groups' won amounts while the group has few
    wins (weight ``n / (n + amount_pooling)``)."""

    def __init__(
        self,
        amounts: dict[int, np.ndarray],
        all_amounts: np.ndarray,
        n_levels: int,
        amount_pooling: float,
    ):
        G = n_levels + 1  # and the all-products group of unseen levels
        everyone = all_amounts if len(all_amounts) else np.array([0.0])
        own = [amounts.get(gi, np.zeros(0)) for gi in range(G)]
        self.values = np.concatenate([everyone, *own])
        self.size = np.array([len(a) for a in own], np.int64)
        self.start = len(everyone) + np.cumsum(self.size) - self.size
        self.everyone = len(everyone)
        self.weight = self.size / (self.size + amount_pooling)
        # mean and variance of one draw from the mixture
        second = lambda a: float(np.mean(a**2)) if len(a) else 0.0  # noqa: E731
        own_mean = np.array([float(np.mean(a)) if len(a) else 0.0 for a in own])
        own_second = np.array([second(a) for a in own])
        self.mean = self.weight * own_mean + (1 - self.weight) * float(np.mean(everyone))
        moment = self.weight * own_second + (1 - self.weight) * second(everyone)
        self.var = np.maximum(moment - self.mean**2, 0.0)

    def sums(self, rng: np.random.Generator, g: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Sum of ``k[c, s, m]`` amount draws for cells of group ``g[c]``, same shape as ``k``:
        the draws one by one up to ``EXACT_SUM_MAX``, a normal approximation beyond."""
        flat = k.reshape(-1)
        group = np.broadcast_to(g[:, None, None], k.shape).reshape(-1)
        out = np.zeros(flat.shape)
        few = np.flatnonzero((flat > 0) & (flat <= EXACT_SUM_MAX))
        owner = np.repeat(few, flat[few])
        gi = group[owner]
        own = rng.random(len(owner)) < self.weight[gi]
        start = np.where(own, self.start[gi], 0)
        size = np.where(own, self.size[gi], self.everyone)
        pick = start + (rng.random(len(owner)) * size).astype(np.int64)
        out += np.bincount(owner, weights=self.values[pick], minlength=len(flat))
        many = np.flatnonzero(flat > EXACT_SUM_MAX)
        gi, n = group[many], flat[many]
        out[many] = np.maximum(rng.normal(n * self.mean[gi], np.sqrt(n * self.var[gi])), 0.0)
        return out.reshape(k.shape)


def subset_sums(
    rng: np.random.Generator, cells: OpenCells, which: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Revenue won by the end of each coming month, (C, S, months), for the cells at ``which``
    (with known amounts) of which ``counts`` deals are won: the sum over a uniformly random set of
    that many of the cell's amounts, the sets nested month after month.

    Up to ``EXACT_SUM_MAX`` won deals (or in cells of up to twice that many deals) the set is
    drawn exactly: by sequential selection over the cell's deals when the cell holds at most four
    times as many deals as are won (each deal in turn is won in month ``m`` with chance remaining
    wins of month ``m`` / remaining deals), otherwise by drawing deals at random and redrawing
    repeats. Beyond, the sums follow the normal approximation of sampling without replacement
    (mean ``k * mean``, variance ``k * var * (n - k) / (n - 1)``, month by month given the sum so
    far), clipped at 0 and at the cell's total.
    """
    C, S, H = counts.shape
    n = cells.n[which]
    start = cells.start[which]
    out = np.zeros((C * S, H))
    flat = counts.reshape(C * S, H)
    last = flat[:, -1]
    cell = np.repeat(np.arange(C), S)
    size = n[cell]
    # exact: up to EXACT_SUM_MAX won deals, and in cells of up to twice that many deals (where a
    # sum of most of the amounts is far from normal)
    few = (last > 0) & ((last <= EXACT_SUM_MAX) | (size <= 2 * EXACT_SUM_MAX))
    # cells not much larger than the wins: sequential selection
    rows = np.flatnonzero(few & (size <= 4 * last))
    if len(rows):
        c = cell[rows]
        out[rows] = _select(rng, cells.amounts, start[c], n[c], flat[rows])
    # larger cells: deals at random, repeats redrawn
    rows = np.flatnonzero(few & (size > 4 * last))
    if len(rows):
        c = cell[rows]
        out[rows] = _sample(rng, cells.amounts, start[c], n[c], flat[rows])
    # many won deals: normal approximation, month after month given the sum so far
    rows = np.flatnonzero((last > 0) & ~few)
    if len(rows):
        c = cell[rows]
        k, nn = flat[rows], n[c].astype(float)
        total, var = cells.total[which][c], cells.var[which][c]
        z = rng.standard_normal(k.shape)
        so_far = np.zeros(len(rows))
        before = np.zeros(len(rows))
        for m in range(H):
            gained = k[:, m] - before
            left = np.maximum(nn - before, 1.0)
            mean = gained * (total - so_far) / left
            spread = gained * var * nn * (left - gained) / ((nn - 1) * left)
            step = mean + np.sqrt(np.maximum(spread, 0.0)) * z[:, m]
            so_far = so_far + np.clip(step, 0.0, np.maximum(total - so_far, 0.0))
            out[rows, m] = so_far
            before = k[:, m]
    return out.reshape(C, S, H)


def _select(
    rng: np.random.Generator,
    amounts: np.ndarray,
    start: np.ndarray,
    n: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Exact nested subset sums by sequential selection, (P, months), for P (draw, cell) pairs:
    each of a cell's ``n`` deals in turn is won in month ``m`` with chance (deals still to be won
    in month ``m``) / (deals left), so every assignment with the given counts is equally likely."""
    P, H = counts.shape
    order = np.argsort(-n, kind="stable")
    n, start, counts = n[order], start[order], counts[order]
    remaining = np.diff(counts, axis=1, prepend=0)
    remaining = np.concatenate([remaining, (n - counts[:, -1])[:, None]], axis=1)
    revenue = np.zeros((P, H + 1))
    rows = np.arange(P)
    for i in range(int(n.max())):
        A = int(np.searchsorted(-n, -i, side="left"))  # pairs whose cell has more than i deals
        u = rng.random(A) * (n[:A] - i)
        month = (u[:, None] >= remaining[:A].cumsum(axis=1)).sum(axis=1)
        remaining[rows[:A], month] -= 1
        revenue[rows[:A], month] += amounts[start[:A] + i]
    out = np.empty((P, H))
    out[order] = revenue[:, :H].cumsum(axis=1)
    return out


def _sample(
    rng: np.random.Generator,
    amounts: np.ndarray,
    start: np.ndarray,
    n: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Exact nested subset sums, (P, months), for pairs whose cell holds over four times as many
    deals as are won: the won deals are drawn at random and any that repeats an earlier one is
    drawn again until all differ (each redraw repeats with chance under 1/4). The first
    ``counts[:, 0]`` are won in month 1, the next in month 2, and so on."""
    P, H = counts.shape
    out = np.zeros((P, H))
    last = counts[:, -1]
    for low, high in _batches(EXACT_SUM_MAX):  # batches of similar size, so little padding
        rows = np.flatnonzero((last > low) & (last <= high))
        if not len(rows):
            continue
        w = int(last[rows].max())
        slots = np.arange(w)[None, :]
        valid = slots < last[rows, None]
        draw = (rng.random((len(rows), w)) * n[rows, None]).astype(np.int64)
        draw = np.where(valid, draw, -1 - slots)  # distinct fillers never repeat
        todo = np.arange(len(rows))
        while len(todo) and w > 1:
            sub = draw[todo]
            order = np.argsort(sub, axis=1, kind="stable")
            ranked = np.take_along_axis(sub, order, axis=1)
            repeat = ranked[:, 1:] == ranked[:, :-1]
            if not repeat.any():
                break
            r, j = np.nonzero(repeat)
            slot = order[r, j + 1]  # the later of two equal draws
            draw[todo[r], slot] = (rng.random(len(r)) * n[rows[todo[r]]]).astype(np.int64)
            todo = todo[np.unique(r)]
        values = np.where(valid, amounts[start[rows, None] + np.maximum(draw, 0)], 0.0)
        cumulative = np.concatenate([np.zeros((len(rows), 1)), values.cumsum(axis=1)], axis=1)
        out[rows] = np.take_along_axis(cumulative, counts[rows], axis=1)
    return out


def _batches(top: int) -> list[tuple[int, int]]:
    """(low, high] ranges of sizes 1, 2, 3-4, 5-8, ... up to ``top``."""
    out, low, high = [], 0, 1
    while low < top:
        out.append((low, min(high, top)))
        low, high = high, high * 2
    return out


__all__ = ["EXACT_SUM_MAX", "AmountPools", "drawn_revenue", "subset_sums", "won_amounts"]
