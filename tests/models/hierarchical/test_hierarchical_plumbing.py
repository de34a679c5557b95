"""Model plumbing on small data: priors, terms, likelihood algebra, predictions, save/load, cache.

No NUTS here: where a fitted model is needed, prior draws stand in for the posterior (they have
the same variables and shapes), which keeps this file fast. Real fits are in
``test_hierarchical_recovery.py``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import norm

from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.models import (
    WINRATE_PRIORS,
    CycleTimeModel,
    FitMismatchError,
    Prior,
    RevenueModel,
    WinRateModel,
    fit_cached,
)
from pipeline_models.models.hierarchical.base import PipelineModel
from pipeline_models.models.hierarchical.effects import prefer_centred


def small_export(seed: int = 0, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 150, n), "D")
    duration = pd.to_timedelta(rng.integers(1, 120, n), "D")
    status = rng.choice(["won", "lost", "open"], n, p=[0.4, 0.4, 0.2])
    return conform_opportunities(
        pd.DataFrame(
            {
                "opportunity_id": [f"o{i}" for i in range(n)],
                "created_date": created,
                "close_date": np.where(status == "open", pd.NaT, created + duration),
                "stage": "s",
                "status": status,
                "amount": np.where(status == "won", np.exp(rng.normal(9, 0.5, n)).round(), np.nan),
                "product": rng.choice(["A", "B", "C"], n),
                "region": rng.choice(["N", "S"], n),
                "owner": rng.choice([f"rep{i}" for i in range(6)], n),
            }
        )
    )


def prior_fit(
    model: PipelineModel,
    frame: pd.DataFrame | None,
    random_seed: int = 1,
    inputs: pd.DataFrame | None = None,
) -> PipelineModel:
    """Stand-in for ``fit``: prior draws (2 chains x 50) in place of the posterior."""
    import pymc as pm

    model._set_inputs(model.inputs(frame) if inputs is None else inputs, random_seed)
    with model._build(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # potentials are ignored: fine for plumbing
        prior = pm.sample_prior_predictive(
            draws=100, random_seed=random_seed, compile_kwargs={"mode": "FAST_COMPILE"}
        )
    ds = prior["prior"].to_dataset()
    post = xr.Dataset(
        {
            name: (("chain", "draw", *var.dims[2:]), var.values.reshape(2, 50, *var.shape[2:]))
            for name, var in ds.data_vars.items()
        },
        coords={k: v for k, v in ds.coords.items() if k not in ("chain", "draw")},
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 50), dtype=bool))})
    model.posterior_ = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    return model


# ----------------------------------------------------------------------------- priors and config
def test_prior_overrides_by_name_and_unknown_names_are_rejected() -> None:
    model = WinRateModel(priors={"sd_group": 0.5, "intercept": {"mu": -1.0}})
    resolved = model.resolved_priors()
    assert resolved["sd_group"].params == {"sigma": 0.5}
    assert resolved["intercept"].params == {"mu": -1.0, "sigma": 1.5}
    assert WINRATE_PRIORS["sd_group"].params == {"sigma": 1.0}  # defaults untouched
    whole = WinRateModel(priors={"sd_group": Prior("Exponential", {"lam": 2.0}, "why")})
    assert whole.resolved_priors()["sd_group"].dist == "Exponential"
    with pytest.raises(ValueError, match="unknown prior 'sd_product'"):
        WinRateModel(priors={"sd_product": 0.5})
    with pytest.raises(ValueError, match="no parameter"):
        WinRateModel(priors={"intercept": {"scale": 2.0}})
    with pytest.raises(ValueError, match="parametrization"):
        WinRateModel(parametrization="sideways")


def test_every_default_prior_has_a_reason() -> None:
    for model in (WinRateModel, RevenueModel, CycleTimeModel):
        for name, prior in model.default_priors.items():
            assert len(prior.reason) > 20, name


def test_building_never_mutates_configuration() -> None:
    overrides = {"sd_group": 0.5}
    model = WinRateModel(groups=["product", "owner"], priors=overrides)
    before = json.dumps(model.config, sort_keys=True)
    prior_fit(model, small_export())
    model._build()
    assert json.dumps(model.config, sort_keys=True) == before
    assert overrides == {"sd_group": 0.5}
    assert model.groups == ("product", "owner")


def test_default_terms_are_the_grouping_columns_present() -> None:
    frame = small_export()
    assert WinRateModel().terms(frame) == ["product", "region", "owner"]  # no lead_source
    assert CycleTimeModel().terms(frame) == ["product"]
    assert WinRateModel(groups=["region:product"]).terms(frame) == ["region:product"]
    with pytest.raises(KeyError, match="segment"):
        WinRateModel(groups=["segment:product", "nonsense"]).terms(frame.drop(columns="segment"))


def test_single_level_terms_are_dropped_and_interactions_get_combined_levels() -> None:
    frame = small_export().assign(region="N")
    model = prior_fit(WinRateModel(groups=["product", "region", "region:product"]), frame)
    assert model.dropped_terms_ == ["region"]
    assert model.terms_["region:product"] == ["N:A", "N:B", "N:C"]


def test_parametrization_rule() -> None:
    many = np.linspace(-1.0, 1.0, 30)
    # many levels, far apart compared with their standard errors: centred
    assert prefer_centred(many, np.full(30, 0.01))
    # the same spread with noisy levels: non-centred
    assert not prefer_centred(many, np.full(30, 0.2))
    # levels within noise of each other: non-centred
    assert not prefer_centred(np.array([0.01, -0.02, 0.0, 0.03]), np.full(4, 0.04))
    # clear but not overwhelming separation (sd about 3 standard errors): non-centred
    assert not prefer_centred(np.array([-0.3, 0.0, 0.3, 0.6]), np.full(4, 0.01))
    assert prefer_centred(np.array([-1.0, 0.0, 1.0, 2.0]), np.full(4, 0.01))
    assert not prefer_centred(np.array([1.0, -1.0]), np.full(2, 0.01))


# ----------------------------------------------------------------------------- likelihood algebra
def likelihood_fn(pm_model):  # noqa: ANN001, ANN202
    """Observed log-density plus potentials, as a function of a point of transformed values."""
    expr = pm_model.observedlogp + sum(pm_model.potentials)
    (expr,) = pm_model.replace_rvs_by_values([expr])  # potentials refer to the random variables
    fn = pm_model.compile_fn(expr, inputs=pm_model.value_vars, on_unused_input="ignore")
    return lambda point: float(fn({**pm_model.initial_point(), **point}))


def _to_zerosum(values: np.ndarray) -> np.ndarray:
    """PyMC's zero-sum transform of values that sum to zero (the free coordinates)."""
    import pytensor.tensor as pt
    from pymc.distributions.transforms import ZeroSumTransform

    return np.asarray(ZeroSumTransform(zerosum_axes=[-1]).forward(pt.as_tensor(values)).eval())


