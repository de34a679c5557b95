"""Futures drawn from the TRUE parameters of the funnel simulator, and models that know them:
what the lead requirement tests compare the planner with.

The simulator itself (:mod:`funnel_cases`) lives beside the funnel model's tests.
"""

from __future__ import annotations

import copy
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_models.analyses.lead_requirement import LeadPlanner
from pipeline_models.models.funnel import LagDistribution, LeadFunnelModel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "funnel"))
from funnel_cases import AS_OF, WINDOW_DAYS, Truth, fitted_case, simulate  # noqa: E402

__all__ = [
    "AS_OF",
    "Truth",
    "fitted_case",
    "future_wins",
    "knows_the_truth",
    "per_deal_open_deals",
    "planned_case",
    "simulate",
]


@functools.cache
def planned_case():
    """:func:`funnel_cases.fitted_case` with its planner (3 months, seed 3)."""
    truth, frame, leads, model = fitted_case()
    return truth, frame, leads, model, LeadPlanner(model, 3, random_seed=3)


def future_wins(truth: Truth, model: LeadFunnelModel, new: dict[str, int], sims: int, seed: int):
    """Deals won in the window in ``sims`` futures drawn from the TRUE parameters: the open leads
    and open deals of the snapshot (given what the snapshot shows of them) and ``new`` leads
    created uniformly over the window.

    Each item wins inside the window independently, with a probability computed from the truth
    (lags drawn exactly as :func:`simulate` draws them, 200,000 of each), so a future is a set of
    independent Bernoulli draws (a Binomial for the new leads).
    """
    rng = np.random.default_rng(seed)
    lag_rng = np.random.default_rng(0)
    span = WINDOW_DAYS
    wins = np.zeros(sims)
    lds = model.items_.leads
    opps = model.items_.opportunities
    size = 200_000
    lost_lag = np.maximum(
        np.rint(truth.lost_median * np.exp(truth.lost_sigma * lag_rng.standard_normal(size))), 1
    )
    for j, source in enumerate(truth.sources):
        c, w = truth.conversion[j], truth.win[j]
        lag1 = truth._lag1(j, size, lag_rng)
        won_lag = truth._won_lag(j, size, lag_rng)
        total = lag1 + won_lag
        # open leads (not converted by age a): convert later with c S1(a) / (1 - c F1(a)), then
        # win with w, inside the window if lag1 + won_lag - a <= span given lag1 > a
        age = lds.loc[(lds["source"] == source) & ~lds["converted"], "age"].to_numpy()
        ages, counts = np.unique(age[age < lag1.max()], return_counts=True)
        p = np.zeros(len(ages))
        for i, a in enumerate(ages):
            later = lag1 > a
            s1 = later.mean()
            inside = np.mean(total[later] - a <= span) if later.any() else 0.0
            p[i] = c * s1 / (1 - c * (1 - s1)) * w * inside
        p_items = np.repeat(p, counts)
        wins += (rng.random((sims, len(p_items))) < p_items).sum(axis=1)
        # open deals of age a (neither won nor lost): the won class with its posterior weight
        age = opps.loc[(opps["source"] == source) & (opps["outcome"] == "open"), "age"].to_numpy()
        won_sorted, lost_sorted = np.sort(won_lag), np.sort(lost_lag)

        def cdf(values, x):
            return np.searchsorted(values, x, side="right") / size

        sw, sl = 1 - cdf(won_sorted, age), 1 - cdf(lost_sorted, age)
        hit = cdf(won_sorted, age + span) - cdf(won_sorted, age)
        p_open = w * hit / (w * sw + (1 - w) * (truth.lost_share * sl + 1 - truth.lost_share))
        wins += (rng.random((sims, len(age))) < p_open).sum(axis=1)
        # new leads created uniformly over the window: Binomial(n, c w G)
        n = int(new.get(source, 0))
        g = float(np.mean(np.maximum(span - total, 0) / span))
        wins += rng.binomial(n, c * w * g, size=sims)
    return wins


