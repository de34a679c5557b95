"""Tests of the simulated history: determinism, its span and where stalled deals fall."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from synthetic_cases import SEED, SMALL, small_history

from pipeline_models.data import synthetic
from pipeline_models.data import synthetic as sample


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


def test_same_seed_gives_identical_tables(history):
    again = synthetic.simulate_history(SMALL, random_seed=SEED)
    pd.testing.assert_frame_equal(history.deals, again.deals)
    pd.testing.assert_frame_equal(history.stages, again.stages)
    pd.testing.assert_frame_equal(history.leads, again.leads)
    assert history.truth == again.truth


def test_different_seed_gives_different_tables(history):
    other = synthetic.simulate_history(SMALL, random_seed=SEED + 1)
    assert not history.deals["amount"].equals(other.deals["amount"])
    assert not history.deals["created_date"].equals(other.deals["created_date"])
    assert history.truth["win"]["owner_effect"] != other.truth["win"]["owner_effect"]


def test_history_does_not_depend_on_today(history):
    assert history.deals["created_date"].min() >= pd.Timestamp(SMALL.start)
    assert history.deals["created_date"].max() <= pd.Timestamp(SMALL.end)
    assert history.truth["history"]["months"][0] == "2024-11"
    assert len(history.truth["history"]["months"]) == 24


def test_deals_are_in_creation_order_with_numbered_ids(history):
    deals = history.deals
    assert deals["created_date"].is_monotonic_increasing
    assert deals["opportunity_id"].iloc[0] == "OPP-000001"
    assert deals["opportunity_id"].is_unique


def test_stalled_deals_concentrate_in_the_stalled_segment(history):
    deals = history.deals
    inside = deals["segment"] == SMALL.stalled_segment
    assert deals.loc[inside, "stalled"].mean() > 5 * deals.loc[~inside, "stalled"].mean()
    assert deals.loc[deals["stalled"], "close_date"].isna().all()
    share = deals["stalled"].mean()
    assert abs(share - SMALL.stalled_fraction) <= 4 * np.sqrt(
        SMALL.stalled_fraction * (1 - SMALL.stalled_fraction) / len(deals)
    )


def test_without_leads_and_with_a_product_stall(tmp_path):
    config = replace(
        SMALL,
        n_opportunities=500,
        with_leads=False,
        stalled_segment=None,
        stalled_product="Platform",
    )
    history = synthetic.simulate_history(config, random_seed=3)
    assert history.leads.empty
    assert history.deals["lead_id"].isna().all()
    stalled = history.deals[history.deals["stalled"]]
    assert (stalled["product"] == "Platform").mean() > 0.5
    paths = synthetic.write_sample(tmp_path, config, random_seed=3, months=1)
    assert not any(p.name.startswith("leads_") for p in paths)


def test_sample_module_names_the_same_objects():
    for name in sample.__all__:
        assert getattr(sample, name) is getattr(synthetic, name), name
    assert sample.simulate_history(replace(SMALL, n_opportunities=50), 1).deals.shape[0] > 0
