"""The deal score on Maven's real CRM export (shared data): scored as of each deal's creation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.io import load_export
from pipeline_models.models.deal_score import DealScoreModel
from pipeline_models.models.deal_score.scores import log_loss
from pipeline_models.models.forecaster import PipelineForecaster

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def test_maven_score_beats_product_and_age_rates_on_later_deals(maven_pipeline):
    """Fitted on the deals closed by mid-2017, scored on the deals created after it (as new
    deals: nothing of their outcome known), the deal score's log loss is below the forecaster's
    chance by product and age. Maven's amounts are set at closing (lost deals carry none), so
    the score must leave them out, or it would be judged on the answer."""
    frame = load_export(maven_pipeline, preset="maven", as_of="2018-01-31").frame
    cutoff = pd.Timestamp("2017-06-30")
    known = pipeline_as_of(frame, cutoff)
    score = DealScoreModel().fit_deals(known)
    assert score.amount_column_ is None and "lost deals" in score.amount_reason_
    later = frame[(frame["created_date"] > cutoff) & frame["status"].isin(["won", "lost"])]
    as_new = later.assign(status="open", close_date=pd.NaT, amount=np.nan)
    table = pd.concat([known[known["status"] != "open"], as_new], ignore_index=True)
    chance = score.score_deals(table)["chance"].to_numpy()[-len(later) :]
    by_age = PipelineForecaster().fit(known, cutoff).chance_won_within(as_new, 24)
    won = (later["status"] == "won").to_numpy()
    assert log_loss(chance, won) < log_loss(by_age, won)
