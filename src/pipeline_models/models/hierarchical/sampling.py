"""Fitting a hierarchical model: nested Laplace (default), nutpie or PyMC's NUTS, quietly, with code compiled afresh.

The fit's settings (draws, tune, chains, cores, target accept, progress) come from the model; what
the kept run really used is returned beside its draws.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import xarray as xr

from pipeline_models.models.hierarchical.diagnostics import ESS_MIN, quick_diagnostics
from pipeline_models.models.hierarchical.laplace import LaplaceUnsupported, fit_laplace

LAPLACE_RETRY = 4
"""A Laplace fit short of ESS_MIN effective draws is redone once with this many times the proposals."""


def _quiet_loggers() -> Iterator[None]:
    names = ("pymc", "pymc.sampling", "pymc.stats", "pytensor", "nutpie")
    saved = {n: logging.getLogger(n).level for n in names}
    try:
        for n in names:
            logging.getLogger(n).setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


quiet_sampling = contextlib.contextmanager(_quiet_loggers)


def fresh_compilation() -> contextlib.AbstractContextManager[None]:
    """Compile the model's functions afresh instead of loading PyTensor's on-disk Numba cache.

    A kernel loaded from the cache (``base_compiledir/numba``) and the same kernel compiled in the
    process give gradients that differ in the last bits, and NUTS turns that into different draws:
    with a warm cache a fit at a fixed seed would not repeat the figures of a fresh machine.
    Compiling afresh costs a few seconds per fit and gives the same draws whatever the cache holds.
    """
    import pytensor

    return pytensor.config.change_flags(numba__cache=False)


def sample_nuts(fit: Any, random_seed: int | None) -> tuple[xr.DataTree, dict]:
    """Build ``fit``'s PyMC model and sample it with NUTS (nutpie, or PyMC's own sampler for
    ``sampler="pymc"``), compiled afresh and quietly; returns the slimmed draws and what the kept
    run used (with the reason a Laplace fit was declined, if it was)."""
    model = fit._build()
    method = "pymc" if fit.sampler == "pymc" else "nutpie"
    with contextlib.ExitStack() as stack:
        stack.enter_context(fresh_compilation())
        if not fit.progress:
            stack.enter_context(quiet_sampling())
        sample = sample_pymc if method == "pymc" else sample_nutpie
        tree, used = sample(fit, model, random_seed)
    return slim(tree), {**getattr(fit, "sampling_", {}), "method": method, **used}


def sample_nutpie(fit: Any, model: Any, random_seed: int | None) -> tuple[xr.DataTree, dict]:
    """Compile once with nutpie and sample; retry once on the same compiled model (no second
    compile) if the run diverged (target_accept raised to 0.99) or fell short of ESS_MIN
    (twice the draws). Returns the draws and what the kept run used."""
    import nutpie

    compiled = nutpie.compile_pymc_model(model, backend="numba")
    settings = {
        "tune": fit.tune,
        "chains": fit.chains,
        "cores": fit.cores,
        "progress_bar": fit.progress,
    }
    used = {"draws": fit.draws, "target_accept": fit.target_accept, "runs": 1}
    tree = nutpie.sample(
        compiled,
        draws=fit.draws,
        seed=random_seed,
        target_accept=fit.target_accept,
        **settings,
    )
    _, min_ess, divergences = quick_diagnostics(slim(tree))
    if divergences or min_ess < ESS_MIN:
        used = {
            "draws": fit.draws * (2 if min_ess < ESS_MIN else 1),
            "target_accept": max(fit.target_accept, 0.99) if divergences else fit.target_accept,
            "runs": 2,
        }
        seed = None if random_seed is None else random_seed + 1
        tree = nutpie.sample(
            compiled,
            draws=used["draws"],
            seed=seed,
            target_accept=used["target_accept"],
            **settings,
        )
    return tree, used


def sample_pymc(fit: Any, model: Any, random_seed: int | None) -> tuple[xr.DataTree, dict]:
    import pymc as pm

    used = {"draws": fit.draws, "target_accept": fit.target_accept, "runs": 1}
    with model:
        tree = pm.sample(
            draws=fit.draws,
            tune=fit.tune,
            chains=fit.chains,
            cores=fit.cores,
            nuts_sampler=fit.sampler,
            random_seed=random_seed,
            progressbar=fit.progress,
            quiet=not fit.progress,
            compute_convergence_checks=False,
            nuts={"target_accept": fit.target_accept},
        )
    return tree, used


def laplace_fit(fit: Any, random_seed: int | None) -> tuple[xr.DataTree, dict] | None:
    """Draws by nested Laplace with importance weights (:mod:`.laplace`), or ``None`` (with the
    reason in ``fit.sampling_``) when the model has no Laplace form or the weights show that the
    approximation missed the posterior: the caller then samples with NUTS."""
    try:
        latent = fit._latent_model()
    except LaplaceUnsupported as why:
        fit.sampling_ = {"laplace_declined": str(why)}
        return None
    n = fit.draws * fit.chains
    try:
        draws = fit_laplace(latent, n, random_seed)
        runs = 1
        if draws.ok and draws.ess < ESS_MIN:
            seed = None if random_seed is None else random_seed + 1
            draws = fit_laplace(latent, n, seed, proposals=n * LAPLACE_RETRY)
            runs = 2
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as why:
        # e.g. a curvature that is not finite at the hyperparameters' mode: NUTS explores instead
        fit.sampling_ = {"laplace_declined": f"the Laplace fit failed: {why}"}
        return None
    if not (draws.ok and draws.ess >= ESS_MIN):
        fit.sampling_ = {
            "laplace_declined": (
                f"importance weights: Pareto k {draws.khat:.2f}, {draws.ess:.0f} effective draws"
            )
        }
        return None
    variables = fit._laplace_variables(draws)
    posterior = xr.Dataset(
        {
            name: (("chain", "draw", *dims), values[None])
            for name, (values, dims) in variables.items()
        },
        coords={"chain": [0], "draw": np.arange(n), **fit._coords()},
    )
    stats = xr.Dataset({"proposal": (("chain", "draw"), draws.picked[None])})
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    used = {
        "method": "laplace",
        "draws": n,
        "proposals": draws.proposals,
        "ess": draws.ess,
        "khat": draws.khat,
        "runs": runs,
    }
    return tree, used


def slim(tree: xr.DataTree) -> xr.DataTree:
    """Posterior plus the divergence flags: what diagnostics and predictions need."""
    stats = tree["sample_stats"].to_dataset()
    keep = [v for v in ("diverging", "step_size", "n_steps") if v in stats]
    return xr.DataTree.from_dict(
        {"posterior": tree["posterior"].to_dataset(), "sample_stats": stats[keep]}
    )