def test_revenue_sufficient_statistics_give_the_per_deal_normal_likelihood() -> None:
    frame = small_export(3)
    model = RevenueModel(groups=["product"], parametrization="noncentred")
    model._set_inputs(model.inputs(frame), 1)
    like = likelihood_fn(model._build())
    won = frame[(frame["status"] == "won") & (frame["amount"] > 0)]
    logs = np.log(won["amount"].to_numpy())
    level_of = won["product"].map({"A": 0, "B": 1, "C": 2}).to_numpy()
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(4):
        b = rng.normal(0, 0.3, 3)
        b -= b.mean()
        sigma, offset = rng.uniform(0.3, 1.5), rng.normal(0, 0.3)
        point = {
            "intercept_offset": offset,
            "sigma_log__": np.log(sigma),
            "sd_product_log__": 0.0,  # sd = 1, so b = z
            "z_product_zerosum__": _to_zerosum(b),
        }
        direct = norm.logpdf(logs, model.centre_ + offset + b[level_of], sigma).sum()
        diffs.append(like(point) - direct)
    # equal up to a constant (2*pi and log n terms), so the posterior is the same
    assert np.ptp(diffs) < 1e-8


def test_binomial_cells_give_the_per_deal_bernoulli_likelihood() -> None:
    frame = small_export(4)
    model = WinRateModel(groups=["product"], parametrization="noncentred")
    model._set_inputs(model.inputs(frame), 1)
    like = likelihood_fn(model._build())
    closed = frame[frame["status"] != "open"]
    level_of = closed["product"].map({"A": 0, "B": 1, "C": 2}).to_numpy()
    won = (closed["status"] == "won").to_numpy()
    diffs = []
    for intercept, z in [(0.0, [0.3, -0.1, -0.2]), (-0.5, [1.0, -0.6, -0.4])]:
        point = {
            "intercept": intercept,
            "sd_product_log__": 0.0,
            "z_product_zerosum__": _to_zerosum(np.array(z)),
        }
        eta = intercept + np.array(z)[level_of]
        bern = float(np.sum(np.where(won, -np.log1p(np.exp(-eta)), -np.log1p(np.exp(eta)))))
        diffs.append(like(point) - bern)
    assert abs(diffs[0] - diffs[1]) < 1e-8  # only the binomial coefficients differ


