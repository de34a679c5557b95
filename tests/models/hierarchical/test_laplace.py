"""The Laplace fit: its algebra, its checks, and its draws against NUTS on the sample and on a hard
case, and the same draws in any process.

How the comparison is judged
----------------------------
Both fits are Monte Carlo estimates of one posterior. For each quantity a reader sees (win rate,
mean deal size, outcome shares and median days per level), the difference of the two posterior
means and of the 5% and 95% quantiles is measured in units of the NUTS posterior sd, and must stay
within four Monte Carlo standard errors of that difference: ``sqrt(1/ess_nuts + 1/ess_laplace)``
for a mean, times 2.2 for a 5% or 95% quantile (a normal quantile's standard error at that tail,
``sqrt(p (1 - p)) / phi(z_p)``, is 2.1 times a mean's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logsumexp

from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.models import CycleTimeModel, Prior, RevenueModel, WinRateModel
from pipeline_models.models.hierarchical.base import stack_draws
from pipeline_models.models.hierarchical.cycle_likelihood import CycleLikelihood
from pipeline_models.models.hierarchical.laplace import (
    LaplaceUnsupported,
    fit_laplace,
    numeric_derivatives,
    zero_sum_basis,
)
from pipeline_models.models.hierarchical.sampling import laplace_fit

AS_OF = "2025-06-30"


def export(seed: int, n: int = 2000, owners: int = 12, owner_sd: float = 0.0) -> pd.DataFrame:
    """Deals over products of very different sizes, regions and owners with known effects."""
    rng = np.random.default_rng(seed)
    products = np.array(["A", "B", "C", "D", "E"])
    product = rng.choice(products, n, p=[0.45, 0.3, 0.15, 0.07, 0.03])
    product_eff = dict(zip(products, [0.0, 0.5, -0.4, 0.9, -1.0], strict=True))
    owner = rng.integers(0, owners, n)
    owner_eff = rng.normal(0, owner_sd, owners)
    p_win = expit(-0.3 + np.vectorize(product_eff.get)(product) + owner_eff[owner])
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 540, n), "D")
    days = np.exp(rng.normal(np.log(45), 0.6, n)).round() + 1
    close = created + pd.to_timedelta(days, "D")
    closed = close <= pd.Timestamp(AS_OF)
    won = rng.random(n) < p_win
    status = np.where(~closed, "open", np.where(won, "won", "lost"))
    amount = np.exp(rng.normal(9 + 0.3 * (product == "B"), 0.7, n)).round()
    return conform_opportunities(
        pd.DataFrame(
            {
                "opportunity_id": [f"o{i}" for i in range(n)],
                "created_date": created,
                "close_date": np.where(closed, close, pd.NaT),
                "stage": "s",
                "status": status,
                "amount": np.where(status == "won", amount, np.nan),
                "product": product,
                "region": rng.choice(["N", "S", "E", "W"], n),
                "owner": [f"rep{i}" for i in owner],
            }
        )
    )


# ----------------------------------------------------------------------------- algebra
def test_zero_sum_basis_is_orthonormal_and_sums_to_zero() -> None:
    for n in (2, 3, 7):
        q = zero_sum_basis(n)
        np.testing.assert_allclose(q.T @ q, np.eye(n - 1), atol=1e-12)
        np.testing.assert_allclose(q.sum(axis=0), 0.0, atol=1e-12)
        # Q Q^T is PyMC's ZeroSumNormal covariance for sigma = 1
        np.testing.assert_allclose(q @ q.T, np.eye(n) - 1.0 / n, atol=1e-12)


@pytest.mark.parametrize("model_class", [WinRateModel, RevenueModel, CycleTimeModel])
def test_exact_derivatives_match_central_differences(model_class) -> None:  # noqa: ANN001
    model = model_class(as_of=AS_OF) if model_class is CycleTimeModel else model_class()
    frame = export(1, n=600)
    model._set_inputs(model.inputs(frame), 1)
    latent = model._latent_model()
    rng = np.random.default_rng(0)
    base = {WinRateModel: [-0.2], RevenueModel: [9.0], CycleTimeModel: [1.0, 0.5, 3.8, 3.5]}
    eta = np.asarray(base[model_class]) + rng.normal(
        0, 0.3, (latent.n_cells, len(base[model_class]))
    )
    scales = np.array([0.7, 0.6])[: len(latent.scales)]
    grad, neg_hess = latent.derivatives(eta, scales)
    grad_n, neg_hess_n = numeric_derivatives(latent.loglik, 1e-4)(eta, scales)
    np.testing.assert_allclose(grad, grad_n, rtol=1e-6, atol=1e-4 * np.abs(grad).max())
    np.testing.assert_allclose(neg_hess, neg_hess_n, rtol=1e-4, atol=1e-5 * np.abs(neg_hess).max())


def closed_after_a_fixed_time(frame: pd.DataFrame, days: int = 90) -> pd.DataFrame:
    """``frame`` as a CRM writes it that closes deals as lost ``days`` after their creation."""
    frame = frame.copy()
    lost = (frame["status"] == "lost").to_numpy()
    close = frame["created_date"] + pd.Timedelta(days=days)
    frame.loc[lost, "close_date"] = close[lost]
    later = lost & (close > pd.Timestamp(AS_OF)).to_numpy()
    frame.loc[later, "status"] = "open"
    frame.loc[later, "close_date"] = pd.NaT
    return frame


@pytest.mark.parametrize("timeout", [False, True], ids=["ordinary", "lost after 90 days"])
def test_cycle_likelihood_equals_the_pymc_models_log_density(timeout) -> None:  # noqa: ANN001
    """The numpy likelihood and the PyMC potentials give the same log density at a point, also
    where the lost deals' spread is pinned to their bin (a constant in both)."""

    model = CycleTimeModel(as_of=AS_OF, parametrization="centred")
    frame = export(2, n=800)
    model._set_inputs(model.inputs(closed_after_a_fixed_time(frame) if timeout else frame), 1)
    assert list(model.pinned_spreads_) == (["lost"] if timeout else [])
    pm_model = model._build()
    point = pm_model.initial_point()
    rng = np.random.default_rng(3)
    point = {k: v + rng.normal(0, 0.2, np.shape(v)) for k, v in point.items()}
    names = ["outcome_intercept", "duration_intercept", "duration_sigma"]
    names += [f"{part}_b_{t}" for part in ("outcome", "duration") for t in model.cell_index_]
    outputs = pm_model.compile_fn(
        [*pm_model.potentials, *(pm_model[n] for n in names)],
        inputs=pm_model.value_vars,
        on_unused_input="ignore",
    )(point)
    potentials = outputs[: len(pm_model.potentials)]
    value = dict(zip(names, outputs[len(pm_model.potentials) :], strict=True))
    eta = np.zeros((len(model.cells_), 4))
    eta[:, :2] = value["outcome_intercept"]
    eta[:, 2:] = value["duration_intercept"]
    for term, idx in model.cell_index_.items():
        eta[:, :2] += value[f"outcome_b_{term}"].T[idx]
        eta[:, 2:] += value[f"duration_b_{term}"].T[idx]
    likelihood = CycleLikelihood(model.inputs_, model.row_cell_, len(model.cells_))
    ours = likelihood.loglik(eta, np.asarray(value["duration_sigma"])).sum()
    # the two compute log(Phi(b) - Phi(a)) by different formulas: they agree to 1e-9 or so
    np.testing.assert_allclose(ours, float(np.sum(potentials)), rtol=1e-7)


