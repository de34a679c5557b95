"""The number a CRM shows beside a forecast: the weighted pipeline.

Stage probabilities are the win rate of closed deals (the export does not carry the CRM's own
stage probabilities, and deals' stage histories are unknown). The other baseline, the trailing
run-rate, is :func:`~pipeline_models.analyses.forecast.window.run_rate`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    """:func:`weighted_pipeline` for several windows, reading the table once."""
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


__all__ = ["weighted_pipeline", "weighted_pipelines"]
