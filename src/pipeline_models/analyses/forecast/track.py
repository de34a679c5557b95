"""The forecast's track record: forecasts from past origins scored against what happened.

At each origin month-end the pipeline is rebuilt as it stood then
(:func:`~pipeline_models.data.asof.pipeline_as_of`), or taken from an archived export of that month
where one exists; the forecaster is refitted on it alone, and its forecast for the next ``h``
months is compared with the deals won in that window according to the latest export. The
baselines (weighted pipeline, run-rate) are scored the same way. The latest export is counted
once (:class:`~pipeline_models.models.forecaster.PipelineCounts`) and every rebuilt pipeline is
read from the counts, so the back-test does not copy the table at each origin.

The back-test file format (one row per origin, target, horizon and model) is a public interface::

    origin,target,horizon_months,point,q05,q10,q25,q50,q75,q90,q95,model[,actual]

``target`` is ``count`` (deals won) or ``revenue`` (revenue won) within the window after the
origin. Baselines that give only a point leave the quantile columns empty. Scores: WAPE, bias,
CRPS and interval coverage (:func:`score_table`).

Nothing known only after an origin enters what is scored at it: deals created by then, their
status then (a deal closed later is open), win rates and amounts of deals closed by then, never a
deal's current stage, amount, expected close date or probability. Where the export itself cannot
support an honest score (:mod:`~pipeline_models.analyses.forecast.honesty`: no lost deal recorded),
the models it would flatter are left out and the table's ``attrs["not_scored"]`` says why. The
CRM's own weighted pipeline (``crm_weighted_pipeline``) is scored only at origins with an archived
export of that month, which gives its probabilities as they stood then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.baselines import crm_weighted_pipelines, weighted_pipeline
from pipeline_models.analyses.forecast.honesty import backtest_limits, has_crm_probability
from pipeline_models.analyses.forecast.strength import with_score_odds
from pipeline_models.analyses.forecast.window import run_rate
from pipeline_models.contract.period import backtest_origins, export_date, month_end
from pipeline_models.data.asof import outcomes_after, pipeline_as_of, window_end
from pipeline_models.models.deal_score import CANONICAL_ATTRIBUTES, DealScoreModel
from pipeline_models.models.deal_score.deals import with_account_past
from pipeline_models.models.forecaster import (
    QUANTILE_COLUMNS,
    QUANTILES,
    ForecastConfig,
    ForecastResult,
    PipelineCounts,
    PipelineForecaster,
    quantile_row,
)
from pipeline_models.models.funnel import LeadFunnelModel
from pipeline_models.models.funnel.items import items_at
from pipeline_models.models.funnel.opportunities import OpportunityTable
from pipeline_models.models.period import refusal

MODELS = (
    "workbench",
    "weighted_pipeline",
    "cure_weighted_pipeline",
    "run_rate",
    "crm_weighted_pipeline",
)
FORECAST_COLUMNS = ("origin", "target", "horizon_months", "point", *QUANTILE_COLUMNS, "model")
TRACK_SEED = 20261
"""Seed of a back-test's first origin (origin ``i`` draws with ``seed + i``)."""

Baselines = dict[str, Callable[[pd.Timestamp, int], dict]]


