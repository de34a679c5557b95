"""Stage moves, time in stage and slippage read from a CRM's stage history.

Two exports show where a deal stood on two days (:mod:`.stages` infers its moves from them); a
stage history (:data:`~pipeline_models.contract.schema.HISTORY_COLUMNS`, one row per change)
shows the path itself. How it is read:

stage path
    a deal's rows logged by ``as_of``, in the order of ``changed_date`` (rows of one day keep the
    order they were logged in); a blank stage is carried forward from the rows before it. A
    *visit* starts where the stage, among the open stages of ``order``, changes. Stages outside
    the order (the closed stages, or a status such as "On hold") start no visit: time spent there
    counts to the visit before.
closing
    the opportunities table says how a deal ended: a deal won or lost by ``as_of`` ends the
    visit it was in on its close date, ``passed`` (won) or ``lost`` (lost), and rows after that
    date are ignored. Every other visit ends when the next one starts: ``passed`` forward,
    ``back`` to an earlier stage; the last visit of an open deal is ongoing (``stayed``).
skipped stages
    a deal that jumps forward (or is won from an earlier stage than the last) passed the stages
    in between without a visit; as in :func:`~.stages.stage_moves` they count as passed, with
    no time spent in them.
left out
    deals missing from the opportunities table (no status, no groups) and rows before a deal's
    first open stage.

:func:`history_moves` gives the ``moves`` table of :func:`~.stages.stage_moves` for the window
``(since, as_of]``, so :func:`~.stages.stage_conversion` reads it unchanged; its ``gap_days``
is then ``(as_of - since).days``: ``start`` marks deals in the stage at ``since``, and their
exits within the window give the exit-rate estimate of months in stage two exports would give, from
the real moves (it assumes exits spread evenly over a short gap: for a window longer than a month
or two, read time in stage from :func:`history_time_in_stage`). :func:`history_time_in_stage` measures time in stage directly: each visit's
dwell, censored when ongoing. Its mean is ``exposure / exits`` (the total time deals spent in the
stage over the exits from it: the exponential rate's estimate, and by Little's law the mean dwell
whenever the flow through the stage is steady, whatever the dwell's shape), pooled over the levels
of a group like :mod:`.stages`; its median is the Kaplan-Meier median, deals in the stage before
the window entering the risk set at the age they had then.

:func:`slippage` counts, per deal, how its expected close date and amount changed while it was
open; :func:`slippage_summary` turns that into shares of open deals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.fields import (
    GROUPS,
    LOST,
    OPEN,
    WON,
    deal_status,
    level_text,
)
from pipeline_models.analyses.patterns.stages import StageOrder
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.contract.labels import DAYS_PER_MONTH, NONE_LEVEL
from pipeline_models.models.pooling import gamma_poisson_rates

PUSH_COUNTS = (1, 2, 3)
"""Pushes at which the slippage summary counts open deals: one push is routine, a second makes a
pattern, and after a third the date says little about when the deal will close."""

_VISIT_COLUMNS = ["stage", "position", "entered", "left", "outcome", "skipped", "amount"]
_MOVE_COLUMNS = ["stage", "outcome", "start", "amount"]
_DWELL_COLUMNS = ["visits", "completed", "ongoing", "exposure_days"]  # counts first
_DWELL_COLUMNS += ["mean_completed_days", "median_days"]


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """``table[name]``, or an empty column when the table lacks it."""
    return table[name] if name in table else pd.Series(np.nan, index=table.index, dtype=object)


def _day(value: pd.Timestamp | str) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _history_rows(history: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Rows logged by the end of ``as_of`` (a new table): text ids, dates as days, blank stages
    missing, sorted stably by deal and time of change."""
    stage = _column(history, "stage").astype("string").str.strip()
    rows = pd.DataFrame(
        {
            "opportunity_id": _column(history, "opportunity_id").astype("string"),
            "changed": pd.to_datetime(_column(history, "changed_date"), errors="coerce"),
            "stage": stage.replace("", pd.NA).astype(object),
            "amount": pd.to_numeric(_column(history, "amount"), errors="coerce").astype(float),
            "close_date": pd.to_datetime(_column(history, "close_date"), errors="coerce"),
        }
    )
    rows = rows[rows["opportunity_id"].notna() & rows["changed"].notna()]
    rows = rows.sort_values(["opportunity_id", "changed"], kind="stable", ignore_index=True)
    rows["changed"] = rows["changed"].dt.normalize()
    rows["opportunity_id"] = rows["opportunity_id"].astype(object)
    return rows[rows["changed"] <= as_of].reset_index(drop=True)


