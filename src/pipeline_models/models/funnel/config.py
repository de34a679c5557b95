"""The funnel model's settings: what it estimates (model settings) and how many draws it makes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SAMPLER_FIELDS = ("draws",)
"""Settings that decide how precisely the funnel is drawn, not what is estimated."""

F_MAX = 0.999
"""No lag CDF reaches 1: a lag longer than any seen is always possible."""

LAM_MAX = 0.99
"""Largest share of not-won deals marked lost: some deals always stall."""

THIN_SOURCE = 30
"""A source with fewer recent opportunities than this leans on the other sources: its rates have
wide intervals, and the report says so."""


@dataclass(frozen=True)
class FunnelConfig:
    """Settings of the funnel model, each with a default that suits a monthly B2B pipeline."""

    lookback_months: int = 12  # leads and deals created this recently estimate the rates
    conversion_half_life: float = 3.0  # months: older leads weigh half as much in conversion
    mix_months: int = 3  # the current source mix and lead volume: leads of the last months
    arrival_half_life: float = 4.0  # months: the rate of new leads follows recent volume
    arrival_window: int = 12  # months of history the rate of new leads looks at
    min_lag_samples: int = 30  # fewer won deals with a known lag than this: a warning
    lag_pooling: float = 5.0  # lags worth of the all-source lag distribution in each source's
    rhythm_strength: float = 30.0  # won paths worth of "no quarter rhythm" in each rhythm cell
    amount_pooling: float = 20.0  # won deals worth of the all-source mean amount in a source's
    kappa_median: float = 20.0  # prior median of the Beta population's concentration
    kappa_log_sd: float = 1.5  # prior sd of log(kappa): sources may differ a little or a lot
    draws: int = 2000

    def model_settings(self) -> dict[str, Any]:
        """What the funnel estimates (JSON-able): every setting but the number of draws."""
        return {k: v for k, v in asdict(self).items() if k not in SAMPLER_FIELDS}

    def sampler_settings(self) -> dict[str, Any]:
        """How precisely the funnel is drawn (JSON-able)."""
        return {k: v for k, v in asdict(self).items() if k in SAMPLER_FIELDS}


__all__ = ["F_MAX", "LAM_MAX", "SAMPLER_FIELDS", "THIN_SOURCE", "FunnelConfig"]
