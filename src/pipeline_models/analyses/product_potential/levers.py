r"""Levers: what a small change of win rate, deal size or cycle time adds over a horizon.

Over a horizon of ``H`` months the opportunities created in it, ``lambda_i H`` of them, will
eventually bring ``V_i = lambda_i H (1 - z_i) q_i s_i``; the share of that revenue that closes
inside the horizon is ``g_i = (1/H) int_0^H F_i(u) du`` (deals created evenly over the horizon,
``F_i`` the cycle's LogNormal CDF; closed form in :func:`closing_share`). A lever changes
``q -> q'``, ``s -> s'`` or ``mu -> mu'`` and adds::

    added_i = (V_i(q', s') - V_i(q, s))  +  V_i(q', s') * (g_i(mu') - g_i(mu))
              \__ more revenue ______/     \__ revenue brought into the horizon __/

A better win rate or deal size brings *more* revenue (counted whenever it closes); a faster cycle
brings none in the long run, so it is counted as the extra revenue that now closes *inside* the
horizon. Moving no lever adds exactly 0. Products do not interact: the total is the sum over
products and each product's term depends only on its own levers, so changes that touch each
product through **at most one lever** add up exactly (the non-interacting case). Two levers on one
product interact: win rate and deal size add ``lambda H (1 - z)(q' - q)(s' - s)`` on top of their
separate additions. :func:`~.simulation.simulate_added_revenue` checks this arithmetic deal by
deal.

The symbols are those of the posterior draws (:mod:`.draws`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import norm

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.contract.labels import DAYS_PER_MONTH

from .levels import level_dim_of

LEVERS = ("win_rate", "deal_size", "cycle_time")
"""What can move: a product's win rate, its mean won deal, its days to win."""

SCENARIOS = ("percent", "peer_median")
"""How far a lever moves: by a percentage, or to the median of the other levels."""

LEVER_VARIABLES = {"win_rate": "win_rate", "deal_size": "deal_size", "cycle_time": "cycle_mu"}
"""The variable of the draws each lever changes."""


