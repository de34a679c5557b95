"""Reader tables of the product potential report: estimates written as ``median (lower–upper)``
beside the export's raw figures, the levers and the ranking in words, and the tables' captions.

Estimates carry the :data:`~pipeline_models.analyses.policy.INTERVAL` interval, the forecast
revenue (an outcome still to come) the :data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL`
one; the captions say which, from the same constants.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.present.formats import format_count, format_money, format_pct

from .intervals import interval_for
from .levels import LEVEL_SEPARATOR, level_dim_of
from .levers import merge_scaling_levers
from .narrative import lever_label
from .ranking import MEASURES

CAPTIONS = {
    "win_size": "Win rate and deal size: raw figures beside pooled estimates "
    f"(median and {INTERVAL:.0%} interval)",
    "value": f"Days to win and the value of an opportunity (median and {INTERVAL:.0%} interval)",
    "volume": "Volume, trend, open pipeline and forecast "
    f"(median and {INTERVAL:.0%} interval; forecast revenue: {FORECAST_INTERVAL:.0%} interval)",
}
"""Captions of :func:`selling_table` (``"win_size"``, ``"value"``) and :func:`volume_table`."""


def _ratio(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"×{value:.2f}"


FORMATS: dict[str, Callable[[float], str]] = {
    "percent": format_pct,
    "money": format_money,
    "days": format_count,
    "ratio": _ratio,
    "number": format_count,
}
"""How a value of each kind is written in a cell."""


def estimate_text(
    values: xr.DataArray,
    fmt: Callable[[float], str],
    prob: float | None = None,
    bound_fmt: Callable[[float], str] | None = None,
) -> pd.Series:
    """``median (lower–upper)`` per level, with non-breaking spaces so a cell never wraps.

    ``prob``: probability of the equal-tailed interval; by default the one the variable is shown
    with (:func:`~.intervals.interval_for` its name).
    """
    prob = interval_for(values.name) if prob is None else prob
    bound_fmt = bound_fmt or fmt
    dim = level_dim_of(values)
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
"""Parts of :func:`selling_table`."""


def selling_table(
    draws: xr.Dataset, raw: pd.DataFrame, part: str = "all", top: int | None = None
) -> pd.DataFrame:
    """The reader's table of how each level sells: raw figures beside pooled estimates
    (median and :data:`~pipeline_models.analyses.policy.INTERVAL` interval), ordered by expected
    revenue per opportunity (the first ``top`` levels).

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
        table["win rate: raw"] = r["win_rate"].map(format_pct)
        table["win rate: pooled"] = estimate_text(draws["win_rate"], format_pct)
        table["won deals with amount"] = r["won_with_amount"].fillna(0).astype(int)
        table["mean won deal: raw"] = r["mean_won_amount"].map(format_money)
        table["mean won deal: pooled"] = estimate_text(draws["deal_size"], format_money)
    if part == "win_size":
        table.index.name = LEVEL_SEPARATOR.join(by)
        return table
    if with_cycle:
        table["days to win: raw median"] = r["median_days_won"].map(format_count)
        table["days to win: pooled"] = estimate_text(draws["cycle_days"], format_count)
        table["never close"] = estimate_text(draws["stalled_share"], format_pct)
    table["revenue per opportunity"] = estimate_text(draws["revenue_per_opportunity"], format_money)
    if "revenue_per_lead" in draws:
        table["revenue per lead"] = estimate_text(draws["revenue_per_lead"], format_money)
    table.index.name = LEVEL_SEPARATOR.join(by)
    return table


