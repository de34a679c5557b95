"""Cohorts by creation month: win rate and days to win, each cohort judged after the same window.

Censoring is handled by a fixed window: a cohort counts only once all its deals are at least
``horizon_days`` old, and a deal still open or closed after the window counts as not won within
it, the same for every cohort, so cohorts compare fairly. Rates carry Jeffreys intervals
(``Beta(won + 1/2, created - won + 1/2)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from pipeline_models.analyses.patterns.fields import LOST, WON, deal_status
from pipeline_models.analyses.policy import INTERVAL

HORIZON_QUANTILE = 0.9
"""A cohort is judged once nine wins in ten would have closed (this quantile of won cycles)."""

DEFAULT_HORIZON_DAYS = 90
"""Window when no won deal has both dates."""

TREND_DRAWS = 20_000
"""Monte Carlo draws of each Jeffreys posterior in :func:`cohort_trend`."""


def cohort_horizon(frame: pd.DataFrame, q: float = HORIZON_QUANTILE) -> int:
    """Days after creation by which a cohort is judged: the ``q`` quantile of won deals' cycle,
    rounded up to whole 30-day months (at least 30)."""
    won = frame[deal_status(frame).eq(WON).to_numpy()]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    days = days[days.notna() & (days >= 0)]
    if days.empty:
        return DEFAULT_HORIZON_DAYS
    return int(max(30, 30 * np.ceil(np.quantile(days, q) / 30)))


def _cohort_counts(frame: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Created, won and lost within the window, and median days to win, per creation month."""
    created = pd.to_datetime(frame["created_date"], errors="coerce")
    keep = created.notna()
    f = frame[keep.to_numpy()]
    created = created[keep]
    cohort = created.dt.to_period("M")
    close = pd.to_datetime(f["close_date"], errors="coerce")
    days = (close - created).dt.days
    status = deal_status(f)
    in_window = (close <= as_of) & (days <= horizon_days)
    won = (status == WON) & in_window
    lost = (status == LOST) & in_window
    table = pd.DataFrame(
        {
            "created": cohort.groupby(cohort).size(),
            "won_within": won.groupby(cohort).sum(),
            "lost_within": lost.groupby(cohort).sum(),
            "median_days_to_win": days.where(won).groupby(cohort).median(),
        }
    )
    table.index.name = "cohort"
    return table


def cohort_table(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    horizon_days: int,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Win rate and cycle time by creation month, each cohort judged ``horizon_days`` after creation.

    A cohort counts only once all its deals are at least ``horizon_days`` old at ``as_of``
    (younger cohorts are left out; ``attrs["too_young"]`` counts them). ``won_within`` counts
    deals won within the window; ``rate = won_within / created`` with a Jeffreys interval;
    ``median_days_to_win`` among those wins.
    """
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    as_of = pd.Timestamp(as_of)
    table = _cohort_counts(frame, as_of, horizon_days)
    mature = (table.index.end_time.normalize() + pd.Timedelta(days=horizon_days)) <= as_of
    too_young = int((~mature).sum())
    table = table[mature].copy()
    a = table["won_within"] + 0.5
    b = table["created"] - table["won_within"] + 0.5
    table["rate"] = table["won_within"] / table["created"]
    table["lower"] = stats.beta.ppf(lo, a, b)
    table["upper"] = stats.beta.ppf(hi, a, b)
    table["not_closed_within"] = table["created"] - table["won_within"] - table["lost_within"]
    table = table[["created", "won_within", "lost_within", "not_closed_within", "rate", "lower",
                   "upper", "median_days_to_win"]]  # fmt: skip
    table.attrs = {"horizon_days": int(horizon_days), "too_young": too_young}
    return table


def _days_to_win(part: pd.DataFrame) -> float:
    """Median days to win of a run of cohorts, weighted by their wins."""
    return float(
        np.average(
            part["median_days_to_win"].fillna(0), weights=part["won_within"].clip(lower=1e-9)
        )
    )


def cohort_trend(
    cohorts: pd.DataFrame,
    recent: int = 3,
    interval: float = INTERVAL,
    random_seed: int | None = None,
) -> dict[str, float] | None:
    """The latest ``recent`` mature cohorts against all earlier ones: win rates within the window
    and their difference (Jeffreys posteriors, Monte Carlo), and median days to win. ``None``
    when there are too few cohorts."""
    if len(cohorts) < recent + 2:
        return None
    late, early = cohorts.iloc[-recent:], cohorts.iloc[:-recent]
    rng = np.random.default_rng(random_seed)

    def draws(part: pd.DataFrame) -> np.ndarray:
        won, n = part["won_within"].sum(), part["created"].sum()
        return rng.beta(won + 0.5, n - won + 0.5, TREND_DRAWS)

    d_late, d_early = draws(late), draws(early)
    diff = d_late - d_early
    lo, hi = np.quantile(diff, [(1 - interval) / 2, (1 + interval) / 2])
    return {
        "recent_cohorts": f"{late.index[0]} to {late.index[-1]}",
        "earlier_cohorts": f"{early.index[0]} to {early.index[-1]}",
        "recent_rate": float(late["won_within"].sum() / late["created"].sum()),
        "earlier_rate": float(early["won_within"].sum() / early["created"].sum()),
        "difference": float(diff.mean()),
        "lower": float(lo),
        "upper": float(hi),
        "p_improved": float((diff > 0).mean()),
        "recent_days_to_win": _days_to_win(late),
        "earlier_days_to_win": _days_to_win(early),
    }


__all__ = [
    "DEFAULT_HORIZON_DAYS",
    "HORIZON_QUANTILE",
    "TREND_DRAWS",
    "cohort_horizon",
    "cohort_table",
    "cohort_trend",
]
