"""What is in hand: the wins that open deals and open leads bring in each coming month.

An open deal is simulated by its *product* with the censored model fitted by product::

    P(won in month k | open at age a) =
        w (F_W(a + x_k) - F_W(a + x_(k-1))) / (1 - w F_W(a) - (1 - w) lam F_L(a))

with its own amount when it has one. An open lead of age ``a`` converts later with
``c S_1(a) / (1 - c F_1(a))`` and its win lands where the observed lead -> won paths that had not
converted by ``a`` put it. Items that share these chances (open deals of one product and age, open
leads of one source and age) are simulated together as cells: their wins per month are drawn
exactly (binomial, then multinomial over the months), and the revenue of a cell's wins comes from
its deals' amounts (:func:`~.revenue.cell_revenue`). So the simulation costs draws x cells
whatever the number of deals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_models.analyses.lead_requirement.outlook import WindowOutlook
from pipeline_models.analyses.lead_requirement.revenue import (
    Cells,
    Revenue,
    cell_revenue,
    gamma_sum,
)
from pipeline_models.analyses.lead_requirement.won_paths import WonPaths
from pipeline_models.models.funnel.config import F_MAX
from pipeline_models.models.funnel.deal_flow import multinomial, split
from pipeline_models.models.funnel.groups import codes, distinct_pairs
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.models.funnel.opportunities import OPEN, OUTCOMES
from pipeline_models.models.funnel.timing import ALL

_CHUNK = 4_000_000
"""Draws x cells simulated at once (bounds the memory of the open-deal simulation)."""


def window_wins(
    rng: np.random.Generator, n: np.ndarray, chance: np.ndarray, share: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wins of cells of alike items: cell ``c`` has ``n[c]`` items, each won inside the window
    with ``chance[d, c]`` in draw ``d``, in month ``m`` with ``share[c, m]`` of that chance.

    Exact: the cell's wins are ``Binomial(n, chance)``, split over the months by a multinomial.
    Returns the pairs (draw, cell) that win anything, with their wins per month (pairs x
    months): most cells win nothing in most draws.
    """
    total = rng.binomial(np.asarray(n, dtype=np.int64)[None, :], np.clip(chance, 0, 1))
    draw, cell = np.nonzero(total)
    return draw, cell, split(rng, total[draw, cell], share[cell])


@dataclass(frozen=True)
class DealCells:
    """Open deals grouped into cells of one product and age (deals sorted by cell): each cell's
    first deal and size, product, chance steps per month (``step``, and ``share`` of the
    window), lag CDFs at its age, and the count, mean and variance of its known amounts."""

    amount: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray
    product: np.ndarray
    step: np.ndarray
    share: np.ndarray
    f_won: np.ndarray
    f_lost: np.ndarray
    n_known: np.ndarray
    mu: np.ndarray
    s2: np.ndarray


def deal_cells(model: LeadFunnelModel, x: np.ndarray) -> DealCells:
    """The open deals of ``model`` as cells, with their chances over the window ``x``."""
    m = model
    deals = m.items_.opportunities
    is_open = codes(deals["outcome"], OUTCOMES) == OPEN
    product = codes(deals["product"], m.products_)[is_open]
    age = deals["age"].to_numpy(float)[is_open]
    amount = deals["amount"].to_numpy(float)[is_open]
    order = np.lexsort((age, product))
    product, age, amount = product[order], age[order], amount[order]
    new = np.ones(len(order), bool)
    new[1:] = (product[1:] != product[:-1]) | (age[1:] != age[:-1])
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, len(order)))
    cell_product, cell_age = product[starts], age[starts]
    n_cells = len(starts)
    step = np.zeros((n_cells, len(x) - 1))
    f_won, f_lost = np.zeros(n_cells), np.zeros(n_cells)
    for j, p in enumerate(m.products_):
        pick = cell_product == j
        if not pick.any():
            continue
        lw = m.product_lag_won_.get(p, m.product_lag_won_[ALL])
        ll = m.product_lag_lost_.get(p, m.product_lag_lost_[ALL])
        step[pick] = np.diff(lw.cdf(cell_age[pick, None] + x[None, :]), axis=1)
        f_won[pick] = np.minimum(lw.cdf(cell_age[pick]), F_MAX)
        f_lost[pick] = np.minimum(ll.cdf(cell_age[pick]), F_MAX)
    share = step / np.maximum(step.sum(axis=1, keepdims=True), 1e-300)
    known = ~np.isnan(amount)
    n_known = np.add.reduceat(known, starts) if n_cells else np.zeros(0, np.int64)
    mu = np.add.reduceat(np.where(known, amount, 0.0), starts) / np.maximum(n_known, 1)
    spread = np.where(known, amount - np.repeat(mu, sizes), 0.0) ** 2
    s2 = np.add.reduceat(spread, starts) / np.maximum(n_known - 1, 1)
    return DealCells(
        amount, starts, sizes, cell_product, step, share, f_won, f_lost, n_known, mu, s2
    )


