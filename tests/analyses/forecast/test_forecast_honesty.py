"""An honest back-test: nothing known only after an origin changes what is scored at it, and an
export without lost deals gets only the scores it can support."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import FAST, sample_export

from pipeline_models.analyses.forecast.honesty import (
    NO_LOST,
    backtest_limits,
    limit_sentences,
    lost_recorded,
)
from pipeline_models.analyses.forecast.track import backtest, score_table
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.data.asof import parse_origins
from pipeline_models.models.forecaster import QUANTILE_COLUMNS, ForecastConfig

ORIGIN = pd.Timestamp("2025-12-31")
MID_MONTH = pd.Timestamp("2026-01-15")
FORECAST = ["origin", "target", "horizon_months", "model", "point", *QUANTILE_COLUMNS]
CALIBRATED = ForecastConfig(draws=400, calibration_origins=2)

NOT_SCORED = {
    "workbench": NO_LOST,
    "weighted_pipeline": NO_LOST,
    "cure_weighted_pipeline": NO_LOST,
}


def future_encoded(frame: pd.DataFrame, origin: pd.Timestamp, seed: int = 3) -> pd.DataFrame:
    """``frame`` with everything learnt after ``origin`` rewritten so that it gives the answer
    away: every deal closed after it has its outcome swapped (won <-> lost) and carries the new
    one in stage and probability ("Closed Won", 1.0); amounts and close dates (still after the
    origin) change. Nothing known at the origin changes."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    cutoff = origin + pd.Timedelta(days=1)
    later = (out["close_date"] >= cutoff).fillna(True) | out["status"].eq("open")
    # every outcome after the origin is swapped, and then given away in stage and probability
    won_later, lost_later = later & out["status"].eq("won"), later & out["status"].eq("lost")
    out.loc[won_later, "status"] = "lost"
    out.loc[lost_later, "status"] = "won"
    out.loc[later, "stage"] = out.loc[later, "status"].map(
        {"won": "Closed Won", "lost": "Closed Lost", "open": "Proposal"}
    )
    out["probability"] = np.where(out["status"].eq("won"), 1.0, 0.0)
    out.loc[later, "amount"] = out.loc[later, "amount"] * rng.uniform(0.2, 5.0, int(later.sum()))
    days = pd.to_timedelta(rng.integers(0, 20, int(later.sum())), unit="D")
    out.loc[later, "close_date"] = out.loc[later, "close_date"] + days
    return out