def knows_the_truth(model: LeadFunnelModel, truth: Truth, size: int = 30_000):
    """A copy of ``model`` whose parameters are the truth: rates, stall share, and lags and
    amounts from ``size`` true paths per source (what is in hand stays as the data show it)."""
    rng = np.random.default_rng(0)
    out = copy.copy(model)
    d = model.conversion_.shape[0]
    out.conversion_ = np.tile(truth.conversion, (d, 1))
    out.win_ = np.tile(truth.win, (d, 1))
    out.product_win_ = np.tile([truth.win[truth.sources.index(p)] for p in model.products_], (d, 1))
    out.lost_share_ = truth.lost_share
    out.quarter_rhythm_ = None  # the truth has no quarter rhythm
    out.product_lost_share_ = {p: truth.lost_share for p in model.products_}
    paths, convert, won, lost = [], {}, {}, {}
    for j, s in enumerate(truth.sources):
        lag1, won_lag = truth._lag1(j, size, rng), truth._won_lag(j, size, rng)
        amount = truth.amount_median[j] * np.exp(truth.amount_sigma * rng.standard_normal(size))
        paths.append(
            pd.DataFrame(
                {
                    "source": s,
                    "lag1": lag1,
                    "lag_total": lag1 + won_lag,
                    "amount": amount,
                    "weight": 1.0 / size,
                }
            )
        )
        even = np.full(size, 1 / size)
        lost_lag = np.maximum(
            np.rint(truth.lost_median * np.exp(truth.lost_sigma * rng.standard_normal(size))), 1
        )
        convert[s] = LagDistribution(lag1, even)
        won[s], lost[s] = LagDistribution(won_lag, even), LagDistribution(lost_lag, even)
    out.paths_ = pd.concat(paths, ignore_index=True)
    out.lag_convert_ = convert
    out.product_lag_won_ = {**won, "__all__": won[truth.sources[0]]}
    out.product_lag_lost_ = {**lost, "__all__": lost[truth.sources[0]]}
    return out


def per_deal_open_deals(planner: LeadPlanner, seed: int) -> dict[str, np.ndarray]:
    """Wins and revenue per draw and month from the open deals of ``planner``'s model, simulated
    deal by deal (every open deal has an amount here): each deal lands in month ``k`` with
    ``w (F_W(a + x_k) - F_W(a + x_(k-1))) / (1 - w F_W(a) - (1 - w) lam F_L(a))``."""
    m = planner.model
    rng = np.random.default_rng(seed)
    deals = m.items_.opportunities
    deals = deals[deals["outcome"] == "open"]
    d, h = m.product_win_.shape[0], planner.horizon
    count, revenue = np.zeros((d, h)), np.zeros((d, h))
    for j, p in enumerate(m.products_):
        rows = deals[deals["product"] == p]
        if not len(rows):
            continue
        age = rows["age"].to_numpy(float)
        amount = rows["amount"].to_numpy(float)
        lw = m.product_lag_won_.get(p, m.product_lag_won_["__all__"])
        ll = m.product_lag_lost_.get(p, m.product_lag_lost_["__all__"])
        step = np.diff(lw.cdf(age[:, None] + planner.x[None, :]), axis=1)
        fa, fl = np.minimum(lw.cdf(age), 0.999), np.minimum(ll.cdf(age), 0.999)
        lam = m.product_lost_share_.get(p, m.lost_share_)
        w = m.product_win_[:, j][:, None]
        p_month = w[..., None] * step[None] / (1 - w * fa - (1 - w) * lam * fl)[..., None]
        for start in range(0, len(age), 500):
            part = slice(start, start + 500)
            cum = np.cumsum(p_month[:, part], axis=2)
            month = (rng.random(cum.shape[:2])[..., None] > cum).sum(axis=2)
            for k in range(h):
                hit = month == k
                count[:, k] += hit.sum(axis=1)
                revenue[:, k] += hit @ amount[part]
    return {"count": count, "revenue": revenue}
