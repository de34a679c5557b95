"""Tests of the simulated leads: conversion rates and the lead behind every deal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_cases import SMALL, small_history

from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


def test_lead_conversion_matches_truth(history):
    leads = history.leads
    # leads old enough that their conversion (lag quantile 99.99% < 200 days) is observed
    window = (leads["created_date"] >= pd.Timestamp(SMALL.start)) & (
        leads["created_date"] <= pd.Timestamp(SMALL.end) - pd.Timedelta(days=200)
    )
    rates = history.truth["leads"]["conversion_rate"]
    for source, group in leads[window].groupby("source", observed=True):
        c = rates[source]
        observed = group["converted_date"].notna().mean()
        assert abs(observed - c) <= 4 * np.sqrt(c * (1 - c) / len(group)), source


def test_every_deal_has_its_lead(history):
    deals, leads = history.deals, history.leads
    linked = leads.dropna(subset=["opportunity_id"]).set_index("opportunity_id")
    assert deals["lead_id"].notna().all()
    assert set(linked.index) == set(deals["opportunity_id"])
    joined = deals.merge(
        linked.reset_index(), on="opportunity_id", how="left", suffixes=("", "_lead")
    )
    assert (joined["lead_id"] == joined["lead_id_lead"]).all()
    assert (joined["lead_source"].astype(str) == joined["source"].astype(str)).all()
    assert (joined["created_date_lead"] <= joined["created_date"]).all()
    assert (joined["converted_date"] == joined["created_date"]).all()


def test_leads_converting_after_the_end_have_no_deal(history):
    leads = history.leads
    end = pd.Timestamp(SMALL.end)
    later = leads["converted_date"] > end
    assert later.any()
    assert (leads.loc[later, "created_date"] <= end).all()
    assert leads.loc[later, "opportunity_id"].isna().all()
    assert leads["created_date"].is_monotonic_increasing
