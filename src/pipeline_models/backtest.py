"""Back-test: forecast from past origins and compare with what happened.

At each origin month-end the pipeline is rebuilt as it stood then (:func:`asof.pipeline_as_of`),
or taken from an archived export of that month where one exists; the forecaster is refitted on
it alone, and its forecast for the next ``h`` months is compared with the deals won in that window
according to the latest export. The baselines are scored the same way.

The latest export is counted once (:class:`forecast.PipelineCounts`) and every rebuilt pipeline is
read from the counts, so the back-test does not copy the table at each origin.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from .asof import month_end, outcomes_after, pipeline_as_of
from .forecast import (
    ForecastConfig,
    PipelineCounts,
    PipelineForecaster,
    run_rate,
    weighted_pipeline,
)
from .scoring import FORECAST_COLUMNS, QUANTILE_COLUMNS, quantile_row, score_table

MODELS = ("workbench", "weighted_pipeline", "run_rate")


def archived_snapshots(folder: str | Path | None) -> dict[str, Path]:
    """Exports in ``folder`` whose file name ends in ``YYYY-MM`` (e.g. ``opportunities_2026-09.csv``)."""
    if not folder:
        return {}
    found = {}
    for path in sorted(Path(folder).iterdir()):
        match = re.search(r"(\d{4}-\d{2})\.(csv|parquet|xlsx)$", path.name)
        if match and "lead" not in path.name.lower():
            found[match.group(1)] = path
    return found


def backtest(
    frame: pd.DataFrame,
    origins: Sequence[pd.Timestamp],
    horizons: Sequence[int] = (1, 2),
    config: ForecastConfig | None = None,
    random_seed: int = 20261,
    snapshots: dict[str, pd.DataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Forecasts of every model at every origin and horizon, with the actual outcome.

    Parameters
    ----------
    frame
        The latest canonical export: the source of actual outcomes (and of the as-of pipelines).
    snapshots
        Optional canonical exports by month (``YYYY-MM``): used as the pipeline at that origin
        instead of rebuilding it.
    """
    rows = []
    config = config or ForecastConfig()
    windows = tuple(range(1, max(horizons) + 1))
    counts = None  # the export counted once, for every origin rebuilt from it
    for index, origin in enumerate(origins):
        origin = pd.Timestamp(origin).normalize()
        snapshot = (snapshots or {}).get(f"{origin:%Y-%m}")
        seed = random_seed + index
        if snapshot is None and origin == month_end(origin):
            if counts is None:
                counts = PipelineCounts.from_frame(frame, config.group)
            forecaster = PipelineForecaster(config).fit_as_of(counts, origin)
            result = forecaster.predict_as_of(counts, windows, random_seed=seed)
            baselines = {"weighted_pipeline": counts.weighted_pipeline, "run_rate": counts.run_rate}
        else:
            # only the columns the forecaster, the baselines and the archived fields need
            columns = ["product", "region", config.group, "opportunity_id", "stage"]
            known = pipeline_as_of(snapshot if snapshot is not None else frame, origin, columns)
            if snapshot is not None:
                # an archived export knows its open deals' stage, amount and expected close date
                known = _restore_open_fields(known, snapshot, origin)
            forecaster = PipelineForecaster(config).fit(known, origin)
            open_deals = known[known["status"] == "open"]
            result = forecaster.predict(open_deals, windows, random_seed=seed, breakdown=())
            baselines = {
                "weighted_pipeline": partial(weighted_pipeline, known),
                "run_rate": partial(run_rate, known),
            }
        for horizon in horizons:
            if counts is not None and origin == month_end(origin):
                actual = counts.outcomes(origin, horizon)
            else:
                actual = outcomes_after(frame, origin, horizon)
            points = {model: baseline(origin, horizon) for model, baseline in baselines.items()}
            for target in ("count", "revenue"):
                draws = result.draws[(horizon, target, "total")]
                quantiles = quantile_row(draws)
                rows.append(
                    _row(
                        origin,
                        target,
                        horizon,
                        quantiles["q50"],
                        quantiles,
                        "workbench",
                        actual[target],
                    )
                )
                for model, values in points.items():
                    rows.append(
                        _row(origin, target, horizon, values[target], {}, model, actual[target])
                    )
        if progress:
            progress(f"  origin {origin.date()}: fitted on {forecaster.n_deals_} deals")
    table = pd.DataFrame(rows, columns=[*FORECAST_COLUMNS, "actual"])
    return table


def _row(origin, target, horizon, point, quantiles, model, actual) -> dict:
    row = {
        "origin": origin.date().isoformat(),
        "target": target,
        "horizon_months": int(horizon),
        "point": float(point),
        "model": model,
        "actual": float(actual),
    }
    for column in QUANTILE_COLUMNS:
        row[column] = float(quantiles[column]) if column in quantiles else np.nan
    return row


def _restore_open_fields(known: pd.DataFrame, snapshot: pd.DataFrame, origin) -> pd.DataFrame:
    """Put back what an archived export of the origin month knew about its open deals."""
    fields = ["stage", "amount", "close_date"]
    source = snapshot.set_index("opportunity_id")[fields]
    out = known.copy()
    open_ = out["status"] == "open"
    ids = out.loc[open_, "opportunity_id"]
    for column in fields:
        out.loc[open_, column] = ids.map(source[column]).to_numpy()
    return out


def write_forecasts(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the back-test CSV (public format: see :mod:`pipeline_models.scoring`)."""
    from .report import write_csv

    out = table.copy()
    for column in ("point", *QUANTILE_COLUMNS, "actual"):
        out[column] = out[column].round(4)
    return write_csv(out, path)


def format_scores(scores: pd.DataFrame) -> str:
    """The score table as aligned text for the terminal and notes."""
    shown = scores.copy()
    for column in ("wape", "bias", "coverage_50", "coverage_80"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    shown["crps"] = shown["crps"].map(lambda v: f"{v:,.1f}")
    return shown.to_string(index=False)


__all__ = ["backtest", "score_table", "write_forecasts", "archived_snapshots", "MODELS"]


def plot_track_record(table: pd.DataFrame, target: str = "revenue", horizon: int = 1, ax=None):
    """Past forecasts (median, 80% interval) against what happened, with the baselines."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    rows = table[(table["target"] == target) & (table["horizon_months"] == horizon)]
    wb = rows[rows["model"] == "workbench"].sort_values("origin")
    x = pd.to_datetime(wb["origin"])
    ax.fill_between(x, wb["q10"], wb["q90"], color="#93c5fd", alpha=0.5, label="80% interval")
    ax.plot(x, wb["point"], "o--", color="#1d4ed8", label="workbench (median)")
    for model, style in (("weighted_pipeline", ":"), ("run_rate", "-.")):
        base = rows[rows["model"] == model].sort_values("origin")
        ax.plot(
            pd.to_datetime(base["origin"]),
            base["point"],
            style,
            color="#6b7280",
            label=model.replace("_", " "),
        )
    ax.plot(x, wb["actual"], "o-", color="#111827", label="actual")
    ax.set_xlabel("forecast origin (month-end)")
    ax.set_ylabel(f"{target} won in the next {horizon} month{'s' if horizon > 1 else ''}")
    ax.legend(frameon=False, fontsize=8, ncols=3)
    ax.grid(alpha=0.3)
    return ax
