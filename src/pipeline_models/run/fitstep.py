"""The run's fit step: every estimator and track record of the period, fitted once, before any
report.

The reports ask the run's :class:`~pipeline_models.run.catalog.Catalog` for the same fits with the
same settings, so each loads what this step made; the manifest records the cache hits and each
fit's diagnostics.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from pipeline_models.run.catalog import Catalog
from pipeline_models.run.fitaside import ASIDE, SHARED, claim, fitting_aside

TRACK_SETTINGS = {
    "forecast": ("backtest_months",),
    "lead_requirement": ("horizon_months", "backtest_months"),
}
"""Report parameters that decide a report's track record (the fit step makes it with them)."""
DRAWN = ("period_outlook",)
"""Steps that draw from the fits rather than fit: a failure is left to the report that reads the
draws (it fails as it would have, with its reason), not to the whole run."""


def report_settings(parameters: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The track-record settings of each report from its effective parameters."""
    return {
        report: {name: parameters[report][name] for name in names if name in parameters[report]}
        for report, names in TRACK_SETTINGS.items()
        if report in parameters
    }


def fit_all(
    catalog: Catalog,
    progress: Callable[[str], None] | None,
    timings: dict[str, float],
) -> dict[str, Any]:
    """Fit everything the run's reports use, with the report settings the run folder records,
    and draw the period's forecast from the fits; return the manifest's ``models`` section."""
    steps = _steps(catalog)
    if progress and catalog.budget:
        budget = ", ".join(f"{name}={value}" for name, value in catalog.budget.items())
        progress(f"Sampler budget of the win-rate, deal-size and cycle-time fits: {budget}")
    # the forecaster and the lead funnel fit in a fraction of a second (the period's forecast
    # needs both); found in the cache, the period was fitted before and the other fits are there
    # too: no second process is worth starting
    first = ("forecaster", "lead_funnel")
    for label, name, args in steps:
        if name in first:
            _step(catalog, label, name, args, progress, timings)
    again = catalog.loaded["fits.forecaster"]["cache_hit"]
    rest = [step for step in steps if step[1] not in first]
    _make_rest(catalog, rest, again, progress, timings)
    models = catalog.period_models()
    for name, fit in models.cached.items():
        for what, seconds in fit.timings.items():
            timings[f"{what} ({name})"] = seconds
    hits = {name: entry["cache_hit"] for name, entry in catalog.loaded.items()}
    if progress:
        cached = "loaded from the fit cache" if all(hits.values()) else "fitted"
        progress(f"  fits {cached}")
    skipped = {name: reason for name, reason in models.skipped.items()}
    from pipeline_models.models.period import refusal

    for name, fitted in (
        ("account_products", catalog.account_products()),
        ("deal_score", catalog.deal_score()),
    ):
        if fitted is None:  # the catalog returns None exactly when refusal gives a reason
            skipped[name] = refusal(name, catalog.opportunities(), catalog.as_of)
    for name, reason in skipped.items():
        if progress:
            progress(f"  {name.replace('_', ' ')} model not fitted: {reason}")
    advice = budget_advice(catalog)
    if progress and advice:
        progress(f"  {advice}")
    return {
        "cache_hits": hits,
        "diagnostics": _diagnostics(catalog),
        "skipped": skipped,
        "reader_warnings": models.warnings(),
        "warnings": [
            f"{name} model: {d.message}" for name, d in models.diagnostics().items() if not d.ok
        ]
        + ([advice] if advice else [])
        + [f"{name.replace('_', ' ')} model not fitted: {why}" for name, why in skipped.items()],
    }


def _make_rest(
    catalog: Catalog,
    steps: list[tuple[str, str, tuple]],
    again: bool,
    progress: Callable[[str], None] | None,
    timings: dict[str, float],
) -> None:
    """Make ``steps``; on a first run of the period with a second process (enough deals, two
    cores), the :data:`ASIDE` steps are made there, and the :data:`SHARED` ones by whichever
    process is free first."""
    aside = [] if again else [(name, args) for _, name, args in steps if name in ASIDE]
    t0 = time.perf_counter()
    made = set()
    with fitting_aside(catalog.folder, aside, len(catalog.opportunities())) as side:
        if side and progress:
            progress(
                "  (the deal score and the period's forecast are made side by side, and the "
                "smaller fits by whichever process is free first)"
            )
        # this process's own steps first, then the ones either process makes
        for label, name, args in sorted(steps, key=lambda step: side and step[1] in SHARED):
            if side and name in ASIDE and not (name in SHARED and claim(catalog.folder, name)):
                continue
            _step(catalog, label, name, args, progress, timings)
            made.add(name)
    if side:
        timings["fits side by side"] = time.perf_counter() - t0
        for label, name, args in steps:
            # the fit step loads what the second process made; the reports read the draws
            if name in ASIDE and name not in DRAWN and name not in made:
                _step(catalog, label, name, args, progress, timings)


def _steps(catalog: Catalog) -> list[tuple[str, str, tuple]]:
    """``(label, catalog method, arguments)`` of every fit, track record and draw the run's
    reports use, in the order the fit step makes them."""
    from pipeline_models.analyses.forecast.in_hand import FORECAST_MONTHS, outlook_reach

    steps: list[tuple[str, str, tuple]] = [
        ("win rate, deal size, cycle time", "period_models", ()),
        ("forecaster", "forecaster", ()),
        ("lead funnel", "lead_funnel", ()),
        ("account products", "account_products", ()),
        ("deal score", "deal_score", ()),
    ]
    reach = set()
    forecast = catalog.settings("forecast")
    if forecast is not None:
        months = int(forecast.get("backtest_months", 6))
        steps.append(("forecast track record", "forecast_track", (months,)))
        reach.add(outlook_reach(FORECAST_MONTHS))
    leads = catalog.settings("lead_requirement")
    if leads is not None:
        horizon = int(leads.get("horizon_months", 3))
        months = int(leads.get("backtest_months", 6))
        steps.append(("lead track record", "lead_track", (horizon, months)))
        reach.add(outlook_reach(horizon))
    steps += [(f"the period's forecast, {m} months", "period_outlook", (m,)) for m in sorted(reach)]
    return steps


def budget_advice(catalog: Catalog) -> str | None:
    """How a run follows a hierarchical fit's advice to refit with more draws (``None``: every
    fit converged): the option, with twice the draws the fits used."""
    from pipeline_models.run.budget import effective_budget

    diagnostics = catalog.period_models().diagnostics()
    if all(d.ok for d in diagnostics.values()):
        return None
    draws = effective_budget(catalog.budget)["draws"]
    return (
        f"to refit with more draws, run again with --fit draws={2 * draws} (and --fit "
        "target_accept=0.99 where the sampler diverged)"
    )


def _step(
    catalog: Catalog,
    label: str,
    name: str,
    args: tuple,
    progress: Callable[[str], None] | None,
    timings: dict[str, float],
) -> None:
    t0 = time.perf_counter()
    if progress:
        progress(f"{'Drawing' if name in DRAWN else 'Fitting'}: {label} ...")
    try:
        getattr(catalog, name)(*args)
    except Exception:
        if name not in DRAWN:
            raise
        return  # the report that reads the draws draws them and reports why
    timings[f"fit: {label}"] = time.perf_counter() - t0


def _diagnostics(catalog: Catalog) -> dict[str, dict[str, Any]]:
    out = {}
    for name, d in catalog.period_models().diagnostics().items():
        out[name] = {
            # a fit without chains (nested Laplace) has no R-hat: null, never NaN (not JSON)
            "max_rhat": _finite(d.max_rhat),
            "min_ess_bulk": _finite(d.min_ess_bulk),
            "divergences": d.divergences,
            "ok": d.ok,
            "message": d.message,
        }
    for name, model in (
        ("forecaster", catalog.forecaster()),
        ("lead funnel", catalog.lead_funnel()),
        ("account products", catalog.account_products()),
        ("deal score", catalog.deal_score()),
    ):
        if model is None:
            continue
        d = model.diagnostics()
        out[name] = {
            "ok": d.ok,
            "message": d.message,
            **{k: _finite(v) for k, v in d.figures.items()},
        }
    return out


def _finite(value: Any) -> Any:
    """``value``, or ``None`` where it is a float that is not finite (NaN is not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["TRACK_SETTINGS", "budget_advice", "fit_all", "report_settings"]
