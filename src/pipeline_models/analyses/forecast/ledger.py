"""The forecast's ledger: what every deal, the open leads and the deals still to come add to each
coming month, so that next month's run can say why its forecast moved.

The forecast is drawn by cells, not deal by deal; the ledger splits its expected (mean) value of
each coming month over the items that make it: each open deal takes a share of the open deals'
mean in proportion to its own expected value (its chance of being won in that month at its age
and score, times its amount or its product's mean won amount); the open leads and the deals not
yet created are one row each. The months of the quarter already past hold the deals actually
won. Values are whole cents (revenue) and thousandths of a deal (deals), and every month's
column adds up exactly to the forecast's rounded mean, so two runs' ledgers compare to the cent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.window import quarter_window, won_between
from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult, PipelineForecaster

LEDGER_FILE = "ledger"
"""The name of the ledger's CSV file among the forecast report's files."""

UNITS = {"revenue": 100, "count": 1000}
"""Whole units a ledger counts in: cents of revenue, thousandths of a deal."""

KINDS = ("won", "open", "leads", "new")
"""Rows of a ledger: a deal won in the quarter so far, an open deal, the open leads (one row),
the deals not yet created (one row)."""

AGGREGATE_ITEMS = {"leads": "open leads", "new": "deals not yet created"}
"""The item names of the two aggregate rows."""


def column(metric: str, month: pd.Period | str) -> str:
    """The ledger column of ``metric`` in ``month``: ``revenue 2026-11``."""
    return f"{metric} {month}"


def ledger_months(result: ForecastResult, period: str) -> list[pd.Period]:
    """The months a ledger covers: from the start of the quarter of the month after ``period``
    to the forecast's last month (the months up to ``period`` hold the deals won so far)."""
    last = pd.Period(period, "M") + max(result.horizons)
    start = pd.Period(quarter_window(period)[2], "M")
    return list(pd.period_range(start, last, freq="M"))


def _shares(weights: np.ndarray, total: int) -> np.ndarray:
    """``total`` whole units split over ``weights`` (largest remainders): the parts add up to
    ``total`` exactly. With no weight at all the first row takes it (there is one: the caller
    never splits over nothing)."""
    weights = np.clip(np.nan_to_num(weights, nan=0.0), 0.0, None)
    if weights.sum() <= 0:
        out = np.zeros(len(weights), np.int64)
        out[0] = total
        return out
    raw = weights / weights.sum() * total
    out = np.floor(raw).astype(np.int64)
    rest = int(total - out.sum())  # floors never exceed their raw share: rest >= 0
    out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def _cumulative_means(result: ForecastResult, metric: str, part: str) -> np.ndarray:
    """Whole units of the mean of ``part`` in the windows of 1..H months (rounded once each)."""
    unit = UNITS[metric]
    return np.array(
        [
            round(unit * float(np.mean(result.draws[(h, metric, part)])))
            if (h, metric, part) in result.draws
            else 0
            for h in range(1, max(result.horizons) + 1)
        ],
        dtype=np.int64,
    )


def _monthly_parts(result: ForecastResult, metric: str) -> dict[str, np.ndarray]:
    """Whole units of each part's mean in each coming month; the parts of a window add up to
    the rounded mean of its total (the last part takes the rounding)."""
    total = _cumulative_means(result, metric, "total")
    parts = {p: _cumulative_means(result, metric, p) for p in ("open", "leads")}
    parts["new"] = total - parts["open"] - parts["leads"]
    return {p: np.diff(c, prepend=0) for p, c in parts.items()}


def _deal_weights(
    forecaster: PipelineForecaster, open_deals: pd.DataFrame, frame: pd.DataFrame, months: int
) -> dict[str, np.ndarray]:
    """Per open deal and coming month, its own expected deals and revenue won in that month:
    the rows the open deals' means are split by."""
    dated = open_deals["created_date"].notna().to_numpy()
    chance = np.zeros((len(open_deals), months + 1))
    if dated.any():
        for k in range(1, months + 1):
            chance[dated, k] = forecaster.chance_won_within(open_deals[dated], k)
    monthly = np.clip(np.diff(chance, axis=1), 0.0, None)
    won = frame[frame["status"] == "won"]
    mean_won = won.groupby("product", observed=True)["amount"].mean()
    overall = float(won["amount"].mean()) if won["amount"].notna().any() else 1.0
    stand_in = open_deals["product"].map(mean_won).astype(float).fillna(overall)
    amount = open_deals["amount"].astype(float).fillna(stand_in).fillna(overall).to_numpy()
    return {"count": monthly, "revenue": monthly * amount[:, None]}


