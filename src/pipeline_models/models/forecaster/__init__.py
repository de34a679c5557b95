"""The pipeline forecaster: deals won and revenue won in the coming months, as draws.

``won(t) ~ [open(product, age) + new(product) ~ GammaPoisson] x h_won(product, age) x
season(month of quarter)``: open deals close through Dirichlet competing-risk hazards pooled over
products; deals not yet created arrive as Gamma-Poisson counts and close through the same hazards;
the draws are widened by the forecaster's own errors at earlier origins. One noun per module:
settings (:mod:`.config`), counts of an export and its views (:mod:`.counts`), open-deal cells
(:mod:`.cells`), hazards (:mod:`.hazards`), arrivals (:mod:`.arrivals`), amounts
(:mod:`.amounts`), self-calibration (:mod:`.calibration`), simulation (:mod:`.simulation`), the
breakdown by level (:mod:`.breakdown`), the result (:mod:`.result`) and the estimator
(:mod:`.estimator`).
"""

from pipeline_models.models.forecaster.amounts import EXACT_SUM_MAX
from pipeline_models.models.forecaster.config import ForecastConfig
from pipeline_models.models.forecaster.counts import DealView, PipelineCounts
from pipeline_models.models.forecaster.estimator import PipelineForecaster
from pipeline_models.models.forecaster.result import (
    QUANTILE_COLUMNS,
    QUANTILES,
    ForecastResult,
    quantile_row,
    window_label,
)

__all__ = [
    "EXACT_SUM_MAX",
    "QUANTILES",
    "QUANTILE_COLUMNS",
    "DealView",
    "ForecastConfig",
    "ForecastResult",
    "PipelineCounts",
    "PipelineForecaster",
    "quantile_row",
    "window_label",
]
