"""The account model's settings: what it estimates (model settings) and how many draws it makes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SAMPLER_FIELDS = ("draws",)
"""Settings that decide how precisely the tables' intervals are drawn, not what is estimated."""

MAX_ACCOUNT_CONCENTRATION = 1e4
"""Largest weight (in purchases) of the segment's mix in an account's own mix: beyond it accounts
of a segment do not differ, and their own purchases hardly move their mix."""

THIN_REPEAT_ACCOUNTS = 30
"""Fewer accounts with two or more purchases than this, and how much an account's own purchases
count is poorly known (only repeat buyers show whether accounts differ within a segment)."""

THIN_AT_RISK = 30
"""Fewer accounts with deals before the horizon's start than this, and the chance to buy at all
rests on few accounts."""


@dataclass(frozen=True)
class AccountsConfig:
    """Settings of the account model, each with a default that suits a monthly B2B pipeline."""

    horizon_months: int = 12  # the chance to buy is for this many months after the period
    open_weight: float | None = None  # an open deal counts as this share of a won one in the
    # account's mix; None: the export's win rate of closed deals (the chance it ends won)
    half_life_months: float | None = None  # a won deal this old counts half; None: all count
    kappa_median: float = 20.0  # prior median of the concentration of segments' chances to buy
    kappa_log_sd: float = 1.5  # prior sd of its log: segments may differ a little or a lot
    draws: int = 1000  # draws behind each table's intervals

    def __post_init__(self) -> None:
        if self.horizon_months < 1:
            raise ValueError("horizon_months must be at least 1")
        if self.open_weight is not None and not 0 <= self.open_weight <= 1:
            raise ValueError("open_weight must lie in [0, 1]")
        if self.half_life_months is not None and self.half_life_months <= 0:
            raise ValueError("half_life_months must be positive")
        if self.draws < 100:
            raise ValueError("draws must be at least 100")

    def model_settings(self) -> dict[str, Any]:
        """What the model estimates (JSON-able): every setting but the number of draws."""
        return {k: v for k, v in asdict(self).items() if k not in SAMPLER_FIELDS}

    def sampler_settings(self) -> dict[str, Any]:
        """How precisely the intervals are drawn (JSON-able)."""
        return {k: v for k, v in asdict(self).items() if k in SAMPLER_FIELDS}


__all__ = [
    "MAX_ACCOUNT_CONCENTRATION",
    "SAMPLER_FIELDS",
    "THIN_AT_RISK",
    "THIN_REPEAT_ACCOUNTS",
    "AccountsConfig",
]
