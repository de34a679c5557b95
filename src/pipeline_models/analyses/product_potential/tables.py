"""Reader tables of the product potential report: estimates written as ``median (lower–upper)``
beside the export's raw figures, the levers and the ranking in words, and the tables' captions.

Estimates carry the :data:`~pipeline_models.analyses.policy.INTERVAL` interval, the forecast
revenue (an outcome still to come) the :data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL`
one; the captions say which, from the same constants. A reader table has business column names,
its level as a first column (no index), counts with thousands separators, money with the currency
and a word where a figure is missing; :func:`selling_table` without ``reader`` keeps the layout of
the ``products`` file written beside the report.
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
    f"(estimates: median and {INTERVAL:.0%} interval)",
    "value": "Days to win and the value of an opportunity "
    f"(estimates: median and {INTERVAL:.0%} interval)",
    "volume": "Volume, trend, open pipeline and forecast "
    f"(estimates: median and {INTERVAL:.0%} interval; forecast revenue, an outcome still to "
    f"come: median and {FORECAST_INTERVAL:.0%} interval)",
}
"""Captions of :func:`selling_table` (``"win_size"``, ``"value"``) and :func:`volume_table`."""

NOT_ESTIMATED = "not estimated"
"""What a reader's cell says where the models give no estimate."""

RAW_MISSING = {
    "win rate: raw": "no closed deal",
    "mean won deal: raw": "no won amount",
    "days to win: raw median": "no win yet",
}
"""What a reader's cell says where the export gives no raw figure."""

READER_NAMES = {
    "product": "Product",
    "product · region": "Product · region",
    "closed deals": "Closed deals",
    "win rate: raw": "Win rate (raw)",
    "win rate: pooled": "Win rate (pooled)",
    "won deals with amount": "Won deals with an amount",
    "mean won deal: raw": "Mean won deal (raw)",
    "mean won deal: pooled": "Mean won deal (pooled)",
    "days to win: raw median": "Days to win (raw median)",
    "days to win: pooled": "Days to win (pooled)",
    "never close": "Never close",
    "revenue per opportunity": "Revenue per opportunity",
    "revenue per lead": "Revenue per lead",
}
"""Column names of :func:`selling_table` as a reader's table shows them."""


def _ratio(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.2f}x"


def _per_month(value: float) -> str:
    """Deals per month: whole deals from ten up, one decimal below (never a trailing ``.0``)."""
    if value is None or not np.isfinite(value):
        return "none"
    if value >= 10:
        return format_count(value)
    return f"{value:.1f}".removesuffix(".0")


def _money_in(currency: str) -> Callable[[float], str]:
    """Money with the currency after it (the figure a cell leads with)."""
    return lambda value: format_money(value, currency)


def _or(fmt: Callable[[float], str], missing: str) -> Callable[[float], str]:
    """``fmt``, or ``missing`` for a missing or non-finite value."""
    return lambda v: missing if v is None or not np.isfinite(float(v)) else fmt(v)


def reader_frame(table: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """A table indexed by level as a reader's table: the level a first column under its business
    name, the other columns renamed by ``names``, a plain row index (which the page hides)."""
    names = {**READER_NAMES, **(names or {})}
    out = table.rename_axis(str(table.index.name or "product")).reset_index()
    out.columns = [names.get(str(c), str(c)[:1].upper() + str(c)[1:]) for c in out.columns]
    return out.reset_index(drop=True)


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
    missing: str = "n/a",
) -> pd.Series:
    """``median (lower–upper)`` per level, with non-breaking spaces so a cell never wraps.

    ``prob``: probability of the equal-tailed interval; by default the one the variable is shown
    with (:func:`~.intervals.interval_for` its name). ``missing``: the text of a level without
    an estimate.
    """
    prob = interval_for(values.name) if prob is None else prob
    bound_fmt = bound_fmt or fmt
    dim = level_dim_of(values)
    arr = np.asarray(values.transpose("sample", dim).values, dtype=float)
    if np.isnan(arr).all(axis=0).all():
        return pd.Series(missing, index=values[dim].values.tolist())
    lo, med, hi = np.nanquantile(arr, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=0)
    text = [
        missing if not np.isfinite(m) else f"{fmt(m)}\u00a0({bound_fmt(a)}–{bound_fmt(b)})"
        for m, a, b in zip(med, lo, hi, strict=True)
    ]
    return pd.Series(text, index=values[dim].values.tolist())


