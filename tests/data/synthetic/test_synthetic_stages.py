"""Tests of the simulated stages: the bottleneck loses most, stages move forward to the close."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_cases import SMALL, small_history

from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


def test_bottleneck_stage_loses_most(history):
    lost = history.deals[history.deals["outcome"] == "lost"]
    shares = lost["last_open_stage"].value_counts(normalize=True)
    assert shares.idxmax() == SMALL.bottleneck_stage
    expected = history.truth["stages"]["loss_stage_probability"][SMALL.bottleneck_stage]
    assert abs(shares[SMALL.bottleneck_stage] - expected) <= 4 * np.sqrt(
        expected * (1 - expected) / len(lost)
    )


def test_stage_history_moves_forward_and_ends_at_the_close(history):
    stages = history.stages
    assert (stages["exited_date"].isna() | (stages["exited_date"] >= stages["entered_date"])).all()
    steps = stages.groupby("opportunity_id", sort=False)["stage_index"].diff().dropna()
    assert (steps > 0).all()
    last = stages.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    deals = history.deals.set_index("opportunity_id").loc[last.index]
    for outcome, stage in (("won", SMALL.won_stage), ("lost", SMALL.lost_stage)):
        rows = deals["outcome"] == outcome
        assert (last.loc[rows, "stage"] == stage).all()
        assert (last.loc[rows, "entered_date"] == deals.loc[rows, "close_date"]).all()
    stalled = deals["stalled"]
    assert (
        last.loc[stalled, "stage"].astype(str) == deals.loc[stalled, "last_open_stage"].astype(str)
    ).all()
    assert last["exited_date"].isna().all()
