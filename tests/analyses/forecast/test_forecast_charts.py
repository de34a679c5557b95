"""The forecast fan and the track-record chart draw on the axes they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from forecaster_cases import FAST, sample_export  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from pipeline_models.analyses.forecast.charts import (  # noqa: E402
    off_scale,
    plot_forecast,
    plot_track_record,
    track_rows,
    track_scale,
)
from pipeline_models.analyses.forecast.track import backtest  # noqa: E402
from pipeline_models.contract.period import month_end  # noqa: E402
from pipeline_models.data.asof import pipeline_as_of  # noqa: E402
from pipeline_models.models.forecaster import QUANTILE_COLUMNS, PipelineForecaster  # noqa: E402
from pipeline_models.present import palette  # noqa: E402

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
    # one interval policy: outcomes still to come carry the planner's interval alone
    assert "80% interval" in labels and "50% interval" not in labels
    plt.close(fig)


def test_the_money_axis_reads_as_money_and_the_colours_are_the_palettes(known):
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    result = forecaster.predict(known[known["status"] == "open"], (1, 2, 3), random_seed=1)
    fig, ax = plt.subplots()
    plot_forecast(result, known, "revenue", ax=ax, currency="EUR")
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and not any("e" in t for t in ticks)  # 500k, 1M: never an offset like 1e6
    assert "EUR" in ax.get_ylabel()
    colours = {to_hex(line.get_color()) for line in ax.lines}
    allowed = [getattr(palette, n) for n in ("ESTIMATE", "INTERVAL", "OBSERVED", "REFERENCE")]
    assert colours <= {to_hex(c) for c in allowed}
    plt.close(fig)


def test_plot_track_record_draws_every_model(known):
    track = backtest(known, [month_end("2026-03"), month_end("2026-04")], (1,), config=FAST)
    fig, ax = plt.subplots()
    assert plot_track_record(track, "revenue", 1, ax=ax) is ax
    labels = [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]
    assert labels == [
        "workbench (median)",
        "weighted pipeline",
        "cure-aware weighted pipeline",
        "run-rate",
        "actual",
    ]
    assert all(len(line.get_xdata()) == 2 for line in ax.lines)
    plt.close(fig)


def _track(weighted: float) -> pd.DataFrame:
    """A track record of three origins: the workbench near what was won, the weighted pipeline
    at ``weighted`` and the run-rate beside them."""
    rows = []
    for i, origin in enumerate(("2026-04-30", "2026-05-31", "2026-06-30")):
        actual = 2.0e6 + 1e5 * i
        quantiles = {q: actual * (0.8 + 0.4 * k / 6) for k, q in enumerate(QUANTILE_COLUMNS)}
        for model, point, qs in (
            ("workbench", actual * 1.02, quantiles),
            ("weighted_pipeline", weighted, {}),
            ("run_rate", actual * 0.95, {}),
        ):
            rows.append(
                {
                    "origin": origin,
                    "target": "revenue",
                    "horizon_months": 1,
                    "point": point,
                    **{q: qs.get(q, np.nan) for q in QUANTILE_COLUMNS},
                    "model": model,
                    "actual": actual,
                }
            )
    return pd.DataFrame(rows)


def test_a_baseline_far_above_the_forecast_is_clipped_at_the_top_edge_with_its_value():
    track = _track(weighted=7.1e6)
    bottom, top = track_scale(track_rows(track, "revenue", 1))
    assert top < 3e6  # the scale is the forecast's and the actuals', not the baseline's
    fig, ax = plt.subplots()
    plot_track_record(track, "revenue", 1, ax=ax, currency="USD")
    assert ax.get_ylim() == pytest.approx((bottom, top))
    (label,) = [t.get_text() for t in ax.texts]
    assert label == "weighted pipeline 7.10M USD (off scale)"
    marks = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(marks) == 1 and list(marks[0].get_ydata()) == [top] * 3
    assert off_scale(track, "revenue", 1) == {"weighted_pipeline": pytest.approx(7.1e6)}
    plt.close(fig)


def test_a_baseline_on_the_scale_is_drawn_as_it_is():
    track = _track(weighted=2.05e6)
    fig, ax = plt.subplots()
    plot_track_record(track, "revenue", 1, ax=ax)
    assert len(ax.texts) == 0 and off_scale(track, "revenue", 1) == {}
    plt.close(fig)