# ----------------------------------------------------------------------------- predictions
def test_predict_proba_labels_cells_and_draws_unseen_levels() -> None:
    model = prior_fit(WinRateModel(groups=["product", "owner"]), small_export())
    cells = pd.DataFrame(
        {"product": ["A", "new", "new", "other"], "owner": ["rep1", "rep1", "rep1", "rep1"]},
        index=pd.Index(["w", "x", "y", "z"], name="opportunity_id"),
    )
    p = model.predict_proba(cells, random_seed=5)
    assert p.dims == ("sample", "cell")
    assert p.sizes == {"sample": 100, "cell": 4}
    assert list(p["cell"].values) == ["w", "x", "y", "z"]
    assert list(p["product"].values) == ["A", "new", "new", "other"]
    assert ((p > 0) & (p < 1)).all()
    xr.testing.assert_equal(p, model.predict_proba(cells, random_seed=5))
    assert not p.equals(model.predict_proba(cells, random_seed=6))
    # one draw per unseen level, shared by the rows naming it; another unseen level differs
    np.testing.assert_array_equal(p.sel(cell="x"), p.sel(cell="y"))
    assert not np.allclose(p.sel(cell="x"), p.sel(cell="z"))
    # the unseen level's effect is sd_product * standard normal
    post = model.posterior_["posterior"].to_dataset().stack(sample=("chain", "draw"))
    logit = np.log(p / (1 - p)).sel(cell="x").values
    effect = logit - post["intercept"].values - post["b_owner"].sel(owner="rep1").values
    scaled = effect / post["sd_product"].values
    assert 0.6 < np.std(scaled) < 1.4 and abs(np.mean(scaled)) < 0.4


def test_tables_have_documented_columns() -> None:
    frame = small_export()
    win = prior_fit(WinRateModel(groups=["product", "owner"]), frame)
    rates = win.group_rates("product")
    assert list(rates.columns) == ["level", "deals", "won", "observed", "mean", "lower", "upper"]
    assert rates["deals"].sum() == (frame["status"] != "open").sum()
    assert (rates["lower"] <= rates["mean"]).all() and (rates["mean"] <= rates["upper"]).all()
    assert set(win.group_effects()["term"]) == {"product", "owner"}
    with pytest.raises(KeyError, match="region"):
        win.group_rates("region")

    rev = prior_fit(RevenueModel(groups=["product"]), frame)
    table = rev.mean_amount("product")
    assert list(table.columns) == [
        "level",
        "deals",
        "observed_median",
        "median",
        "mean",
        "lower",
        "upper",
    ]
    assert rev.excluded_ == {"used": int(table["deals"].sum()), "missing": 0, "zero": 0}
    draws = rev.predict_amount(pd.DataFrame({"product": ["A", "Z"]}), random_seed=1)
    assert (draws > 0).all() and draws.sizes == {"sample": 100, "cell": 2}

    cyc = prior_fit(CycleTimeModel(), frame)
    out = cyc.outcome_table("product")
    assert set(out["quantity"]) == {
        "p_won",
        "p_lost",
        "p_stalled",
        "median_days_won",
        "median_days_lost",
    }


def test_revenue_counts_excluded_amounts() -> None:
    frame = small_export()
    won = frame.index[frame["status"] == "won"]
    frame.loc[won[:3], "amount"] = 0.0
    frame.loc[won[3:5], "amount"] = np.nan
    model = RevenueModel(groups=["product"])
    model._set_inputs(model.inputs(frame), 1)
    assert model.excluded_ == {"used": len(won) - 5, "missing": 2, "zero": 3}