def test_a_spread_below_the_bins_is_pinned_per_outcome_only_where_every_cell_has_one_bin() -> None:
    """Lost deals closed after a fixed time (one bin in every cell, or each group its own bin)
    pin the lost spread to the widest bin's even spread; lost deals over two bins in one cell,
    or a single lost deal, leave it to be estimated; won deals with a spread are never pinned."""
    from pipeline_models.models.hierarchical.cycle_likelihood import pinned_spreads

    def pinned(frame: pd.DataFrame) -> dict:
        model = CycleTimeModel(as_of=AS_OF)
        model._set_inputs(model.inputs(frame), 1)
        assert pinned_spreads(model.inputs_, model.row_cell_) == model.pinned_spreads_
        return model.pinned_spreads_

    frame = export(3, n=1200)
    got = pinned(closed_after_a_fixed_time(frame))
    assert (
        list(got) == ["lost"]
        and got["lost"]["deals"] == (closed_after_a_fixed_time(frame)["status"] == "lost").sum()
    )
    assert got["lost"]["sigma"] == pytest.approx(np.log(91 / 84) / np.sqrt(12))
    assert (
        "Every lost deal" in got["lost"]["note"] and "between 84 and 91 days" in got["lost"]["note"]
    )

    by_product = frame.copy()  # product A's lost deals after 30 days, the others' after 90
    for product, days in (("A", 30), ("B", 90), ("C", 90), ("D", 90), ("E", 90)):
        rows = (by_product["product"] == product).to_numpy()
        by_product.loc[rows] = closed_after_a_fixed_time(by_product.loc[rows], days)
    got = pinned(by_product)
    assert list(got) == ["lost"] and "each group's within one bin" in got["lost"]["note"]
    assert got["lost"]["sigma"] == pytest.approx(np.log(35 / 28) / np.sqrt(12))  # 28-35, the widest

    two_bins = closed_after_a_fixed_time(frame)
    lost = np.flatnonzero((two_bins["status"] == "lost").to_numpy())
    two_bins.loc[two_bins.index[lost[::2]], "close_date"] -= pd.Timedelta(days=30)
    assert pinned(two_bins) == {}
    one_lost = frame.drop(frame.index[(frame["status"] == "lost").to_numpy()][1:])
    assert pinned(closed_after_a_fixed_time(one_lost)) == {}


