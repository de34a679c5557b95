"""The forecaster's settings: what it estimates (model settings) and how many draws it makes."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

THIN_DEALS = 200
"""Fewer deals with a creation date than this and the hazards of most product-age cells rest on a
handful of deals: the forecast then says that it is uncertain."""

SAMPLER_FIELDS = ("draws",)
"""Settings that decide how precisely the forecast is drawn, not what is estimated."""


@dataclass(frozen=True)
class ForecastConfig:
    """Settings of the forecast, each with a default that suits a monthly B2B pipeline."""

    group: str = "product"  # column whose levels get their own (pooled) hazards and arrival rates
    max_age_months: int = 18  # ages from here on share one hazard (too few deals to tell apart)
    pooling_strength: float = 30.0  # prior weight, in deal-months, of the all-products hazards
    hazard_half_life: float = 12.0  # months: older deal-months weigh half as much
    arrival_half_life: float = 4.0  # months: the arrival rate follows recent volume
    arrival_window: int = 12  # months of history the arrival rate looks at
    seasonality: bool = True  # month-of-quarter factor on the won hazard
    seasonality_strength: float = 30.0  # prior weight (won deals) that keeps the factor near 1
    amount_pooling: float = 20.0  # won deals after which a product's own amounts dominate
    skip_unrecorded_cohorts: bool = False  # ignore deals created before the first recorded close
    age_smoothing: float = 10.0  # prior weight, in deal-months, of the previous age's hazards
    default_month_sd: float = 0.15  # month-effect sd when the history is too short to measure it
    min_month_sd: float = 0.03  # floor on the month effect: no history is perfectly stable
    month_sd_prior_months: float = 6.0  # months of evidence the default month effect counts for
    calibration_origins: int = 6  # earlier origins at which the forecaster checks itself
    calibration_horizon: int = 3  # longest window checked (longer windows reuse its figures)
    calibration_min_history: int = 3  # months of recorded closes an inner origin needs
    calibration_prior: float = 3.0  # inner origins' worth of the default error spread
    calibration_sd: float = 0.10  # default extra log-error spread (10%)
    draws: int = 2000

    def model_settings(self) -> dict[str, Any]:
        """What the forecaster estimates (JSON-able): every setting but the number of draws."""
        return {k: v for k, v in asdict(self).items() if k not in SAMPLER_FIELDS}

    def sampler_settings(self) -> dict[str, Any]:
        """How precisely the forecast is drawn (JSON-able)."""
        return {k: v for k, v in asdict(self).items() if k in SAMPLER_FIELDS}


__all__ = ["SAMPLER_FIELDS", "ForecastConfig"]
