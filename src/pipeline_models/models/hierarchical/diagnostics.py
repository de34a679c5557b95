"""Convergence of a fit: unrounded R-hat, bulk ESS and divergences, and a sentence for a report."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

RHAT_MAX = 1.01
"""Chains that agree give a rank-normalised split R-hat at most this."""
ESS_MIN = 400
"""Fewer independent draws than this and the 90% interval's ends are noisy."""


@dataclass(frozen=True)
class FitDiagnostics:
    """Convergence of a fit, computed from unrounded R-hat and ESS.

    Attributes
    ----------
    max_rhat
        Largest rank-normalised split R-hat over all parameters (want <= 1.01).
    min_ess_bulk
        Smallest bulk effective sample size (want >= 400).
    divergences
        Divergent transitions after tuning (want 0).
    ok
        All three within their limits.
    message
        One sentence for a report: empty-free, says what is wrong and what it means.
    """

    max_rhat: float
    min_ess_bulk: float
    divergences: int
    ok: bool
    message: str


def quick_diagnostics(tree: xr.DataTree) -> tuple[float, float, int]:
    """Max R-hat, min bulk ESS (unrounded, over every posterior variable) and divergences."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(tree)
        ess = az.ess(tree, method="bulk")
    stats = tree["sample_stats"]
    divergences = int(stats["diverging"].sum()) if "diverging" in stats else 0
    return _extreme(rhat, np.nanmax), _extreme(ess, np.nanmin), divergences


def _extreme(tree: Any, fn: Any) -> float:
    if isinstance(tree, xr.DataTree):
        ds = tree["posterior"].to_dataset() if "posterior" in tree.children else tree.to_dataset()
    else:
        ds = tree
    values = [np.asarray(v.values, dtype=float).ravel() for v in ds.data_vars.values()]
    values = [v for v in values if v.size]
    return float(fn(np.concatenate(values))) if values else float("nan")


def diagnose(tree: xr.DataTree, name: str, sampling: dict | None = None) -> FitDiagnostics:
    """The :class:`FitDiagnostics` of a posterior, with its sentence naming the model ``name``;
    ``sampling`` is what the fit used (a Laplace fit is judged by its importance weights)."""
    if sampling and sampling.get("method") == "laplace":
        ess, khat = float(sampling["ess"]), float(sampling["khat"])
        message = (
            f"{name}: fitted by nested Laplace, checked by importance weights ({ess:.0f} "
            f"effective draws of {sampling['proposals']}, Pareto k {khat:.2f})."
        )
        return FitDiagnostics(float("nan"), ess, 0, True, message)
    max_rhat, min_ess, divergences = quick_diagnostics(tree)
    problems = []
    if not max_rhat <= RHAT_MAX:
        problems.append(f"R-hat {max_rhat:.3f} > {RHAT_MAX} (the chains disagree)")
    if not min_ess >= ESS_MIN:
        problems.append(f"bulk ESS {min_ess:.0f} < {ESS_MIN} (too few independent draws)")
    if divergences:
        problems.append(
            f"{divergences} divergent transitions (the sampler missed part of the posterior)"
        )
    ok = not problems
    if ok:
        message = (
            f"{name}: sampler converged (max R-hat {max_rhat:.3f}, min bulk ESS "
            f"{min_ess:.0f}, no divergences)."
        )
    else:
        message = (
            f"{name} may be unreliable: "
            + "; ".join(problems)
            + ". Treat its intervals as rough; refit with more draws or check the data."
        )
    return FitDiagnostics(max_rhat, min_ess, divergences, ok, message)


def fit_diagnostics_dict(diag: FitDiagnostics) -> dict[str, Any]:
    """Plain dict of a :class:`FitDiagnostics` (for summary files)."""
    return asdict(diag)
