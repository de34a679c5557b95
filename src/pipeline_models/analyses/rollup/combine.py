"""Units' forecasts added up into a company forecast, with the units' misses moving together.

Each unit's forecast is a set of predictive draws: one draw is one simulated future path, a row
of values for every window and metric. The company total is::

    company total = Σ_u F_u⁻¹(Φ(Z_u)),  Z ~ N(0, (1−ρ)·I + ρ·11ᵀ)

a Gaussian copula with one common correlation ρ ≥ 0 between every two units (the units are
exchangeable). It is applied by reordering each unit's own draws (Iman–Conover style): unit
``u``'s draws are sorted by one key column and its draw of rank ``r`` goes to the row where
``Z_u`` has rank ``r`` (:func:`combine_draws`). Every unit keeps its own distribution and every
path across windows and metrics within it, so the company mean is exactly the sum of the units'
means; only how the units' highs and lows line up changes. ``ρ = 0`` lines them up at random
(independent units), ``ρ = 1`` puts every unit's k-th smallest draw on the same row (the units
move fully together: the widest interval).

ρ is read from the units' track records (:func:`estimate_dependence`): at each past origin a
unit's actual outcome is placed within its own forecast (:func:`pit_from_quantiles`), turned into
a normal score, and the scores of every two units are correlated over the origins they share.
A unit's stored forecast (seven quantiles) is turned back into draws by
:func:`quantile_draws`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import norm

from pipeline_models.models.forecaster import QUANTILE_COLUMNS, QUANTILES

ROLLUP_FORMULA = "company total = Σ_u F_u⁻¹(Φ(Z_u)),  Z ~ N(0, (1−ρ)·I + ρ·11ᵀ)"
"""How units' draws are added up: a Gaussian copula with one common correlation ρ ≥ 0."""

MIN_ORIGINS = 4
"""Past origins two units must share for their forecasts' misses to be correlated."""

PIT_LIMITS = (0.005, 0.995)
"""Where a forecast's CDF at an actual is clipped, so its normal score stays finite (±2.58)."""

_SOURCES = ("estimated", "assumed", "single unit")
_FLAT_SPREAD = 1e-9
"""A unit whose normal scores spread less than this over a pair's origins gives no pair."""


@dataclass(frozen=True)
class Dependence:
    """The common correlation ρ between units' forecasts and where it comes from.

    ``source`` is ``"estimated"`` (from the track records), ``"assumed"`` (too few shared past
    origins: ρ = 1, the widest interval) or ``"single unit"`` (nothing to combine: ρ = 0).
    ``origins`` counts the past origins that entered a counted pair, ``pairs`` the unit pairs
    counted, and ``reason`` says it in one sentence a business reader understands.
    """

    rho: float
    source: str
    origins: int
    pairs: int
    reason: str

    def __post_init__(self) -> None:
        if self.source not in _SOURCES:
            raise ValueError(f"source must be one of {_SOURCES}, not {self.source!r}")
        if not 0.0 <= self.rho <= 1.0:
            raise ValueError(f"rho must lie in [0, 1], not {self.rho}")


# ---------------------------------------------------------------------------------------------
# One unit's forecast from its seven stored quantiles


def _quantile_knots(quantiles: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray] | None:
    """Levels 0, 0.05, ..., 0.95, 1 and the quantile function's values there, or None when a
    stored quantile is missing or NaN.

    Between stored levels the function is linear. The knots at levels 0 and 1 continue the
    outermost segments' slopes; they only mark a flat stretch reaching the ends (the tails
    themselves are normal, :func:`_tail_scales`). Values are made non-decreasing (a stored
    quantile below the one before it is raised to it).
    """
    values = [quantiles.get(column) for column in QUANTILE_COLUMNS]
    if any(value is None or pd.isna(value) for value in values):
        return None
    stored = np.maximum.accumulate(np.asarray(values, dtype=float))
    levels = np.asarray(QUANTILES, dtype=float)
    low_slope = (stored[1] - stored[0]) / (levels[1] - levels[0])
    high_slope = (stored[-1] - stored[-2]) / (levels[-1] - levels[-2])
    low = stored[0] - low_slope * levels[0]
    high = stored[-1] + high_slope * (1.0 - levels[-1])
    return (
        np.concatenate([[0.0], levels, [1.0]]),
        np.concatenate([[low], stored, [high]]),
    )


