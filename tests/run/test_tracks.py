"""The track records kept in the fit cache: a kept table is found again only while every estimator
it refits at its origins is the same, so a new version of any of them makes it again."""

from __future__ import annotations

import pandas as pd
import pytest

import pipeline_models.analyses.forecast.track as forecast_backtest
import pipeline_models.analyses.lead_requirement.track as lead_backtest
import pipeline_models.run.tracks as tracks
from pipeline_models.models.deal_score import DealScoreModel
from pipeline_models.models.forecaster import PipelineForecaster
from pipeline_models.models.funnel import LeadFunnelModel

ORIGINS = [pd.Timestamp("2026-08-31"), pd.Timestamp("2026-09-30")]


@pytest.fixture
def made(monkeypatch):
    """The back-tests replaced by a stub that counts how often a table is made."""
    calls = []

    def stub(*args, **kwargs):
        calls.append(1)
        return pd.DataFrame({"origin": [str(o.date()) for o in ORIGINS], "actual": [1.0, 2.0]})

    monkeypatch.setattr(tracks, "backtest_origins", lambda *args, **kwargs: ORIGINS)
    monkeypatch.setattr(forecast_backtest, "backtest", stub)
    monkeypatch.setattr(lead_backtest, "backtest_requirement", stub)
    return calls


def _forecast_track(cache):
    return tracks.forecast_track(None, None, "2026-10", 2, cache, {"table": "abc"}, 7)


def _lead_track(cache):
    return tracks.lead_track(None, None, "2026-10", 3, 2, cache, {"table": "abc"}, 7)


@pytest.mark.parametrize(
    ("track", "estimators"),
    [
        (_forecast_track, [PipelineForecaster, DealScoreModel, LeadFunnelModel]),
        (_lead_track, [PipelineForecaster, LeadFunnelModel]),
    ],
)
def test_a_kept_track_record_is_made_again_for_a_new_estimator_version(
    made, monkeypatch, tmp_path, track, estimators
):
    """The lead requirement's track fits the forecaster at every origin (what is in hand) as well
    as the funnel: a forecaster of another version must not find the table its predecessor
    made."""
    assert not track(tmp_path).hit
    assert track(tmp_path).hit and len(made) == 1
    for k, estimator in enumerate(estimators, start=2):
        monkeypatch.setattr(estimator, "version", estimator.version + 100)
        assert not track(tmp_path).hit
        assert len(made) == k