def test_lost_deals_closed_after_a_fixed_time_are_fitted_by_laplace(tmp_path) -> None:  # noqa: ANN001
    """Without the pin, this export's Laplace weights collapse (Pareto k 1.08, 7 effective draws)
    and the fit falls back to NUTS, which on such exports took minutes and diverged. With it the Laplace fit passes its check, the lost deals' median falls
    in their week, the won deals' median days cover the truth (46: ``round(exp(N(log 45,
    0.6))) + 1``), and the fit says what it did; a saved and loaded fit says the same."""
    model = CycleTimeModel(as_of=AS_OF).fit(
        closed_after_a_fixed_time(export(7, n=3000)), random_seed=7
    )
    assert model.sampling_["method"] == "laplace"
    diag = model.diagnostics()
    assert diag.ok and diag.message.endswith("taken as even over that span, not estimated.")
    sigma = stack_draws(model.posterior_, "duration_sigma", ("outcome",))
    assert np.all(sigma[:, 1] == model.pinned_spreads_["lost"]["sigma"])
    assert np.ptp(sigma[:, 0]) > 0  # the won spread is estimated
    table = model.outcome_table().set_index("quantity")
    assert (
        84 <= table.loc["median_days_lost", "lower"] <= table.loc["median_days_lost", "upper"] < 91
    )
    assert table.loc["median_days_won", "lower"] <= 46 <= table.loc["median_days_won", "upper"]
    loaded = CycleTimeModel.load(model.save(tmp_path / "fit"))
    assert loaded.diagnostics().message == diag.message
    assert loaded.pinned_spreads_ == model.pinned_spreads_


# ----------------------------------------------------------------------------- checks
def test_an_unsupported_prior_declines_the_laplace_fit_with_its_reason() -> None:
    model = WinRateModel(
        groups=["product"], priors={"intercept": Prior("StudentT", {"nu": 3, "sigma": 1.5})}
    )
    model._set_inputs(model.inputs(export(3, n=300)), 1)
    assert laplace_fit(model, 1) is None
    assert "StudentT" in model.sampling_["laplace_declined"]
    with pytest.raises(LaplaceUnsupported):
        model._latent_model()


def test_a_laplace_fit_says_how_it_was_made_and_checked() -> None:
    model = WinRateModel().fit(export(4), random_seed=4)
    used = model.sampling_
    assert used["method"] == "laplace"
    assert used["khat"] <= 0.7 and used["ess"] >= 400
    assert model.posterior_["posterior"].sizes["draw"] == model.draws * model.chains
    diag = model.diagnostics()
    assert diag.ok and "importance weights" in diag.message and "R-hat" not in diag.message


