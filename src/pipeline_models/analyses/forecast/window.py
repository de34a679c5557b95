"""The windows a forecast report speaks of: the coming quarter, the trailing run-rate, the target.

A report of period ``P`` forecasts from the end of ``P``. Its quarter is the quarter holding the
month after ``P``: the months of it still to come are forecast, wins in it up to the end of ``P``
are already in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.contract.period import reference_date

RUN_RATE_MONTHS = 3
"""Months the trailing run-rate averages: a CRM's usual "last quarter" pace."""


def quarter_window(period: str) -> tuple[str, int, pd.Timestamp]:
    """The quarter holding the month after ``period``: its label, the months of it still to come
    after ``period``, and its first day (wins since then count as already in)."""
    next_month = pd.Period(period, "M") + 1
    quarter = next_month.asfreq("Q")
    remaining = (quarter.asfreq("M", "end") - pd.Period(period, "M")).n
    return str(quarter), int(remaining), quarter.start_time


def run_rate(
    frame: pd.DataFrame, origin: pd.Timestamp | str, horizon: int, months: int = RUN_RATE_MONTHS
) -> dict:
    """Trailing run-rate: mean deals and revenue won per month over the last ``months`` months,
    times ``horizon`` months."""
    origin = pd.Timestamp(origin).normalize()
    won = won_between(frame, (pd.Period(origin, "M") - months + 1).start_time, origin)
    return {metric: value / months * horizon for metric, value in won.items()}


def won_between(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, float]:
    """Deals (``count``) and revenue (``revenue``, amounts missing counted as none) won with a
    close date from ``start`` to ``end``, both included."""
    close = frame["close_date"]
    won = (
        frame["status"].eq("won").to_numpy(dtype=bool, na_value=False)
        & (close >= start).to_numpy(dtype=bool, na_value=False)
        & (close <= end).to_numpy(dtype=bool, na_value=False)
    )
    amount = frame["amount"].to_numpy(dtype=float, na_value=np.nan)[won]
    return {"count": float(won.sum()), "revenue": float(np.nansum(amount))}


def default_target(frame: pd.DataFrame, period: str) -> float:
    """The quarter's revenue target when none is given: the trailing run-rate over the months of
    the quarter still to come, plus the revenue already won in the quarter by the end of
    ``period``."""
    origin = reference_date(period)
    quarter, remaining, _ = quarter_window(period)
    so_far = won_between(frame, pd.Period(quarter).start_time, origin)["revenue"]
    return run_rate(frame, origin, remaining)["revenue"] + so_far


__all__ = ["RUN_RATE_MONTHS", "default_target", "quarter_window", "run_rate", "won_between"]
