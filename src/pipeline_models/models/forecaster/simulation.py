"""Predictive draws of deals won and revenue won: open deals by cell, new deals by month.

Open deals are simulated by cell (:mod:`.cells`), not one by one: deals of one group, age, region
and with or without a known amount share their chances of being won by each coming month, so per
draw the numbers of a cell's deals won by month 1, 2, ... are drawn exactly: as
``k1 ~ Binomial(n, p1)``, then ``Binomial(n - k1, (p2 - p1) / (1 - p1))`` more in month 2, and so
on (see :func:`won_counts`). The revenue of the ``k`` deals won is the sum of their amounts
(:mod:`.amounts`): with known amounts, a uniformly random ``k``-subset of the cell's amounts
(nested month after month); otherwise ``k`` draws from the won amounts, as for new deals. New
deals arrive by group and month (:mod:`.arrivals`) and close through the same hazards from age 0.
Every window's draws are finally widened and shifted by the forecaster's self-calibration
(:mod:`.calibration`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipeline_models.models.forecaster.amounts import AmountPools, drawn_revenue, subset_sums
from pipeline_models.models.forecaster.arrivals import arrival_draws
from pipeline_models.models.forecaster.breakdown import add_new_levels, add_open_levels
from pipeline_models.models.forecaster.calibration import recalibrate
from pipeline_models.models.forecaster.cells import OpenCells, step_odds
from pipeline_models.models.forecaster.codes import tally
from pipeline_models.models.forecaster.hazards import won_by
from pipeline_models.models.forecaster.result import ForecastResult

if TYPE_CHECKING:
    from pipeline_models.models.forecaster.estimator import PipelineForecaster
    from pipeline_models.models.funnel.deal_flow import DealFlow


@dataclass(frozen=True)
class _NewDeals:
    """Wins of deals not yet created: one row per group and month of arrival."""

    g: np.ndarray  # group
    month: np.ndarray  # coming month of arrival (1: the month after the origin)
    count: np.ndarray  # (rows, draws, months) deals won by the end of each month
    revenue: np.ndarray  # (rows, draws, months) their revenue


def simulate(
    forecaster: PipelineForecaster,
    cells: OpenCells,
    horizons: tuple[int, ...],
    rng: np.random.Generator,
    breakdown: tuple[str, ...],
    flow: DealFlow | None = None,
    created: np.ndarray | None = None,
) -> ForecastResult:
    """Draws of deals and revenue won from the open ``cells``, from the deals the open leads
    bring and from new deals, per window of ``horizons`` months, in total, by part (``open``,
    ``leads``, ``new``) and by the ``breakdown``.

    Without a ``flow`` new deals arrive at the forecaster's own rates and ``leads`` is zero; with
    one, new deals are the flow's (from leads open at the origin: ``leads``; from leads not yet
    created: ``new``) plus the forecaster's arrivals thinned to the share that comes without a
    lead. ``created`` (groups x months, a check at an earlier origin): the deals actually
    created in each coming month, whose wins are drawn as the part ``closing``.
    """
    cfg = forecaster.forecast_config
    S = cfg.draws
    H = max(horizons)
    result = ForecastResult(origin=forecaster.origin_, horizons=horizons)
    haz = forecaster._hazard_draws(rng, S)
    season = forecaster._month_factors(rng, S, H)
    pools = forecaster._amount_pools()
    count_open, revenue_open = _open_part(forecaster, rng, cells, haz, season, pools)
    arrived = _arrivals(forecaster, rng, S, H, flow)
    odds = {} if flow is None else {"leads": flow.in_hand_odds, "new": flow.new_odds}
    start = {} if flow is None else {"leads": flow.in_hand_start}
    new = {
        part: _closing(rng, haz, season, pools, deals, odds.get(part), start.get(part))
        for part, deals in arrived.items()
    }
    for h in horizons:
        open_part = (count_open[:, :, h - 1].astype(float), revenue_open[:, :, h - 1])
        result.draws[(h, "count", "open")] = open_part[0].sum(axis=0)
        result.draws[(h, "revenue", "open")] = open_part[1].sum(axis=0)
        add_open_levels(result.by_group, h, *open_part, cells, breakdown)
        for part, deals in new.items():
            count, revenue = deals.count[:, :, h - 1].astype(float), deals.revenue[:, :, h - 1]
            result.draws[(h, "count", part)] = count.sum(axis=0)
            result.draws[(h, "revenue", part)] = revenue.sum(axis=0)
            add_new_levels(
                result.by_group, h, count, revenue, deals.g, deals.month, forecaster.levels_,
                cfg.group == "product", forecaster.regions_, forecaster.region_shares_, breakdown,
            )  # fmt: skip
        for target in ("count", "revenue"):
            result.draws[(h, target, "total")] = sum(
                result.draws[(h, target, part)] for part in PARTS
            )
    if created is not None:  # a check: the deals actually created, closing through the hazards
        for h, seed in zip(horizons, rng.integers(2**62, size=len(horizons)), strict=True):
            # each window from the deals created inside it only (a later month never moves it)
            inside = np.where(np.arange(created.shape[1]) < h, created, 0)
            known = _closing(
                np.random.default_rng(seed), haz, season, pools,
                np.broadcast_to(inside, (S, *inside.shape)),
            )  # fmt: skip
            result.draws[(h, "count", "closing")] = known.count[:, :, h - 1].sum(axis=0) * 1.0
            result.draws[(h, "revenue", "closing")] = known.revenue[:, :, h - 1].sum(axis=0)
    recalibrate(forecaster.calibration_, result, rng, cfg.calibration_horizon, S, flow is not None)
    return result


PARTS = ("open", "leads", "new")
"""Where a forecast's wins come from: deals open at the origin, deals the leads open at the origin
bring, and deals not yet created (from new leads, or without a lead)."""


def _open_part(
    forecaster: PipelineForecaster,
    rng: np.random.Generator,
    cells: OpenCells,
    haz: np.ndarray,
    season: np.ndarray,
    pools: AmountPools,
) -> tuple[np.ndarray, np.ndarray]:
    """Open deals: chances by (group, age) pair, counts and revenue by cell, (cell, draw, month)."""
    S, H = season.shape
    C = len(cells.n)
    if not C:
        return np.zeros((C, S, H), np.int64), np.zeros((C, S, H))
    haz_open = haz
    if (cells.g >= len(forecaster.levels_)).any():
        pooled = forecaster._pooled_draws(rng, S)[:, None, :, :]
        haz_open = np.concatenate([haz, pooled], axis=1)
    if cells.score_step is None:
        (pair_g, pair_age), _, pair = tally(cells.g, cells.age)
        p = won_by(haz_open, season, pair_g, pair_age, 0)[pair]
    else:  # deals with their own scores: one chance per (group, age, odds)
        (pair_g, pair_age, pair_step), _, pair = tally(cells.g, cells.age, cells.score_step)
        p = won_by(haz_open, season, pair_g, pair_age, 0, step_odds(pair_step))[pair]
    return open_wins(rng, cells, p, pools)


def _arrivals(
    forecaster: PipelineForecaster,
    rng: np.random.Generator,
    draws: int,
    months: int,
    flow: DealFlow | None,
) -> dict[str, np.ndarray]:
    """New deals per draw, group and coming month, (draws, groups, months), by part: the
    forecaster's own arrivals, or with a ``flow`` the flow's deals plus the forecaster's
    arrivals thinned to the share that comes without a lead."""
    own = np.zeros((draws, len(forecaster.levels_), months), np.int64)
    for m, active, deals in arrival_draws(
        rng, forecaster.arrival_shape_, forecaster.arrival_rate_, forecaster.arrival_sd_,
        draws, months,
    ):  # fmt: skip
        own[:, active, m - 1] = deals.T
    if flow is None:
        return {"leads": np.zeros_like(own), "new": own}
    other = rng.binomial(own, np.clip(flow.other_share, 0.0, 1.0))
    return {"leads": flow.in_hand, "new": flow.new + other}


def _closing(
    rng: np.random.Generator,
    haz: np.ndarray,
    season: np.ndarray,
    pools: AmountPools,
    deals: np.ndarray,
    odds: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> _NewDeals:
    """New ``deals`` (draws, groups, months of arrival) closing through the hazards from age 0:
    one row per group and month of arrival that has any deal. ``odds`` (groups x months): the
    deals' odds of winning against their group's average (by the sources they come from).
    ``start`` (months): where in its month a deal is created on average (:func:`_won_from`)."""
    S, H = season.shape
    g, month = np.nonzero(deals.any(axis=0))
    if not len(g):
        empty = np.zeros(0, np.int64)
        return _NewDeals(empty, empty, np.zeros((0, S, H), np.int64), np.zeros((0, S, H)))
    n = deals[:, g, month].T  # (rows, draws)
    p = np.concatenate(
        [_won_from(haz, season, g[month == m], m,
                   None if odds is None else odds[g[month == m], m],
                   0.5 if start is None else float(start[m]))
         for m in np.unique(month)]
    )  # fmt: skip
    order = np.concatenate([np.flatnonzero(month == m) for m in np.unique(month)])
    g, month, n = g[order], month[order] + 1, n[order]
    count = won_counts(rng, n, p)
    return _NewDeals(g, month, count, drawn_revenue(rng, pools, g, [], count))


def _won_from(
    haz: np.ndarray,
    season: np.ndarray,
    g: np.ndarray,
    m: int,
    odds: np.ndarray | None,
    start: float,
) -> np.ndarray:
    """P(won by the end of each coming month) of deals of groups ``g`` created in coming month
    ``m`` (0: the first), at ``start`` of it on average.

    The hazards are by calendar month of age, learned from deals created evenly over their
    months: the chance of being won by the end of a deal's ``k``-th month is the chance by age
    ``k + 0.5`` months of one created on its month's first day. A deal created at fraction ``u``
    is ``d = 0.5 - u`` months older: its chance lies between those of ages ``k`` and ``k + 1``
    (or ``k - 1``), interpolated on the log scale (``P_k^(1-d) P_(k+1)^d``), as the start of a
    cycle-time distribution grows like a power of time.
    """
    zero = np.zeros(len(g), np.int64)
    even = won_by(haz, season, g, zero, m, odds)
    d = float(np.clip(0.5 - start, -0.5, 0.5))
    if abs(d) < 1e-9:
        return even
    if d > 0:  # older: as if created a month before (the origin month takes the first's season)
        before = np.concatenate([season[:, :1], season], axis=1)
        other = won_by(haz, before, g, zero, m, odds)[:, :, 1:]
    else:  # younger: as if created a month later
        later = np.concatenate([season, season[:, -1:]], axis=1)
        other = won_by(haz, later, g, zero, m + 1, odds)[:, :, :-1]
    out = np.exp(
        (1 - abs(d)) * np.log(np.maximum(even, 1e-300)) + abs(d) * np.log(np.maximum(other, 1e-300))
    )
    out[:, :, :m] = 0.0
    return np.where((even > 0) | (other > 0), out, 0.0)


def open_wins(
    rng: np.random.Generator, cells: OpenCells, p: np.ndarray, pools: AmountPools
) -> tuple[np.ndarray, np.ndarray]:
    """Deals won and revenue won by the end of each coming month, (C, S, months) each, for
    open ``cells`` whose deals are won by the end of month ``m`` with chance ``p[..., m]``."""
    C, S, H = p.shape
    count = np.empty((C, S, H), np.int64)
    revenue = np.zeros((C, S, H))
    single = cells.n == 1  # one deal: won by month m when a uniform draw falls below p[m]
    if single.any():
        u = rng.random((int(single.sum()), S, 1))
        count[single] = u < p[single]
    many = np.flatnonzero(~single)
    if len(many):
        n = np.broadcast_to(cells.n[many, None], (len(many), S))
        count[many] = won_counts(rng, n, p[many])
    known = np.flatnonzero(cells.known)
    if len(known):
        revenue[known] = subset_sums(rng, cells, known, count[known])
    unknown = np.flatnonzero(~cells.known)
    if len(unknown):
        levels = [codes[unknown] for codes, _ in cells.labels.values()]
        revenue[unknown] = drawn_revenue(rng, pools, cells.g[unknown], levels, count[unknown])
    return count, revenue


def won_counts(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Deals won by the end of each coming month, (C, S, months), of ``n`` (C, S) deals each
    won by the end of month ``m`` with chance ``p[..., m]`` (independently given the draw).

    Exact: the deals won by the last month are ``Binomial(n, p[-1])``; they are then split month
    by month, each won deal falling in month ``m`` with chance ``(p[m] - p[m - 1]) / p[-1]``
    (a binomial draw among those not yet placed, with the chance given not placed before). The
    same as drawing month by month among the deals not yet won, cheaper where few are won.
    """
    H = p.shape[-1]
    flat = p.reshape(-1, H)
    size = np.broadcast_to(n, p.shape[:-1]).reshape(-1)
    out = np.zeros(flat.shape, np.int64)
    last = flat[:, -1]
    live = np.flatnonzero((size > 0) & (last > 0))
    out[live, -1] = rng.binomial(size[live], np.minimum(last[live], 1.0))
    rows = live[out[live, -1] > 0]
    left = out[rows, -1].copy()
    won = np.zeros(len(rows), np.int64)
    previous = np.zeros(len(rows))
    for m in range(H - 1):
        current = flat[rows, m]
        share = np.divide(
            current - previous,
            last[rows] - previous,
            out=np.zeros(len(rows)),
            where=last[rows] > previous,
        )
        active = np.flatnonzero(left > 0)
        gained = rng.binomial(left[active], share[active].clip(0.0, 1.0))
        won[active] += gained
        left[active] -= gained
        out[rows, m] = won
        previous = current
    return out.reshape(p.shape)


__all__ = ["PARTS", "open_wins", "simulate", "won_counts"]