def build_ledger(
    result: ForecastResult,
    forecaster: PipelineForecaster,
    open_deals: pd.DataFrame,
    frame: pd.DataFrame,
    period: str,
) -> pd.DataFrame:
    """The ledger of one forecast: a row per deal won so far in the quarter, per open deal, and
    one each for the open leads and the deals not yet created; a column per metric and month of
    :func:`ledger_months`, in whole units (:data:`UNITS`)."""
    months = ledger_months(result, period)
    origin = pd.Period(period, "M")
    future = [m for m in months if m > origin]
    rows = _identity(frame, open_deals, months[0], origin)
    out = pd.DataFrame(rows)
    weights = _deal_weights(forecaster, open_deals, frame, len(future))
    n_won, n_open = int((out["kind"] == "won").sum()), len(open_deals)
    for metric in UNITS:
        parts = _monthly_parts(result, metric)
        values = np.zeros((len(out), len(months)), np.int64)
        won_values = _won_values(frame, out["item"][:n_won], months, origin, metric)
        values[:n_won] = won_values
        for k, month in enumerate(future):
            j = months.index(month)
            if n_open:
                values[n_won : n_won + n_open, j] = _shares(weights[metric][:, k], parts["open"][k])
            elif parts["open"][k]:  # nothing open to split over: kept on the new deals' row
                parts["new"][k] += parts["open"][k]
            values[n_won + n_open, j] = parts["leads"][k]
            values[n_won + n_open + 1, j] = parts["new"][k]
        for j, month in enumerate(months):
            out[column(metric, month)] = values[:, j]
    return out


def _identity(
    frame: pd.DataFrame, open_deals: pd.DataFrame, start: pd.Period, origin: pd.Period
) -> list[dict]:
    """The ledger's rows before their values: won deals of the quarter so far, open deals, and
    the two aggregate rows."""
    close = frame["close_date"].dt.to_period("M")
    won = frame[(frame["status"] == "won") & (close >= start) & (close <= origin)]

    def row(kind: str, deals: pd.DataFrame) -> list[dict]:
        return [
            {
                "item": str(r.opportunity_id),
                "kind": kind,
                "product": r.product,
                "amount": r.amount,
                "close_date": r.close_date,
            }
            for r in deals.itertuples(index=False)
        ]

    aggregate = [
        {"item": name, "kind": kind, "product": None, "amount": np.nan, "close_date": pd.NaT}
        for kind, name in AGGREGATE_ITEMS.items()
    ]
    return row("won", won) + row("open", open_deals) + aggregate


def _won_values(
    frame: pd.DataFrame, items: pd.Series, months: list[pd.Period], origin: pd.Period, metric: str
) -> np.ndarray:
    """Whole units won by each deal of ``items`` in each month of ``months`` up to ``origin``."""
    values = np.zeros((len(items), len(months)), np.int64)
    if not len(items):
        return values
    deals = frame.set_index(frame["opportunity_id"].astype(str)).loc[list(items)]
    month = deals["close_date"].dt.to_period("M")
    if metric == "revenue":
        amount = deals["amount"].to_numpy(dtype=float, na_value=np.nan)
        cents = np.round(np.nan_to_num(amount) * UNITS[metric]).astype(np.int64)
    else:
        cents = np.full(len(deals), UNITS[metric], np.int64)
    for j, m in enumerate(months):
        if m <= origin:
            values[:, j] = np.where((month == m).to_numpy(), cents, 0)
    return values


def window_total(ledger: pd.DataFrame, metric: str, months: list[pd.Period]) -> int:
    """Whole units the ledger gives ``months``: the forecast of that window (with its wins so
    far) as its run made it."""
    columns = [column(metric, m) for m in months]
    missing = [c for c in columns if c not in ledger]
    if missing:
        raise KeyError(f"the ledger does not cover {', '.join(missing)}")
    return int(ledger[columns].to_numpy(dtype=np.int64).sum())


__all__ = [
    "AGGREGATE_ITEMS",
    "KINDS",
    "LEDGER_FILE",
    "UNITS",
    "build_ledger",
    "column",
    "ledger_months",
    "outlook_figures",
    "window_total",
]


def _spread(draws: np.ndarray, expected: float) -> dict[str, float]:
    """A figure for readers: its expected value, median and the planner's interval."""
    low, median, high = np.quantile(draws, FORECAST_QUANTILES)
    return {"expected": expected, "median": float(median), "low": float(low), "high": float(high)}


def outlook_figures(
    result: ForecastResult,
    ledger: pd.DataFrame,
    frame: pd.DataFrame,
    period: str,
    target: float,
) -> dict:
    """The forecast as the executive page reads it, per metric: the next month and the quarter
    (with its wins so far), each as its expected value, median and interval
    (:data:`~pipeline_models.analyses.policy.FORECAST_QUANTILES`), and the quarter's chance of
    reaching the revenue ``target``. The quarter's expected value is the ledger's, so the page's
    figure and the change it explains are one number."""
    quarter, remaining, q_start = quarter_window(period)
    origin = pd.Period(period, "M")
    months = [m for m in ledger_months(result, period) if m <= origin + remaining]
    won = won_between(frame, q_start, result.origin)
    out: dict = {
        "month": str(origin + 1),
        "quarter": quarter,
        "quarter_months": [str(m) for m in months],
    }
    for metric in UNITS:
        so_far = won[metric]
        month = result.draws[(1, metric, "total")]
        whole = so_far + result.draws[(remaining, metric, "total")]
        out[metric] = {
            "month": _spread(month, float(np.mean(month))),
            "quarter": _spread(whole, window_total(ledger, metric, months) / UNITS[metric]),
            "won_so_far": so_far,
        }
        if metric == "revenue":
            out[metric]["target"] = float(target)
            out[metric]["p_reach_target"] = float(np.mean(whole >= target)) if target > 0 else None
    return out
