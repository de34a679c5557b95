"""The forecast fan and the track-record chart draw on the axes they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from forecaster_cases import FAST, sample_export  # noqa: E402

from pipeline_models.analyses.forecast.charts import plot_forecast, plot_track_record  # noqa: E402
from pipeline_models.analyses.forecast.track import backtest  # noqa: E402
from pipeline_models.contract.period import month_end  # noqa: E402
from pipeline_models.data.asof import pipeline_as_of  # noqa: E402
from pipeline_models.models.forecaster import PipelineForecaster  # noqa: E402

ORIGIN = month_end("2026-06")


@pytest.fixture(scope="module")
def known():
    return pipeline_as_of(sample_export(), ORIGIN)


def test_plot_forecast_shows_history_and_fan(known):
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    result = forecaster.predict(known[known["status"] == "open"], (1, 2, 3), random_seed=1)
    fig, ax = plt.subplots()
    assert plot_forecast(result, known, "count", ax=ax, months_back=6) is ax
    history, median = ax.lines
    assert history.get_label() == "won" and len(history.get_xdata()) == 6
    won = (known["status"] == "won") & (known["close_date"] > month_end("2026-05"))
    assert history.get_ydata()[-1] == won.sum()  # deals won in the origin's month
    assert len(median.get_ydata()) == 3 and np.all(np.asarray(median.get_ydata()) >= 0)
    labels = ax.get_legend_handles_labels()[1]
    assert "80% interval" in labels and "50% interval" in labels
    plt.close(fig)


def test_plot_track_record_draws_every_model(known):
    track = backtest(known, [month_end("2026-03"), month_end("2026-04")], (1,), config=FAST)
    fig, ax = plt.subplots()
    assert plot_track_record(track, "revenue", 1, ax=ax) is ax
    labels = [line.get_label() for line in ax.lines]
    assert labels == [
        "workbench (median)",
        "weighted pipeline",
        "cure-aware weighted pipeline",
        "run-rate",
        "actual",
    ]
    assert all(len(line.get_xdata()) == 2 for line in ax.lines)
    plt.close(fig)
