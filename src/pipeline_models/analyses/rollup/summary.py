"""The company's forecast from its units' forecasts: each window's deals and revenue won as a
distribution, the chance of reaching the units' targets together, and the roll-up's track record.

Each unit's forecast report writes its predictive draws (``files/forecast/draws.csv``, one row per
window and draw). The units are combined by :data:`~.combine.ROLLUP_FORMULA`: each unit keeps its
own distribution and its own paths across windows, and the units move together with one common
correlation, estimated from how their forecasts missed together in their track records
(:func:`~.combine.estimate_dependence`). A reordering never changes a unit's mean, so the
company's expected figures are exactly the sums of the units' own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.track import score_table
from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.analyses.rollup.combine import (
    Dependence,
    combine_draws,
    estimate_dependence,
)
from pipeline_models.analyses.rollup.track import rollup_backtest

METRICS = ("count", "revenue")


@dataclass
class UnitForecast:
    """What the roll-up reads of one unit's published set."""

    name: str
    draws: pd.DataFrame  # window, months, draw, count, revenue
    currency: str = ""
    target_revenue: float = 0.0
    track: pd.DataFrame | None = None  # the unit's track record (back-test format)


@dataclass
class CompanyForecast:
    """The roll-up: per window the company's figures, how units are taken to move together, the
    roll-up's own track record, and which units it could not add up."""

    table: pd.DataFrame  # one row per window (see :func:`company_forecast`)
    units: list[str]
    dependence: Dependence
    revenue_reason: str = ""  # why revenue is not added up ("" when it is)
    currency: str = ""
    target_revenue: float = 0.0
    backtest: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    excluded: dict[str, str] = field(default_factory=dict)  # unit -> why it is not in the sum


def company_forecast(units: list[UnitForecast], random_seed: int) -> CompanyForecast | None:
    """The company's forecast over ``units`` (``None`` without any unit that has draws).

    ``table`` has, per window (the units' own labels, in their order), for deals (``count``) and
    revenue: ``*_expected`` (the sum of the units' means), ``*_median``, ``*_low`` and ``*_high``
    (the planner's interval), ``*_low_independent``/``*_high_independent`` (were the units
    independent) and ``*_low_together``/``*_high_together`` (were they to move fully together),
    and ``p_reach_target`` on the quarter's row where every unit has a revenue target.
    """
    kept, excluded = _matching(units)
    if not kept:
        return None
    windows = list(dict.fromkeys(kept[0].draws["window"]))
    currencies = sorted({u.currency for u in kept if u.currency})
    revenue_reason = (
        f"the units report in different currencies ({', '.join(currencies)})"
        if len(currencies) > 1
        else ""
    )
    track = _stacked_tracks(kept)
    metric = "count" if revenue_reason else "revenue"
    dependence = estimate_dependence(track, metric) if track is not None else _no_track(kept)
    matrices = [_matrix(u.draws, windows) for u in kept]
    key = _key_column(windows, metric)
    totals = {
        name: combine_draws(matrices, key, rho, random_seed)
        for name, rho in (("", dependence.rho), ("_independent", 0.0), ("_together", 1.0))
    }
    targets = [u.target_revenue for u in kept]
    target = float(sum(targets)) if all(t > 0 for t in targets) and not revenue_reason else 0.0
    table = _table(windows, totals, target, bool(revenue_reason))
    out = CompanyForecast(
        table=table,
        units=[u.name for u in kept],
        dependence=dependence,
        revenue_reason=revenue_reason,
        currency="" if revenue_reason else (currencies[0] if currencies else ""),
        target_revenue=target,
        excluded=excluded,
    )
    if track is not None:
        out.backtest = rollup_backtest(track, random_seed)
        if not out.backtest.empty:
            out.scores = score_table(out.backtest)
    return out


def _matching(units: list[UnitForecast]) -> tuple[list[UnitForecast], dict[str, str]]:
    """The units whose draws cover the same windows as the first unit with draws."""
    kept, excluded, windows = [], {}, None
    for unit in units:
        if unit.draws is None or unit.draws.empty:
            excluded[unit.name] = "its forecast wrote no draws"
            continue
        own = list(dict.fromkeys(unit.draws["window"]))
        if windows is None:
            windows = own
        if own != windows:
            excluded[unit.name] = "its forecast covers other months than the first unit's"
            continue
        kept.append(unit)
    return kept, excluded


def _no_track(units: list[UnitForecast]) -> Dependence:
    if len(units) < 2:
        return Dependence(0.0, "single unit", 0, 0, "one unit: nothing to move together with")
    return Dependence(
        1.0,
        "assumed",
        0,
        0,
        "assumed: the units have no track record to tell how they move together, so they are "
        "taken to move fully together, which gives the widest interval",
    )


def _stacked_tracks(units: list[UnitForecast]) -> pd.DataFrame | None:
    tracks = [
        u.track.assign(unit=u.name) for u in units if u.track is not None and not u.track.empty
    ]
    return pd.concat(tracks, ignore_index=True) if tracks else None


def _matrix(draws: pd.DataFrame, windows: list[str]) -> np.ndarray:
    """One unit's draws as draws x (window, metric) columns, windows in ``windows`` order."""
    wide = draws.pivot(index="draw", columns="window", values=list(METRICS))
    columns = [(metric, window) for window in windows for metric in METRICS]
    return wide[columns].to_numpy(float)


def _key_column(windows: list[str], metric: str) -> int:
    """The column by which units are ranked against each other: ``metric`` in the last window
    (the quarter's, or the longest)."""
    return (len(windows) - 1) * len(METRICS) + METRICS.index(metric)


def _table(windows: list[str], totals: dict, target: float, no_revenue: bool) -> pd.DataFrame:
    low, _, high = FORECAST_QUANTILES
    rows = []
    for w, window in enumerate(windows):
        row: dict = {"window": window}
        for m, metric in enumerate(METRICS):
            column = w * len(METRICS) + m
            if metric == "revenue" and no_revenue:
                continue
            main = totals[""][:, column]
            row[f"{metric}_expected"] = float(main.mean())
            row[f"{metric}_median"] = float(np.median(main))
            row[f"{metric}_low"], row[f"{metric}_high"] = np.quantile(main, [low, high])
            for name in ("_independent", "_together"):
                values = np.quantile(totals[name][:, column], [low, high])
                row[f"{metric}_low{name}"], row[f"{metric}_high{name}"] = values
        if target > 0 and str(window).startswith("quarter"):
            revenue = totals[""][:, w * len(METRICS) + METRICS.index("revenue")]
            row["p_reach_target"] = float(np.mean(revenue >= target))
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["CompanyForecast", "UnitForecast", "company_forecast"]
