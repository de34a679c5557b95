"""The pipeline overview's figures: volume, stage mix, status and amounts, by month and product.

Ages are counted from the period's reference date (:func:`~pipeline_models.contract.period.
reference_date`), never from the latest date in the file: open deals' expected close dates lie in
the future.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL


def level_labels(series: pd.Series) -> pd.Series:
    return series.astype("string").fillna(NONE_LEVEL)


def status_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Deals and amount by status, with the win rate of closed deals."""
    grouped = frame.groupby("status")
    table = pd.DataFrame(
        {
            "deals": grouped.size(),
            # min_count: a status whose amounts are all empty shows as not recorded, not as 0
            "amount": grouped["amount"].sum(min_count=1),
            "amount_recorded": grouped["amount"].count(),
        }
    ).reindex(["won", "lost", "open"])
    table[["deals", "amount_recorded"]] = table[["deals", "amount_recorded"]].fillna(0).astype(int)
    return table


def win_rate(frame: pd.DataFrame) -> float:
    """Won of closed deals (NaN when nothing closed)."""
    closed = frame["status"].isin(["won", "lost"])
    return float((frame.loc[closed, "status"] == "won").mean()) if closed.any() else float("nan")


def monthly_volume(frame: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month: deals created, won and lost (by close month), and revenue won."""
    created = frame["created_date"].dt.to_period("M").value_counts().rename("created")
    closed = frame[frame["status"].isin(["won", "lost"])]
    close_month = closed["close_date"].dt.to_period("M")
    won = close_month[closed["status"] == "won"].value_counts().rename("won")
    lost = close_month[closed["status"] == "lost"].value_counts().rename("lost")
    revenue = (
        closed[closed["status"] == "won"]
        .groupby(close_month[closed["status"] == "won"])["amount"]
        .sum()
        .rename("revenue_won")
    )
    table = pd.concat([created, won, lost, revenue], axis=1).fillna(0).sort_index()
    if len(table):
        full = pd.period_range(table.index.min(), table.index.max(), freq="M")
        table = table.reindex(full, fill_value=0)
    table.index.name = "month"
    return table.astype({"created": int, "won": int, "lost": int})


def stage_mix(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Open deals by stage: count, amount, median age in days at ``as_of``."""
    open_ = frame[frame["status"] == "open"]
    age = (pd.Timestamp(as_of) - open_["created_date"]).dt.days
    table = (
        open_.assign(age=age)
        .groupby(level_labels(open_["stage"]))
        .agg(
            deals=("opportunity_id", "size"),
            amount=("amount", "sum"),
            median_age_days=("age", "median"),
        )
    )
    table.index.name = "stage"
    return table.sort_values("deals", ascending=False)


def product_table(frame: pd.DataFrame, by: str = "product") -> pd.DataFrame:
    """Per product (or another grouping column): deals, won, lost, open, raw win rate, amounts."""
    label = level_labels(frame[by])
    grouped = frame.assign(_g=label).groupby("_g")
    table = pd.DataFrame(
        {
            "deals": grouped.size(),
            "won": grouped["status"].apply(lambda s: int((s == "won").sum())),
            "lost": grouped["status"].apply(lambda s: int((s == "lost").sum())),
            "open": grouped["status"].apply(lambda s: int((s == "open").sum())),
        }
    )
    table["win_rate"] = table["won"] / (table["won"] + table["lost"]).replace(0, np.nan)
    won = frame[frame["status"] == "won"].assign(_g=label)
    table["median_won_amount"] = won.groupby("_g")["amount"].median()
    table["revenue_won"] = won.groupby("_g")["amount"].sum()
    table["open_amount"] = (
        frame[frame["status"] == "open"].assign(_g=label).groupby("_g")["amount"].sum()
    )
    table.index.name = by
    return table.fillna({"revenue_won": 0, "open_amount": 0}).sort_values("deals", ascending=False)
