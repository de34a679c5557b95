"""The requirement's track record: at past origins, the funnel turned the leads actually generated
afterwards into predicted wins, against what was won.

At each origin the funnel model is refitted on the pipeline as it stood then (as
:func:`~pipeline_models.data.asof.pipeline_as_of` and :func:`~pipeline_models.models.funnel.items.
leads_as_of` rebuild it: the table is read once and each origin's view derived from it). The new
leads of the window are given their actual counts by source and month: the requirement turns a
number of leads into wins, and this checks exactly that step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast.honesty import NO_LOST, failures_kept, lost_recorded
from pipeline_models.analyses.forecast.in_hand import monthly_parts
from pipeline_models.analyses.forecast.track import quantile_row
from pipeline_models.analyses.lead_requirement.outlook import window_months
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.contract.period import backtest_origins, month_end
from pipeline_models.models.forecaster import (
    QUANTILE_COLUMNS,
    ForecastConfig,
    PipelineCounts,
    PipelineForecaster,
)
from pipeline_models.models.funnel.config import FunnelConfig
from pipeline_models.models.funnel.items import items_at
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.models.funnel.opportunities import WON, OpportunityTable, source_codes

TRACK_COLUMNS = (
    "origin",
    "target",
    "horizon_months",
    "point",
    *QUANTILE_COLUMNS,
    "model",
    "actual",
    "new_leads",
    "leads_for_actual",
    "pit",
)
"""Columns of the requirement's back-test table. ``pit``: where what happened fell in the
prediction, ``P(below it) + P(equal) / 2``; over origins it is uniform when every ``P(target)``
is calibrated (the share of origins with ``pit > a`` is ``1 - a``)."""
BACKTEST_DRAWS = 1000
"""Draws of each back-test fit without a config: enough for the intervals, half the time."""


def _new_leads_after(
    table: OpportunityTable,
    leads: pd.DataFrame | None,
    origin: pd.Timestamp,
    horizon: int,
    has_leads: bool,
) -> pd.DataFrame:
    """Leads (or, without leads, opportunities) created in each month after ``origin``."""
    months = window_months(origin, horizon)
    start = origin + pd.Timedelta(days=1)
    end = month_end(months[-1]) + pd.Timedelta(days=1)
    if has_leads:
        rows = leads[(leads["created_date"] >= start) & (leads["created_date"] < end)]
        src = rows["source"].astype("string").fillna(NONE_LEVEL)
        created = rows["created_date"]
        new = pd.crosstab(src.to_numpy(), created.dt.to_period("M").astype(str).to_numpy())
        return new.reindex(columns=months, fill_value=0)
    created = table.created
    rows = np.flatnonzero(
        (created >= np.datetime64(start, "ns")) & (created < np.datetime64(end, "ns"))
    )
    source, labels = source_codes(table.source[rows], list(table.source_labels))
    labels = np.array(labels, dtype=object)
    month = (
        created[rows].astype("datetime64[M]")
        - np.datetime64(pd.Period(months[0], "M").start_time, "M")
    ).astype(np.int64)
    counts = np.bincount(source * horizon + month, minlength=len(labels) * horizon)
    new = pd.DataFrame(counts.reshape(len(labels), horizon), index=labels, columns=months)
    new = new.groupby(level=0).sum()  # a source named like (none) or (all)
    return new[new.sum(axis=1) > 0]


def _from_leads(frame: pd.DataFrame, leads: pd.DataFrame | None) -> np.ndarray:
    """Which opportunities came from a lead of the leads table (all of them without one)."""
    if leads is None or not len(leads):
        return np.ones(len(frame), bool)
    opp_ids = leads["opportunity_id"].dropna().astype(str).unique()
    lead_ids = leads["lead_id"].dropna().astype(str).unique()
    by_opp = frame["opportunity_id"].astype("string").isin(opp_ids).to_numpy(bool)
    by_lead = frame["lead_id"].astype("string").isin(lead_ids).to_numpy(bool)
    return by_opp | (by_lead & frame["lead_id"].notna().to_numpy())


def _wins_after(
    table: OpportunityTable, from_lead: np.ndarray, origin: pd.Timestamp, horizon: int
) -> pd.DataFrame:
    """Per cumulative window (1..horizon months): deals and revenue won from what was in hand at
    ``origin`` and from leads (opportunities created later without a lead are not counted)."""
    start = np.datetime64(origin, "ns")
    counted = (table.created <= start) | from_lead
    won = np.flatnonzero(counted & (table.status == WON) & (table.close > start))
    close = table.close[won]
    amount = np.nan_to_num(table.amount[won], nan=0.0)
    rows = []
    for h in range(1, horizon + 1):
        inside = close <= np.datetime64(month_end(pd.Period(origin, "M") + h), "ns")
        rows.append(
            {
                "horizon_months": h,
                "count": float(inside.sum()),
                "revenue": float(amount[inside].sum()),
            }
        )
    return pd.DataFrame(rows)


def _origin_rows(
    origin: pd.Timestamp, outlook, actual: pd.DataFrame, horizon: int, new_leads: int
) -> list[dict]:
    """The back-test rows of one origin: per metric and cumulative window, the predicted
    quantiles and what happened."""
    rows = []
    for metric in ("count", "revenue"):
        cumulative = np.cumsum(outlook.total(metric), axis=1)
        for h in range(1, horizon + 1):
            draws = cumulative[:, h - 1]
            rows.append(
                {
                    "origin": origin.date().isoformat(),
                    "target": metric,
                    "horizon_months": h,
                    "point": float(np.median(draws)),
                    **quantile_row(draws),
                    "model": "lead funnel",
                    "actual": float(actual.loc[h, metric]),
                    "new_leads": new_leads,
                    "pit": mid_pit(draws, float(actual.loc[h, metric])),
                }
            )
    return rows


def mid_pit(draws: np.ndarray, actual: float) -> float:
    """Where ``actual`` falls among ``draws``: ``P(draw < actual) + P(draw == actual) / 2``."""
    return float(np.mean(draws < actual) + 0.5 * np.mean(draws == actual))


def backtest_requirement(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    origins: list[pd.Timestamp],
    horizon_months: int = 3,
    random_seed: int | None = None,
    config: FunnelConfig | None = None,
) -> pd.DataFrame:
    """Deals and revenue won in the 1..``horizon_months`` months after each past origin: predicted
    from what was known at the origin plus the leads actually generated afterwards, against what
    happened.

    Rows follow the forecast back-test format (``origin, target, horizon_months, point,
    q05..q95, model, actual``) with ``pit`` (:func:`mid_pit`), ``new_leads`` (the leads actually
    generated in the window)
    and, on each origin's row of deals won over the whole window, ``leads_for_actual``: the new leads the planner would have
    asked for to win, with an even chance, the deals actually won (compare with ``new_leads``).
    What was in hand is counted as the report's forecast counts it (:func:`_in_hand_at`). Without a ``config`` the fits use
    :data:`BACKTEST_DRAWS` draws.

    An export with won deals and no lost one cannot be scored honestly (the opportunities open
    at an origin, and those created after it, are exactly the later winners): the table is then
    empty and ``attrs["not_scored"]`` says why.
    """
    if not lost_recorded(frame) and not failures_kept(frame, leads):
        empty = pd.DataFrame(columns=[*TRACK_COLUMNS])
        empty.attrs["not_scored"] = {"lead funnel": NO_LOST}
        return empty
    has_leads = leads is not None and len(leads) > 0
    config = config or FunnelConfig(draws=BACKTEST_DRAWS)
    from_lead = _from_leads(frame, leads if has_leads else None)
    table = OpportunityTable(frame, leads if has_leads else None)
    counts = PipelineCounts.from_frame(frame, ForecastConfig().group)
    rows = []
    for i, origin in enumerate(origins):
        origin = pd.Timestamp(origin).normalize()
        seed = None if random_seed is None else random_seed + i
        items = items_at(table, leads if has_leads else None, origin, back_test=True)
        model = LeadFunnelModel(config).fit_items(items, random_seed=seed)
        hand = _in_hand_at(counts, model, origin, horizon_months, config.draws, seed)
        planner = LeadPlanner(model, horizon_months, random_seed=seed, in_hand=hand).prepare()
        new = _new_leads_after(table, leads, origin, horizon_months, has_leads)
        outlook = planner.new_leads(new, random_seed=seed)
        actual = _wins_after(table, from_lead, origin, horizon_months).set_index("horizon_months")
        added = _origin_rows(origin, outlook, actual, horizon_months, int(new.to_numpy().sum()))
        whole = [
            r for r in added if r["target"] == "count" and r["horizon_months"] == horizon_months
        ]
        whole[0]["leads_for_actual"] = _leads_for(planner, whole[0]["actual"])
        rows += added
    return pd.DataFrame(rows, columns=list(TRACK_COLUMNS))


def _in_hand_at(
    counts: PipelineCounts,
    funnel: LeadFunnelModel,
    origin: pd.Timestamp,
    horizon_months: int,
    draws: int,
    seed: int | None,
) -> dict[str, dict[str, np.ndarray]]:
    """What was in hand at ``origin`` as the report's forecast counts it: the forecaster fitted
    then (product and age, without deal scores) with the deals the funnel's open leads bring."""
    forecaster = PipelineForecaster(ForecastConfig(draws=draws)).fit_as_of(counts, origin)
    result = forecaster.predict_as_of(
        counts, tuple(range(1, horizon_months + 1)), random_seed=seed, funnel=funnel
    )
    return monthly_parts(result, horizon_months)


def _leads_for(planner: LeadPlanner, won: float) -> float:
    """New leads (in the then-current mix) the planner would have asked for to win ``won`` deals
    in its window with an even chance (NaN when no number reaches it)."""
    if won <= 0:
        return 0.0
    median = planner.requirement(won, "count", 0.5).median_case
    return float("nan") if median is None else float(median)


def coverage_table(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per target and window: origins, share of actuals inside the 50% and 80% intervals, and
    the mean error of the median (positive: predicted too high) as a share of the actuals."""
    rows = []
    for (target, h), g in backtest.groupby(["target", "horizon_months"]):
        rows.append(
            {
                "target": target,
                "horizon_months": int(h),
                "origins": len(g),
                "inside_50": float(((g["actual"] >= g["q25"]) & (g["actual"] <= g["q75"])).mean()),
                "inside_80": float(((g["actual"] >= g["q10"]) & (g["actual"] <= g["q90"])).mean()),
                "bias": float((g["point"] - g["actual"]).sum() / max(g["actual"].sum(), 1e-12)),
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "BACKTEST_DRAWS",
    "TRACK_COLUMNS",
    "backtest_origins",
    "backtest_requirement",
    "coverage_table",
    "mid_pit",
]