def fixed_cycle(
    p_won: float, p_lost: float, mu: tuple[float, float], sigma: tuple[float, float]
) -> CycleTimeModel:
    """A cycle-time model with no groups whose posterior is one known point (two draws)."""
    model = CycleTimeModel(groups=[])
    frame = small_export()
    model._set_inputs(model.inputs(frame), 0)
    eta = np.log(np.array([p_won, p_lost]) / (1 - p_won - p_lost))

    def var(values: np.ndarray) -> tuple:
        return (("chain", "draw", "outcome"), np.broadcast_to(values, (1, 2, 2)))

    post = xr.Dataset(
        {
            "outcome_intercept": var(eta),
            "duration_intercept": var(np.array(mu)),
            "duration_sigma": var(np.array(sigma)),
        },
        coords={"outcome": ["won", "lost"]},
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((1, 2), dtype=bool))})
    model.posterior_ = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats})
    return model


def test_predict_outcome_matches_the_competing_risks_formula() -> None:
    p, q, mu, sigma = 0.5, 0.3, (np.log(40.0), np.log(25.0)), (0.5, 0.8)
    model = fixed_cycle(p, q, mu, sigma)
    deals = pd.DataFrame({"age_days": [0.0, 30.0, 100.0, 1000.0]})
    h = 60.0
    out = model.predict_outcome(deals, h).isel(sample=0)

    def cdf(days: np.ndarray, k: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return norm.cdf((np.log(days) - mu[k]) / sigma[k])

    a = deals["age_days"].to_numpy()
    alive = p * (1 - cdf(a, 0)) + q * (1 - cdf(a, 1)) + (1 - p - q)
    won = p * (cdf(a + h, 0) - cdf(a, 0)) / alive
    lost = q * (cdf(a + h, 1) - cdf(a, 1)) / alive
    np.testing.assert_allclose(out["p_won"], won, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(out["p_lost"], lost, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(out["p_open"], 1 - won - lost, rtol=1e-9, atol=1e-12)
    assert out["p_won"][-1] < 1e-6  # a deal 1000 days old is as good as stalled
    ever = model.p_ever_won([0.0, 1000.0]).isel(sample=0).values
    np.testing.assert_allclose(ever[0], p)
    assert ever[1] < 1e-6
    with pytest.raises(ValueError, match="age_days"):
        model.predict_outcome(pd.DataFrame({"age_days": [-1.0]}), 30)


# ----------------------------------------------------------------------------- diagnostics
def test_diagnostics_flag_chains_that_disagree() -> None:
    model = prior_fit(WinRateModel(groups=["product"]), small_export())
    assert model.diagnostics().divergences == 0
    bad = model.posterior_["posterior"].to_dataset()
    bad["intercept"] = bad["intercept"] + xr.DataArray([0.0, 5.0], dims="chain")
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.eye(2, 50, dtype=bool))})
    model.posterior_ = xr.DataTree.from_dict({"posterior": bad, "sample_stats": stats})
    diag = model.diagnostics()
    assert not diag.ok
    assert diag.max_rhat > 1.5
    assert diag.divergences == 2
    assert "R-hat" in diag.message and "divergent" in diag.message


# ----------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("model_class", [WinRateModel, RevenueModel, CycleTimeModel])
def test_save_load_round_trip(tmp_path, model_class) -> None:  # noqa: ANN001
    frame = small_export()
    model = prior_fit(model_class(priors=None, draws=321), frame)
    model.save(tmp_path / "fit")
    loaded = model_class.load(tmp_path / "fit", data_hash=model.data_hash(frame))
    assert type(loaded) is model_class
    assert loaded.config == model.config and loaded.draws == 321
    assert loaded.terms_ == model.terms_
    assert loaded.parametrization_ == model.parametrization_
    pd.testing.assert_frame_equal(loaded.inputs_, model.inputs_)
    xr.testing.assert_allclose(
        loaded.posterior_["posterior"].to_dataset(), model.posterior_["posterior"].to_dataset()
    )
    cells = frame[["product", "region", "owner"]].head(5).assign(age_days=10.0)
    if model_class is WinRateModel:
        xr.testing.assert_allclose(loaded.predict_proba(cells, 1), model.predict_proba(cells, 1))
    elif model_class is RevenueModel:
        assert loaded.excluded_ == model.excluded_
        xr.testing.assert_allclose(loaded.predict_amount(cells, 1), model.predict_amount(cells, 1))
    else:
        xr.testing.assert_allclose(
            loaded.predict_outcome(cells, 30, 1), model.predict_outcome(cells, 30, 1)
        )
    meta = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert {"model_type", "config", "package_version", "data_hash"} <= set(meta)