def pit_from_quantiles(actual: float, quantiles: Mapping[str, float]) -> float:
    """The forecast's CDF at ``actual``, from its seven stored quantiles (``q05`` ... ``q95``).

    The quantile function is piecewise linear between the stored levels and continues beyond
    q05 and q95 as a normal tail scaled to the outermost stored segment (:func:`_tail_scales`);
    the CDF is its inverse. Where several levels share the actual's value (a flat stretch, e.g. all
    quantiles zero and nothing won) the result is the middle of those levels. The result is
    clipped to :data:`PIT_LIMITS`. A NaN actual or quantile gives NaN.
    """
    knots = _quantile_knots(quantiles)
    if knots is None or actual is None or pd.isna(actual):
        return float("nan")
    levels, values = knots
    actual = float(actual)
    tied = levels[values == actual]
    low_scale, high_scale = _tail_scales(levels, values)
    if len(tied) >= 2:
        level = 0.5 * (tied[0] + tied[-1])
    elif actual < values[1]:  # below q05: the normal tail of the lowest stored segment
        level = _tail_level(actual - values[1], low_scale, levels[1])
    elif actual > values[-2]:  # above q95
        level = _tail_level(actual - values[-2], high_scale, levels[-2])
    else:
        upper = int(np.searchsorted(values, actual, side="right"))
        lower = upper - 1
        share = (actual - values[lower]) / (values[upper] - values[lower])
        level = levels[lower] + share * (levels[upper] - levels[lower])
    return float(np.clip(level, *PIT_LIMITS))