def volume_table(
    draws: xr.Dataset,
    raw: pd.DataFrame,
    forecast: xr.DataArray | None = None,
    horizon_months: int = 3,
) -> pd.DataFrame:
    """The reader's table of volume, trend, open pipeline and potential per level (estimates
    with the :data:`~pipeline_models.analyses.policy.INTERVAL` interval, the forecast revenue
    with the :data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL` one)."""
    dim = level_dim_of(draws["win_rate"])
    order = draws["revenue_per_month"].median("sample").to_series().sort_values(ascending=False)
    r = raw.reindex(order.index)
    months = draws.attrs.get("volume_months", 6)
    table = pd.DataFrame(index=order.index)
    table[f"new deals per month (last {months} m)"] = r["per_month_recent"].map(
        lambda v: f"{v:,.1f}"
    )
    table[f"trend vs {months} months before"] = estimate_text(
        draws["trend"], _ratio, bound_fmt=lambda v: f"{v:.2f}"
    )
    table["revenue per month of volume"] = estimate_text(draws["revenue_per_month"], format_money)
    table["open deals"] = r["open_deals"].fillna(0).astype(int)
    table["open amount (CRM)"] = r["open_amount"].map(format_money)
    table["open deals without amount"] = r["open_without_amount"].fillna(0).astype(int)
    if "open_value" in draws:
        table["open pipeline: expected value"] = estimate_text(draws["open_value"], format_money)
    if forecast is not None:
        table[f"forecast revenue, next {horizon_months} m"] = estimate_text(
            forecast, format_money, prob=FORECAST_INTERVAL
        )
    table.index.name = dim
    return table


def _lever_change(row: pd.Series) -> str:
    """A lever's change in words: ``"20% → 22%"``, ``"45 days → 41 days"``."""
    if row["lever"] == "win_rate|deal_size":
        return (
            f"{format_pct(row['now'])} → {format_pct(row['changed'])} or "
            f"{format_money(row['size_now'])} → {format_money(row['size_changed'])}"
        )
    fmt = {
        "win_rate": format_pct,
        "deal_size": format_money,
        "cycle_time": lambda v: f"{format_count(v)} days",
    }[row["lever"]]
    return f"{fmt(row['now'])} → {fmt(row['changed'])}"


def lever_reader_table(
    table: pd.DataFrame, top: int = 10, positive_only: bool = True
) -> pd.DataFrame:
    """The levers table (:func:`~.levers.lever_table`) for readers: the ``top`` rows, change
    described in words, the added revenue's mean and interval."""
    dim = table.columns[0]
    shown = merge_scaling_levers(table)
    shown = shown[shown["mean"] > 0] if positive_only else shown
    shown = shown.head(top)
    return pd.DataFrame(
        {
            dim: shown[dim].to_numpy(),
            "lever": [lever_label(v) for v in shown["lever"]],
            "change": [_lever_change(r) for _, r in shown.iterrows()],
            "kind": shown["kind"].to_numpy(),
            "added revenue (mean)": shown["mean"].map(format_money).to_numpy(),
            f"{INTERVAL:.0%} interval": [
                f"{format_money(a)} – {format_money(b)}"
                for a, b in zip(shown["lower"], shown["upper"], strict=True)
            ],
            "P(adds revenue)": shown["p_positive"].map(format_pct).to_numpy(),
        }
    )


def ranking_reader_table(ranking: pd.DataFrame, values: xr.DataArray, top_k: int) -> pd.DataFrame:
    """The ranking for readers: the measure's estimate, chance to be the best and to be among
    the best ``top_k``, and the range of ranks (:func:`~.ranking.rank_probabilities`)."""
    label = MEASURES.get(str(values.name), (str(values.name), True))[0]
    fmt = {"win_rate": format_pct, "cycle_days": format_count}.get(str(values.name), format_money)
    est = estimate_text(values, fmt)
    out = pd.DataFrame(index=ranking.index)
    out[label] = est.reindex(ranking.index)
    out["P(best)"] = ranking["p_best"].map(format_pct)
    if top_k > 1:
        out[f"P(top {top_k})"] = ranking["p_top_k"].map(format_pct)
    out[f"rank ({INTERVAL:.0%} interval)"] = [
        f"{m:.0f}" if a == b else f"{m:.0f} ({a:.0f}–{b:.0f})"
        for m, a, b in zip(
            ranking["median_rank"], ranking["rank_lower"], ranking["rank_upper"], strict=True
        )
    ]
    return out