def test_load_refuses_a_mismatch(tmp_path) -> None:  # noqa: ANN001
    frame = small_export()
    model = prior_fit(WinRateModel(groups=["product"]), frame)
    model.save(tmp_path / "fit")
    with pytest.raises(FitMismatchError, match="other data"):
        WinRateModel.load(tmp_path / "fit", data_hash=model.data_hash(small_export(seed=9)))
    with pytest.raises(FitMismatchError, match="win_rate fit, not a revenue"):
        RevenueModel.load(tmp_path / "fit")
    assert type(PipelineModel.load(tmp_path / "fit")) is WinRateModel
    meta_path = tmp_path / "fit" / "fit.json"
    meta = json.loads(meta_path.read_text())
    meta["package_version"] = "0.0.1-old"  # the package's release says nothing about the model
    meta_path.write_text(json.dumps(meta))
    assert type(WinRateModel.load(tmp_path / "fit")) is WinRateModel
    meta["version"] = 0  # a fit of another structure of the model
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FitMismatchError, match="model version 0"):
        WinRateModel.load(tmp_path / "fit")
    meta["version"] = WinRateModel.version
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(FitMismatchError, match="other settings"):
        WinRateModel.load(tmp_path / "fit", config_id=WinRateModel(groups=["region"]).config_id)
    with pytest.raises(FileNotFoundError):
        WinRateModel.load(tmp_path / "nothing")


# ----------------------------------------------------------------------------- cache
def test_cache_fits_once_and_refits_on_new_data_config_or_seed(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    calls: list[str] = []

    def fake_fit_inputs(self, inputs, random_seed=None):  # noqa: ANN001, ANN202
        calls.append(type(self).__name__)
        return prior_fit(self, None, random_seed or 0, inputs=inputs)

    monkeypatch.setattr(PipelineModel, "fit_inputs", fake_fit_inputs)
    frame = small_export()
    first = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, random_seed=7)
    assert calls == ["WinRateModel"] and first.hit is False
    second = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, random_seed=7)
    assert calls == ["WinRateModel"] and second.hit is True
    assert second.path == first.path
    xr.testing.assert_equal(
        second.model.posterior_["posterior"].to_dataset(),
        first.model.posterior_["posterior"].to_dataset(),
    )
    # a column the model does not use changes nothing
    fit_cached(WinRateModel(groups=["product"]), frame.assign(region="X"), tmp_path, 7)
    assert len(calls) == 1
    fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, random_seed=8)
    fit_cached(WinRateModel(groups=["product"], priors={"sd_group": 0.3}), frame, tmp_path, 7)
    fit_cached(WinRateModel(groups=["product"]), small_export(seed=2), tmp_path, 7)
    fit_cached(RevenueModel(groups=["product"]), frame, tmp_path, 7)
    assert len(calls) == 5
    assert not list(tmp_path.glob(".*"))  # no temporary folders left behind
    assert len(list(tmp_path.iterdir())) == 5


def test_cache_replaces_a_damaged_entry(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    calls = []

    def fake_fit_inputs(self, inputs, random_seed=None):  # noqa: ANN001, ANN202
        calls.append(1)
        return prior_fit(self, None, random_seed or 0, inputs=inputs)

    monkeypatch.setattr(PipelineModel, "fit_inputs", fake_fit_inputs)
    frame = small_export()
    first = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 1)
    (first.path / "posterior.nc").write_bytes(b"not netcdf")
    again = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 1)
    assert len(calls) == 2 and again.hit is False
    assert again.path == first.path
    assert fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 1).hit


def test_a_structural_change_without_a_new_version_is_refused_on_load(
    tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    """A fit saved by another structure of the model (another ``version``) is never reused."""
    calls = []

    def fake_fit_inputs(self, inputs, random_seed=None):  # noqa: ANN001, ANN202
        calls.append(1)
        return prior_fit(self, None, random_seed or 0, inputs=inputs)

    monkeypatch.setattr(PipelineModel, "fit_inputs", fake_fit_inputs)
    frame = small_export()
    first = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 1)
    assert WinRateModel.load(first.path).formula == "won | trials(n) ~ 1 + (1 | product)"
    saved = WinRateModel.version
    monkeypatch.setattr(WinRateModel, "version", saved + 1)
    with pytest.raises(
        FitMismatchError, match=f"model version {saved}; this is version {saved + 1}"
    ):
        WinRateModel.load(first.path)
    again = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 1)
    assert not again.hit and len(calls) == 2 and again.path != first.path
    meta = json.loads((again.path / "fit.json").read_text())
    assert meta["version"] == saved + 1 and meta["formula"] == again.model.formula


