"""The lead funnel model: recovery of known rates, the estimator contract, save and load."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from funnel_cases import AS_OF, fitted_case

from pipeline_models.analyses.lead_requirement import LeadPlanner
from pipeline_models.contract.labels import ALL_LEVEL
from pipeline_models.contract.period import month_end
from pipeline_models.models.contract import (
    Diagnostics,
    FitMismatchError,
    StateEstimator,
    estimator_class,
)
from pipeline_models.models.funnel import FunnelConfig, LeadFunnelModel


@pytest.fixture(scope="module")
def fitted():
    return fitted_case()


def test_model_recovers_the_true_rates_and_leaves_its_inputs_alone(fitted):
    truth, frame, leads, model = fitted
    table = model.funnel_table().set_index("source")
    for j, s in enumerate(truth.sources):
        assert (
            table.loc[s, "lead_to_opp_lower"] - 0.02
            < truth.conversion[j]
            < table.loc[s, "lead_to_opp_upper"] + 0.02
        )
        assert (
            table.loc[s, "opp_to_won_lower"] - 0.03
            < truth.win[j]
            < table.loc[s, "opp_to_won_upper"] + 0.03
        )
    assert abs(model.lost_share_ - truth.lost_share) < 0.1
    before = (frame.copy(), leads.copy())
    LeadFunnelModel(FunnelConfig(draws=200)).fit(frame, leads, AS_OF, random_seed=1)
    pd.testing.assert_frame_equal(frame, before[0])
    pd.testing.assert_frame_equal(leads, before[1])


def test_sample_conversion_rates_are_recovered(small_sample):
    from pipeline_models.io import load_export, load_leads

    exports = small_sample / "exports"
    frame = load_export(exports / "opportunities_2026-10.csv", preset="canonical").frame
    leads = load_leads(exports / "leads_2026-10.csv").frame
    truth = json.loads((small_sample / "ground_truth.json").read_text())["leads"]["conversion_rate"]
    model = LeadFunnelModel(FunnelConfig(draws=1000)).fit(
        frame, leads, month_end("2026-10"), random_seed=4
    )
    j = {s: i for i, s in enumerate(model.sources_)}
    for source, rate in truth.items():
        draws = model.conversion_[:, j[source]]
        assert abs(draws.mean() - rate) < 3.5 * draws.std() + 0.005, source


def test_without_leads_the_opportunities_are_the_leads(fitted):
    _, frame, _, _ = fitted
    model = LeadFunnelModel(FunnelConfig(draws=500)).fit(frame, None, AS_OF, random_seed=1)
    assert model.unit == "opportunity" and not model.has_leads_
    assert np.all(model.conversion_ == 1)
    # no lead source at all: one source for everything
    bare = frame.assign(lead_source=pd.Series(pd.NA, index=frame.index, dtype="string"))
    model = LeadFunnelModel(FunnelConfig(draws=300)).fit(bare, None, AS_OF, random_seed=1)
    assert model.sources_ == [ALL_LEVEL]


def test_funnel_keeps_the_estimator_contract(fitted):
    _, frame, leads, model = fitted
    assert isinstance(model, StateEstimator)
    assert estimator_class("lead_funnel") is LeadFunnelModel
    assert LeadFunnelModel.model_type == "lead_funnel" and LeadFunnelModel.version == 6
    assert "source" in LeadFunnelModel.formula and "\n" not in LeadFunnelModel.formula
    fresh = LeadFunnelModel(FunnelConfig(draws=300, lag_pooling=7.0))
    assert not fresh.fitted() and list(vars(fresh)) == ["funnel_config"]
    # what is estimated and how precisely are kept apart; both are JSON-able
    assert fresh.model_config["lag_pooling"] == 7.0 and "draws" not in fresh.model_config
    assert fresh.sampler_config == {"draws": 300}
    assert json.loads(json.dumps(fresh.config)) == fresh.config
    assert fresh.config_id != LeadFunnelModel(FunnelConfig(lag_pooling=7.0)).config_id
    assert fresh.fit(frame, leads, AS_OF, random_seed=1) is fresh
    learned = [k for k in vars(fresh) if k != "funnel_config"]
    assert learned and all(k.endswith("_") for k in learned)


def test_diagnostics_say_when_the_funnel_cannot_be_trusted(fitted):
    truth, frame, leads, model = fitted
    good = model.diagnostics()
    assert isinstance(good, Diagnostics) and good.ok, good.message
    assert good.figures["sources"] == len(truth.sources)
    assert good.figures["leads"] == model.lead_counts_["leads"].sum() > 0
    # a source with a handful of deals, and no lead converted
    thin = pd.concat([frame, frame.iloc[:3].assign(lead_source="Tiny", opportunity_id=list("xyz"))])
    unconverted = leads.assign(
        opportunity_id=pd.Series(pd.NA, index=leads.index, dtype="string"),
        converted_date=pd.NaT,
    )
    bad = LeadFunnelModel(FunnelConfig(draws=200)).fit(thin, unconverted, AS_OF, random_seed=1)
    report = bad.diagnostics()
    assert not report.ok
    assert "Tiny" in report.message and "no recent lead converted" in report.message
    assert report.figures["converted"] == 0
    with pytest.raises(RuntimeError):
        LeadFunnelModel().diagnostics()


def test_save_then_load_gives_identical_tables_and_plans(fitted, tmp_path):
    _, _, _, model = fitted
    model.save(tmp_path / "funnel")
    loaded = LeadFunnelModel.load(tmp_path / "funnel", config_id=model.config_id)
    assert loaded.funnel_config == model.funnel_config
    pd.testing.assert_frame_equal(loaded.funnel_table(), model.funnel_table())
    pd.testing.assert_frame_equal(loaded.product_table(), model.product_table())
    pd.testing.assert_frame_equal(loaded.lag_table(), model.lag_table())
    assert np.array_equal(loaded.win_, model.win_)
    a = LeadPlanner(model, 3, random_seed=5).requirement(250, "count", 0.8)
    b = LeadPlanner(loaded, 3, random_seed=5).requirement(250, "count", 0.8)
    assert a.leads_needed == b.leads_needed and a.median_case == b.median_case
    pd.testing.assert_frame_equal(a.curve, b.curve)


def test_a_saved_fit_of_another_version_is_refused(fitted, tmp_path):
    _, _, _, model = fitted
    path = model.save(tmp_path / "funnel")
    meta = json.loads((path / "fit.json").read_text())
    meta["version"] = LeadFunnelModel.version + 1
    (path / "fit.json").write_text(json.dumps(meta))
    with pytest.raises(FitMismatchError, match="version"):
        LeadFunnelModel.load(path)
    # nor is a fit of other settings, when the caller says which it wants
    model.save(tmp_path / "again")
    other = LeadFunnelModel(FunnelConfig(lag_pooling=9.0)).config_id
    with pytest.raises(FitMismatchError, match="settings"):
        LeadFunnelModel.load(tmp_path / "again", config_id=other)


def test_the_learned_state_pickles_whole(fitted):
    _, _, _, model = fitted
    state = pickle.loads(pickle.dumps(model._state()))
    assert "paths_" in state and "items_" in state
    lag = state["lag_won_"][model.sources_[0]]
    assert np.array_equal(
        lag.cdf([10.0, 50.0]), model.lag_won_[model.sources_[0]].cdf([10.0, 50.0])
    )
