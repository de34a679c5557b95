"""The number a CRM shows beside a forecast: the weighted pipeline.

When the export carries the CRM's own ``probability`` of its deals, the weighted pipeline is the
CRM's number as its users know it (:func:`crm_weighted_pipelines`: amount x probability over the
open deals closing in the window, with the Commit and Best Case totals where the export carries a
``forecast_category``). Otherwise it is the workbench's estimate of it (:func:`weighted_pipelines`):
open amount x the win rate of closed deals. The other baseline, the trailing run-rate, is
:func:`~pipeline_models.analyses.forecast.window.run_rate`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.honesty import has_crm_probability
from pipeline_models.models.forecaster.codes import label_codes


def weighted_pipeline(frame: pd.DataFrame, origin: pd.Timestamp | str, horizon: int) -> dict:
    """The CRM's weighted pipeline: open amount x stage win probability, for the window.

    Stage probabilities are the win rate of closed deals (the export does not carry the CRM's own
    stage probabilities, and deals' stage histories are unknown). Deals with an expected close date
    count when it falls before the window ends (overdue ones included, as CRMs show them); deals
    without one count in every window. Missing amounts take the product's mean won amount.
    """
    return weighted_pipelines(frame, origin, (horizon,))[horizon]


def weighted_pipelines(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizons: tuple[int, ...]
) -> dict[int, dict]:
    """:func:`weighted_pipeline` for several windows, reading the table once (the workbench's
    estimate, whatever the export carries: see :func:`shown_weighted_pipelines`)."""
    origin = pd.Timestamp(origin).normalize()
    status = frame["status"]
    won = status.eq("won").to_numpy(dtype=bool, na_value=False)
    closed = won | status.eq("lost").to_numpy(dtype=bool, na_value=False)
    rate = float(won.sum() / closed.sum()) if closed.any() else 0.0
    open_ = status.eq("open").to_numpy(dtype=bool, na_value=False)
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    product, labels = label_codes(frame["product"])
    # missing amounts take the product's mean won amount, else the mean of all won amounts
    positive = won & (amount > 0)
    sums = np.bincount(product[positive], weights=amount[positive], minlength=len(labels))
    wins = np.bincount(product[positive], minlength=len(labels))
    overall = float(amount[positive].mean()) if positive.any() else 0.0
    mean = np.divide(sums, wins, out=np.full(len(sums), overall), where=wins > 0)
    value = np.where(np.isnan(amount), mean[product], amount)
    close = frame["close_date"]
    undated = close.isna().to_numpy()
    out = {}
    for horizon in horizons:
        end_ts = (pd.Period(origin, "M") + horizon).end_time.normalize()
        in_window = open_ & (undated | (close <= end_ts).to_numpy(dtype=bool, na_value=False))
        out[horizon] = {
            "count": rate * int(in_window.sum()),
            "revenue": rate * float(value[in_window].sum()),
        }
    return out


COMMIT = "commit"
BEST_CASE = "best case"
"""Forecast categories (compared in lower case) whose open amounts the CRM totals: Commit, and
Best Case, which in Salesforce's and HubSpot's forecasts includes the Commit deals."""


def crm_weighted_pipelines(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizons: tuple[int, ...]
) -> dict[int, dict]:
    """The CRM's own weighted pipeline for each window: over the open deals whose expected close
    date falls by the window's end (overdue and undated ones included, as for
    :func:`weighted_pipelines`), ``count`` = sum of probability and ``revenue`` = sum of amount x
    probability, with ``commit`` and ``best_case`` (Commit plus Best Case) open amounts where the
    export carries ``forecast_category``.

    Deals without a probability, or without an amount, add nothing (the CRM shows no expected
    amount for them); ``missing`` counts the open deals in the window without a probability.
    """
    origin = pd.Timestamp(origin).normalize()
    open_ = frame["status"].eq("open").to_numpy(dtype=bool, na_value=False)
    probability = pd.to_numeric(frame["probability"], errors="coerce").to_numpy(float)
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)
    category = (
        frame["forecast_category"].astype("string").str.strip().str.lower()
        if "forecast_category" in frame
        else None
    )
    close = frame["close_date"]
    undated = close.isna().to_numpy()
    out = {}
    for horizon in horizons:
        end_ts = (pd.Period(origin, "M") + horizon).end_time.normalize()
        inside = open_ & (undated | (close <= end_ts).to_numpy(dtype=bool, na_value=False))
        p = np.nan_to_num(probability[inside])
        row = {
            "count": float(p.sum()),
            "revenue": float(np.sum(p * np.nan_to_num(amount[inside]))),
            "missing": int(np.isnan(probability[inside]).sum()),
        }
        if category is not None:
            cat = category.to_numpy(dtype=object, na_value="")[inside]
            money = np.nan_to_num(amount[inside])
            commit = cat == COMMIT
            row["commit"] = float(money[commit].sum())
            row["best_case"] = float(money[commit | (cat == BEST_CASE)].sum())
        out[horizon] = row
    return out


def shown_weighted_pipelines(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizons: tuple[int, ...]
) -> tuple[dict[int, dict], str]:
    """The weighted pipeline shown beside the forecast, and whose it is: the CRM's own
    (``"crm"``) when the export carries its probability of open deals, else the workbench's
    estimate (``"estimate"``)."""
    if has_crm_probability(frame):
        return crm_weighted_pipelines(frame, origin, horizons), "crm"
    return weighted_pipelines(frame, origin, horizons), "estimate"


__all__ = [
    "BEST_CASE",
    "COMMIT",
    "crm_weighted_pipelines",
    "shown_weighted_pipelines",
    "weighted_pipeline",
    "weighted_pipelines",
]