def test_sampler_and_running_settings_are_apart_from_model_settings() -> None:
    model = WinRateModel(groups=["product"], draws=500, cores=1, progress=True)
    assert set(model.model_config) == {"groups", "priors", "parametrization"}
    assert model.sampler_config["draws"] == 500
    assert "cores" not in model.config and "progress" not in model.config
    assert model.config_id == WinRateModel(groups=["product"], draws=500, cores=2).config_id
    assert model.config_id != WinRateModel(groups=["product"], draws=600).config_id


def test_cache_finds_a_fit_by_table_digest_without_aggregating(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    calls: list[str] = []

    def fake_fit_inputs(self, inputs, random_seed=None):  # noqa: ANN001, ANN202
        calls.append("fit")
        return prior_fit(self, None, random_seed or 0, inputs=inputs)

    monkeypatch.setattr(PipelineModel, "fit_inputs", fake_fit_inputs)
    frame = small_export()
    first = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 7, table_digest="abc")
    assert calls == ["fit"] and not first.hit

    def no_aggregation(self, frame):  # noqa: ANN001, ANN202
        raise AssertionError("aggregated although the table digest names the fit")

    with monkeypatch.context() as patch:
        patch.setattr(WinRateModel, "inputs", no_aggregation)
        again = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 7, table_digest="abc")
        assert again.hit and again.path == first.path
        assert set(again.timings) == {"load"}
        # another seed, configuration or table is not the same fit: it must aggregate
        for model, seed, digest in (
            (WinRateModel(groups=["product"]), 8, "abc"),
            (WinRateModel(groups=["product"], priors={"sd_group": 0.3}), 7, "abc"),
            (WinRateModel(groups=["product"]), 7, "other"),
        ):
            with pytest.raises(AssertionError, match="aggregated"):
                fit_cached(model, frame, tmp_path, seed, table_digest=digest)
    # a digest first seen on a hit by inputs is recorded too
    hit = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 7, table_digest="new")
    assert hit.hit and calls == ["fit"]
    with monkeypatch.context() as patch:
        patch.setattr(WinRateModel, "inputs", no_aggregation)
        assert fit_cached(
            WinRateModel(groups=["product"]), frame, tmp_path, 7, table_digest="new"
        ).hit
    # a pointer to a damaged fit falls back to aggregating and refitting
    (first.path / "posterior.nc").write_bytes(b"not netcdf")
    refit = fit_cached(WinRateModel(groups=["product"]), frame, tmp_path, 7, table_digest="abc")
    assert not refit.hit and calls == ["fit", "fit"]


def test_fitting_without_usable_deals_says_so() -> None:
    from pipeline_models.models.hierarchical import ModelRefused

    frame = small_export().assign(status="open")
    with pytest.raises(ModelRefused, match="no deal closed as won or lost, so no win rate"):
        WinRateModel().fit(frame)
    with pytest.raises(ModelRefused, match="positive amount, so deal size cannot be estimated"):
        RevenueModel().fit(frame)


@pytest.mark.parametrize("days", [[30], [30, 200]], ids=["one bin", "two bins"])
def test_cycle_time_refuses_closed_deals_that_all_fall_in_one_duration_bin(days) -> None:
    """Closed deals whose days to close all fall in one bin have no spread to estimate: the model
    says so instead of approximating a posterior at a spread of zero."""
    from pipeline_models.models.hierarchical import ModelRefused

    frame = small_export()
    closed = frame["status"].isin(["won", "lost"]).to_numpy()
    took = pd.to_timedelta(np.resize(days, int(closed.sum())), "D")
    frame.loc[closed, "close_date"] = frame.loc[closed, "created_date"] + took
    model = CycleTimeModel(groups=[], as_of="2025-12-31")
    if len(days) == 1:
        with pytest.raises(ModelRefused, match=r"every closed deal took between \d+ and \d+ days"):
            model._set_inputs(model.inputs(frame), 1)
    else:
        model._set_inputs(model.inputs(frame), 1)
        assert model.inputs_["outcome"].isin(["won", "lost"]).any()
