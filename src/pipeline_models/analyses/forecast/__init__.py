"""The forecast report: deals and revenue won in the coming months, beside what a CRM shows.

Compute modules: the report's windows and default target (:mod:`.window`), the CRM's weighted
pipeline (:mod:`.baselines`), open deals' outlook (:mod:`.deals`), their strength by the deal score
(:mod:`.strength`) and the track record with its scores (:mod:`.track`). Beside them: reader tables (:mod:`.tables`), charts (:mod:`.charts`) and
headline and warnings (:mod:`.narrative`). The forecaster itself is
:mod:`pipeline_models.models.forecaster`.
"""

from pipeline_models.analyses.forecast.baselines import weighted_pipeline, weighted_pipelines
from pipeline_models.analyses.forecast.charts import (
    plot_forecast,
    plot_reliability,
    plot_track_record,
)
from pipeline_models.analyses.forecast.deals import (
    AGE_BAND_EDGES,
    AGE_BAND_LABELS,
    age_band_table,
    open_deal_outlook,
)
from pipeline_models.analyses.forecast.narrative import (
    forecast_warnings,
    headline_items,
    track_warnings,
)
from pipeline_models.analyses.forecast.strength import (
    reason_sentences,
    reliability_table,
    strength_table,
    with_score_odds,
)
from pipeline_models.analyses.forecast.tables import (
    age_band_display,
    forecast_display,
    forecast_table,
    format_scores,
    group_display,
    open_deals_display,
    strength_display,
)
from pipeline_models.analyses.forecast.track import (
    FORECAST_COLUMNS,
    MODELS,
    archived_snapshots,
    backtest,
    crps_from_draws,
    crps_from_quantiles,
    score_table,
    track_record,
    write_forecasts,
)
from pipeline_models.analyses.forecast.window import default_target, quarter_window, run_rate

__all__ = [
    "AGE_BAND_EDGES",
    "AGE_BAND_LABELS",
    "FORECAST_COLUMNS",
    "MODELS",
    "age_band_display",
    "age_band_table",
    "archived_snapshots",
    "backtest",
    "crps_from_draws",
    "crps_from_quantiles",
    "default_target",
    "forecast_display",
    "forecast_table",
    "forecast_warnings",
    "format_scores",
    "group_display",
    "headline_items",
    "open_deal_outlook",
    "open_deals_display",
    "plot_forecast",
    "plot_reliability",
    "plot_track_record",
    "quarter_window",
    "reason_sentences",
    "reliability_table",
    "run_rate",
    "score_table",
    "strength_display",
    "strength_table",
    "track_record",
    "track_warnings",
    "weighted_pipeline",
    "weighted_pipelines",
    "with_score_odds",
    "write_forecasts",
]
