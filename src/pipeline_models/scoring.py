"""``pipeline_models.scoring`` keeps the import path of the scores in
:mod:`pipeline_models.analyses.forecast.track` and the quantile columns in
:mod:`pipeline_models.models.forecaster.result`."""

from pipeline_models.analyses.forecast.track import (
    FORECAST_COLUMNS,
    crps_from_draws,
    crps_from_quantiles,
    score_table,
)
from pipeline_models.models.forecaster.result import QUANTILE_COLUMNS, QUANTILES, quantile_row

__all__ = [
    "FORECAST_COLUMNS",
    "QUANTILES",
    "QUANTILE_COLUMNS",
    "crps_from_draws",
    "crps_from_quantiles",
    "quantile_row",
    "score_table",
]
