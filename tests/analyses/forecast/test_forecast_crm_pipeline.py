"""The CRM's own weighted pipeline: shown when the export carries its probabilities, back-tested
only where an archived export gives them as of the origin."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import FAST, deals

from pipeline_models.analyses.forecast.baselines import (
    crm_weighted_pipelines,
    shown_weighted_pipelines,
    weighted_pipelines,
)
from pipeline_models.analyses.forecast.honesty import has_crm_probability
from pipeline_models.analyses.forecast.tables import forecast_table
from pipeline_models.analyses.forecast.track import backtest
from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.forecaster import PipelineForecaster

STAGE_PROBABILITY = {"Qualification": 0.1, "Discovery": 0.2, "Proposal": 0.5, "Negotiation": 0.8}
"""What a CRM shows for an open deal in each stage of the simulated pipeline."""
FINAL = {"won": 1.0, "lost": 0.0}


def with_crm_fields(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the CRM's probability (by stage; 1 or 0 once closed) and forecast category
    of every deal, as a CRM export carries them on the day it is taken."""
    out = frame.copy()
    probability = out["stage"].map(STAGE_PROBABILITY).astype(float)
    out["probability"] = probability.fillna(out["status"].map(FINAL).astype(float))
    out["forecast_category"] = np.select(
        [out["probability"] >= 0.8, out["probability"] >= 0.5, out["status"].eq("open")],
        ["Commit", "Best Case", "Pipeline"],
        "Closed",
    )
    return out


@lru_cache(maxsize=1)
def history():
    config = replace(sample.SampleConfig(), n_opportunities=3_000, with_leads=False)
    return sample.simulate_history(config, random_seed=11)


def export_on(day: str) -> pd.DataFrame:
    return with_crm_fields(conform_opportunities(sample.snapshot(history(), day)[0]))


def test_crm_weighted_pipeline_by_hand():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-01-20", "won", 100.0, "P"),
            ("B", "2025-02-01", "2025-04-20", "open", 1000.0, "P"),
            ("C", "2025-02-01", "2025-06-20", "open", 500.0, "P"),
            ("D", "2025-02-01", None, "open", 400.0, "P"),
            ("E", "2025-02-01", "2025-04-10", "open", None, "P"),
            ("F", "2025-02-01", "2025-04-15", "open", 800.0, "P"),
        ]
    )
    frame["probability"] = [1.0, 0.6, 0.9, 0.25, 0.5, np.nan]
    frame["forecast_category"] = [
        "Closed",
        "Commit",
        "Commit",
        "best case ",
        "Pipeline",
        "Best Case",
    ]
    one, three = (crm_weighted_pipelines(frame, "2025-03-31", (1, 3))[h] for h in (1, 3))
    # window to April: B, D (undated), E (no amount), F (no probability); C closes in June
    assert one["count"] == pytest.approx(0.6 + 0.25 + 0.5)
    assert one["revenue"] == pytest.approx(1000 * 0.6 + 400 * 0.25)
    assert one["missing"] == 1
    assert one["commit"] == pytest.approx(1000)
    assert one["best_case"] == pytest.approx(1000 + 400 + 800)
    assert three["revenue"] == pytest.approx(one["revenue"] + 500 * 0.9)
    shown, source = shown_weighted_pipelines(frame, "2025-03-31", (1,))
    assert source == "crm" and shown[1] == one
    plain, source = shown_weighted_pipelines(frame.drop(columns="probability"), "2025-03-31", (1,))
    assert source == "estimate"
    assert plain == weighted_pipelines(frame, "2025-03-31", (1,))


def test_probability_of_closed_deals_only_is_not_the_crm_pipeline():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-01-20", "won", 100.0, "P"),
            ("B", "2025-02-01", "2025-04-20", "open", 1000.0, "P"),
        ]
    )
    frame["probability"] = [1.0, np.nan]
    assert not has_crm_probability(frame)
    assert shown_weighted_pipelines(frame, "2025-03-31", (1,))[1] == "estimate"


def test_forecast_table_shows_the_crm_number_and_says_whose_it_is():
    origin = month_end("2026-06")
    export = export_on("2026-06-30")
    forecaster = PipelineForecaster(FAST).fit(export, origin)
    result = forecaster.predict(export[export["status"] == "open"], (1, 2, 3), random_seed=3)
    table = forecast_table(result, export, "2026-06")
    assert table.attrs["weighted_pipeline"] == "crm"
    crm = crm_weighted_pipelines(export, origin, (1,))[1]
    assert table["revenue_weighted_pipeline"].iloc[0] == pytest.approx(crm["revenue"])
    assert table["revenue_commit"].iloc[0] == pytest.approx(crm["commit"])
    assert (table["revenue_best_case"] >= table["revenue_commit"]).all()
    plain = forecast_table(
        result, export.drop(columns=["probability", "forecast_category"]), "2026-06"
    )
    assert plain.attrs["weighted_pipeline"] == "estimate"
    assert "revenue_commit" not in plain
    assert plain["revenue_weighted_pipeline"].iloc[0] != pytest.approx(crm["revenue"])


def test_the_crm_number_is_backtested_only_from_an_archived_export_of_the_origin():
    origins = [month_end("2026-03"), month_end("2026-04")]
    final = export_on("2026-10-31")
    archived = {"2026-03": export_on("2026-03-31")}
    table = backtest(final, origins, (1,), config=FAST, snapshots=archived)
    crm = table[table["model"] == "crm_weighted_pipeline"]
    assert set(crm["origin"]) == {"2026-03-31"}  # April has no archive: not back-tested
    # the score uses the probabilities as they stood then, not today's 100% / 0%
    known = pipeline_as_of(archived["2026-03"], origins[0])
    open_ids = known.loc[known["status"] == "open", "opportunity_id"]
    then = archived["2026-03"].set_index("opportunity_id").loc[open_ids]
    assert then["probability"].between(0.1, 0.8).all()
    expected = crm_weighted_pipelines(then.reset_index().assign(status="open"), origins[0], (1,))[1]
    point = crm.set_index("target")["point"]
    assert point["revenue"] == pytest.approx(expected["revenue"])
    assert point["count"] == pytest.approx(expected["count"])
    # without an archive, today's probabilities of the final export are never read
    today = backtest(final, origins, (1,), config=FAST)
    assert "crm_weighted_pipeline" not in set(today["model"])
