"""The forecaster's contract: reproducible draws that add up, state, diagnostics, save and load."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pytest
from forecaster_cases import FAST, deals, sample_export

from pipeline_models.analyses.policy import THIN_DEALS
from pipeline_models.contract.period import month_end
from pipeline_models.data.asof import pipeline_as_of
from pipeline_models.models.contract import (
    META_FILE,
    Diagnostics,
    FitMismatchError,
    StateEstimator,
    estimator_class,
)
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster

ORIGIN = month_end("2026-06")


@pytest.fixture(scope="module")
def known():
    return pipeline_as_of(sample_export(), ORIGIN)


@pytest.fixture(scope="module")
def fitted(known):
    return PipelineForecaster(replace(FAST, calibration_origins=3)).fit(known, ORIGIN)


def test_forecast_is_reproducible_and_adds_up(known):
    open_deals = known[known["status"] == "open"]
    a = PipelineForecaster(FAST).fit(known, ORIGIN).predict(open_deals, (1, 2), random_seed=3)
    b = PipelineForecaster(FAST).fit(known, ORIGIN).predict(open_deals, (1, 2), random_seed=3)
    for key, values in a.draws.items():
        np.testing.assert_array_equal(values, b.draws[key])
    for h in (1, 2):
        total = a.draws[(h, "count", "total")]
        np.testing.assert_allclose(
            total, a.draws[(h, "count", "open")] + a.draws[(h, "count", "new")]
        )
        by_product = sum(
            v for (hh, t, c, _), v in a.by_group.items() if (hh, t, c) == (h, "count", "product")
        )
        np.testing.assert_allclose(by_product, total)
    # windows are cumulative: two months win at least what one month wins, draw by draw
    assert np.all(a.draws[(2, "count", "total")] >= a.draws[(1, "count", "total")])


def test_unseen_product_and_empty_pipeline():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-10", "won", 100.0, "P"),
            ("B", "2025-01-12", "2025-02-11", "lost", 10.0, "P"),
            ("C", "2025-03-01", None, "open", 50.0, "NEW"),
        ]
    )
    forecaster = PipelineForecaster(FAST).fit(frame[frame["product"] == "P"], "2025-03-31")
    result = forecaster.predict(frame[frame["status"] == "open"], (1,), random_seed=1)
    assert 0 <= result.draws[(1, "count", "open")].mean() <= 1
    empty = forecaster.predict(frame.iloc[0:0], (1,), random_seed=1)
    assert np.all(empty.draws[(1, "count", "open")] == 0)


def test_identity_follows_the_estimator_contract():
    forecaster = PipelineForecaster(FAST)
    assert isinstance(forecaster, StateEstimator)
    assert estimator_class("forecaster") is PipelineForecaster
    assert PipelineForecaster.model_type == "forecaster" and PipelineForecaster.version == 4
    assert "\n" not in PipelineForecaster.formula and PipelineForecaster.formula.startswith("won")
    # draws decide precision, not what is estimated
    assert "draws" not in forecaster.model_config
    assert forecaster.sampler_config == {"draws": 400}
    assert forecaster.config == asdict(FAST)
    json.dumps(forecaster.config)  # JSON-able
    assert forecaster.config_id == PipelineForecaster(FAST).config_id
    assert forecaster.config_id != PipelineForecaster(replace(FAST, group="region")).config_id
    assert not forecaster.fitted()


def test_fit_sets_learned_state_only_in_trailing_underscore_attributes(known):
    forecaster = PipelineForecaster(FAST)
    before = set(vars(forecaster))
    assert forecaster.fit(known, ORIGIN) is forecaster
    added = set(vars(forecaster)) - before
    private = {name for name in added if name.startswith("_")}
    assert private == {"_pools"}  # a cache drawn from amounts_, rebuilt after load
    assert all(name.endswith("_") for name in added - private)
    assert {"alpha_", "arrival_shape_", "calibration_", "n_deals_", "regions_"} <= added


def test_save_and_load_give_the_same_draws(tmp_path, fitted, known):
    open_deals = known[known["status"] == "open"]
    fitted.predict(open_deals, (1, 2), random_seed=8)  # builds the amount cache before saving
    fitted.save(tmp_path / "fit")
    loaded = PipelineForecaster.load(tmp_path / "fit")
    assert loaded.forecast_config == fitted.forecast_config
    assert loaded.config_id == fitted.config_id
    a = fitted.predict(open_deals, (1, 2), random_seed=8)
    b = loaded.predict(open_deals, (1, 2), random_seed=8)
    assert a.draws.keys() == b.draws.keys() and a.by_group.keys() == b.by_group.keys()
    for key, values in a.draws.items():
        np.testing.assert_array_equal(b.draws[key], values)
    for key, values in a.by_group.items():
        np.testing.assert_array_equal(b.by_group[key], values)
    assert loaded.calibration_ == fitted.calibration_


def test_load_refuses_a_fit_of_another_version(tmp_path, fitted):
    path = fitted.save(tmp_path / "fit")
    meta = json.loads((path / META_FILE).read_text())
    meta["version"] = PipelineForecaster.version + 1
    (path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(FitMismatchError, match="version"):
        PipelineForecaster.load(path)


def test_load_refuses_other_settings(tmp_path, fitted):
    path = fitted.save(tmp_path / "fit")
    other = PipelineForecaster(replace(fitted.forecast_config, pooling_strength=5.0))
    with pytest.raises(FitMismatchError, match="settings"):
        PipelineForecaster.load(path, config_id=other.config_id)


def test_load_refuses_a_fit_made_by_other_code(tmp_path, fitted, monkeypatch):
    """A change to the package's code changes every configuration id, so the fit cache keeps
    no fit across it, and a kept fit names the reason it is refused."""
    from pipeline_models.models import contract

    path = fitted.save(tmp_path / "fit")
    before = fitted.config_id
    monkeypatch.setattr(contract, "code_digest", lambda: "0" * 64)
    assert fitted.config_id != before
    with pytest.raises(FitMismatchError, match="other code of the package"):
        PipelineForecaster.load(path, config_id=fitted.config_id)


def test_diagnostics_of_a_good_fit(fitted):
    report = fitted.diagnostics()
    assert isinstance(report, Diagnostics)
    assert report.ok, report.message
    assert report.figures["n_deals"] == fitted.n_deals_ >= THIN_DEALS
    assert report.figures["calibration_origins"] == 3
    assert report.figures["calibration_extra_sd_1m_revenue"] == pytest.approx(
        fitted.calibration_[(1, "revenue")]["extra_sd"]
    )


def test_diagnostics_flag_thin_data_and_an_unchecked_calibration():
    frame = deals(
        [
            ("A", "2025-01-10", "2025-02-10", "won", 100.0, "P"),
            ("B", "2025-01-12", "2025-02-11", "lost", 10.0, "P"),
            ("C", "2025-03-01", None, "open", 50.0, "P"),
        ]
    )
    thin = PipelineForecaster(FAST).fit(frame, "2025-03-31").diagnostics()
    assert not thin.ok and "3 deals" in thin.message and thin.message[0].isupper()
    unchecked = PipelineForecaster(ForecastConfig(draws=400)).fit(frame, "2025-03-31")
    report = unchecked.diagnostics()
    assert not report.ok and "no earlier origin" in report.message
    assert report.figures["calibration_origins"] == 0


def test_diagnostics_need_a_fit():
    with pytest.raises(RuntimeError, match="not fitted"):
        PipelineForecaster(FAST).diagnostics()