def test_the_same_seed_gives_the_same_draws_and_another_seed_other_draws() -> None:
    frame = export(5)
    a = RevenueModel().fit(frame, random_seed=9).posterior_["posterior"]
    b = RevenueModel().fit(frame, random_seed=9).posterior_["posterior"]
    c = RevenueModel().fit(frame, random_seed=10).posterior_["posterior"]
    assert a.identical(b)
    assert not np.array_equal(a["sigma"].values, c["sigma"].values)


def test_a_proposal_that_misses_the_posterior_is_caught() -> None:
    """A tight posterior of the sd under a proposal fitted elsewhere: weights degenerate and the
    Pareto k says so (the fit then falls back to NUTS)."""
    model = WinRateModel(groups=["product"])
    model._set_inputs(model.inputs(export(6, n=3000)), 1)
    latent = model._latent_model()
    import dataclasses

    from pipeline_models.models.hierarchical import laplace

    original = laplace._theta_mode
    try:
        laplace._theta_mode = lambda post: (np.array([2.5]), np.array([[1e-4]]))
        laplace_adapt, laplace.ADAPTATIONS = laplace.ADAPTATIONS, 0
        draws = fit_laplace(dataclasses.replace(latent), 400, 1)
    finally:
        laplace._theta_mode = original
        laplace.ADAPTATIONS = laplace_adapt
    assert not draws.ok or draws.ess < 400


