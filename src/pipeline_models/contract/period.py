"""The period a run describes, the day its reports count from, and the months a track record scores.

Every report measures ages, windows and "overdue" from one reference date: the last day of the
period (:func:`reference_date`). The latest date in the file is not a reference date: open deals'
expected close dates lie in the future, and an export taken after the month closed holds a few
days of the next month.

:func:`check_period` compares the period with what the export holds, once per run, so a wrong
``--period`` is refused with a clear message instead of giving a quietly wrong report.
"""

from __future__ import annotations

import re

import pandas as pd

PERIOD_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
"""A period is a month written YYYY-MM."""

LATE_EXPORT_DAYS = 7
"""An export taken up to a week after its month closed still describes that month."""

STALE_EXPORT_MONTHS = 3
"""An export whose latest activity lies more than this many months before the period's start
describes another period (or a pipeline nobody works in)."""

MIN_HISTORY_MONTHS = 3
"""A track-record origin needs this many months of closed deals before it: with less, what a model
learns there is mostly its prior."""

_CLOSED = ("won", "lost")


def month_end(period: str | pd.Period | pd.Timestamp) -> pd.Timestamp:
    """The last day of a month (normalised), e.g. ``2017-05`` -> 2017-05-31."""
    return pd.Period(period, "M").end_time.normalize()


def reference_date(period: str) -> pd.Timestamp:
    """The day every report of ``period`` counts ages, windows and overdue deals from."""
    return month_end(period)


def export_date(frame: pd.DataFrame) -> pd.Timestamp:
    """The day an export was taken: its latest creation date or actual (won/lost) close date.

    Expected close dates of open deals lie in the future and are not used.
    """
    closed = frame["status"].astype("string").str.lower().isin(_CLOSED).to_numpy()
    dates = pd.concat(
        [
            pd.to_datetime(frame["created_date"], errors="coerce"),
            pd.to_datetime(frame.loc[closed, "close_date"], errors="coerce"),
        ]
    )
    latest = dates.max()
    if pd.isna(latest):
        raise ValueError("the export has no creation or close dates")
    return pd.Timestamp(latest).normalize()


def period_mismatch(frame: pd.DataFrame, period: str) -> str | None:
    """Why ``period`` cannot be the month ``frame`` describes, or ``None`` when it can.

    The export's latest creation or actual close date must lie in the period or the
    :data:`LATE_EXPORT_DAYS` after it, and not more than :data:`STALE_EXPORT_MONTHS` before it.
    An export without any dates says nothing against the period.
    """
    if not PERIOD_PATTERN.match(str(period)):
        return f"period {period!r} is not a month written YYYY-MM"
    try:
        taken = export_date(frame)
    except ValueError:
        return None
    end = month_end(period)
    start = pd.Period(period, "M").start_time
    suggestion = f"the export looks like period {pd.Period(taken, 'M')}"
    if taken > end + pd.Timedelta(days=LATE_EXPORT_DAYS):
        return (
            f"the export holds deals created or closed up to {taken.date()}, after period "
            f"{period} ended ({end.date()}); {suggestion}"
        )
    if taken < start - pd.DateOffset(months=STALE_EXPORT_MONTHS):
        return (
            f"the export's latest creation or close date is {taken.date()}, more than "
            f"{STALE_EXPORT_MONTHS} months before period {period}; {suggestion}"
        )
    return None


def backtest_origins(
    frame: pd.DataFrame, period: str, horizon_months: int, count: int
) -> list[pd.Timestamp]:
    """The last ``count`` month-ends whose whole ``horizon_months`` window ends by the period's
    end, each with at least :data:`MIN_HISTORY_MONTHS` months of closes before it (oldest first).

    ``count`` origins are asked for; fewer come back when the history is short.
    """
    if count <= 0:
        return []
    closes = frame.loc[frame["status"].isin(_CLOSED), "close_date"].dropna()
    if closes.empty:
        return []
    last = pd.Period(period, "M") - horizon_months
    first = pd.Period(closes.min(), "M") + MIN_HISTORY_MONTHS
    origins = [month_end(last - k) for k in range(count - 1, -1, -1)]
    return [o for o in origins if pd.Period(o, "M") >= first]


__all__ = [
    "LATE_EXPORT_DAYS",
    "MIN_HISTORY_MONTHS",
    "PERIOD_PATTERN",
    "STALE_EXPORT_MONTHS",
    "backtest_origins",
    "export_date",
    "month_end",
    "period_mismatch",
    "reference_date",
]