def quantile_draws(quantiles: Mapping[str, float], n: int) -> np.ndarray:
    """``n`` draws of a forecast given by its seven stored quantiles, sorted ascending.

    The draws are the quantile function of :func:`pit_from_quantiles` (piecewise linear, normal
    tails beyond q05 and q95) at levels ``(i + 0.5) / n``, clipped below at
    0 (deals and revenue won are never negative). Assumes every stored quantile is a number;
    raises ``ValueError`` otherwise.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    knots = _quantile_knots(quantiles)
    if knots is None:
        raise ValueError("every stored quantile (q05 ... q95) must be a number")
    levels, values = knots
    at = (np.arange(n) + 0.5) / n
    draws = np.interp(at, levels, values)
    low_scale, high_scale = _tail_scales(levels, values)
    z = norm.ppf(at)
    below, above = at < levels[1], at > levels[-2]
    draws[below] = values[1] + low_scale * (z[below] - norm.ppf(levels[1]))
    draws[above] = values[-2] + high_scale * (z[above] - norm.ppf(levels[-2]))
    return np.maximum(draws, 0.0)


def _tail_scales(levels: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """The scale of a normal tail beyond q05 and beyond q95: the outermost stored segment's
    rise per unit of the normal's quantile, so that a normal forecast is rebuilt exactly in its
    tails (a straight continuation would cut them short)."""
    low = (values[2] - values[1]) / (norm.ppf(levels[2]) - norm.ppf(levels[1]))
    high = (values[-2] - values[-3]) / (norm.ppf(levels[-2]) - norm.ppf(levels[-3]))
    return float(low), float(high)


def _tail_level(distance: float, scale: float, edge: float) -> float:
    """The level ``distance`` beyond the stored edge level ``edge`` in a normal tail of
    ``scale`` (a flat tail puts everything beyond the edge at the edge's far side)."""
    if scale <= 0:
        return 0.0 if distance < 0 else 1.0
    return float(norm.cdf(norm.ppf(edge) + distance / scale))


# ---------------------------------------------------------------------------------------------
# The common correlation, from the units' track records


def normal_scores(
    track: pd.DataFrame, target: str, horizon: int = 1, exclude_origin: str | None = None
) -> pd.DataFrame:
    """Normal scores ``Φ⁻¹(PIT)`` of the units' actuals within their own forecasts: one row per
    origin (ISO date text), one column per unit, NaN where a unit has no forecast.

    ``track`` is the units' track records stacked with a ``unit`` column; only rows of model
    ``"workbench"`` for ``target`` and ``horizon`` count, and ``exclude_origin`` is left out.
    A unit with several such rows at one origin is read from the first.
    """
    if track.empty or "unit" not in track:
        return pd.DataFrame()
    rows = track[
        (track["model"] == "workbench")
        & (track["target"] == target)
        & (track["horizon_months"].astype(int) == int(horizon))
    ].copy()
    rows["origin"] = origin_text(rows["origin"])
    if exclude_origin is not None:
        rows = rows[rows["origin"] != origin_text(pd.Series([exclude_origin])).iloc[0]]
    rows = rows.drop_duplicates(["unit", "origin"], keep="first")
    pits = [
        pit_from_quantiles(row["actual"], row)
        for row in rows[["actual", *QUANTILE_COLUMNS]].to_dict("records")
    ]
    rows["z"] = norm.ppf(np.asarray(pits, dtype=float))
    scores = rows.pivot(index="origin", columns="unit", values="z")
    return scores.sort_index().sort_index(axis=1)


def origin_text(origins: pd.Series) -> pd.Series:
    """Origins as ISO date text (``2026-09-30``); values that are not dates are kept as text."""
    dates = pd.to_datetime(origins, errors="coerce", format="ISO8601")
    text = origins.astype(str)
    return text.where(dates.isna(), dates.dt.strftime("%Y-%m-%d"))


def estimate_dependence(
    track: pd.DataFrame, target: str, horizon: int = 1, exclude_origin: str | None = None
) -> Dependence:
    """The common correlation ρ of the units' forecast misses for ``target`` at ``horizon``.

    ``track`` is the units' track records (the back-test format) stacked with a ``unit``
    column; rows of model ``"workbench"`` count, origin ``exclude_origin`` left out (to score
    an origin with a ρ it did not inform). Each actual becomes a normal score
    ``z = Φ⁻¹(PIT)`` (:func:`pit_from_quantiles`). For every two units sharing at least
    :data:`MIN_ORIGINS` origins, their scores are standardized over those origins and
    correlated (Pearson); a unit whose scores there barely vary gives no pair. ρ is the average
    of the pairs' correlations weighted by (shared origins − 3), clipped to [0, 1].

    Fewer than two units: ρ = 0 (``"single unit"``). No pair counted: ρ = 1 (``"assumed"``),
    the units taken to move fully together, the widest interval.
    """
    return dependence_from_scores(normal_scores(track, target, horizon, exclude_origin))


def dependence_from_scores(scores: pd.DataFrame) -> Dependence:
    """:func:`estimate_dependence` from the normal scores of :func:`normal_scores` (origins by
    units)."""
    units = list(scores.columns)
    if len(units) < 2:
        what = "only one unit has" if units else "no unit has"
        return Dependence(
            0.0, "single unit", 0, 0, f"{what} a track record here, so there is nothing to combine"
        )
    values = scores.to_numpy(float)
    present = ~np.isnan(values)
    total, weights, pairs, shared_enough = 0.0, 0.0, 0, False
    used_origins, used_units = np.zeros(len(scores), bool), set()
    for a, b in combinations(range(len(units)), 2):
        common = present[:, a] & present[:, b]
        m = int(common.sum())
        shared_enough |= m >= MIN_ORIGINS
        r = _pair_correlation(values[common, a], values[common, b]) if m >= MIN_ORIGINS else None
        if r is None:
            continue
        total, weights, pairs = total + (m - 3) * r, weights + (m - 3), pairs + 1
        used_origins |= common
        used_units.update((a, b))
    if pairs == 0:
        return _assumed(shared_enough)
    raw = total / weights
    origins = int(used_origins.sum())
    reason = (
        f"estimated from how the {len(used_units)} units' forecasts missed together over "
        f"{origins} past months"
    )
    if raw < 0:
        reason += "; they showed no sign of missing together, so they are taken as independent"
    return Dependence(float(np.clip(raw, 0.0, 1.0)), "estimated", origins, pairs, reason)


def _pair_correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of two units' normal scores over their shared origins, each
    standardized there; None when either barely varies."""
    sx, sy = x.std(), y.std()
    if sx < _FLAT_SPREAD or sy < _FLAT_SPREAD:
        return None
    return float(np.mean((x - x.mean()) / sx * (y - y.mean()) / sy))


def _assumed(shared_enough: bool) -> Dependence:
    """ρ = 1 when no pair of units can be correlated, with the reason why."""
    if shared_enough:
        why = f"no two units' forecasts missed by varying amounts over {MIN_ORIGINS} shared months"
    else:
        why = f"fewer than {MIN_ORIGINS} past months shared by two units"
    reason = f"assumed: {why}, so the units are taken to move fully together, the widest interval"
    return Dependence(1.0, "assumed", 0, 0, reason)


# ---------------------------------------------------------------------------------------------
# Units' draws combined


def combine_draws(
    units: Sequence[np.ndarray], key: int, rho: float, random_seed: int
) -> np.ndarray:
    """The company's draws: the units' draws reordered by a Gaussian copula and added row by row.

    Each unit's draws are a matrix, draws by columns (a 1-D array is one column); every unit has
    the same columns in the same order. Units with fewer draws than the largest ``n`` are
    brought to ``n`` by taking rows at evenly spaced positions of their rows sorted by column
    ``key``. Normal scores ``Z`` (``n`` × units) are drawn with
    ``np.random.default_rng(random_seed)`` as ``Z_u = √ρ·G + √(1−ρ)·E_u`` (exactly
    equicorrelated with correlation ``rho``); unit ``u``'s rows sorted by column ``key`` (ties
    kept in their order) are placed so that its row of rank ``r`` lands where ``Z_u`` has rank
    ``r``. Every unit's rows stay whole, so with equal numbers of draws each column's mean is
    the sum of the units' means; with ``rho = 1`` the total's ``key`` column is the sum of the
    units' sorted ``key`` columns (comonotone).

    Returns ``n`` × columns, or a 1-D array of ``n`` when every unit was given as 1-D. One unit
    comes back as it was given.
    """
    if not units:
        raise ValueError("at least one unit's draws are needed")
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must lie in [0, 1], not {rho}")
    flat = all(np.ndim(unit) == 1 for unit in units)
    matrices = [_as_matrix(unit) for unit in units]
    columns = {matrix.shape[1] for matrix in matrices}
    if len(columns) != 1:
        raise ValueError(f"every unit needs the same columns, not {sorted(columns)}")
    if not 0 <= key < columns.pop():
        raise ValueError(f"key column {key} is outside the units' columns")
    if len(matrices) == 1:
        total = matrices[0].copy()
        return total[:, 0] if flat else total
    n = max(matrix.shape[0] for matrix in matrices)
    rng = np.random.default_rng(random_seed)
    common = rng.standard_normal(n)
    own = rng.standard_normal((n, len(matrices)))
    scores = np.sqrt(rho) * common[:, None] + np.sqrt(1.0 - rho) * own
    total = np.zeros((n, matrices[0].shape[1]))
    for u, matrix in enumerate(matrices):
        ranked = matrix[np.argsort(matrix[:, key], kind="stable")]
        if len(ranked) != n:
            ranked = ranked[(2 * np.arange(n) + 1) * len(ranked) // (2 * n)]
        placed = np.empty_like(ranked)
        placed[np.argsort(scores[:, u], kind="stable")] = ranked
        total += placed
    return total[:, 0] if flat else total


def _as_matrix(draws: np.ndarray) -> np.ndarray:
    """Draws as a float matrix, draws by columns (a 1-D array as one column)."""
    matrix = np.asarray(draws, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError("each unit's draws must be a non-empty vector or matrix")
    return matrix


__all__ = [
    "MIN_ORIGINS",
    "PIT_LIMITS",
    "ROLLUP_FORMULA",
    "Dependence",
    "combine_draws",
    "dependence_from_scores",
    "estimate_dependence",
    "normal_scores",
    "origin_text",
    "pit_from_quantiles",
    "quantile_draws",
]
