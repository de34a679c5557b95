"""``pipeline_models.forecast`` keeps the import path of :mod:`pipeline_models.models.forecaster`
and :mod:`pipeline_models.analyses.forecast`."""

from pipeline_models.analyses.forecast import (
    age_band_table,
    default_target,
    forecast_table,
    open_deal_outlook,
    plot_forecast,
    quarter_window,
    run_rate,
    weighted_pipeline,
)
from pipeline_models.models.forecaster import (
    EXACT_SUM_MAX,
    ForecastConfig,
    ForecastResult,
    PipelineCounts,
    PipelineForecaster,
    window_label,
)

__all__ = [
    "EXACT_SUM_MAX",
    "ForecastConfig",
    "ForecastResult",
    "PipelineCounts",
    "PipelineForecaster",
    "age_band_table",
    "default_target",
    "forecast_table",
    "open_deal_outlook",
    "plot_forecast",
    "quarter_window",
    "run_rate",
    "weighted_pipeline",
    "window_label",
]
