"""The report notebooks' names stay importable from ``pipeline_models.forecast``,
``pipeline_models.backtest`` and ``pipeline_models.scoring``."""

from __future__ import annotations

from pipeline_models import backtest as bt
from pipeline_models import forecast as fc
from pipeline_models import scoring
from pipeline_models.analyses import forecast as report
from pipeline_models.models import forecaster


def test_forecast_names():
    assert fc.PipelineForecaster is forecaster.PipelineForecaster
    assert fc.ForecastConfig is forecaster.ForecastConfig
    assert fc.PipelineCounts is forecaster.PipelineCounts
    for name in ("quarter_window", "run_rate", "forecast_table", "plot_forecast"):
        assert getattr(fc, name) is getattr(report, name)
    for name in ("open_deal_outlook", "weighted_pipeline", "default_target"):
        assert getattr(fc, name) is getattr(report, name)


def test_backtest_and_scoring_names():
    for name in ("backtest", "archived_snapshots", "write_forecasts", "format_scores"):
        assert getattr(bt, name) is getattr(report, name)
    assert bt.plot_track_record is report.plot_track_record
    assert bt.score_table is scoring.score_table is report.score_table
    assert bt.MODELS == ("workbench", "weighted_pipeline", "run_rate")
    assert scoring.quantile_row is forecaster.quantile_row
    assert scoring.QUANTILE_COLUMNS == ("q05", "q10", "q25", "q50", "q75", "q90", "q95")
    assert scoring.FORECAST_COLUMNS[-1] == "model"