def closing_share(mu: np.ndarray, sigma: np.ndarray, horizon_months: float) -> np.ndarray:
    """Share of the eventual revenue of deals created evenly over the horizon that closes inside it.

    ``g = (1/H) int_0^H F(u) du`` with ``F`` the LogNormal(mu, sigma) CDF of days to a win and
    ``H`` the horizon in days. Closed form: ``int_0^H F = H F(H) - E[T; T < H]`` and
    ``E[T; T < H] = exp(mu + sigma^2/2) Phi((ln H - mu - sigma^2) / sigma)``.
    """
    h = float(horizon_months) * DAYS_PER_MONTH
    mu = np.asarray(mu, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if h <= 0:
        return np.zeros(np.broadcast(mu, sigma).shape)
    z = (np.log(h) - mu) / sigma
    partial = np.exp(mu + sigma**2 / 2) * norm.cdf(z - sigma)
    return norm.cdf(z) - partial / h


def lever_target(
    draws: xr.Dataset,
    lever: str,
    scenario: str = "percent",
    lever_pct: float = 10.0,
    level: str | None = None,
) -> xr.DataArray:
    """The changed value of a lever's variable, per draw and level.

    ``percent``: win rate ``q (1 + pct/100)`` (kept within [0, 1]), deal size
    ``s (1 + pct/100)``, cycle time ``pct`` percent shorter (``mu + ln(1 - pct/100)``, so every
    deal's days shrink by that share). ``peer_median``: in each draw, the median of the other
    levels' values (win rate, deal size or log cycle days); with one level there are no peers and
    nothing changes. ``level``: change only that level (the others keep their values).

    Returns the new ``win_rate``, ``deal_size`` or ``cycle_mu`` (dims of ``draws``).
    """
    if lever not in LEVERS:
        raise ValueError(f"lever must be one of {LEVERS}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    variable = LEVER_VARIABLES[lever]
    current = draws[variable]
    dim = level_dim_of(current)
    if scenario == "percent":
        changed = _moved_by_percent(current, lever, lever_pct)
    else:
        current = current.transpose("sample", dim)
        changed = _peer_median(current, dim)
    if level is not None:
        changed = changed.where(current[dim] == level, current)
    return changed.rename(variable)


def _moved_by_percent(current: xr.DataArray, lever: str, lever_pct: float) -> xr.DataArray:
    factor = 1.0 + float(lever_pct) / 100.0
    # x * 1.0 == x and mu + ln(1) == mu exactly, so 0% changes nothing, to the last bit
    if lever == "win_rate":
        return (current * factor).clip(0.0, 1.0)
    if lever == "deal_size":
        return current * max(factor, 0.0)
    if not lever_pct < 100:
        raise ValueError("a cycle time cannot shrink by 100% or more")
    return current + np.log1p(-float(lever_pct) / 100.0)


def _peer_median(current: xr.DataArray, dim: str) -> xr.DataArray:
    """In each draw, every level's value replaced by the median of the other levels' values."""
    arr = np.asarray(current.values, dtype=float)
    peers = arr.copy()
    if arr.shape[1] > 1:
        for j in range(arr.shape[1]):
            peers[:, j] = np.median(np.delete(arr, j, axis=1), axis=1)
    return xr.DataArray(peers, dims=("sample", dim), coords=current.coords)


def added_revenue(
    draws: xr.Dataset, changes: Mapping[str, xr.DataArray], horizon_months: float = 3
) -> xr.DataArray:
    """Revenue a set of lever changes adds over the horizon, per draw and level.

    ``changes`` maps ``win_rate``, ``deal_size`` and/or ``cycle_mu`` to their new values (from
    :func:`lever_target`; missing ones keep their values). With ``V = lambda H (1 - z) q s`` and
    ``g`` from :func:`closing_share`::

        added = V(q', s') - V(q, s) + V(q', s') (g(mu') - g(mu))

    (see the module docstring). Sum over the level dimension for a total.
    """
    unknown = set(changes) - {"win_rate", "deal_size", "cycle_mu"}
    if unknown:
        raise ValueError(f"unknown lever variables {sorted(unknown)}")
    h = float(horizon_months)
    q, s, mu = draws["win_rate"], draws["deal_size"], draws["cycle_mu"]
    q1, s1, mu1 = (changes.get(k, draws[k]) for k in ("win_rate", "deal_size", "cycle_mu"))
    base = draws["volume"] * h * (1 - draws["stalled_share"])
    sigma = draws["cycle_sigma"]
    v0 = base * q * s
    v1 = base * q1 * s1
    g0 = xr.apply_ufunc(closing_share, mu, sigma, kwargs={"horizon_months": h})
    g1 = (
        xr.apply_ufunc(closing_share, mu1, sigma, kwargs={"horizon_months": h})
        if "cycle_mu" in changes
        else g0
    )
    return ((v1 - v0) + v1 * (g1 - g0)).rename("added_revenue")


def lever_table(
    draws: xr.Dataset,
    lever_pct: float = 10.0,
    horizon_months: int = 3,
    scenarios: Sequence[str] = SCENARIOS,
    levers: Sequence[str] = LEVERS,
    prob: float = INTERVAL,
) -> pd.DataFrame:
    """What each level would add over the horizon if one of its levers moved, ranked.

    One row per (level, lever, scenario): the lever moved for that level alone (the others
    unchanged), ``added = V(q', s') - V(q, s) + V(q', s') (g(mu') - g(mu))`` as in
    :func:`added_revenue`.

    Returns
    -------
    pandas.DataFrame
        Columns ``<level dim>, lever, scenario, kind`` ("more revenue" or "earlier revenue"),
        ``now`` and ``changed`` (posterior medians of the lever's figure: win rate, mean won
        deal, median days to win), ``mean``, ``median``, ``lower``, ``upper`` (``prob``
        interval) and ``p_positive``; sorted by ``mean``, largest first.
    """
    dim = level_dim_of(draws["win_rate"])
    rows = []
    for scenario in scenarios:
        for lever in levers:
            target = lever_target(draws, lever, scenario, lever_pct)
            # all levels moved at once = each level moved alone: levels do not interact
            added = added_revenue(draws, {target.name: target}, horizon_months)
            now, changed = draws[target.name], target
            if lever == "cycle_time":
                now, changed = np.exp(now), np.exp(changed)
            for level in draws[dim].values.tolist():
                a = added.sel({dim: level}).values
                lo, med, hi = np.quantile(a, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
                rows.append(
                    {
                        dim: level,
                        "lever": lever,
                        "scenario": scenario,
                        "kind": "earlier revenue" if lever == "cycle_time" else "more revenue",
                        "now": float(np.median(now.sel({dim: level}).values)),
                        "changed": float(np.median(changed.sel({dim: level}).values)),
                        "mean": float(np.mean(a)),
                        "median": float(med),
                        "lower": float(lo),
                        "upper": float(hi),
                        "p_positive": float(np.mean(a > 0)),
                    }
                )
    table = pd.DataFrame(rows)
    return table.sort_values("mean", ascending=False, ignore_index=True)


def merge_scaling_levers(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of one level and scenario whose win-rate and deal-size levers add the same revenue
    (a percentage on either scales revenue alike) merged into one row, lever
    ``"win_rate|deal_size"`` (``now``/``changed`` then hold the win rate's, ``size_now`` and
    ``size_changed`` the deal size's); order kept."""
    dim = table.columns[0]
    drop, relabel = [], {}
    for (_level, _scenario), rows in table.groupby([dim, "scenario"], sort=False):
        win = rows[rows["lever"] == "win_rate"]
        size = rows[rows["lever"] == "deal_size"]
        if len(win) == 1 and len(size) == 1:
            cols = ["mean", "lower", "upper"]
            a, b = win[cols].to_numpy(float), size[cols].to_numpy(float)
            if np.allclose(a, b, rtol=1e-9, atol=1e-9):
                keep, other = sorted([win.index[0], size.index[0]])
                relabel[keep] = "win_rate|deal_size"
                drop.append(other)
                table = table.copy()
                table.loc[keep, ["now", "changed"]] = win[["now", "changed"]].to_numpy()[0]
                table.loc[keep, "size_now"] = size["now"].iloc[0]
                table.loc[keep, "size_changed"] = size["changed"].iloc[0]
    out = table.drop(index=drop)
    if relabel:
        out.loc[list(relabel), "lever"] = list(relabel.values())
    return out.reset_index(drop=True)