def _deals(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per deal of the opportunities table (indexed by id): status, the day it closed when that
    was by ``as_of`` (else missing), its amount and groups."""
    groups = [g for g in GROUPS if g in frame]
    status = deal_status(frame)
    close = pd.to_datetime(_column(frame, "close_date"), errors="coerce").dt.normalize()
    closed = status.isin([WON, LOST]) & (close <= as_of)
    out = pd.DataFrame(
        {
            "status": status.to_numpy(),
            "closed_on": close.where(closed).to_numpy(),
            "stage_now": _column(frame, "stage").to_numpy(),
            "amount_now": pd.to_numeric(_column(frame, "amount"), errors="coerce").to_numpy(),
            **{g: frame[g].to_numpy() for g in groups},
        },
        index=pd.Index(frame["opportunity_id"].astype("string").astype(object), name=None),
    )
    return out[~out.index.duplicated()]


def _close_day(deals: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """The close day (by ``as_of``) of the deal of each history row; missing while open."""
    days = deals["closed_on"].reindex(rows["opportunity_id"]).to_numpy()
    return pd.Series(days, index=rows.index, dtype="datetime64[ns]")


def _open_path(
    history: pd.DataFrame, deals: pd.DataFrame, order: StageOrder, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Rows of deals in ``deals`` up to their close, with the position of the open stage they are
    in (carried forward; missing before the first) and the amount in force (carried forward)."""
    rows = _history_rows(history, as_of)
    rows = rows[rows["opportunity_id"].isin(deals.index)]
    closed_on = _close_day(deals, rows)
    rows = rows[closed_on.isna() | (rows["changed"] <= closed_on)].reset_index(drop=True)
    position = {s.strip().lower(): float(i) for i, s in enumerate(order.stages)}
    known = rows["stage"].astype("string").str.lower().map(position).astype(float)
    by_deal = rows["opportunity_id"]
    rows["position"] = known.groupby(by_deal).ffill()
    rows["amount"] = rows["amount"].groupby(by_deal).ffill()
    return rows


def stage_visits(
    history: pd.DataFrame,
    frame: pd.DataFrame,
    order: StageOrder,
    as_of: pd.Timestamp | str,
) -> pd.DataFrame:
    """Every visit of a deal to an open stage, from the stage history (see the module docstring).

    Parameters
    ----------
    history : pandas.DataFrame
        The canonical stage history (``opportunity_id, changed_date, stage, amount, ...``).
    frame : pandas.DataFrame
        The canonical opportunities table: each deal's status, close date and groups.
    order : StageOrder
        The open stages in pipeline order.
    as_of : pandas.Timestamp or str
        Last day read; later rows are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per visit: ``opportunity_id, <groups>, stage, position`` (index in ``order``),
        ``entered, left`` (the day it ended; missing while ongoing), ``outcome`` (``passed``,
        ``lost``, ``back`` or ``stayed``), ``skipped`` (stages passed without a visit right after
        it) and ``amount`` (in force when the visit ended or at ``as_of``; the export's amount
        when the history records none). Sorted by deal and entry.
    """
    as_of = _day(as_of)
    deals = _deals(frame, as_of)
    groups = [g for g in GROUPS if g in frame]
    rows = _open_path(history, deals, order, as_of)
    rows = rows[rows["position"].notna()]
    by_deal = rows["opportunity_id"]
    previous = rows["position"].groupby(by_deal).shift()
    starts = previous.isna() | (previous != rows["position"])
    visit = starts.cumsum()
    last_amount = rows["amount"].groupby(visit).last()
    v = rows[starts].reset_index(drop=True)
    v["amount"] = last_amount.to_numpy()
    ident = v["opportunity_id"]
    info = deals.loc[ident]
    v["amount"] = v["amount"].fillna(pd.Series(info["amount_now"].to_numpy(), index=v.index))
    next_position = v["position"].groupby(ident).shift(-1)
    last = next_position.isna()
    closed_on = pd.Series(info["closed_on"].to_numpy(), index=v.index)
    status = info["status"].to_numpy()
    won = last & closed_on.notna() & (status == WON)
    lost = last & closed_on.notna() & (status == LOST)
    v["left"] = v["changed"].groupby(ident).shift(-1).where(~last, closed_on)
    v["outcome"] = np.select(
        [next_position > v["position"], next_position < v["position"], won, lost],
        ["passed", "back", "passed", "lost"],
        "stayed",
    )
    top = len(order.stages) - 1
    skipped = np.where(won, top - v["position"], next_position - v["position"] - 1)
    v["skipped"] = np.nan_to_num(np.clip(skipped, 0, None)).astype(np.int64)
    v["position"] = v["position"].astype(np.int64)
    v["stage"] = [order.stages[p] for p in v["position"]]
    v = v.rename(columns={"changed": "entered"})
    for g in groups:
        v[g] = info[g].to_numpy()
    return v[["opportunity_id", *groups, *_VISIT_COLUMNS]]


def history_moves(
    history: pd.DataFrame,
    frame: pd.DataFrame,
    order: StageOrder,
    as_of: pd.Timestamp | str,
    since: pd.Timestamp | str,
) -> pd.DataFrame:
    """What deals did in each stage in the window ``(since, as_of]``, from the stage history.

    The table of :func:`~.stages.stage_moves`, built from the real path of every deal that was in
    an open stage at some time in the window: one row per visit that overlaps it (``passed``,
    ``lost`` at the stage the deal was really in, ``back``, or ``stayed`` when still there at
    ``as_of``) and one ``passed`` row per stage skipped within the window. Pass it to
    :func:`~.stages.stage_conversion` with ``gap_days = (as_of - since).days``.

    Parameters
    ----------
    history, frame, order, as_of
        As for :func:`stage_visits`.
    since : pandas.Timestamp or str
        The day before the window starts (the previous export's day, for a comparison with it).

    Returns
    -------
    pandas.DataFrame
        Columns ``opportunity_id, <groups>, stage, outcome, start, amount``; ``start`` is True
        for a visit already under way at the end of ``since``.
    """
    since = _day(since)
    v = stage_visits(history, frame, order, as_of)
    v = v[v["left"].isna() | (v["left"] > since)].reset_index(drop=True)
    groups = [c for c in v.columns if c in GROUPS]
    own = v.assign(start=(v["entered"] <= since).to_numpy())
    jumps = v[v["left"].notna() & (v["skipped"] > 0)]
    skipped = jumps.loc[jumps.index.repeat(jumps["skipped"])].copy()
    offset = skipped.groupby(level=0).cumcount().to_numpy() + 1
    skipped["position"] = skipped["position"].to_numpy() + offset
    skipped["stage"] = [order.stages[p] for p in skipped["position"]]
    skipped["outcome"] = "passed"
    skipped["start"] = False
    both = pd.concat([own, skipped], ignore_index=True)
    both = both.sort_values(["opportunity_id", "entered", "position"], kind="stable")
    return both[["opportunity_id", *groups, *_MOVE_COLUMNS]].reset_index(drop=True)


def _km_median(duration: np.ndarray, entry: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median of ``duration`` with right censoring (``event`` False) and delayed
    entry (a visit is at risk at ``t`` when its ``entry`` age is below ``t``, or 0)."""
    if not event.any():
        return float("nan")
    times, deaths = np.unique(duration[event], return_counts=True)
    ends = np.sort(duration)
    late = np.sort(entry[entry > 0])
    at_risk = (len(ends) - np.searchsorted(ends, times, side="left")) - (
        len(late) - np.searchsorted(late, times, side="left")
    )
    survival = np.cumprod(1 - deaths / np.maximum(at_risk, deaths))
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else float("nan")


def _dwell(v: pd.DataFrame, as_of: pd.Timestamp, since: pd.Timestamp | None) -> pd.DataFrame:
    """Each visit's days in the stage (to its end or ``as_of``), age when first observed, and
    exposure inside the window."""
    start = v["entered"] if since is None else v["entered"].clip(lower=since)
    end = v["left"].fillna(as_of)
    return v.assign(
        duration=(end - v["entered"]).dt.days.astype(float),
        entry_age=(start - v["entered"]).dt.days.astype(float),
        exposure=(end - start).dt.days.astype(float),
        completed=v["left"].notna(),
    )


def _dwell_counts(block: pd.DataFrame) -> pd.Series:
    done = block["completed"].to_numpy()
    duration = block["duration"].to_numpy()
    return pd.Series(
        {
            "visits": len(block),
            "completed": int(done.sum()),
            "ongoing": int((~done).sum()),
            "exposure_days": float(block["exposure"].sum()),
            "mean_completed_days": float(duration[done].mean()) if done.any() else np.nan,
            "median_days": _km_median(duration, block["entry_age"].to_numpy(), done),
        }
    )


def _pooled_days(block: pd.DataFrame, interval: float) -> pd.DataFrame:
    """One stage's levels with the pooled mean dwell ``exposure / exits`` and its interval."""
    block = block.copy()
    months = block["exposure_days"] / DAYS_PER_MONTH
    rates = gamma_poisson_rates(block["completed"], months, interval=interval, index=block.index)
    held = months > 0
    with np.errstate(divide="ignore"):
        block["days_in_stage"] = np.where(held, DAYS_PER_MONTH / rates["mean"], np.nan)
        block["days_lower"] = np.where(held, DAYS_PER_MONTH / rates["upper"], np.nan)
        block["days_upper"] = np.where(held, DAYS_PER_MONTH / rates["lower"], np.nan)
    return block


def history_time_in_stage(
    history: pd.DataFrame,
    frame: pd.DataFrame,
    order: StageOrder,
    as_of: pd.Timestamp | str,
    since: pd.Timestamp | str | None = None,
    by: str | None = None,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """Real time in each stage: completed visits and the censored ongoing ones.

    Parameters
    ----------
    history, frame, order, as_of
        As for :func:`stage_visits`.
    since : pandas.Timestamp, str or None
        Count only time after this day (visits under way then enter at their age); ``None``
        counts every visit in the history.
    by : str or None
        A group column of ``frame``: one row per stage and level, the levels of a stage pooled
        (:func:`~pipeline_models.models.pooling.gamma_poisson_rates`).
    interval : float
        Probability of the interval of the mean.

    Returns
    -------
    pandas.DataFrame
        Columns ``stage, [by], visits, completed, ongoing, exposure_days`` (days in the stage
        within the window), ``mean_completed_days`` (mean of completed visits, short-biased: long
        visits are still running), ``median_days`` (Kaplan-Meier, missing when over half the
        visits are still running), ``days_in_stage, days_lower, days_upper`` (pooled mean
        ``exposure / exits`` with its interval; missing without exposure). Every stage (and
        level) present, stages in pipeline order.
    """
    as_of = _day(as_of)
    lower = None if since is None else _day(since)
    v = stage_visits(history, frame, order, as_of)
    if lower is not None:
        v = v[v["left"].isna() | (v["left"] > lower)]
    v = _dwell(v, as_of, lower)
    keys = ["stage"] + ([by] if by else [])
    if by:
        v[by] = level_text(v[by]) if by in v else pd.Series(NONE_LEVEL, index=v.index)
    records = [
        {**dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
         **_dwell_counts(block)}
        for key, block in v.groupby(keys, sort=False)
    ]  # fmt: skip
    counts = pd.DataFrame(records, columns=[*keys, *_DWELL_COLUMNS]).set_index(keys)
    levels = sorted(v[by].unique()) if by else []
    full = (
        pd.MultiIndex.from_product([list(order.stages), levels], names=keys)
        if by
        else pd.Index(list(order.stages), name="stage")
    )
    counts = counts.reindex(full)
    counts[_DWELL_COLUMNS[:4]] = counts[_DWELL_COLUMNS[:4]].fillna(0)
    counts = counts.reset_index()
    parts = [_pooled_days(b, interval) for _, b in counts.groupby("stage", sort=False)]
    out = pd.concat(parts, ignore_index=True) if parts else counts
    out[_DWELL_COLUMNS[:3]] = out[_DWELL_COLUMNS[:3]].astype(np.int64)
    out["stage"] = pd.Categorical(out["stage"], categories=list(order.stages), ordered=True)
    return out.sort_values(keys, ignore_index=True)


def _close_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per deal: the expected close dates recorded, first and last, pushes and pull-ins."""
    dated = rows[rows["close_date"].notna()]
    shift = dated["close_date"].dt.normalize().groupby(dated["opportunity_id"]).diff().dt.days
    dated = dated.assign(
        push=shift.clip(lower=0), pull=(-shift).clip(lower=0), later=shift > 0, earlier=shift < 0
    )
    grouped = dated.groupby("opportunity_id")
    return pd.DataFrame(
        {
            "first_close_date": grouped["close_date"].first(),
            "last_close_date": grouped["close_date"].last(),
            "pushes": grouped["later"].sum(),
            "days_pushed": grouped["push"].sum(),
            "pull_ins": grouped["earlier"].sum(),
            "days_pulled_in": grouped["pull"].sum(),
        }
    )


def _amount_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """Per deal: the amounts recorded, first and last, and how often it changed."""
    valued = rows[rows["amount"].notna()]
    change = valued["amount"].groupby(valued["opportunity_id"]).diff()
    grouped = valued.assign(changed=(change.fillna(0) != 0)).groupby("opportunity_id")
    out = pd.DataFrame(
        {
            "first_amount": grouped["amount"].first(),
            "last_amount": grouped["amount"].last(),
            "amount_changes": grouped["changed"].sum(),
        }
    )
    out["amount_change"] = out["last_amount"] - out["first_amount"]
    return out


def slippage(history: pd.DataFrame, frame: pd.DataFrame, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """How each deal's expected close date and amount changed while it was open.

    Consecutive recorded values are compared (blank cells record nothing); a deal closed by
    ``as_of`` is read up to the day before its close, so setting the actual close date or the
    final amount does not count.

    Parameters
    ----------
    history, frame, as_of
        As for :func:`stage_visits`.

    Returns
    -------
    pandas.DataFrame
        One row per deal in both tables with a row logged by ``as_of``: ``opportunity_id,
        <groups>, status, stage, amount`` (as in ``frame``), ``rows`` (history rows read),
        ``first_close_date, last_close_date, pushes`` (changes to a later date), ``days_pushed,
        pull_ins, days_pulled_in, first_amount, last_amount, amount_changes, amount_change``
        (last minus first). Counts are 0 and dates missing where nothing was recorded.
    """
    as_of = _day(as_of)
    deals = _deals(frame, as_of)
    rows = _history_rows(history, as_of)
    rows = rows[rows["opportunity_id"].isin(deals.index)]
    closed_on = _close_day(deals, rows)
    rows = rows[closed_on.isna() | (rows["changed"] < closed_on)]
    ids = pd.Index(rows["opportunity_id"].unique())
    out = deals.loc[ids].rename(columns={"stage_now": "stage", "amount_now": "amount"})
    out = out.drop(columns="closed_on")
    out["rows"] = rows.groupby("opportunity_id").size().reindex(ids).to_numpy()
    out = out.join(_close_changes(rows)).join(_amount_changes(rows))
    for name in ("pushes", "pull_ins", "amount_changes"):
        out[name] = out[name].fillna(0).astype(np.int64)
    for name in ("days_pushed", "days_pulled_in"):
        out[name] = out[name].fillna(0.0).astype(float)
    out.index.name = "opportunity_id"
    return out.reset_index()


def slippage_summary(slips: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Open deals pushed at least once, twice, ... (:data:`PUSH_COUNTS`), and amounts changed.

    Parameters
    ----------
    slips : pandas.DataFrame
        The table of :func:`slippage`.
    by : str or None
        A group column: one row per level; ``None`` gives one row for all open deals.

    Returns
    -------
    pandas.DataFrame
        Columns ``[by], open_deals``, per ``n`` in :data:`PUSH_COUNTS` ``pushed_<n>,
        share_pushed_<n>``, then ``median_days_pushed`` (among deals pushed at least once),
        ``amount_changed, share_amount_changed, net_amount_change``.
    """
    open_ = slips[slips["status"].astype(str) == OPEN]
    key = level_text(open_[by]) if by else pd.Series("all", index=open_.index)
    rows = []
    for level, block in open_.groupby(key.to_numpy(), sort=True):
        n = len(block)
        row: dict[str, object] = {by: level} if by else {}
        row["open_deals"] = n
        for count in PUSH_COUNTS:
            pushed = int((block["pushes"] >= count).sum())
            row[f"pushed_{count}"] = pushed
            row[f"share_pushed_{count}"] = pushed / n
        pushed_days = block.loc[block["pushes"] > 0, "days_pushed"]
        row["median_days_pushed"] = float(pushed_days.median()) if len(pushed_days) else np.nan
        changed = int((block["amount_changes"] > 0).sum())
        row["amount_changed"] = changed
        row["share_amount_changed"] = changed / n
        row["net_amount_change"] = float(block["amount_change"].fillna(0).sum())
        rows.append(row)
    columns = ([by] if by else []) + ["open_deals"]
    columns += [f"{p}_{c}" for c in PUSH_COUNTS for p in ("pushed", "share_pushed")]
    columns += ["median_days_pushed", "amount_changed", "share_amount_changed"]
    return pd.DataFrame(rows, columns=[*columns, "net_amount_change"])


__all__ = [
    "PUSH_COUNTS",
    "history_moves",
    "history_time_in_stage",
    "slippage",
    "slippage_summary",
    "stage_visits",
]
