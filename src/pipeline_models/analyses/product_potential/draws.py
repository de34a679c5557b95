"""Joint posterior draws per level from the period's shared fits.

Every figure of the report is computed on an :class:`xarray.Dataset` with dims
``(sample, <level>)`` made by :func:`posterior_draws`, so every figure carries its interval and
rankings account for how sure we are of each product.

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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.data.aggregate import group_levels
from pipeline_models.models.hierarchical.base import stack_draws

from .cells import cell_mix, rows_or_all, thin_draws
from .levels import level_dim, level_dim_of, level_labels
from .open_pipeline import open_pipeline_draws
from .raw import raw_figures

if TYPE_CHECKING:
    from pipeline_models.models import CycleTimeModel, RevenueModel, WinRateModel
    from pipeline_models.models.forecaster.result import ForecastResult
    from pipeline_models.models.period import PeriodModels


def level_array(
    values: np.ndarray, levels: Sequence[str], by: Sequence[str], name: str
) -> xr.DataArray:
    """Draws ``(sample, level)`` as a labelled array named ``name``."""
    dim = level_dim(by)
    return xr.DataArray(
        np.asarray(values, dtype=float),
        dims=("sample", dim),
        coords={"sample": np.arange(values.shape[0]), dim: list(levels)},
        name=name,
    )


def win_rate_draws(
    model: WinRateModel,
    frame: pd.DataFrame,
    by: Sequence[str] = ("product",),
    random_seed: int | None = None,
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
    rows = rows_or_all(labels, closed)
    cells, weights, levels = cell_mix(frame, rows, by, model.columns_)
    p = np.asarray(model.predict_proba(cells, random_seed=random_seed).values)
    return level_array(p @ weights, levels, by, "win_rate")


def deal_size_draws(
    model: RevenueModel,
    frame: pd.DataFrame,
    by: Sequence[str] = ("product",),
    random_seed: int | None = None,
) -> xr.DataArray:
    """Posterior draws of each level's mean won-deal amount, ``exp(mu + sigma^2/2)`` per cell,
    averaged over the level's won deals with an amount (all its deals when it has none)."""
    labels = level_labels(frame, by)
    status = frame["status"].astype("string")
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(dtype=float)
    won = status.eq("won").fillna(False).to_numpy(dtype=bool) & (amount > 0)
    rows = rows_or_all(labels, won)
    cells, weights, levels = cell_mix(frame, rows, by, model.columns_)
    s = np.asarray(model.expected_amount(cells, random_seed=random_seed).values)
    return level_array(s @ weights, levels, by, "deal_size")


def cycle_draws(
    model: CycleTimeModel, products: Sequence[str], random_seed: int | None = None
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


def posterior_draws(
    models: PeriodModels,
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
        The period's :class:`~pipeline_models.models.period.PeriodModels` (``win_rate``,
        ``revenue``, ``cycle_time``).
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
    levels = sorted(level_labels(frame, by).unique().tolist())  # every level has a mix of rows
    data = _model_draws(models, frame, by, levels, ints[:3])
    n = data["win_rate"].shape[0]
    data.update(volume_draws(frame, as_of, by, levels, n, volume_months, ints[3]))
    dim = level_dim(by)
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
        ds["open_value"] = (("sample", dim), thin_draws(value, n))
    if leads is not None and len(leads):
        conv, counts = lead_conversion_draws(leads, as_of, n, random_seed=ints[5])
        ds["lead_conversion"] = (("sample",), conv)
        ds.attrs["lead_counts"] = counts
    return derive(ds)


def _model_draws(
    models: PeriodModels,
    frame: pd.DataFrame,
    by: list[str],
    levels: list[str],
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Win rate, deal size and cycle draws ``(sample, level)``, thinned to the smallest draw
    count of the three models so that draw ``k`` of each is one joint draw."""
    q = win_rate_draws(models.win_rate, frame, by, seeds[0])
    s = deal_size_draws(models.revenue, frame, by, seeds[1])
    q = q.reindex({q.dims[1]: levels})
    s = s.reindex({s.dims[1]: levels})
    cyc = cycle_draws(models.cycle_time, _part_of_level(frame, by, levels, "product"), seeds[2])
    n = min(q.sizes["sample"], s.sizes["sample"], cyc["cycle_mu"].shape[0])
    return {
        "win_rate": thin_draws(q.values, n),
        "deal_size": thin_draws(s.values, n),
        "stalled_share": thin_draws(cyc["stalled_share"], n),
        "cycle_mu": thin_draws(cyc["cycle_mu"], n),
        "cycle_sigma": np.broadcast_to(thin_draws(cyc["cycle_sigma"], n), (n, len(levels))).copy(),
    }


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


def _part_of_level(
    frame: pd.DataFrame, by: Sequence[str], levels: Sequence[str], column: str
) -> list[str]:
    """The value of ``column`` (one of ``by``) of each level."""
    if list(by) == [column]:
        return list(levels)
    keys = group_levels(frame, list(by))
    keys["_level"] = level_labels(frame, by).to_numpy()
    lookup = keys.drop_duplicates("_level").set_index("_level")[column]
    return [str(lookup.get(level, NONE_LEVEL)) for level in levels]


def forecast_draws(
    result: ForecastResult, horizon_months: int, levels: Sequence[str], n_samples: int
) -> np.ndarray:
    """Revenue won in the next ``horizon_months`` per product from a
    :class:`~pipeline_models.models.forecaster.ForecastResult` (open deals and deals not yet created),
    shape ``(n_samples, level)``; 0 for a product the forecast does not mention."""
    columns = []
    for level in levels:
        values = result.by_group.get((horizon_months, "revenue", "product", str(level)))
        columns.append(np.zeros(n_samples) if values is None else _resample(values, n_samples))
    return np.column_stack(columns) if columns else np.zeros((n_samples, 0))


def with_forecast(draws: xr.Dataset, result: ForecastResult, horizon_months: int) -> xr.Dataset:
    """``draws`` plus ``forecast_revenue``: each product's revenue won in the next
    ``horizon_months`` from a :class:`~pipeline_models.models.forecaster.ForecastResult` (by product only;
    other groupings are returned unchanged)."""
    dim = level_dim_of(draws["win_rate"])
    if draws.attrs.get("by") != ["product"]:
        return draws
    levels = draws[dim].values.tolist()
    values = forecast_draws(result, horizon_months, levels, draws.sizes["sample"])
    out = draws.copy()
    out["forecast_revenue"] = (("sample", dim), values)
    out.attrs["forecast_horizon_months"] = int(horizon_months)
    return out


def _resample(values: np.ndarray, n: int) -> np.ndarray:
    """``n`` evenly spaced of ``values`` (repeating some when there are fewer)."""
    values = np.asarray(values, dtype=float)
    if len(values) == n:
        return values
    return values[np.linspace(0, len(values) - 1, n).round().astype(int)]
