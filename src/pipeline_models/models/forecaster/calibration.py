"""The forecaster's check of itself at earlier origins, and the widening of its draws by it.

At each of up to ``calibration_origins`` earlier month-ends the forecaster is refitted on the
pipeline as it stood then and its median forecast compared with the outcome, where the window has
ended by the current origin. With ``n`` log errors ``e`` of a window and target, ``own`` the mean
log-variance the model itself predicted there and ``n0 = calibration_prior``:

    bias = mean(e) * n / (n + n0)
    extra_sd^2 = (n * max(var(e) - own, 0) + n0 * calibration_sd^2) / (n + n0)

and every draw of that window is multiplied by ``exp(bias + extra_sd * z - extra_sd^2 / 2)``, one
standard normal ``z`` per draw shared by all windows. The two sources of a forecast are checked
apart, each against its own outcome: deals open at the origin (the wins of deals created by then)
and deals not yet created (the wins of deals created after it; the deals open leads bring count
among them). A window's total keeps the total's calibration (the most stable check); its parts
are corrected by their own checks and then scaled, draw by draw, to add up to it. After a jump in
volume the new deals fall short while the open ones do not: the total's one correction for both
would push what is in hand off by the new deals' error. This keeps intervals honest where the
model's structure misses something the history shows (trends in win rates, capacity limits, data
gaps). Each earlier pipeline is read from the export's counts (as
:func:`~pipeline_models.data.asof.pipeline_as_of` would rebuild it), so a check costs the same at
any export size.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.models.forecaster.counts import PipelineCounts, view_cells
from pipeline_models.models.forecaster.result import ForecastResult

if TYPE_CHECKING:
    from pipeline_models.models.forecaster.estimator import PipelineForecaster

INNER_DRAWS = 400
"""Draws of a check at an earlier origin: its median and log-spread need no more."""

TARGETS = ("count", "revenue")


def calibrate(
    forecaster: PipelineForecaster, counts: PipelineCounts, created_by: int | None = None
) -> dict[tuple[int, str], dict[str, float]]:
    """Bias and extra error spread by (window, target), measured at origins before the fitted
    ``forecaster``'s own, using only data known at its origin.

    ``created_by``: count outcomes only of deals created by that month (the export is a later
    one, seen as of the origin). Checks are kept in ``counts.checks`` by origin month and
    settings: the same for every later origin, so a back-test makes each one once.
    """
    cfg = forecaster.forecast_config
    H = cfg.calibration_horizon
    errors: dict[tuple[int, str], list[float]] = {}
    spreads: dict[tuple[int, str], list[float]] = {}
    inner_cfg = replace(cfg, calibration_origins=0, draws=INNER_DRAWS)
    for back in range(1, cfg.calibration_origins + 1):
        inner_month = forecaster.origin_month_ - back
        if inner_month < forecaster.first_close_month_ + cfg.calibration_min_history:
            break
        # windows that end after this origin are not compared (their outcome is not known yet)
        key = (inner_month, inner_cfg)
        if key not in counts.checks:
            origin = (pd.Period(forecaster.origin_, "M") - back).end_time.normalize()
            inner = type(forecaster)(inner_cfg)
            counts.checks[key] = _check(inner, counts, inner_month, origin, H)
        for h in range(1, min(H, back) + 1):
            actual = {
                part: counts.outcomes(inner_month, h, created_by, OUTCOME[part]) for part in CHECKED
            }
            for target in TARGETS:
                for part in CHECKED:
                    name = (h, target) if part == "total" else (h, target, part)
                    median, spread = counts.checks[key][name]
                    if median <= 0 or actual[part][target] <= 0:
                        continue
                    errors.setdefault(name, []).append(np.log(actual[part][target] / median))
                    spreads.setdefault(name, []).append(spread)
    return _calibration(errors, spreads, H, cfg.calibration_prior, cfg.calibration_sd)


CHECKED = ("total", "open", "new", "closing")
"""What the checks at earlier origins compare: the whole forecast, and apart its two sources,
deals open at the origin and deals created after it (each has its own bias: after a jump in
volume the new deals fall short while the open ones do not); and ``closing``, the wins of the
deals actually created after it, drawn from their real numbers: the deal stage alone, without
the error of how many deals would come."""
OUTCOME = {"total": "total", "open": "open", "new": "new", "closing": "new"}
"""The outcome each check is compared with."""


def _check(
    inner: PipelineForecaster,
    counts: PipelineCounts,
    month: int,
    origin: pd.Timestamp,
    horizon: int,
) -> dict[tuple[int, str], tuple[float, float]]:
    """Median and variance of the log draws of each window up to ``horizon``, of ``inner``
    (uncalibrated) fitted at ``month``."""
    view = counts.view(month, as_of=True)
    inner._fit_view(view, origin)
    cells = view_cells(view, inner.forecast_config.max_age_months)
    rng = np.random.default_rng(month)
    # the view keeps only the groups with deals by then; deals of a group created later are
    # ones the forecaster at that month could not place
    created = counts.created_after(month, horizon)[[counts.levels.index(g) for g in view.levels]]
    result = inner._simulate(cells, tuple(range(1, horizon + 1)), rng, (), None, created)
    return {
        ((h, target) if part == "total" else (h, target, part)): (
            float(np.median(draws)),
            float(np.var(np.log(draws.clip(1e-9)))),
        )
        for (h, target, part), draws in result.draws.items()
        if part in CHECKED
    }


def _calibration(
    errors: dict[tuple[int, str], list[float]],
    spreads: dict[tuple[int, str], list[float]],
    horizon: int,
    prior: float,
    default_sd: float,
) -> dict[tuple[int, str], dict[str, float]]:
    """Origins, bias (shrunk toward none) and extra sd per window and target."""
    out = {}
    for h in range(1, horizon + 1):
        for target in TARGETS:
            for name in [(h, target), *((h, target, part) for part in CHECKED[1:])]:
                e = np.array(errors.get(name, []))
                n = len(e)
                own = float(np.mean(spreads[name])) if n else 0.0
                bias = float(np.mean(e)) * n / (n + prior) if n else 0.0
                excess = float(np.var(e, ddof=1)) - own if n > 1 else 0.0
                var = (n * max(excess, 0.0) + prior * default_sd**2) / (n + prior)
                out[name] = {"origins": n, "bias": bias, "extra_sd": float(np.sqrt(var))}
    return out


def recalibrate(
    calibration: dict | None,
    result: ForecastResult,
    rng: np.random.Generator,
    horizon: int,
    draws: int,
    with_leads: bool = False,
) -> None:
    """Widen and shift every window's draws of ``result`` in place by ``calibration`` (windows
    beyond ``horizon`` take its figures); nothing without one. ``with_leads``: the forecast
    counts the deals the open leads bring (:func:`_correct_window`)."""
    if not calibration:
        return
    z = rng.standard_normal(draws)  # one shock per draw, shared by all windows

    def factor(name: tuple) -> np.ndarray | None:
        c = calibration.get(name)
        if c is None:
            return None
        return np.exp(c["bias"] + c["extra_sd"] * z - 0.5 * c["extra_sd"] ** 2)

    scales = {}
    for h in result.horizons:
        for target in TARGETS:
            key = (h, target)
            scales[key] = _correct_window(result, key, factor, min(h, horizon), with_leads)
    for (h, target, column, level), values in list(result.by_group.items()):
        scale = scales.get((h, target))
        if scale is not None:
            result.by_group[(h, target, column, level)] = values * scale


PART_CHECK = {"open": "open", "leads": "closing", "new": "new"}
"""The check that calibrates each part of a forecast."""


def _correct_window(
    result: ForecastResult, key: tuple[int, str], factor, window: int, with_leads: bool
) -> np.ndarray | None:
    """Correct the total and parts of ``key`` (window, target) in place; return the total's
    factor per draw (None: nothing to correct).

    Without deals from leads, the total keeps the calibration of the total (the most stable
    check) and each part is corrected by its own check, then all are scaled, draw by draw, to add
    up to it: the split between sources follows each source's own errors. The checks are made
    without the leads, so the total's and the new deals' errors say nothing of how many deals the
    open leads bring, which the funnel forecasts from the leads themselves (after a jump in
    conversion those checks fall short for the very reason the leads already show). With that
    part, the deals the open leads bring take the check of the deal stage alone (``closing``:
    how the deals actually created were won), and the total is the sum of the corrected parts.
    """
    h, target = key
    if (h, target, "total") not in result.draws:
        return None
    raw = result.draws[(h, target, "total")]
    names = [(h, target, p) for p in PART_CHECK if (h, target, p) in result.draws]
    parts = []
    for name in names:
        f = factor((window, target, PART_CHECK[name[2]]))
        parts.append(result.draws[name] * (1.0 if f is None else f))
    summed = np.sum(parts, axis=0) if parts else raw
    if with_leads:
        total = summed
    else:
        f = factor((window, target))
        total = raw if f is None else raw * f
    scale = np.divide(total, summed, out=np.ones_like(total), where=summed > 0)
    for name, values in zip(names, parts, strict=True):
        result.draws[name] = values * scale
    result.draws[(h, target, "total")] = total
    return np.divide(total, raw, out=np.ones_like(total), where=raw > 0)


__all__ = ["CHECKED", "INNER_DRAWS", "PART_CHECK", "calibrate", "recalibrate"]
