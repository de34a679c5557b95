"""How the patterns analyses read a deal: its status, a group label and its amount in cents."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.data.aggregate import group_levels

WON, LOST, OPEN = "won", "lost", "open"
CLOSED = (WON, LOST)

GROUPS = ("owner", "product", "region", "segment")
"""Attributes a deal carries from one export to the next and is broken down by."""


def level_text(series: pd.Series) -> pd.Series:
    """Text labels with missing values as :data:`~pipeline_models.contract.labels.NONE_LEVEL`."""
    return group_levels(series.to_frame("x"), ["x"])["x"]


def deal_status(frame: pd.DataFrame) -> pd.Series:
    """Each deal's status; a deal without one is open."""
    return frame["status"].astype("string").fillna(OPEN).astype(object)


def amount_cents(amount: pd.Series) -> np.ndarray:
    """Amounts as integer cents; a missing amount counts 0."""
    values = pd.to_numeric(amount, errors="coerce").astype("float64").to_numpy()
    return np.where(np.isnan(values), 0, np.rint(values * 100)).astype(np.int64)


def open_deals(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` whose deal is open."""
    return frame[deal_status(frame).eq(OPEN).to_numpy()]


__all__ = [
    "CLOSED",
    "GROUPS",
    "LOST",
    "OPEN",
    "WON",
    "amount_cents",
    "deal_status",
    "level_text",
    "open_deals",
]
