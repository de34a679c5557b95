"""The company roll-up: business units' forecasts added up with their misses moving together.

Units' predictive draws are combined by a Gaussian copula with one common correlation ρ, applied
by reordering each unit's own draws (:mod:`.combine`); ρ is estimated from the units' track
records, and the company's own track record is built the same way (:mod:`.track`).
"""

from pipeline_models.analyses.rollup.combine import (
    MIN_ORIGINS,
    ROLLUP_FORMULA,
    Dependence,
    combine_draws,
    estimate_dependence,
    pit_from_quantiles,
    quantile_draws,
)
from pipeline_models.analyses.rollup.track import rollup_backtest

__all__ = [
    "MIN_ORIGINS",
    "ROLLUP_FORMULA",
    "Dependence",
    "combine_draws",
    "estimate_dependence",
    "pit_from_quantiles",
    "quantile_draws",
    "rollup_backtest",
]
