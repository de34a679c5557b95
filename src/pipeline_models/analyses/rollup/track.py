"""The company's track record: the units' back-tests added up origin by origin.

At each past origin, target and horizon where every unit has a forecast, the company's actual is
the sum of the units' actuals and its forecast is the units' forecasts combined as the monthly
roll-up combines them (:data:`~pipeline_models.analyses.rollup.combine.ROLLUP_FORMULA`): each
unit's seven stored quantiles rebuilt as draws, the draws reordered by a Gaussian copula and
added. The correlation used at an origin is estimated from the other origins only, so the origin
scored never informs its own ρ. The same totals with ρ = 0 (``workbench_independent``) and ρ = 1
(``workbench_together``) show what the dependence estimate changes; baselines add up their
points. The table has the back-test's public format, so
:func:`~pipeline_models.analyses.forecast.track.score_table` scores it as it scores a unit's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.track import FORECAST_COLUMNS, MODELS
from pipeline_models.analyses.rollup.combine import (
    Dependence,
    combine_draws,
    dependence_from_scores,
    normal_scores,
    origin_text,
    quantile_draws,
)
from pipeline_models.models.forecaster import QUANTILE_COLUMNS, quantile_row

COMBINED_MODELS = {
    "workbench": None,
    "workbench_independent": 0.0,
    "workbench_together": 1.0,
}
"""The company forecasts built from the units' own: the estimated ρ (None), ρ = 0 and ρ = 1."""

_KEYS = ["origin", "target", "horizon_months"]
_COLUMNS = [*FORECAST_COLUMNS, "actual"]
_NO_QUANTILES = dict.fromkeys(QUANTILE_COLUMNS, np.nan)


def rollup_backtest(track: pd.DataFrame, random_seed: int, n: int = 4000) -> pd.DataFrame:
    """The company's track record in the back-test format (``FORECAST_COLUMNS`` + ``actual``),
    one row per origin, target, horizon and model.

    ``track`` is the units' track records stacked with a ``unit`` column. Only the origin,
    target and horizon combinations where every unit in ``track`` has a ``"workbench"`` row
    (all seven quantiles and the actual known) count; the company's actual there is the sum of
    the units' actuals. Models:

    - ``"workbench"``: each unit's forecast rebuilt as ``n`` draws
      (:func:`~pipeline_models.analyses.rollup.combine.quantile_draws`) and combined
      (:func:`~pipeline_models.analyses.rollup.combine.combine_draws`) with the ρ estimated
      from every other origin (leave-one-origin-out); point = median of the total;
    - ``"workbench_independent"`` (ρ = 0) and ``"workbench_together"`` (ρ = 1), the same way;
    - every baseline every unit has there (a point that is a number): the sum of the points,
      quantiles NaN.

    Combination ``i`` (in origin, target, horizon order) draws with seed ``random_seed + i``,
    the same for its three combined models. ``attrs["dependence"]`` maps each target to the
    :class:`~pipeline_models.analyses.rollup.combine.Dependence` estimated on all origins, at
    the target's shortest horizon rolled up. An empty track, or one without units, gives an
    empty table with these columns.
    """
    empty = pd.DataFrame(columns=_COLUMNS)
    empty.attrs["dependence"] = {}
    if track.empty or "unit" not in track or track["unit"].dropna().empty:
        return empty
    track = track.assign(origin=origin_text(track["origin"]))
    units = sorted(track["unit"].dropna().unique())
    forecasts = _complete_forecasts(track, units)
    if forecasts.empty:
        return empty
    baselines = _baseline_points(track, units)
    scores: dict[tuple[str, int], pd.DataFrame] = {}
    rows = []
    for index, ((origin, target, horizon), group) in enumerate(forecasts.groupby(_KEYS)):
        if (target, horizon) not in scores:
            scores[(target, horizon)] = normal_scores(track, target, horizon)
        z = scores[(target, horizon)]
        rho = dependence_from_scores(z.drop(index=origin, errors="ignore")).rho
        quantiles = group.sort_values("unit")[list(QUANTILE_COLUMNS)].to_dict("records")
        draws = [quantile_draws(q, n) for q in quantiles]
        actual = float(group["actual"].sum())
        for model, fixed in COMBINED_MODELS.items():
            total = combine_draws(draws, 0, rho if fixed is None else fixed, random_seed + index)
            row = quantile_row(total)
            rows.append(
                {**_row(origin, target, horizon, model, actual), **row, "point": row["q50"]}
            )
        rows.extend(
            {**_row(origin, target, horizon, model, actual), **_NO_QUANTILES, "point": point}
            for model, point in baselines.get((origin, target, horizon), [])
        )
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table.attrs["dependence"] = _dependence_by_target(forecasts, scores)
    return table


def _complete_forecasts(track: pd.DataFrame, units: list) -> pd.DataFrame:
    """The units' ``"workbench"`` rows (one per unit, origin, target and horizon) at the
    combinations where every unit in ``units`` has one with its quantiles and actual known."""
    rows = track[track["model"] == "workbench"].dropna(subset=[*QUANTILE_COLUMNS, "actual"])
    rows = rows.assign(horizon_months=rows["horizon_months"].astype(int))
    rows = rows.drop_duplicates(["unit", *_KEYS], keep="first")
    present = rows.groupby(_KEYS)["unit"].transform("nunique")
    return rows[present == len(units)].sort_values([*_KEYS, "unit"]).reset_index(drop=True)


def _baseline_points(track: pd.DataFrame, units: list) -> dict[tuple, list[tuple[str, float]]]:
    """The baselines every unit has at each origin, target and horizon (a point that is a
    number), each with the sum of the units' points, in :data:`MODELS` order then by name."""
    rows = track[~track["model"].isin(list(COMBINED_MODELS))].dropna(subset=["point"])
    rows = rows.assign(horizon_months=rows["horizon_months"].astype(int))
    rows = rows.drop_duplicates(["unit", *_KEYS, "model"], keep="first")
    found = rows.groupby([*_KEYS, "model"]).agg(units=("unit", "nunique"), point=("point", "sum"))
    found = found[found["units"] == len(units)].reset_index()
    rank = {model: i for i, model in enumerate(MODELS)}
    found["rank"] = found["model"].map(rank).fillna(len(MODELS))
    found = found.sort_values([*_KEYS, "rank", "model"])
    return {
        keys: list(zip(group["model"], group["point"].astype(float), strict=True))
        for keys, group in found.groupby(_KEYS, sort=False)
    }


def _row(origin: str, target: str, horizon: int, model: str, actual: float) -> dict:
    """The columns of a row that every model at one origin, target and horizon shares."""
    return {
        "origin": origin,
        "target": target,
        "horizon_months": int(horizon),
        "model": model,
        "actual": actual,
    }


def _dependence_by_target(
    forecasts: pd.DataFrame, scores: dict[tuple[str, int], pd.DataFrame]
) -> dict[str, Dependence]:
    """Each target's ρ estimated on all origins, at its shortest horizon rolled up."""
    shortest = forecasts.groupby("target")["horizon_months"].min()
    return {
        target: dependence_from_scores(scores[(target, int(horizon))])
        for target, horizon in shortest.items()
    }


__all__ = ["COMBINED_MODELS", "rollup_backtest"]
