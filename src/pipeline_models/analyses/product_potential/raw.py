"""The export's own figures per level (deals, win rate, mean won deal, days to win, volumes, open
pipeline), to stand beside the pooled estimates: a reader sees how far a product with few deals
was pulled toward the others."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .levels import level_dim, level_labels


def volume_windows(as_of: pd.Timestamp, months: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First days of the recent window (the ``months`` months ending with ``as_of``'s month) and
    of the equally long window before it."""
    if months < 1:
        raise ValueError("volume_months must be >= 1")
    last = pd.Period(as_of, "M")
    return (last - months + 1).start_time, (last - 2 * months + 1).start_time


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
    data, earlier_known = _deal_flags(frame, by, as_of, volume_months)
    out = _sum_by_level(data, volume_months, earlier_known)
    out.index.name = level_dim(by)
    return out


def _deal_flags(
    frame: pd.DataFrame, by: Sequence[str], as_of: pd.Timestamp, volume_months: int
) -> tuple[pd.DataFrame, bool]:
    """One row per deal: its level and the 0/1 flags and amounts the figures sum, and whether
    the earlier volume window is covered by the export."""
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

    recent_start, earlier_start = volume_windows(as_of, volume_months)
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
    return data, earlier_known


def _sum_by_level(data: pd.DataFrame, volume_months: int, earlier_known: bool) -> pd.DataFrame:
    """The figures of :func:`raw_figures` from the deals' flags, one row per level (sorted)."""
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
    return out