# ----------------------------------------------------------------------------- against NUTS
def _reader_quantities(model) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Draws (sample, product) of what the reports read from each model, other groups at their
    average: win rate, mean deal size, outcome shares and median days to a win."""
    post = model.posterior_
    if not isinstance(model, CycleTimeModel):
        linear = stack_draws(post, "intercept")[:, None] + stack_draws(
            post, "b_product", ("product",)
        )
        if isinstance(model, WinRateModel):
            return {"win rate": expit(linear)}
        sigma = stack_draws(post, "sigma")[:, None]
        return {"mean amount": np.exp(linear + sigma**2 / 2)}
    post = model.posterior_
    eta = stack_draws(post, "outcome_intercept", ("outcome",))[..., None] + stack_draws(
        post, "outcome_b_product", ("outcome", "product")
    )
    logits = np.concatenate([eta, np.zeros((eta.shape[0], 1, eta.shape[2]))], axis=1)
    shares = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    mu = stack_draws(post, "duration_intercept", ("outcome",))[..., None] + stack_draws(
        post, "duration_b_product", ("outcome", "product")
    )
    return {"p_won": shares[:, 0], "p_stalled": shares[:, 2], "median days": np.exp(mu[:, 0])}


def _ess(model) -> float:  # noqa: ANN001
    if model.sampling_["method"] == "laplace":
        return float(model.sampling_["ess"])
    return float(model.diagnostics().min_ess_bulk)


def assert_same_posterior(laplace_model, nuts_model) -> None:  # noqa: ANN001
    assert laplace_model.sampling_["method"] == "laplace"
    mc = np.sqrt(1 / _ess(laplace_model) + 1 / _ess(nuts_model))
    ours, theirs = _reader_quantities(laplace_model), _reader_quantities(nuts_model)
    for name, x in ours.items():
        y = theirs[name]
        sd = y.std(axis=0)
        mean_gap = np.abs(x.mean(axis=0) - y.mean(axis=0)) / sd
        assert mean_gap.max() <= 4 * mc, (name, mean_gap, mc)
        for q in (0.05, 0.95):
            gap = np.abs(np.quantile(x, q, axis=0) - np.quantile(y, q, axis=0)) / sd
            assert gap.max() <= 4 * 2.2 * mc, (name, q, gap, mc)


def _pair(model_class, frame: pd.DataFrame, **settings) -> tuple:  # noqa: ANN001, ANN003
    fits = [
        model_class(sampler=s, **settings).fit(frame, random_seed=7) for s in ("laplace", "nutpie")
    ]
    assert fits[1].diagnostics().ok, fits[1].diagnostics().message
    return tuple(fits)


@pytest.mark.slow
@pytest.mark.parametrize("model_class", [WinRateModel, RevenueModel, CycleTimeModel])
def test_laplace_matches_nuts_on_the_sample(model_class, small_sample: Path) -> None:  # noqa: ANN001
    frame = _sample_frame(small_sample)
    settings = {"as_of": "2026-10-31"} if model_class is CycleTimeModel else {}
    assert_same_posterior(*_pair(model_class, frame, **settings))


@pytest.mark.slow
@pytest.mark.parametrize("model_class", [WinRateModel, RevenueModel])
def test_laplace_matches_nuts_on_a_hard_case(model_class) -> None:  # noqa: ANN001
    """Owners that do not differ at all (the sd's posterior piles up at 0, the geometry that
    makes NUTS diverge), a product with a few dozen deals, and small cells."""
    frame = export(8, n=900, owners=30, owner_sd=0.0)
    assert_same_posterior(*_pair(model_class, frame, groups=["product", "owner"]))


def _sample_frame(sample_dir: Path) -> pd.DataFrame:
    from pipeline_models.io.opportunities import load_export

    path = sample_dir / "exports" / "opportunities_2026-10.csv"
    return load_export(path, as_of="2026-10-31").frame


# ----------------------------------------------------------------------------- any process
@pytest.mark.slow
def test_the_same_fit_in_fresh_processes_with_empty_and_warm_compile_folders(tmp_path) -> None:  # noqa: ANN001
    """Same data, settings and seed: the same posterior to the last digit, whether PyTensor's
    compile folder is empty or warm (another model compiled into it first)."""
    frame_path = tmp_path / "deals.parquet"
    export(11).to_parquet(frame_path)
    code = (
        "import sys, json, pandas as pd\n"
        "from pipeline_models.models import WinRateModel, RevenueModel, CycleTimeModel\n"
        "frame = pd.read_parquet(sys.argv[1])\n"
        "if sys.argv[3] == 'warm':\n"
        "    WinRateModel(groups=['region'], sampler='nutpie', draws=50, tune=50)"
        ".fit(frame, random_seed=1)\n"
        "out = {}\n"
        "for m in (WinRateModel(), RevenueModel(), CycleTimeModel(as_of='2025-06-30')):\n"
        "    post = m.fit(frame, random_seed=3).posterior_['posterior']\n"
        "    out[type(m).__name__] = {k: v.values.tobytes().hex() for k, v in post.items()}\n"
        "open(sys.argv[2], 'w').write(json.dumps(out))\n"
    )
    results = []
    for state in ("empty", "warm"):
        compile_dir = tmp_path / f"pytensor-{state}"
        env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compile_dir}"}
        out = tmp_path / f"{state}.json"
        done = subprocess.run(
            [sys.executable, "-c", code, str(frame_path), str(out), state],
            env=env,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        results.append(json.loads(out.read_text()))
    assert (tmp_path / "pytensor-warm").exists()
    assert results[0] == results[1]


def test_a_laplace_fit_that_fails_numerically_declines_with_its_reason(monkeypatch) -> None:
    import pipeline_models.models.hierarchical.sampling as sampling

    def fails(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise np.linalg.LinAlgError("the curvature of the posterior is not finite here")

    monkeypatch.setattr(sampling, "fit_laplace", fails)
    model = WinRateModel(groups=["product"])
    model._set_inputs(model.inputs(export(3, n=300)), 1)
    assert laplace_fit(model, 1) is None
    assert model.sampling_["laplace_declined"].startswith("the Laplace fit failed: the curvature")


def test_proposals_outside_the_range_get_no_weight() -> None:
    """A proposal with an sd beyond 1e3 or below 1e-6 is skipped (no Newton solve) and weighs 0."""
    from pipeline_models.models.hierarchical import laplace

    model = WinRateModel(groups=["product"])
    model._set_inputs(model.inputs(export(3, n=300)), 1)
    post = laplace._Posterior(model._latent_model())
    x_start = post.mode(np.array([-1.0]), post.x_last)[0]
    rng = np.random.default_rng(0)
    thetas, _, log_w = laplace._weighted_proposals(
        post, np.array([np.log(1e4)]), np.array([[1e-6]]), 4, x_start, rng
    )
    assert np.all(thetas > laplace.THETA_RANGE[1])
    assert np.all(log_w == -np.inf)
