"""Product potential: what each product can sell, and where a small change would pay most.

Everything here works on **joint posterior draws per product** (an :class:`xarray.Dataset` with
dims ``(sample, <level>)``, made by :func:`posterior_draws` from the period's shared fits), so every
figure carries its interval and rankings account for how sure we are of each product. The raw
figures of the export (:func:`raw_figures`) stand beside the pooled estimates, so a reader sees how
much a product with few deals was pulled toward the others.

Quantities per product ``i`` and posterior draw
-----------------------------------------------
``volume``  ``lambda_i``: opportunities created per month, ``Gamma(0.5 + n, months)`` from the
    ``n`` created in the last ``volume_months`` months (Jeffreys prior of a Poisson rate).
``win_rate``  ``q_i``: share of *closed* deals that are won, from the win-rate model, averaged over
    the product's own closed deals (their regions, owners, lead sources), so it is comparable with
    the raw won/closed.
``stalled_share``  ``z_i``: share of opportunities that never close (cycle-time model).
``deal_size``  ``s_i``: mean amount of a won deal, ``exp(mu + sigma^2 / 2)`` from the revenue
    model, averaged over the product's won deals' cells.
``cycle_mu``, ``cycle_sigma``  days from creation to a win are ``LogNormal(mu_i, sigma)``
    (cycle-time model); ``cycle_days = exp(mu_i)`` is the median.
``revenue_per_opportunity``  ``(1 - z_i) q_i s_i``: expected revenue a new opportunity brings.
``revenue_per_month``  ``lambda_i (1 - z_i) q_i s_i``: what a month of current volume is worth.
``revenue_per_lead``  ``c * revenue_per_opportunity`` where ``c`` is the lead->opportunity
    conversion (a lead has no product before it converts, so ``c`` is one rate for all products).

The models' draws are independent posteriors, so draw ``k`` of each model together is a joint draw.

Levers (the "small change" arithmetic)
--------------------------------------
Over a horizon of ``H`` months the opportunities created in it, ``lambda_i H`` of them, will
eventually bring ``V_i = lambda_i H (1 - z_i) q_i s_i``; the share of that revenue that closes
inside the horizon is ``g_i = (1/H) int_0^H F_i(u) du`` (deals created evenly over the horizon,
``F_i`` the cycle's LogNormal CDF; closed form in :func:`closing_share`). A lever changes
``q -> q'``, ``s -> s'`` or ``mu -> mu'`` and adds::

    added_i = (V_i(q', s') - V_i(q, s))  +  V_i(q', s') * (g_i(mu') - g_i(mu))
              \\__ more revenue ______/     \\__ revenue brought into the horizon __/

A better win rate or deal size brings *more* revenue (counted whenever it closes); a faster cycle
brings none in the long run, so it is counted as the extra revenue that now closes *inside* the
horizon. Moving no lever adds exactly 0. Products do not interact: the total is the sum over
products and each product's term depends only on its own levers, so changes that touch each
product through **at most one lever** add up exactly (the non-interacting case). Two levers on one
product interact: win rate and deal size add ``lambda H (1 - z)(q' - q)(s' - s)`` on top of their
separate additions. :func:`simulate_added_revenue` checks this arithmetic deal by deal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator
from scipy.stats import norm

from .aggregate import NONE_LEVEL, factorize_rows, group_levels
from .models.base import stack_draws

DAYS_PER_MONTH = 365.25 / 12
INTERVAL = 0.80
"""Probability of the equal-tailed intervals this report shows."""

LEVERS = ("win_rate", "deal_size", "cycle_time")
SCENARIOS = ("percent", "peer_median")
LEVEL_SEPARATOR = " · "

MEASURES: dict[str, tuple[str, bool]] = {
    "revenue_per_opportunity": ("expected revenue per opportunity", True),
    "revenue_per_month": ("expected revenue per month of current volume", True),
    "win_rate": ("win rate of closed deals", True),
    "deal_size": ("mean won deal", True),
    "cycle_days": ("median days to win", False),
    "forecast_revenue": ("forecast revenue", True),
    "revenue_per_lead": ("expected revenue per lead", True),
}
"""Measures a ranking can use: variable -> (reader's label, higher is better)."""


# --------------------------------------------------------------------------------------------------
# levels


def level_labels(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """One text label per row: the ``by`` columns' values joined (missing -> ``"(none)"``)."""
    by = list(by)
    for col in by:
        if col not in frame:
            raise KeyError(f"grouping column {col!r} is not in the table")
    if not len(frame):
        return pd.Series([], index=frame.index, dtype=object)
    # one label per distinct combination of raw values, shared by its rows
    codes, distinct = factorize_rows(frame, by)
    text = group_levels(distinct, by)
    labels = np.asarray(
        [LEVEL_SEPARATOR.join(map(str, c)) for c in text.itertuples(index=False)], dtype=object
    )
    return pd.Series(labels[codes], index=frame.index, dtype=object)


def level_dim(by: Sequence[str]) -> str:
    """Name of the level dimension for ``by``: ``"product"`` or ``"product_region"``."""
    return "_".join(by)


def _dim(values: xr.DataArray | xr.Dataset) -> str:
    dims = [d for d in values.dims if d != "sample"]
    if len(dims) != 1:
        raise ValueError(f"expected dims (sample, level), got {tuple(values.dims)}")
    return dims[0]


# --------------------------------------------------------------------------------------------------
# raw figures


def raw_figures(
    frame: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: Sequence[str] = ("product",),
    volume_months: int = 6,
) -> pd.DataFrame:
    """The export's own figures per level, to stand beside the pooled estimates.

    Parameters
    ----------
    frame
        Canonical opportunities.
    as_of
        Day the export describes (deals created after it are ignored for volumes).
    by
        Grouping columns (``("product",)`` or ``("product", "region")``).
    volume_months
        Recent months counted for volume; the trend compares them with the same number of months
        before.

    Returns
    -------
    pandas.DataFrame
        Indexed by level label: ``opportunities``, ``closed``, ``won``, ``win_rate`` (won/closed),
        ``won_with_amount``, ``mean_won_amount`` (mean of won amounts > 0), ``median_days_won``
        (close - created of won deals), ``created_recent`` and ``per_month_recent`` (last
        ``volume_months`` months), ``per_month_earlier`` (the months before; NaN before the
        export's first creation month), ``trend`` (recent / earlier), ``open_deals``,
        ``open_amount`` (sum of recorded open amounts), ``open_without_amount``,
        ``open_without_created`` and ``revenue_won``.
    """
    as_of = pd.Timestamp(as_of).normalize()
    labels = level_labels(frame, by)
    status = frame["status"].astype("string").fillna("open")
    won = (status == "won").to_numpy()
    lost = (status == "lost").to_numpy()
    is_open = ~(won | lost)
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
    created = pd.to_datetime(frame["created_date"], errors="coerce")
    closed_at = pd.to_datetime(frame["close_date"], errors="coerce")
    days = ((closed_at - created).dt.days).to_numpy(dtype=float)
    with_amount = won & (amount > 0)

    recent_start, earlier_start = _volume_windows(as_of, volume_months)
    created_ok = created.notna() & (created < as_of + pd.Timedelta(days=1))
    recent = (created_ok & (created >= recent_start)).to_numpy()
    earlier = (created_ok & (created >= earlier_start) & (created < recent_start)).to_numpy()
    # the earlier window counts only when the export reaches back to its first month
    earlier_known = bool(created.notna().any()) and created.min() < earlier_start + pd.DateOffset(
        months=1
    )

    data = pd.DataFrame(
        {
            "level": labels.to_numpy(),
            "one": 1,
            "closed": (won | lost).astype(int),
            "won": won.astype(int),
            "won_with_amount": with_amount.astype(int),
            "won_amount": np.where(with_amount, amount, 0.0),
            "days_won": np.where(won, days, np.nan),
            "recent": recent.astype(int),
            "earlier": earlier.astype(int),
            "open": is_open.astype(int),
            "open_amount": np.where(is_open & ~np.isnan(amount), amount, 0.0),
            "open_missing": (is_open & np.isnan(amount)).astype(int),
            "open_no_created": (is_open & created.isna().to_numpy()).astype(int),
            "revenue": np.where(won & ~np.isnan(amount), amount, 0.0),
        }
    )
    g = data.groupby("level", sort=True)
    out = pd.DataFrame(
        {
            "opportunities": g["one"].sum(),
            "closed": g["closed"].sum(),
            "won": g["won"].sum(),
        }
    )
    out["win_rate"] = out["won"] / out["closed"].where(out["closed"] > 0)
    out["won_with_amount"] = g["won_with_amount"].sum()
    out["mean_won_amount"] = g["won_amount"].sum() / out["won_with_amount"].where(
        out["won_with_amount"] > 0
    )
    out["median_days_won"] = g["days_won"].median()
    out["created_recent"] = g["recent"].sum()
    out["per_month_recent"] = out["created_recent"] / volume_months
    out["per_month_earlier"] = g["earlier"].sum() / volume_months if earlier_known else np.nan
    out["trend"] = out["per_month_recent"] / out["per_month_earlier"].where(
        out["per_month_earlier"] > 0
    )
    out["open_deals"] = g["open"].sum()
    out["open_amount"] = g["open_amount"].sum()
    out["open_without_amount"] = g["open_missing"].sum()
    out["open_without_created"] = g["open_no_created"].sum()
    out["revenue_won"] = g["revenue"].sum()
    out.index.name = level_dim(by)
    return out


def _volume_windows(as_of: pd.Timestamp, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First days of the recent window (the ``months`` months ending with ``as_of``'s month) and
    of the equally long window before it."""
    if months < 1:
        raise ValueError("volume_months must be >= 1")
    last = pd.Period(as_of, "M")
    return (last - months + 1).start_time, (last - 2 * months + 1).start_time


# --------------------------------------------------------------------------------------------------
# posterior draws from the period's models


def _mix(
    frame: pd.DataFrame, rows: np.ndarray, by: Sequence[str], columns: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Distinct cells (``columns``) of the chosen rows per level, with their share of the level.

    Returns the cells table (model columns), a weight matrix (cell, level) whose columns sum to 1
    and the level labels.
    """
    cols = list(dict.fromkeys([*by, *columns]))
    chosen = frame.loc[rows]
    keys = group_levels(chosen, cols) if cols else pd.DataFrame(index=chosen.index)
    keys["_level"] = level_labels(chosen, by).to_numpy()
    counts = keys.groupby([*cols, "_level"] if cols else ["_level"], sort=True).size()
    counts = counts.rename("weight").reset_index()
    levels = sorted(counts["_level"].unique().tolist())
    weights = np.zeros((len(counts), len(levels)))
    pos = pd.Index(levels).get_indexer(counts["_level"])
    weights[np.arange(len(counts)), pos] = counts["weight"].to_numpy(dtype=float)
    weights /= weights.sum(axis=0, keepdims=True)
    cells = counts[list(columns)].reset_index(drop=True)
    return cells, weights, levels


def _rows_or_all(labels: pd.Series, wanted: np.ndarray) -> np.ndarray:
    """``wanted`` rows, plus every row of a level that has no wanted row (its best stand-in)."""
    has = pd.Series(wanted, index=labels.index).groupby(labels.to_numpy()).transform("any")
    return wanted | ~has.to_numpy(dtype=bool)


def _thin(values: np.ndarray, n: int) -> np.ndarray:
    """Evenly spaced ``n`` of the draws (first axis), or all when there are not more."""
    if values.shape[0] <= n:
        return values
    keep = np.linspace(0, values.shape[0] - 1, n).round().astype(int)
    return values[keep]


def win_rate_draws(
    model, frame: pd.DataFrame, by: Sequence[str] = ("product",), random_seed: int | None = None
) -> xr.DataArray:
    """Posterior draws of each level's win rate (won share of closed deals).

    The model's win probability of every closed deal's cell (product, region, owner, lead
    source), averaged over the level's closed deals: the pooled counterpart of the raw
    won/closed. A level without closed deals is averaged over all its deals (its effect then
    comes from the population of products). Dims ``(sample, <level>)``.
    """
    labels = level_labels(frame, by)
    status = frame["status"].astype("string")
    closed = status.isin(["won", "lost"]).fillna(False).to_numpy(dtype=bool)
    rows = _rows_or_all(labels, closed)
    cells, weights, levels = _mix(frame, rows, by, model.columns_)
    p = np.asarray(model.predict_proba(cells, random_seed=random_seed).values)
    return _array(p @ weights, levels, by, "win_rate")


def deal_size_draws(
    model, frame: pd.DataFrame, by: Sequence[str] = ("product",), random_seed: int | None = None
) -> xr.DataArray:
    """Posterior draws of each level's mean won-deal amount, ``exp(mu + sigma^2/2)`` per cell,
    averaged over the level's won deals with an amount (all its deals when it has none)."""
    labels = level_labels(frame, by)
    status = frame["status"].astype("string")
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
    won = status.eq("won").fillna(False).to_numpy(dtype=bool) & (amount > 0)
    rows = _rows_or_all(labels, won)
    cells, weights, levels = _mix(frame, rows, by, model.columns_)
    s = np.asarray(model.expected_amount(cells, random_seed=random_seed).values)
    return _array(s @ weights, levels, by, "deal_size")


def cycle_draws(
    model, products: Sequence[str], random_seed: int | None = None
) -> dict[str, np.ndarray]:
    """Stalled share and won-cycle LogNormal parameters per product, from the cycle-time model.

    Read from the posterior as :meth:`CycleTimeModel.outcome_table` does (a product the fit never
    saw gets a fresh effect from the population of products; terms other than ``product`` are at
    their average level).

    Returns
    -------
    dict
        ``stalled_share`` (sample, product), ``cycle_mu`` (sample, product) in log days,
        ``cycle_sigma`` (sample, 1).
    """
    post = model.posterior_
    rng = np.random.default_rng(random_seed)
    eta = stack_draws(post, "outcome_intercept", ("outcome",))[..., None]  # (S, 2, 1)
    mu = stack_draws(post, "duration_intercept", ("outcome",))[..., None]
    products = np.asarray([str(p) for p in products], dtype=object)
    if "product" in model.terms_:
        known = list(model.terms_["product"])
        idx = pd.Index(known).get_indexer(products)
        parts = []
        for prefix in ("outcome_", "duration_"):
            b = stack_draws(post, f"{prefix}b_product", ("outcome", "product"))
            sd = stack_draws(post, f"{prefix}sd_product", ("outcome",))
            fresh = sd[..., None] * rng.standard_normal((*sd.shape, len(products)))
            parts.append(np.where(idx >= 0, b[..., np.maximum(idx, 0)], fresh))
        eta = eta + parts[0]
        mu = mu + parts[1]
    eta = np.broadcast_to(eta, (eta.shape[0], 2, len(products)))
    mu = np.broadcast_to(mu, (mu.shape[0], 2, len(products)))
    logits = np.concatenate([eta, np.zeros((eta.shape[0], 1, len(products)))], axis=1)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    sigma = stack_draws(post, "duration_sigma", ("outcome",))[:, :1]
    return {"stalled_share": p[:, 2], "cycle_mu": mu[:, 0].copy(), "cycle_sigma": sigma}


def volume_draws(
    frame: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: Sequence[str],
    levels: Sequence[str],
    n_samples: int,
    volume_months: int = 6,
    random_seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Draws of opportunities created per month, recent and earlier, per level.

    ``lambda ~ Gamma(0.5 + n, rate=months)`` for the ``n`` deals created in the last
    ``volume_months`` months up to ``as_of`` (``volume``) and in the months before
    (``volume_earlier``; NaN when the export starts after that window begins). Deals without a
    creation date are not counted.
    """
    rng = np.random.default_rng(random_seed)
    as_of = pd.Timestamp(as_of).normalize()
    raw = raw_figures(frame, as_of, by, volume_months).reindex(list(levels))
    n_recent = raw["created_recent"].fillna(0).to_numpy(dtype=float)
    n_earlier = (raw["per_month_earlier"] * volume_months).to_numpy(dtype=float)
    shape = (n_samples, len(levels))
    recent = rng.gamma(0.5 + n_recent, 1.0 / volume_months, size=shape)
    earlier = rng.gamma(0.5 + np.nan_to_num(n_earlier), 1.0 / volume_months, size=shape)
    earlier = np.where(np.isnan(n_earlier), np.nan, earlier)
    return {"volume": recent, "volume_earlier": earlier}


def lead_conversion_draws(
    leads: pd.DataFrame,
    as_of: str | pd.Timestamp,
    n_samples: int,
    maturity_days: int = 90,
    random_seed: int | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """Draws of the lead->opportunity conversion rate, ``Beta(0.5 + converted, 0.5 + not)``.

    Counted on leads created at least ``maturity_days`` before ``as_of`` (younger leads may
    still convert; when there are none, on all leads). A lead counts as converted when it names
    an opportunity or was converted by ``as_of``.

    Returns
    -------
    (draws, counts)
        Draws of shape ``(n_samples,)``; ``counts`` holds ``leads``, ``converted`` and
        ``maturity_days`` used.
    """
    as_of = pd.Timestamp(as_of).normalize()
    created = pd.to_datetime(leads["created_date"], errors="coerce")
    converted_at = pd.to_datetime(leads.get("converted_date"), errors="coerce")
    has_opp = leads["opportunity_id"].notna() if "opportunity_id" in leads else False
    converted = (has_opp | (converted_at <= as_of)).fillna(False).to_numpy(dtype=bool)
    mature = (created <= as_of - pd.Timedelta(days=maturity_days)).fillna(False).to_numpy(bool)
    used_days = maturity_days
    if not mature.any():
        mature = (created <= as_of).fillna(False).to_numpy(bool)
        used_days = 0
    n = int(mature.sum())
    k = int((converted & mature).sum())
    rng = np.random.default_rng(random_seed)
    draws = rng.beta(0.5 + k, 0.5 + n - k, size=n_samples)
    return draws, {"leads": n, "converted": k, "maturity_days": used_days}


def open_pipeline_draws(
    cycle_model,
    revenue_model,
    frame: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: Sequence[str],
    levels: Sequence[str],
    n_samples: int,
    random_seed: int | None = None,
) -> np.ndarray:
    """Draws of the expected value of each level's open deals, ``sum P(won eventually) x amount``.

    ``P(won eventually)`` is the cycle-time model's chance that a deal open at its age is won
    (within ten years: old deals that have probably stalled count for little); the amount is the
    deal's recorded one, or the revenue model's mean won amount of its cell when it has none.
    A deal's age is taken at the middle of its week of age; open deals without a creation date
    are taken as just created (age 0). Shape
    ``(n_samples, level)``; 0 for a level without open deals.
    """
    as_of = pd.Timestamp(as_of).normalize()
    status = frame["status"].astype("string").fillna("open")
    deals = frame[(status == "open").to_numpy()]
    out = np.zeros((n_samples, len(levels)))
    if deals.empty:
        return out
    created = pd.to_datetime(deals["created_date"], errors="coerce")
    age = np.clip((as_of - created).dt.days.to_numpy(dtype=float), 0.0, None)
    # the chance changes slowly with age: it is computed at the middle of the deal's week of
    # age, so the work grows with cells and weeks, not with the distinct ages of many deals
    age = np.where(np.isnan(age), 0.0, np.floor(age / 7.0) * 7.0 + 3.5)
    cols = list(dict.fromkeys([*cycle_model.columns_, *revenue_model.columns_, *by]))
    table = (
        group_levels(deals, cols).reset_index(drop=True)
        if cols
        else pd.DataFrame(index=pd.RangeIndex(len(deals)))
    )
    table["age_days"] = age
    # deals of one cell and age share their chance: compute it once per distinct pair
    ccols = [*cycle_model.columns_, "age_days"]
    pair_of_deal, pairs = factorize_rows(table, ccols)
    p_pairs = cycle_model.predict_outcome(
        pairs, horizon_days=3650.0, random_seed=random_seed, n_samples=n_samples
    )["p_won"].values
    p_won = _thin(np.asarray(p_pairs), n_samples)  # (sample, pair)
    # the sum over deals of P(won) x amount is linear: sum the amounts of each (pair, level)
    # first, so the work grows with pairs and levels, not with deals
    level_of_deal = pd.Index(list(levels)).get_indexer(level_labels(deals, by).to_numpy())
    amount = pd.to_numeric(deals["amount"], errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(amount)
    counted = level_of_deal >= 0
    known = counted & ~missing
    weights = np.zeros((p_won.shape[1], len(levels)))
    np.add.at(weights, (pair_of_deal[known], level_of_deal[known]), amount[known])
    out += p_won @ weights
    if (missing & counted).any():
        rcols = list(revenue_model.columns_)
        keys = table.loc[missing, rcols] if rcols else pd.DataFrame(index=np.flatnonzero(missing))
        if rcols:
            cell_codes, cells = factorize_rows(keys, rcols)
        else:
            cell_codes, cells = np.zeros(len(keys), dtype=int), pd.DataFrame(index=range(1))
        size = _thin(
            np.asarray(revenue_model.expected_amount(cells, random_seed).values), n_samples
        )
        # deals without an amount count the mean won amount of their cell: group them by
        # (pair, cell, level)
        combos = (
            pd.DataFrame(
                {
                    "pair": pair_of_deal[missing],
                    "cell": cell_codes,
                    "level": level_of_deal[missing],
                }
            )
            .query("level >= 0")
            .value_counts()
            .reset_index(name="n")
        )
        pair, cell, level = (combos[c].to_numpy() for c in ("pair", "cell", "level"))
        contribution = p_won[:, pair] * size[:, cell] * combos["n"].to_numpy(dtype=float)
        onehot = np.zeros((len(combos), len(levels)))
        onehot[np.arange(len(combos)), level] = 1.0
        out += contribution @ onehot
    return out


def _array(values: np.ndarray, levels: Sequence[str], by: Sequence[str], name: str) -> xr.DataArray:
    dim = level_dim(by)
    return xr.DataArray(
        np.asarray(values, dtype=float),
        dims=("sample", dim),
        coords={"sample": np.arange(values.shape[0]), dim: list(levels)},
        name=name,
    )


def posterior_draws(
    models,
    frame: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: Sequence[str] = ("product",),
    volume_months: int = 6,
    leads: pd.DataFrame | None = None,
    random_seed: int | None = None,
    with_open_pipeline: bool = True,
) -> xr.Dataset:
    """Joint posterior draws of every per-level quantity (see the module docstring).

    Parameters
    ----------
    models
        The period's :class:`~pipeline_models.fits.PeriodModels` (``win_rate``, ``revenue``,
        ``cycle_time``).
    frame
        Canonical opportunities the models were fitted on.
    as_of
        Day the export describes.
    by
        ``("product",)`` or ``("product", region-or-other column)``; must contain ``product``.
    volume_months
        Months of recent volume.
    leads
        Canonical leads table, or ``None``.
    random_seed
        Seed of every draw made here.
    with_open_pipeline
        Also compute ``open_value`` (expected value of the open deals).

    Returns
    -------
    xarray.Dataset
        Dims ``(sample, <level>)`` (``sample`` = the smallest draw count of the three models);
        variables ``win_rate``, ``deal_size``, ``stalled_share``, ``cycle_mu``, ``cycle_sigma``,
        ``cycle_days``, ``volume``, ``volume_earlier``, ``trend``, ``revenue_per_opportunity``,
        ``revenue_per_month`` and, when asked or available, ``open_value``,
        ``lead_conversion`` and ``revenue_per_lead``. ``attrs`` hold ``by`` and ``as_of``.
    """
    by = list(by)
    if "product" not in by:
        raise ValueError("by must contain 'product'")
    seeds = np.random.SeedSequence(random_seed).spawn(6)
    ints = [int(s.generate_state(1)[0]) for s in seeds]
    q = win_rate_draws(models.win_rate, frame, by, ints[0])
    s = deal_size_draws(models.revenue, frame, by, ints[1])
    levels = sorted(level_labels(frame, by).unique().tolist())  # every level has a mix of rows
    q = q.reindex({q.dims[1]: levels})
    s = s.reindex({s.dims[1]: levels})
    product_of = _product_of_level(frame, by, levels)
    cyc = cycle_draws(models.cycle_time, product_of, ints[2])
    n = min(q.sizes["sample"], s.sizes["sample"], cyc["cycle_mu"].shape[0])
    dim = level_dim(by)
    data = {
        "win_rate": _thin(q.values, n),
        "deal_size": _thin(s.values, n),
        "stalled_share": _thin(cyc["stalled_share"], n),
        "cycle_mu": _thin(cyc["cycle_mu"], n),
        "cycle_sigma": np.broadcast_to(_thin(cyc["cycle_sigma"], n), (n, len(levels))).copy(),
    }
    vol = volume_draws(frame, as_of, by, levels, n, volume_months, ints[3])
    data.update(vol)
    ds = xr.Dataset(
        {k: (("sample", dim), v) for k, v in data.items()},
        coords={"sample": np.arange(n), dim: levels},
        attrs={"by": by, "as_of": str(pd.Timestamp(as_of).date()), "volume_months": volume_months},
    )
    for col in by:
        ds = ds.assign_coords({col: (dim, _part_of_level(frame, by, levels, col))})
    if with_open_pipeline:
        value = open_pipeline_draws(
            models.cycle_time, models.revenue, frame, as_of, by, levels, n, ints[4]
        )
        ds["open_value"] = (("sample", dim), _thin(value, n))
    if leads is not None and len(leads):
        conv, counts = lead_conversion_draws(leads, as_of, n, random_seed=ints[5])
        ds["lead_conversion"] = (("sample",), conv)
        ds.attrs["lead_counts"] = counts
    return derive(ds)


def derive(draws: xr.Dataset) -> xr.Dataset:
    """Add the derived quantities (median cycle days, trend, revenue per opportunity, per month,
    per lead) to draws holding the base variables; returns a new dataset."""
    out = draws.copy()
    out["cycle_days"] = np.exp(out["cycle_mu"])
    out["trend"] = out["volume"] / out["volume_earlier"]
    out["revenue_per_opportunity"] = (1 - out["stalled_share"]) * out["win_rate"] * out["deal_size"]
    out["revenue_per_month"] = out["volume"] * out["revenue_per_opportunity"]
    if "lead_conversion" in out:
        out["revenue_per_lead"] = out["lead_conversion"] * out["revenue_per_opportunity"]
    return out


def _product_of_level(frame: pd.DataFrame, by: Sequence[str], levels: Sequence[str]) -> list[str]:
    return _part_of_level(frame, by, levels, "product")


def _part_of_level(
    frame: pd.DataFrame, by: Sequence[str], levels: Sequence[str], column: str
) -> list[str]:
    if list(by) == [column]:
        return list(levels)
    keys = group_levels(frame, list(by))
    keys["_level"] = level_labels(frame, by).to_numpy()
    lookup = keys.drop_duplicates("_level").set_index("_level")[column]
    return [str(lookup.get(level, NONE_LEVEL)) for level in levels]


def forecast_draws(
    result, horizon_months: int, levels: Sequence[str], n_samples: int
) -> np.ndarray:
    """Revenue won in the next ``horizon_months`` per product from a
    :class:`~pipeline_models.forecast.ForecastResult` (open deals and deals not yet created),
    shape ``(n_samples, level)``; 0 for a product the forecast does not mention."""
    columns = []
    for level in levels:
        values = result.by_group.get((horizon_months, "revenue", "product", str(level)))
        columns.append(np.zeros(n_samples) if values is None else _resample(values, n_samples))
    return np.column_stack(columns) if columns else np.zeros((n_samples, 0))


def with_forecast(draws: xr.Dataset, result, horizon_months: int) -> xr.Dataset:
    """``draws`` plus ``forecast_revenue``: each product's revenue won in the next
    ``horizon_months`` from a :class:`~pipeline_models.forecast.ForecastResult` (by product only;
    other groupings are returned unchanged)."""
    dim = _dim(draws["win_rate"])
    if draws.attrs.get("by") != ["product"]:
        return draws
    levels = draws[dim].values.tolist()
    values = forecast_draws(result, horizon_months, levels, draws.sizes["sample"])
    out = draws.copy()
    out["forecast_revenue"] = (("sample", dim), values)
    out.attrs["forecast_horizon_months"] = int(horizon_months)
    return out


def _resample(values: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if len(values) == n:
        return values
    return values[np.linspace(0, len(values) - 1, n).round().astype(int)]


# --------------------------------------------------------------------------------------------------
# tables of estimates


def interval_table(
    values: xr.DataArray, raw: pd.Series | None = None, prob: float = INTERVAL
) -> pd.DataFrame:
    """Posterior median and equal-tailed ``prob`` interval per level, the raw figure beside.

    Returns columns ``raw, median, lower, upper``, indexed by level, sorted by median (highest
    first).
    """
    dim = _dim(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    lo, med, hi = np.nanquantile(arr, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    table = pd.DataFrame(
        {"median": med, "lower": lo, "upper": hi},
        index=pd.Index(values[dim].values.tolist(), name=dim),
    )
    table.insert(0, "raw", np.nan if raw is None else raw.reindex(table.index).to_numpy(float))
    return table.sort_values("median", ascending=False)


def rank_probabilities(
    values: xr.DataArray,
    top_k: int = 1,
    higher_is_better: bool = True,
    prob: float = INTERVAL,
    random_seed: int | None = 0,
) -> pd.DataFrame:
    """How likely each level is the best, or among the best ``top_k``, from joint draws.

    In every joint draw the levels are ranked (1 = best; exact ties broken at random); a level's
    ``p_best`` is the share of draws in which it ranks first and ``p_top_k`` the share in which it
    ranks ``top_k`` or better, so the ``p_top_k`` of all levels sum to ``min(top_k, levels)``. A
    level with few deals has wide draws and does not rank first on luck: it ranks first only in
    the draws where it really beats the others.

    Returns
    -------
    pandas.DataFrame
        Indexed by level: ``p_best``, ``p_top_k``, ``median_rank``, ``rank_lower``,
        ``rank_upper`` (``prob`` interval), sorted by ``p_top_k`` then ``p_best``.
    """
    dim = _dim(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    if not higher_is_better:
        arr = -arr
    arr = np.where(np.isnan(arr), -np.inf, arr)
    rng = np.random.default_rng(random_seed)
    jitter = rng.random(arr.shape)  # breaks exact ties only: lexsort uses it after the value
    order = np.lexsort((jitter, -arr), axis=1)
    ranks = np.empty_like(order)
    rows = np.arange(arr.shape[0])[:, None]
    ranks[rows, order] = np.arange(1, arr.shape[1] + 1)[None, :]
    lo, med, hi = np.quantile(ranks, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    table = pd.DataFrame(
        {
            "p_best": (ranks == 1).mean(axis=0),
            "p_top_k": (ranks <= top_k).mean(axis=0),
            "median_rank": med,
            "rank_lower": lo,
            "rank_upper": hi,
        },
        index=pd.Index(values[dim].values.tolist(), name=dim),
    )
    return table.sort_values(
        ["p_top_k", "p_best", "median_rank"], ascending=[False, False, True], kind="stable"
    )


def spread_table(models) -> pd.DataFrame:
    """How much products differ, as the models see it: between-product sd of the win log-odds
    and of log deal size, with the typical factor ``exp(sd)`` between two products' odds and
    prices (posterior median and 80% interval). Empty rows are left out when a model has no
    product term."""
    rows = []
    for label, model, name in (
        ("win odds", models.win_rate, "sd_product"),
        ("deal size", models.revenue, "sd_product"),
    ):
        if "product" not in getattr(model, "terms_", {}):
            continue
        sd = stack_draws(model.posterior_, name)
        lo, med, hi = np.quantile(sd, [(1 - INTERVAL) / 2, 0.5, (1 + INTERVAL) / 2])
        rows.append(
            {
                "quantity": label,
                "sd (log scale)": med,
                "typical factor": np.exp(med),
                "factor lower": np.exp(lo),
                "factor upper": np.exp(hi),
            }
        )
    return pd.DataFrame(rows).set_index("quantity") if rows else pd.DataFrame()


# --------------------------------------------------------------------------------------------------
# levers


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
    variable = {"win_rate": "win_rate", "deal_size": "deal_size", "cycle_time": "cycle_mu"}[lever]
    current = draws[variable]
    dim = _dim(current)
    if scenario == "percent":
        factor = 1.0 + float(lever_pct) / 100.0
        # x * 1.0 == x and mu + ln(1) == mu exactly, so 0% changes nothing, to the last bit
        if lever == "win_rate":
            changed = (current * factor).clip(0.0, 1.0)
        elif lever == "deal_size":
            changed = current * max(factor, 0.0)
        else:
            if not lever_pct < 100:
                raise ValueError("a cycle time cannot shrink by 100% or more")
            changed = current + np.log1p(-float(lever_pct) / 100.0)
    else:
        current = current.transpose("sample", dim)
        arr = np.asarray(current.values, dtype=float)
        peers = arr.copy()
        if arr.shape[1] > 1:
            for j in range(arr.shape[1]):
                peers[:, j] = np.median(np.delete(arr, j, axis=1), axis=1)
        changed = xr.DataArray(peers, dims=("sample", dim), coords=current.coords)
    if level is not None:
        changed = changed.where(current[dim] == level, current)
    return changed.rename(variable)


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
    dim = _dim(draws["win_rate"])
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


def simulate_added_revenue(
    draws: xr.Dataset,
    changes: Mapping[str, xr.DataArray],
    horizon_months: float = 3,
    n_draws: int = 500,
    amount_sigma: float = 0.6,
    random_seed: int | None = 0,
) -> xr.DataArray:
    """Deal-by-deal simulation of :func:`added_revenue`, with common random numbers.

    For each of ``n_draws`` evenly spaced posterior draws and each level: ``N ~ Poisson(lambda
    H)`` opportunities created at uniform times in the horizon; each stalls with probability
    ``z``, else is won when ``u < q`` (``u`` uniform), with amount ``s * exp(sigma_a e -
    sigma_a^2/2)`` and days to close ``exp(mu + sigma e')``. The changed world uses the *same*
    random numbers with ``q'`` (``u < q'``), amounts scaled by ``s'/s`` and days
    ``exp(mu' + sigma e')``; the addition is counted as in :func:`added_revenue` (extra eventual
    revenue plus extra revenue of the changed deals closing inside the horizon). Each level draws
    from its own stream, so a level's result does not depend on the other levels' changes.

    Returns draws ``(sample, level)`` of the simulated addition (for tests of the arithmetic).
    """
    dim = _dim(draws["win_rate"])
    n_total = draws.sizes["sample"]
    keep = np.linspace(0, n_total - 1, min(n_draws, n_total)).round().astype(int)
    d = draws.isel(sample=keep)
    ch = {k: v.isel(sample=keep) for k, v in changes.items()}
    h_days = float(horizon_months) * DAYS_PER_MONTH
    levels = d[dim].values.tolist()
    out = np.zeros((len(keep), len(levels)))
    base_seq = np.random.SeedSequence(random_seed)
    for j, level in enumerate(levels):
        rng = np.random.default_rng(base_seq.spawn(len(levels))[j])

        def col(name: str, source: Mapping | xr.Dataset, lv: str = level) -> np.ndarray:
            values = source[name] if name in source else d[name]
            return np.asarray(values.sel({dim: lv}).values, dtype=float)

        lam = col("volume", d) * float(horizon_months)
        z, q, s = col("stalled_share", d), col("win_rate", d), col("deal_size", d)
        mu, sig = col("cycle_mu", d), col("cycle_sigma", d)
        q1, s1, mu1 = col("win_rate", ch), col("deal_size", ch), col("cycle_mu", ch)
        n = rng.poisson(lam)
        width = max(int(n.max()), 1)
        shape = (len(keep), width)
        present = np.arange(width)[None, :] < n[:, None]
        t = rng.random(shape) * h_days
        stalled = rng.random(shape) < z[:, None]
        u = rng.random(shape)
        noise_a = np.exp(amount_sigma * rng.standard_normal(shape) - amount_sigma**2 / 2)
        e = rng.standard_normal(shape)
        won0 = present & ~stalled & (u < q[:, None])
        won1 = present & ~stalled & (u < q1[:, None])
        amount0 = s[:, None] * noise_a
        amount1 = s1[:, None] * noise_a
        inside_old = t + np.exp(mu[:, None] + sig[:, None] * e) <= h_days
        inside_new = t + np.exp(mu1[:, None] + sig[:, None] * e) <= h_days
        eventual = (won1 * amount1).sum(axis=1) - (won0 * amount0).sum(axis=1)
        earlier = (won1 * amount1 * (inside_new.astype(float) - inside_old)).sum(axis=1)
        out[:, j] = eventual + earlier
    return xr.DataArray(
        out,
        dims=("sample", dim),
        coords={"sample": keep, dim: levels},
        name="simulated_added_revenue",
    )


# --------------------------------------------------------------------------------------------------
# product mix over time


def amount_recorded_share(frame: pd.DataFrame) -> float:
    """Share of deals with a recorded amount (an amount mix means little when most lack one)."""
    if not len(frame):
        return float("nan")
    return float(pd.to_numeric(frame["amount"], errors="coerce").notna().mean())


def mix_by_month(
    frame: pd.DataFrame,
    kind: str = "created",
    measure: str = "count",
    column: str = "product",
    top: int = 8,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Share of each product per month: of the pipeline created, or of the revenue won.

    Parameters
    ----------
    kind
        ``"created"`` (deals by creation month) or ``"won"`` (won deals by close month).
    measure
        ``"count"`` (deals) or ``"amount"`` (their amounts; empty amounts count 0).
    top
        Products beyond the ``top`` largest overall are summed as ``"other"``.
    as_of
        Months after this day are left out.

    Returns
    -------
    pandas.DataFrame
        Index month (Period), one column per product (ordered by the product's deals in the whole
        export, then ``"other"``), rows summing to 1 (months with nothing are left out);
        ``attrs["totals"]`` holds the month totals.
    """
    if kind not in ("created", "won"):
        raise ValueError("kind must be 'created' or 'won'")
    if measure not in ("count", "amount"):
        raise ValueError("measure must be 'count' or 'amount'")
    date_col = "created_date" if kind == "created" else "close_date"
    rows = frame[[date_col, column, "amount"]]
    if kind == "won":
        rows = rows[frame["status"].astype("string").eq("won").fillna(False).to_numpy(bool)]
    dates = pd.to_datetime(rows[date_col], errors="coerce")
    ok = dates.notna()
    if as_of is not None:
        ok &= dates <= pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    rows, dates = rows[ok.to_numpy()], dates[ok]
    label = level_labels(rows, [column])
    value = (
        pd.Series(1.0, index=rows.index)
        if measure == "count"
        else pd.to_numeric(rows["amount"], errors="coerce").fillna(0.0)
    )
    # products ranked by their deals in the whole export, whatever the kind and measure, so the
    # charts of one report list (and colour) the products in the same order
    everyone = level_labels(frame, [column]).value_counts()
    ranked = sorted(everyone.index, key=lambda lv: (-everyone[lv], str(lv)))
    keep = ranked[:top]
    label = label.where(label.isin(keep), "other")
    table = value.groupby([dates.dt.to_period("M"), label]).sum().unstack(fill_value=0.0)
    if table.empty:
        return table
    order = [c for c in [*keep, "other"] if c in table.columns]
    table = table[order]
    totals = table.sum(axis=1)
    table = table[totals > 0].div(totals[totals > 0], axis=0)
    table.index.name = "month"
    table.columns.name = column
    table.attrs["totals"] = totals[totals > 0]
    return table


# --------------------------------------------------------------------------------------------------
# charts


def _text(label: object) -> str:
    """A CRM string as literal chart text ($ would start matplotlib's math mode)."""
    return str(label).replace("$", r"\$")


def _money_axis(ax: Axes, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def fmt(v: float, _pos: int) -> str:
        for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= limit:
                return f"{v / limit:g}{suffix}"
        return f"{v:g}"

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(fmt))
    target.set_minor_formatter(NullFormatter())


def plot_intervals(
    table: pd.DataFrame,
    ax: Axes | None = None,
    title: str = "",
    kind: str = "number",
    raw_label: str = "raw figure",
    log: bool | None = None,
    reference: tuple[float, str] | None = None,
) -> Axes:
    """Ranked interval plot: posterior median and interval per level, the raw figure as a marker.

    ``table`` as from :func:`interval_table` (``raw, median, lower, upper``), drawn in its order
    from the top. ``kind``: ``"percent"``, ``"money"``, ``"days"`` or ``"number"`` (axis format;
    a percent axis spans at least 20 points, so small differences do not look large).
    ``log``: logarithmic axis (default: when the medians span more than a factor 20).
    ``reference``: a value and its label, drawn as a dashed vertical line (e.g. all deals).
    """
    ax = ax or plt.subplots(figsize=(6, 0.35 * len(table) + 1.2))[1]
    y = np.arange(len(table))[::-1]
    med = table["median"].to_numpy(float)
    ax.hlines(
        y,
        table["lower"],
        table["upper"],
        color="#3b82f6",
        lw=4,
        alpha=0.6,
        label=f"{INTERVAL:.0%} interval",
    )
    ax.plot(med, y, "o", color="#1d4ed8", label="estimate (median)")
    if "raw" in table and table["raw"].notna().any():
        ax.plot(table["raw"], y, "x", color="#dc2626", ms=7, mew=2, label=raw_label)
    ax.set_yticks(y, [_text(v) for v in table.index])
    positive = med[np.isfinite(med) & (med > 0)]
    if log is None:
        log = len(positive) > 1 and positive.max() / positive.min() > 20
    if log:
        ax.set_xscale("log")
    if reference is not None and np.isfinite(reference[0]):
        ax.axvline(reference[0], color="#6b7280", ls="--", lw=1, label=_text(reference[1]))
    if kind == "percent":
        lo, hi = ax.get_xlim()
        if hi - lo < 0.2:
            mid = (hi + lo) / 2
            lo, hi = max(0.0, mid - 0.1), min(1.0, mid + 0.1)
            ax.set_xlim(lo, max(hi, lo + 0.2))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:.0%}"))
    elif kind == "money":
        _money_axis(ax)
    ax.set_title(_text(title), fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=7, loc="best")
    return ax


def plot_rank_probabilities(table: pd.DataFrame, top_k: int = 1, ax: Axes | None = None) -> Axes:
    """Bars of each level's chance to be the best and to be among the best ``top_k``."""
    ax = ax or plt.subplots(figsize=(6, 0.35 * len(table) + 1.2))[1]
    y = np.arange(len(table))[::-1]
    if top_k > 1:
        ax.barh(y, table["p_top_k"], color="#93c5fd", label=f"among the top {top_k}")
    ax.barh(y, table["p_best"], color="#1d4ed8", height=0.5, label="the best")
    ax.set_yticks(y, [_text(v) for v in table.index])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_xlabel("probability")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return ax


def plot_levers(table: pd.DataFrame, ax: Axes | None = None, top: int = 10) -> Axes:
    """Ranked interval plot of the levers' added revenue (mean and interval per row); levers
    adding the same revenue merged as in :func:`merge_scaling_levers`."""
    shown = merge_scaling_levers(table).head(top)
    dim = shown.columns[0]
    labels = [f"{_text(r[dim])}: {lever_label(r['lever'])}" for _, r in shown.iterrows()]
    frame = pd.DataFrame(
        {
            "raw": np.nan,
            "median": shown["mean"].to_numpy(),
            "lower": shown["lower"].to_numpy(),
            "upper": shown["upper"].to_numpy(),
        },
        index=labels,
    )
    ax = plot_intervals(frame, ax=ax, kind="money", log=False)
    ax.axvline(0, color="#6b7280", lw=1)
    ax.lines[0].set_label("mean")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_xlabel("added revenue over the horizon")
    return ax


def plot_mix(table: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Stacked bars of each product's monthly share (a :func:`mix_by_month` table)."""
    ax = ax or plt.subplots(figsize=(9, 3.2))[1]
    if table.empty:
        ax.text(0.5, 0.5, "nothing to show", ha="center", va="center", transform=ax.transAxes)
        return ax
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    colors = plt.get_cmap("tab10")
    for i, column in enumerate(table.columns):
        values = table[column].to_numpy(float)
        ax.bar(x, values, bottom=bottom, color=colors(i % 10), width=0.85, label=_text(column))
        bottom += values
    step = max(1, len(table) // 12)
    ax.set_xticks(x[::step], [str(p) for p in table.index[::step]], rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_title(_text(title), fontsize=10, loc="left")
    ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax


# --------------------------------------------------------------------------------------------------
# reader tables


def lever_label(lever: str) -> str:
    return " or ".join(
        {"win_rate": "win rate", "deal_size": "deal size", "cycle_time": "cycle time"}[part]
        for part in lever.split("|")
    )


def merge_scaling_levers(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of one level and scenario whose win-rate and deal-size levers add the same revenue
    (a percentage on either scales revenue alike) merged into one row, lever
    ``"win_rate|deal_size"`` (``now``/``changed`` then hold the win rate's); order kept."""
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


def _money(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    value = abs(float(value))
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{sign}{value / limit:.3g}{suffix}"
    return f"{sign}{value:,.0f}"


def _pct(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{100 * value:.0f}%"


def _days(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:,.0f}"


def _ratio(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"×{value:.2f}"


FORMATS = {"percent": _pct, "money": _money, "days": _days, "ratio": _ratio, "number": _days}


def _estimate(values: xr.DataArray, fmt, prob: float = INTERVAL, bound_fmt=None) -> pd.Series:
    """``median (lower–upper)`` per level, with non-breaking spaces so a cell never wraps."""
    bound_fmt = bound_fmt or fmt
    dim = _dim(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    if np.isnan(arr).all(axis=0).all():
        return pd.Series("n/a", index=values[dim].values.tolist())
    lo, med, hi = np.nanquantile(arr, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    text = [
        "n/a" if not np.isfinite(m) else f"{fmt(m)}\u00a0({bound_fmt(a)}–{bound_fmt(b)})"
        for m, a, b in zip(med, lo, hi, strict=True)
    ]
    return pd.Series(text, index=values[dim].values.tolist())


SELLING_PARTS = ("win_size", "value", "all")


def selling_table(
    draws: xr.Dataset, raw: pd.DataFrame, part: str = "all", top: int | None = None
) -> pd.DataFrame:
    """The reader's table of how each level sells: raw figures beside pooled estimates
    (median and 80% interval), ordered by expected revenue per opportunity (the first ``top``
    levels).

    ``part``: ``"win_size"`` (closed deals, win rate, won deals, mean won deal), ``"value"``
    (days to win, never-close share, revenue per opportunity and per lead) or ``"all"``; for a
    grouping beyond product the cycle columns are left out (the cycle-time model knows products
    only).
    """
    if part not in SELLING_PARTS:
        raise ValueError(f"part must be one of {SELLING_PARTS}")
    by = draws.attrs.get("by", ["product"])
    with_cycle = list(by) == ["product"]
    order = (
        draws["revenue_per_opportunity"].median("sample").to_series().sort_values(ascending=False)
    )
    if top is not None:
        order = order.head(top)
    r = raw.reindex(order.index)
    table = pd.DataFrame(index=order.index)
    if part in ("win_size", "all"):
        table["closed deals"] = r["closed"].fillna(0).astype(int)
        table["win rate: raw"] = r["win_rate"].map(_pct)
        table["win rate: pooled"] = _estimate(draws["win_rate"], _pct)
        table["won deals with amount"] = r["won_with_amount"].fillna(0).astype(int)
        table["mean won deal: raw"] = r["mean_won_amount"].map(_money)
        table["mean won deal: pooled"] = _estimate(draws["deal_size"], _money)
    if part == "win_size":
        table.index.name = LEVEL_SEPARATOR.join(by)
        return table
    if with_cycle:
        table["days to win: raw median"] = r["median_days_won"].map(_days)
        table["days to win: pooled"] = _estimate(draws["cycle_days"], _days)
        table["never close"] = _estimate(draws["stalled_share"], _pct)
    table["revenue per opportunity"] = _estimate(draws["revenue_per_opportunity"], _money)
    if "revenue_per_lead" in draws:
        table["revenue per lead"] = _estimate(draws["revenue_per_lead"], _money)
    table.index.name = LEVEL_SEPARATOR.join(by)
    return table


def volume_table(
    draws: xr.Dataset,
    raw: pd.DataFrame,
    forecast: xr.DataArray | None = None,
    horizon_months: int = 3,
) -> pd.DataFrame:
    """The reader's table of volume, trend, open pipeline and potential per level."""
    dim = _dim(draws["win_rate"])
    order = draws["revenue_per_month"].median("sample").to_series().sort_values(ascending=False)
    r = raw.reindex(order.index)
    months = draws.attrs.get("volume_months", 6)
    table = pd.DataFrame(index=order.index)
    table[f"new deals per month (last {months} m)"] = r["per_month_recent"].map(
        lambda v: f"{v:,.1f}"
    )
    table[f"trend vs {months} months before"] = _estimate(
        draws["trend"], _ratio, bound_fmt=lambda v: f"{v:.2f}"
    )
    table["revenue per month of volume"] = _estimate(draws["revenue_per_month"], _money)
    table["open deals"] = r["open_deals"].fillna(0).astype(int)
    table["open amount (CRM)"] = r["open_amount"].map(_money)
    table["open deals without amount"] = r["open_without_amount"].fillna(0).astype(int)
    if "open_value" in draws:
        table["open pipeline: expected value"] = _estimate(draws["open_value"], _money)
    if forecast is not None:
        table[f"forecast revenue, next {horizon_months} m"] = _estimate(forecast, _money)
    table.index.name = dim
    return table


def lever_reader_table(
    table: pd.DataFrame, top: int = 10, positive_only: bool = True
) -> pd.DataFrame:
    """The levers table for readers: the ``top`` rows, change described in words."""
    dim = table.columns[0]
    shown = merge_scaling_levers(table)
    shown = shown[shown["mean"] > 0] if positive_only else shown
    shown = shown.head(top)
    fmt = {"win_rate": _pct, "deal_size": _money, "cycle_time": lambda v: f"{v:,.0f} days"}

    def change(r: pd.Series) -> str:
        if r["lever"] == "win_rate|deal_size":
            return (
                f"{_pct(r['now'])} → {_pct(r['changed'])} or "
                f"{_money(r['size_now'])} → {_money(r['size_changed'])}"
            )
        return f"{fmt[r['lever']](r['now'])} → {fmt[r['lever']](r['changed'])}"

    out = pd.DataFrame(
        {
            dim: shown[dim].to_numpy(),
            "lever": [lever_label(v) for v in shown["lever"]],
            "change": [change(r) for _, r in shown.iterrows()],
            "kind": shown["kind"].to_numpy(),
            "added revenue (mean)": shown["mean"].map(_money).to_numpy(),
            f"{INTERVAL:.0%} interval": [
                f"{_money(a)} – {_money(b)}"
                for a, b in zip(shown["lower"], shown["upper"], strict=True)
            ],
            "P(adds revenue)": shown["p_positive"].map(_pct).to_numpy(),
        }
    )
    return out


def thin_data_warnings(raw: pd.DataFrame, min_closed: int = 30, min_won: int = 10) -> list[str]:
    """Sentences naming levels whose figures rest on few deals (and so lean on the others)."""
    out = []
    for level, r in raw.iterrows():
        if r["closed"] < min_closed or r["won_with_amount"] < min_won:
            out.append(
                f"{level}: only {int(r['closed'])} closed and {int(r['won_with_amount'])} won "
                "deals with an amount; its estimates lean on the other products (pooled) and "
                "carry wide intervals."
            )
    return out


def report_warnings(frame: pd.DataFrame, raw: pd.DataFrame, models=None) -> list[str]:
    """Everything a reader should know before trusting the figures: fits that did not converge,
    products with few deals, open deals without a creation date, no product column."""
    out = list(models.warnings()) if models is not None else []
    if not frame["product"].notna().any():
        out.append(
            "The export has no product column: every deal counts as one product, so there is "
            "nothing to compare."
        )
    out += thin_data_warnings(raw)
    missing = int(raw["open_without_created"].sum())
    if missing:
        out.append(
            f"{missing} open deals have no creation date: they are not in the monthly volumes "
            "(recent volume and its trend may read low) and count as just created in the open "
            "pipeline's expected value."
        )
    return out


def ranking_reader_table(ranking: pd.DataFrame, values: xr.DataArray, top_k: int) -> pd.DataFrame:
    """The ranking for readers: the measure's estimate, chance to be the best and to be among
    the best ``top_k``, and the range of ranks."""
    label = MEASURES.get(str(values.name), (str(values.name), True))[0]
    fmt = _pct if values.name == "win_rate" else (_days if values.name == "cycle_days" else _money)
    est = _estimate(values, fmt)
    out = pd.DataFrame(index=ranking.index)
    out[label] = est.reindex(ranking.index)
    out["P(best)"] = ranking["p_best"].map(_pct)
    if top_k > 1:
        out[f"P(top {top_k})"] = ranking["p_top_k"].map(_pct)
    out["rank (80% interval)"] = [
        f"{m:.0f}" if a == b else f"{m:.0f} ({a:.0f}–{b:.0f})"
        for m, a, b in zip(
            ranking["median_rank"], ranking["rank_lower"], ranking["rank_upper"], strict=True
        )
    ]
    return out


ESTIMATE_PANELS = (
    ("win_rate", "win_rate", "win rate of closed deals", "percent"),
    ("deal_size", "mean_won_amount", "mean won deal", "money"),
    ("cycle_days", "median_days_won", "median days to win", "days"),
    ("revenue_per_opportunity", None, "expected revenue per opportunity", "money"),
)
"""The ranked interval charts of :func:`plot_estimates`: variable, raw column, title, kind."""


def plot_estimates(draws: xr.Dataset, raw: pd.DataFrame, axes: Sequence[Axes] | None = None):
    """The four ranked interval charts of how products sell (win rate, mean won deal, days to
    win, revenue per opportunity), pooled estimate with its 80% interval and the raw figure as
    a red cross. Returns the axes."""
    if axes is None:
        n = draws.sizes[_dim(draws["win_rate"])]
        axes = plt.subplots(2, 2, figsize=(11, 0.7 * n + 3.5))[1].ravel()
    closed = raw["closed"].sum()
    overall = raw["won"].sum() / closed if closed else np.nan
    for ax, (variable, raw_col, title, kind) in zip(axes, ESTIMATE_PANELS, strict=False):
        table = interval_table(draws[variable], raw[raw_col] if raw_col else None)
        ref = (overall, "all closed deals") if variable == "win_rate" else None
        plot_intervals(table, ax=ax, title=title, kind=kind, reference=ref)
    return axes


@dataclass(frozen=True)
class Headline:
    """The report's headline figures (label, value) and the numbers behind them."""

    items: list[tuple[str, str]]
    figures: dict


def headline(
    draws: xr.Dataset,
    ranking: pd.DataFrame,
    levers: pd.DataFrame,
    rank_measure: str,
    horizon_months: int,
    top_k: int = 1,
) -> Headline:
    """Headline figures: the likely best product on the ranking measure, the largest lever."""
    dim = _dim(draws["win_rate"])
    label = MEASURES[rank_measure][0]
    best = ranking.index[0] if len(ranking) else "n/a"
    items = [(f"{dim}s", str(draws.sizes[dim]))]
    figures: dict = {
        "levels": draws[dim].values.tolist(),
        "rank_measure": rank_measure,
        "p_best": {str(k): float(v) for k, v in ranking["p_best"].items()},
        "p_top_k": {str(k): float(v) for k, v in ranking["p_top_k"].items()},
        "top_k": top_k,
    }
    if len(ranking):
        items.append(
            (f"most likely best on {label}", f"{best} (P = {ranking['p_best'].iloc[0]:.0%})")
        )
    positive = merge_scaling_levers(levers)
    positive = positive[positive["mean"] > 0]
    if len(positive):
        top = positive.iloc[0]
        items.append(
            (
                f"largest lever ({horizon_months} months)",
                f"{top[dim]}, {lever_label(top['lever'])}: +{_money(top['mean'])}",
            )
        )
        figures["top_lever"] = {
            "level": str(top[dim]),
            "lever": top["lever"],
            "scenario": top["scenario"],
            "mean": float(top["mean"]),
            "lower": float(top["lower"]),
            "upper": float(top["upper"]),
        }
    figures["win_rate_median"] = {
        str(k): float(v) for k, v in draws["win_rate"].median("sample").to_series().items()
    }
    figures["deal_size_median"] = {
        str(k): float(v) for k, v in draws["deal_size"].median("sample").to_series().items()
    }
    return Headline(items, figures)