def archived_snapshots(folder: str | Path | None) -> dict[str, Path]:
    """Exports in ``folder`` whose file name ends in ``YYYY-MM``, by month
    (e.g. ``opportunities_2026-09.csv``; lead files are left out)."""
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
    random_seed: int = TRACK_SEED,
    snapshots: dict[str, pd.DataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
    deal_score: bool = False,
    leads: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecasts of every model at every origin and horizon, with the actual outcome.

    Parameters
    ----------
    frame
        The latest canonical export: the source of actual outcomes (and of the as-of pipelines).
    snapshots
        Optional canonical exports by month (``YYYY-MM``): used as the pipeline at that origin
        instead of rebuilding it.
    deal_score
        Score each open deal at each origin with a deal score fitted on the deals closed by
        then (its chance then moves with its score, as in the report's forecast); every origin
        is then rebuilt deal by deal.
    leads
        The canonical leads table (its deals dated as the opportunities table dates them,
        :func:`~pipeline_models.io.lead_dates.reconcile_lead_dates`): at each origin a lead
        funnel is fitted on the leads as they stood then (a lead converted later is unconverted),
        and the deals its open and coming leads bring enter the forecast.

    Models the export cannot score honestly are left out; ``attrs["not_scored"]`` maps each to
    the reason (:func:`~pipeline_models.analyses.forecast.honesty.backtest_limits`). A window
    that ends after the export's last date is never scored: ``attrs["past_end"]`` lists each
    (origin, horizon) left out, and ``attrs["data_end"]`` is that date.
    """
    limits = backtest_limits(frame, leads)
    rows, past_end = [], []
    end = data_end(frame, leads)
    config = config or ForecastConfig()
    windows = tuple(range(1, max(horizons) + 1))
    counts = None  # the export counted once, for every origin rebuilt from it
    carry: dict = {} if deal_score else None  # each origin's score spreads start the next's
    funnels = _OriginFunnels(frame, leads)
    for index, origin in enumerate(origins):
        origin = pd.Timestamp(origin).normalize()
        scored = [h for h in horizons if window_end(origin, h) <= end]
        past_end.extend((origin.date().isoformat(), h) for h in horizons if h not in scored)
        if not scored:
            continue
        snapshot = (snapshots or {}).get(f"{origin:%Y-%m}")
        seed = random_seed + index
        funnel = funnels.at(origin, seed)
        if snapshot is None and origin == month_end(origin) and not deal_score:
            if counts is None:
                counts = PipelineCounts.from_frame(frame, config.group)
            forecaster = PipelineForecaster(config).fit_as_of(counts, origin)
            result = forecaster.predict_as_of(counts, windows, random_seed=seed, funnel=funnel)
            baselines = {
                "weighted_pipeline": counts.weighted_pipeline,
                "cure_weighted_pipeline": counts.cure_weighted_pipeline,
                "run_rate": counts.run_rate,
            }
        else:
            forecaster, result, baselines = _rebuilt_origin(
                frame, snapshot, origin, config, windows, seed, carry, funnel
            )
        for horizon in scored:
            if counts is not None and origin == month_end(origin):
                actual = counts.outcomes(origin, horizon)
            else:
                actual = outcomes_after(frame, origin, horizon)
            rows.extend(_horizon_rows(origin, horizon, result, baselines, actual))
        if progress:
            progress(f"  origin {origin.date()}: fitted on {forecaster.n_deals_} deals")
    table = pd.DataFrame(rows, columns=[*FORECAST_COLUMNS, "actual"])
    table = table[~table["model"].isin(list(limits))].reset_index(drop=True)
    table.attrs["not_scored"] = limits
    table.attrs["past_end"] = past_end
    table.attrs["data_end"] = end.date().isoformat()
    return table


DATA_END_SLACK_DAYS = 3
"""Days a month's last recorded event may fall before its end and the month still count as
complete: a month often ends on a weekend or holiday without a close."""


def data_end(frame: pd.DataFrame, leads: pd.DataFrame | None = None) -> pd.Timestamp:
    """The last day the export (and its leads) has complete outcomes for: its latest creation or
    close (or lead creation or conversion), plus :data:`DATA_END_SLACK_DAYS`."""
    dates = [export_date(frame)]
    if leads is not None and len(leads):
        dates.append(pd.concat([leads["created_date"], leads["converted_date"]]).max())
    latest = max(pd.Timestamp(d) for d in dates if pd.notna(d))
    return latest.normalize() + pd.Timedelta(days=DATA_END_SLACK_DAYS)


class _OriginFunnels:
    """Lead funnels fitted at origins of one export: its opportunities read once."""

    def __init__(self, frame: pd.DataFrame, leads: pd.DataFrame | None):
        self.leads = leads if leads is not None and len(leads) else None
        self.table = OpportunityTable(frame, self.leads) if self.leads is not None else None

    def at(self, origin: pd.Timestamp, seed: int) -> LeadFunnelModel | None:
        """The funnel fitted on the leads and deals as they stood at ``origin`` (None without
        leads)."""
        if self.table is None:
            return None
        items = items_at(self.table, self.leads, origin, back_test=True)
        return LeadFunnelModel().fit_items(items, random_seed=seed)


def track_record(
    frame: pd.DataFrame,
    period: str,
    months: int,
    horizon: int = 1,
    config: ForecastConfig | None = None,
    random_seed: int = TRACK_SEED,
    snapshots: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The :func:`backtest` of ``horizon``-month forecasts at the last ``months`` origins of
    ``period`` (:func:`~pipeline_models.contract.period.backtest_origins`: month-ends whose
    window ends by the period's end, with enough history before them).

    Exactly ``months`` origins are scored, fewer only when the history is too short; without
    any the table is empty.
    """
    origins = backtest_origins(frame, period, horizon_months=horizon, count=months)
    return backtest(
        frame,
        origins,
        horizons=(horizon,),
        config=config,
        random_seed=random_seed,
        snapshots=snapshots,
    )


def _rebuilt_origin(
    frame: pd.DataFrame,
    snapshot: pd.DataFrame | None,
    origin: pd.Timestamp,
    config: ForecastConfig,
    windows: tuple[int, ...],
    seed: int,
    carry: dict | None = None,
    funnel: LeadFunnelModel | None = None,
) -> tuple[PipelineForecaster, ForecastResult, Baselines]:
    """Fit and forecast on the pipeline at ``origin`` rebuilt as a table (from the archived
    ``snapshot`` when there is one), and its baselines. With ``carry`` (a dict, kept from origin
    to origin) the open deals are scored by a deal score fitted on the deals closed by then."""
    deal_score = carry is not None
    # only the columns the forecaster, the baselines and the archived fields need
    columns = ["product", "region", config.group, "opportunity_id", "stage"]
    if deal_score:
        columns += list(CANONICAL_ATTRIBUTES)
    known = pipeline_as_of(snapshot if snapshot is not None else frame, origin, columns)
    if snapshot is not None:
        # an archived export knows its open deals' stage, amount and expected close date
        known = _restore_open_fields(known, snapshot, origin)
    forecaster = PipelineForecaster(config).fit(known, origin)
    open_deals = known[known["status"] == "open"]
    if deal_score and refusal("deal_score", known) is None:
        known = with_account_past(known)  # read once, by the fit and by the open deals' odds
        score = DealScoreModel().fit_deals(
            known, random_seed=seed, start=carry.get("spreads"), out_of_fold=False
        )
        carry["spreads"] = score.spreads()
        open_deals = with_score_odds(open_deals, score, config.group, known, origin)
    result = forecaster.predict(open_deals, windows, random_seed=seed, breakdown=(), funnel=funnel)
    baselines = {
        "weighted_pipeline": partial(weighted_pipeline, known),
        "cure_weighted_pipeline": PipelineCounts.from_frame(
            known, config.group
        ).cure_weighted_pipeline,
        "run_rate": partial(run_rate, known),
    }
    if snapshot is not None and has_crm_probability(known):
        # an archived export gives the CRM's probabilities as they stood at the origin
        baselines["crm_weighted_pipeline"] = lambda o, h: crm_weighted_pipelines(known, o, (h,))[h]
    return forecaster, result, baselines


def _horizon_rows(
    origin: pd.Timestamp,
    horizon: int,
    result: ForecastResult,
    baselines: Baselines,
    actual: dict[str, float],
) -> list[dict]:
    """The rows of one origin and horizon: the forecaster's quantiles, the baselines' points."""
    rows = []
    points = {model: baseline(origin, horizon) for model, baseline in baselines.items()}
    for target in ("count", "revenue"):
        quantiles = quantile_row(result.draws[(horizon, target, "total")])
        rows.append(
            _row(origin, target, horizon, quantiles["q50"], quantiles, "workbench", actual[target])
        )
        for model, values in points.items():
            rows.append(_row(origin, target, horizon, values[target], {}, model, actual[target]))
    return rows


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
    fields = [c for c in ("stage", "amount", "close_date", "probability") if c in snapshot]
    source = snapshot.set_index("opportunity_id")[fields]
    out = known.copy()
    open_ = out["status"] == "open"
    ids = out.loc[open_, "opportunity_id"]
    for column in fields:
        out.loc[open_, column] = ids.map(source[column]).to_numpy()
    return out


def write_forecasts(table: pd.DataFrame, path: str | Path) -> Path:
    """Write the back-test CSV (the public format above)."""
    from pipeline_models.present.files import write_csv

    out = table.copy()
    for column in ("point", *QUANTILE_COLUMNS, "actual"):
        out[column] = out[column].round(4)
    return write_csv(out, path)


# ---------------------------------------------------------------------------------------------
# Scores


def crps_from_quantiles(actual: float, quantiles: dict[str, float]) -> float:
    """CRPS approximated by twice the mean pinball loss over the stored quantile levels.

    With the seven stored levels this is the quantile score that a reader of the CSV can
    reproduce exactly; for a point forecast (no quantiles) CRPS is the absolute error.
    """
    losses = []
    for level, column in zip(QUANTILES, QUANTILE_COLUMNS, strict=True):
        q = quantiles.get(column)
        if q is None or pd.isna(q):
            return float("nan")
        losses.append(max(level * (actual - q), (level - 1) * (actual - q)))
    return 2.0 * float(np.mean(losses))


def crps_from_draws(actual: float, draws: np.ndarray) -> float:
    """Exact CRPS of an empirical distribution: E|X - y| - E|X - X'| / 2."""
    x = np.sort(np.asarray(draws, dtype=float))
    n = len(x)
    term1 = np.mean(np.abs(x - actual))
    # E|X - X'| for sorted samples: 2 / n^2 * sum_i (2i - n - 1) x_i
    weights = 2 * np.arange(1, n + 1) - n - 1
    term2 = 2.0 * np.sum(weights * x) / (n * n)
    return float(term1 - 0.5 * term2)


def score_table(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Scores per model, target and horizon from a forecasts table with an ``actual`` column.

    WAPE = sum |point - actual| / sum actual; bias = sum (point - actual) / sum actual (positive:
    forecasts too high); CRPS averaged over origins; coverage = share of actuals inside the central
    50% (q25..q75) and 80% (q10..q90) intervals.
    """
    rows = []
    for (model, target, horizon), group in forecasts.groupby(
        ["model", "target", "horizon_months"], sort=True
    ):
        rows.append({"model": model, "target": target, **_scores(group, int(horizon))})
    return pd.DataFrame(rows)


def _scores(group: pd.DataFrame, horizon: int) -> dict:
    """The scores of one model, target and horizon over its origins."""
    actual = group["actual"].to_numpy(float)
    point = group["point"].to_numpy(float)
    denominator = np.sum(np.abs(actual))
    crps = [
        crps_from_quantiles(a, dict(zip(QUANTILE_COLUMNS, r, strict=True)))
        if not np.isnan(r).any()
        else abs(p - a)
        for a, p, r in zip(
            actual, point, group[list(QUANTILE_COLUMNS)].to_numpy(float), strict=True
        )
    ]
    has_intervals = group["q10"].notna().all()
    return {
        "horizon_months": horizon,
        "origins": len(group),
        "wape": float(np.sum(np.abs(point - actual)) / denominator) if denominator else np.nan,
        "bias": float(np.sum(point - actual) / denominator) if denominator else np.nan,
        "crps": float(np.mean(crps)),
        "coverage_50": float(np.mean((actual >= group["q25"]) & (actual <= group["q75"])))
        if has_intervals
        else np.nan,
        "coverage_80": float(np.mean((actual >= group["q10"]) & (actual <= group["q90"])))
        if has_intervals
        else np.nan,
    }


__all__ = [
    "FORECAST_COLUMNS",
    "MODELS",
    "TRACK_SEED",
    "archived_snapshots",
    "backtest",
    "crps_from_draws",
    "crps_from_quantiles",
    "score_table",
    "track_record",
    "write_forecasts",
]
