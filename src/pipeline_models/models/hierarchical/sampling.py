"""Sampling a hierarchical model: nutpie (default) or PyMC, quietly, with code compiled afresh.

The fit's settings (draws, tune, chains, cores, target accept, progress) come from the model; what
the kept run really used is returned beside its draws.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import xarray as xr

from pipeline_models.models.hierarchical.diagnostics import ESS_MIN, quick_diagnostics


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


def slim(tree: xr.DataTree) -> xr.DataTree:
    """Posterior plus the divergence flags: what diagnostics and predictions need."""
    stats = tree["sample_stats"].to_dataset()
    keep = [v for v in ("diverging", "step_size", "n_steps") if v in stats]
    return xr.DataTree.from_dict(
        {"posterior": tree["posterior"].to_dataset(), "sample_stats": stats[keep]}
    )