SELLING_PARTS = ("win_size", "value", "all")
"""Parts of :func:`selling_table`."""


def selling_table(
    draws: xr.Dataset,
    raw: pd.DataFrame,
    part: str = "all",
    top: int | None = None,
    currency: str = "",
    reader: bool = False,
) -> pd.DataFrame:
    """The table of how each level sells: raw figures beside pooled estimates
    (median and :data:`~pipeline_models.analyses.policy.INTERVAL` interval), ordered by expected
    revenue per opportunity (the first ``top`` levels).

    ``part``: ``"win_size"`` (closed deals, win rate, won deals, mean won deal), ``"value"``
    (days to win, never-close share, revenue per opportunity and per lead) or ``"all"``; for a
    grouping beyond product the cycle columns are left out (the cycle-time model knows products
    only). ``reader``: counts with thousands separators and a word where a figure is missing
    (:data:`RAW_MISSING`, :data:`NOT_ESTIMATED`) instead of ``n/a``; ``currency`` follows the
    money a cell leads with. Indexed by level; :func:`selling_reader_table` is the reader's.
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
    count = format_count if reader else int
    none = NOT_ESTIMATED if reader else "n/a"
    money = _money_in(currency)

    def raw_text(column: str, source: pd.Series, fmt: Callable[[float], str]) -> None:
        table[column] = source.map(_or(fmt, RAW_MISSING[column] if reader else "n/a"))

    def pooled(column: str, variable: str, fmt: Callable[[float], str], **kw) -> None:
        table[column] = estimate_text(draws[variable], fmt, missing=none, **kw)

    if part in ("win_size", "all"):
        table["closed deals"] = r["closed"].fillna(0).astype(int).map(count)
        raw_text("win rate: raw", r["win_rate"], format_pct)
        pooled("win rate: pooled", "win_rate", format_pct)
        table["won deals with amount"] = r["won_with_amount"].fillna(0).astype(int).map(count)
        raw_text("mean won deal: raw", r["mean_won_amount"], money)
        pooled("mean won deal: pooled", "deal_size", money, bound_fmt=format_money)
    if part != "win_size":
        if with_cycle:
            raw_text("days to win: raw median", r["median_days_won"], format_count)
            pooled("days to win: pooled", "cycle_days", format_count)
            pooled("never close", "stalled_share", format_pct)
        pooled("revenue per opportunity", "revenue_per_opportunity", money, bound_fmt=format_money)
        if "revenue_per_lead" in draws:
            pooled("revenue per lead", "revenue_per_lead", money, bound_fmt=format_money)
    table.index.name = LEVEL_SEPARATOR.join(by)
    return table


def selling_reader_table(
    draws: xr.Dataset,
    raw: pd.DataFrame,
    part: str = "all",
    top: int | None = None,
    currency: str = "",
) -> pd.DataFrame:
    """:func:`selling_table` for readers: business column names, the level a first column."""
    return reader_frame(selling_table(draws, raw, part, top, currency, reader=True))


def volume_table(
    draws: xr.Dataset,
    raw: pd.DataFrame,
    forecast: xr.DataArray | None = None,
    horizon_months: int = 3,
    currency: str = "",
) -> pd.DataFrame:
    """The reader's table of volume, trend, open pipeline and potential per level (estimates
    with the :data:`~pipeline_models.analyses.policy.INTERVAL` interval, the forecast revenue
    with the :data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL` one); the level is the
    first column."""
    dim = level_dim_of(draws["win_rate"])
    order = draws["revenue_per_month"].median("sample").to_series().sort_values(ascending=False)
    r = raw.reindex(order.index)
    months = draws.attrs.get("volume_months", 6)
    money = _money_in(currency)
    table = pd.DataFrame(index=order.index)
    table[f"New deals per month (last {months} months)"] = r["per_month_recent"].map(_per_month)
    table[f"Trend vs the {months} months before"] = estimate_text(
        draws["trend"], _ratio, bound_fmt=lambda v: f"{v:.2f}", missing=NOT_ESTIMATED
    )
    table["Revenue per month of volume"] = estimate_text(
        draws["revenue_per_month"], money, bound_fmt=format_money, missing=NOT_ESTIMATED
    )
    table["Open deals"] = r["open_deals"].fillna(0).map(format_count)
    table["Open amount (CRM)"] = r["open_amount"].map(_or(money, "none recorded"))
    table["Open deals without an amount"] = r["open_without_amount"].fillna(0).map(format_count)
    if "open_value" in draws:
        table["Open pipeline: expected value"] = estimate_text(
            draws["open_value"], money, bound_fmt=format_money, missing=NOT_ESTIMATED
        )
    if forecast is not None:
        table[f"Forecast revenue, next {horizon_months} months"] = estimate_text(
            forecast, money, prob=FORECAST_INTERVAL, bound_fmt=format_money, missing=NOT_ESTIMATED
        )
    table.index.name = dim
    return reader_frame(table)


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


LEVER_MEAN = "Added revenue (mean)"
"""The column of a lever's mean added revenue in :func:`lever_reader_table`."""


def lever_reader_table(
    table: pd.DataFrame, top: int = 10, positive_only: bool = True, currency: str = ""
) -> pd.DataFrame:
    """The levers table (:func:`~.levers.lever_table`) for readers: the ``top`` rows, change
    described in words, the added revenue's mean and its
    :data:`~pipeline_models.analyses.policy.INTERVAL` interval."""
    dim = table.columns[0]
    shown = merge_scaling_levers(table)
    shown = shown[shown["mean"] > 0] if positive_only else shown
    shown = shown.head(top)
    return pd.DataFrame(
        {
            READER_NAMES.get(str(dim), str(dim).capitalize()): shown[dim].to_numpy(),
            "Lever": [lever_label(v) for v in shown["lever"]],
            "Change": [_lever_change(r) for _, r in shown.iterrows()],
            "Kind": shown["kind"].to_numpy(),
            LEVER_MEAN: [format_money(v, currency) for v in shown["mean"]],
            f"{INTERVAL:.0%} interval": [
                f"{format_money(a)}–{format_money(b)}"
                for a, b in zip(shown["lower"], shown["upper"], strict=True)
            ],
            "Chance it adds revenue": shown["p_positive"].map(format_pct).to_numpy(),
        }
    )


def ranking_reader_table(
    ranking: pd.DataFrame, values: xr.DataArray, top_k: int, currency: str = ""
) -> pd.DataFrame:
    """The ranking for readers: the measure's estimate, chance to be the best and to be among
    the best ``top_k``, and the range of ranks (:func:`~.ranking.rank_probabilities`); the level
    is the first column."""
    label = MEASURES.get(str(values.name), (str(values.name), True))[0]
    fmt, bound = {
        "win_rate": (format_pct, format_pct),
        "cycle_days": (format_count, format_count),
    }.get(str(values.name), (_money_in(currency), format_money))
    est = estimate_text(values, fmt, bound_fmt=bound, missing=NOT_ESTIMATED)
    out = pd.DataFrame(index=ranking.index)
    out[label[:1].upper() + label[1:]] = est.reindex(ranking.index)
    out["Chance to be the best"] = ranking["p_best"].map(format_pct)
    if top_k > 1:
        out[f"Chance to be in the top {top_k}"] = ranking["p_top_k"].map(format_pct)
    out[f"Rank ({INTERVAL:.0%} interval)"] = [
        f"{m:.0f}" if a == b else f"{m:.0f} ({a:.0f}–{b:.0f})"
        for m, a, b in zip(
            ranking["median_rank"], ranking["rank_lower"], ranking["rank_upper"], strict=True
        )
    ]
    out.index.name = ranking.index.name or level_dim_of(values)
    return reader_frame(out)