def open_deals(model: LeadFunnelModel, x: np.ndarray, rng: np.random.Generator):
    """Wins and revenue per draw and month from the open deals, by cells of product x age.

    Each win of a deal without an amount draws one (a Gamma sum by product, as
    :func:`~.revenue.gamma_sum`). Cells whose deals cannot be won inside the window (older than
    every won lag) are left out.
    """
    m = model
    c = deal_cells(m, x)
    d, h = m.product_win_.shape[0], len(x) - 1
    n_products = len(m.products_)
    count = np.zeros((d, h))
    revenue = Revenue.zeros(d, h)
    unknown_wins = np.zeros((d * n_products, h))
    lam = np.array([m.product_lost_share_.get(p, m.lost_share_) for p in m.products_])
    live = np.flatnonzero(c.step.sum(axis=1) > 0)
    chunk = max(1, _CHUNK // d)
    for c0 in range(0, len(live), chunk):
        cells = live[c0 : c0 + chunk]
        product = c.product[cells]
        w = m.product_win_[:, product]  # (D, cells)
        den = 1 - w * c.f_won[cells] - (1 - w) * lam[product] * c.f_lost[cells]
        chance = w * c.step[cells].sum(axis=1) / np.maximum(den, 1e-12)
        draw, cell, k = window_wins(rng, c.sizes[cells], chance, c.share[cells])
        cell = cells[cell]
        won = Cells(
            draw, k, c.amount, c.starts[cell], c.sizes[cell], c.n_known[cell], c.mu[cell],
            c.s2[cell],
        )  # fmt: skip
        unknown = cell_revenue(rng, won, revenue)
        at = draw * n_products + c.product[cell]
        for j in range(h):
            count[:, j] += np.bincount(draw, weights=k[:, j], minlength=d)
            unknown_wins[:, j] += np.bincount(at, weights=unknown[:, j], minlength=d * n_products)
    total = revenue.draw(rng)
    unknown_wins = unknown_wins.reshape(d, n_products, h)
    for j in np.flatnonzero(unknown_wins.any(axis=(0, 2))):
        u = np.clip(rng.random((d, h)), 1e-12, 1 - 1e-12)
        total += gamma_sum(
            unknown_wins[:, j], m.product_amounts_.draws[:, j, None], m.product_amounts_.var[j], u
        )
    return {"count": count, "revenue": total}


def open_leads(
    model: LeadFunnelModel, x: np.ndarray, paths: WonPaths, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Leads not converted yet, by source and distinct age (leads of one source and age
    share their chances): wins per month are multinomial per age, their amounts a Gamma sum
    with the moments of the won paths that land in that month."""
    m = model
    lds = m.items_.leads
    pending = ~lds["converted"].to_numpy(bool)
    level, ages_all, n_all = distinct_pairs(
        codes(lds["source"], m.sources_)[pending], lds["age"].to_numpy(float)[pending]
    )
    d, h = m.win_.shape[0], len(x) - 1
    count = np.zeros((d, h))
    revenue = np.zeros((d, h))
    if not len(paths.lag1):
        return {"count": count, "revenue": revenue}
    l1, lt = paths.lag1, paths.lag_total
    for j, s in enumerate(m.sources_):
        pick = (level == j) & (ages_all < l1.max())
        if not pick.any():
            continue
        ages, n = ages_all[pick], n_all[pick]
        rel = lt[None, :] - ages[:, None]  # days after as_of at which the win would land
        alive = l1[None, :] > ages[:, None]
        hits = [(rel > x[k]) & (rel <= x[k + 1]) & alive for k in range(h)]
        kern = np.stack([hit @ paths.weight[j] for hit in hits], axis=1)  # (ages, h)
        kern_a = np.stack([hit @ paths.amount[j] for hit in hits], axis=1)
        kern_a2 = np.stack([hit @ paths.amount2[j] for hit in hits], axis=1)
        f1 = np.minimum(m.lag_convert_[s].cdf(ages), F_MAX)
        c, w = m.conversion_[:, j][:, None], m.win_[:, j][:, None]
        p = (c * w / (1 - c * f1[None, :]))[..., None] * kern[None]  # (D, ages, h)
        k = multinomial(rng, n[None, :], p).sum(axis=1)  # (D, h)
        count += k
        # the amount of a win landing in month k: paths weighted as the expected wins
        scale = n / (1 - m.conversion_[:, j].mean() * f1)
        total = scale @ kern
        mean = np.where(total > 0, (scale @ kern_a) / np.maximum(total, 1e-300), 1.0)
        var = np.where(total > 0, (scale @ kern_a2) / np.maximum(total, 1e-300) - mean**2, 1.0)
        u = np.clip(rng.random((d, h)), 1e-12, 1 - 1e-12)
        revenue += gamma_sum(k, mean[None, :], np.maximum(var, 1e-9)[None, :], u)
    return {"count": count, "revenue": revenue}


def in_hand(
    model: LeadFunnelModel,
    x: np.ndarray,
    months: list[str],
    paths: WonPaths,
    rng: np.random.Generator,
) -> WindowOutlook:
    """What open deals (and, with a leads table, open leads) bring in each coming month."""
    out = WindowOutlook(months)
    out.parts["open deals"] = open_deals(model, x, rng)
    if model.has_leads_:
        out.parts["open leads"] = open_leads(model, x, paths, rng)
    return out


__all__ = [
    "DealCells",
    "deal_cells",
    "in_hand",
    "open_deals",
    "open_leads",
    "window_wins",
]