def lost_deleted(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a CRM that deletes lost deals exports it."""
    return frame[~frame["status"].eq("lost")].reset_index(drop=True)


@pytest.fixture(scope="module")
def final_export():
    return sample_export()


@pytest.mark.parametrize(
    ("origin", "config"),
    [(ORIGIN, CALIBRATED), (MID_MONTH, FAST)],
    ids=["month-end (counted)", "mid-month (rebuilt)"],
)
def test_nothing_after_the_origin_changes_the_forecasts(final_export, origin, config):
    honest = backtest(final_export, [origin], (1, 2), config=config)
    peeked = backtest(future_encoded(final_export, origin), [origin], (1, 2), config=config)
    assert set(honest["model"]) == {
        "workbench",
        "weighted_pipeline",
        "cure_weighted_pipeline",
        "run_rate",
    }
    # the rewrite did change the answer, so a model reading it would differ
    assert not np.allclose(honest["actual"], peeked["actual"])
    pd.testing.assert_frame_equal(honest[FORECAST], peeked[FORECAST])


def test_a_peeking_baseline_would_score_perfectly_where_the_backtest_does_not(final_export):
    """On an export whose lost deals are deleted, the deals open at an origin are exactly the
    later winners: 'every open deal closing in the window wins' then has no error at all."""
    deleted = lost_deleted(final_export)
    origins = [pd.Timestamp("2026-03-31"), pd.Timestamp("2026-04-30"), pd.Timestamp("2026-05-31")]
    for origin in origins:
        created = deleted["created_date"] <= origin
        closed_by = deleted["status"].isin(["won", "lost"]) & (deleted["close_date"] <= origin)
        open_then = deleted.loc[created & ~closed_by, "status"]
        # every deal open at the origin that has closed since was won: the answer is given away
        assert set(open_then) == {"won", "open"} and open_then.eq("won").sum() > 0
    table = backtest(deleted, origins, (1,), config=FAST)
    assert set(table["model"]) == {"run_rate"}
    assert table.attrs["not_scored"] == NOT_SCORED
    # the run-rate reads only wins closed before each origin: deleting lost deals changes nothing
    full = backtest(final_export, origins, (1,), config=FAST)
    pd.testing.assert_frame_equal(
        table.reset_index(drop=True),
        full[full["model"] == "run_rate"].reset_index(drop=True),
        check_like=True,
    )
    assert score_table(table)["model"].unique().tolist() == ["run_rate"]


def test_the_weighted_pipeline_does_not_read_current_stages_or_probabilities(final_export):
    """With lost deals kept and the outcome written in every deal's stage and probability, a
    weighted pipeline of current values would hit the actuals; the back-test's stays far off."""
    origins = [pd.Timestamp("2026-02-28"), pd.Timestamp("2026-03-31"), pd.Timestamp("2026-04-30")]
    encoded = future_encoded(final_export, pd.Timestamp("2025-12-31"))
    table = backtest(encoded, origins, (1,), config=FAST)
    wape = score_table(table).set_index(["model", "target"])["wape"]
    assert wape[("weighted_pipeline", "count")] > 0.2
    assert table.attrs["not_scored"] == {}


def test_lost_recorded_reads_the_statuses():
    frame = pd.DataFrame({"status": pd.array(["won", "open", "won"], dtype="string")})
    assert not lost_recorded(frame)
    assert backtest_limits(frame) == NOT_SCORED
    assert lost_recorded(frame.assign(status=pd.array(["won", "lost", None], dtype="string")))
    # nothing closed: nothing to say either way
    assert lost_recorded(frame.assign(status=pd.array(["open"] * 3, dtype="string")))


def test_limit_sentences_name_the_models_and_the_reason():
    sentences = limit_sentences(backtest_limits(pd.DataFrame({"status": ["won", "open"]})))
    assert sentences == [
        f"Not scored: workbench, weighted pipeline and cure-aware weighted pipeline, because {NO_LOST}."
    ]
    crm = limit_sentences({}, crm_probability=True)
    assert len(crm) == 1 and "not back-tested" in crm[0]
    assert limit_sentences({}, crm_probability=True, crm_scored=True) == []


SHAPES = {
    "default": {},
    "high win rate, no stalled deals": {"intercept": 0.4, "stalled_fraction": 0.0},
    "fast growth": {"trend_per_month": 0.05},
    "many stalled deals, long cycles": {"stalled_fraction": 0.2, "cycle_sigma_won": 0.8},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_pipelines_of_several_shapes_against_honest_baselines(shape):
    """On simulated pipelines of several shapes: with lost deals recorded, the workbench's
    one-month count forecasts beat both as-of baselines; with lost deals deleted only the
    run-rate is scored, and it scores exactly as on the full export."""
    config = replace(
        sample.SampleConfig(), n_opportunities=3_000, with_leads=False, **SHAPES[shape]
    )
    history = sample.simulate_history(config, random_seed=7)
    full = conform_opportunities(sample.snapshot(history, history.config.end)[0])
    origins = parse_origins("2025-10..2026-08")
    table = backtest(full, origins, (1,), config=ForecastConfig(draws=1000))
    wape = score_table(table).set_index(["model", "target"])["wape"]
    assert wape[("workbench", "count")] < wape[("run_rate", "count")]
    assert wape[("workbench", "count")] < wape[("weighted_pipeline", "count")]
    deleted = backtest(lost_deleted(full), origins, (1,), config=ForecastConfig(draws=1000))
    assert set(deleted["model"]) == {"run_rate"}
    pd.testing.assert_frame_equal(
        deleted, table[table["model"] == "run_rate"].reset_index(drop=True)
    )


def test_the_track_chart_shows_the_actuals_when_only_the_run_rate_is_scored(final_export):
    import matplotlib

    matplotlib.use("Agg")
    from pipeline_models.analyses.forecast.charts import plot_track_record

    origins = [pd.Timestamp("2026-03-31"), pd.Timestamp("2026-04-30")]
    table = backtest(lost_deleted(final_export), origins, (1,), config=FAST)
    ax = plot_track_record(table, "count", 1)
    lines = {line.get_label(): line for line in ax.get_lines()}
    counts = table[table["target"] == "count"].sort_values("origin")
    assert list(lines["actual"].get_ydata()) == list(counts["actual"])
    assert "weighted pipeline" in lines and len(lines["weighted pipeline"].get_xdata()) == 0
