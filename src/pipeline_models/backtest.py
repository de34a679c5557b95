"""``pipeline_models.backtest`` keeps the import path of
:mod:`pipeline_models.analyses.forecast.track`."""

from pipeline_models.analyses.forecast.charts import plot_track_record
from pipeline_models.analyses.forecast.tables import format_scores
from pipeline_models.analyses.forecast.track import (
    MODELS,
    archived_snapshots,
    backtest,
    score_table,
    track_record,
    write_forecasts,
)

__all__ = [
    "MODELS",
    "archived_snapshots",
    "backtest",
    "format_scores",
    "plot_track_record",
    "score_table",
    "track_record",
    "write_forecasts",
]
