"""Open deals' outlook: old, stalled deals count for little; the age bands of the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import FAST, sample_export

from pipeline_models.analyses.forecast.deals import (
    AGE_BAND_LABELS,
    age_band_table,
    open_deal_outlook,
)
from pipeline_models.contract.period import month_end
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.forecaster import PipelineForecaster

ORIGIN = month_end("2026-06")


@pytest.fixture(scope="module")
def outlook():
    known = pipeline_as_of(sample_export(), ORIGIN)
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    return open_deal_outlook(forecaster, known[known["status"] == "open"], horizon=3)


def test_old_stalled_deals_count_for_little(outlook):
    young = outlook.loc[outlook["age_months"] <= 1, "p_won_3m"].mean()
    old = outlook.loc[outlook["age_months"] >= 12, "p_won_3m"].mean()
    assert young > 0.15 and old < 0.05


def test_outlook_is_sorted_and_leaves_out_undated_deals():
    known = pipeline_as_of(sample_export(), ORIGIN)
    forecaster = PipelineForecaster(FAST).fit(known, ORIGIN)
    open_deals = known[known["status"] == "open"].copy()
    open_deals.loc[open_deals.index[:3], "created_date"] = pd.NaT
    table = open_deal_outlook(forecaster, open_deals, horizon=2)
    assert len(table) == len(open_deals) - 3
    assert table["p_won_2m"].is_monotonic_decreasing
    assert table["p_won_2m"].between(0, 1).all()


def test_age_bands_by_hand():
    deals = pd.DataFrame(
        {
            "opportunity_id": list("abcdefg"),
            "age_months": [0, 2, 3, 5, 6, 11, 40],
            "p_won_3m": [0.4, 0.2, 0.1, 0.1, 0.05, 0.05, 0.01],
        }
    )
    table = age_band_table(deals)
    assert [str(b) for b in table.index] == list(AGE_BAND_LABELS)
    assert table["deals"].tolist() == [2, 2, 2, 1]
    np.testing.assert_allclose(table["mean_p_won"], [0.3, 0.1, 0.05, 0.01])


def test_age_bands_leave_out_empty_bands(outlook):
    young = outlook[outlook["age_months"] <= 2]
    table = age_band_table(young)
    assert [str(b) for b in table.index] == ["0-2"]
    assert table["deals"].iloc[0] == len(young)
