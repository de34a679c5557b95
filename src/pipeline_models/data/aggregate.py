"""Sufficient statistics of the canonical opportunities table: the inputs every model fits on.

Each function takes a canonical frame (see :mod:`pipeline_models.contract.schema`) and the names of the
grouping columns that define a *cell*, and returns a new, small table with one row per cell (and per
outcome and duration bin for cycle times). The models' likelihoods are exact functions of these
tables, so a fit costs per distinct cell, not per deal. Nothing here modifies its input.

Rules shared by all functions
-----------------------------
- A missing group value (``pd.NA``, ``None``, empty string) becomes the level ``"(none)"``: a deal
  without a region is still a deal, and "no region recorded" is often a segment of its own.
- Group values are compared as text, so ``"1"`` and ``1`` are the same level.
- Rows come out sorted by the group columns; counts are exact integers.

The amount rule
---------------
Deal size is modelled on **won deals with a positive amount**. A won deal whose amount is missing or
zero says nothing about how large deals are (CRMs write 0 for "not filled in", as Maven does for lost
deals), so it is *excluded from the size model* and *counted*: :func:`amount_stats` returns
``n_missing`` and ``n_zero`` per cell, and the revenue model reports the totals.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL

DEFAULT_DURATION_EDGES: tuple[float, ...] = (
    *range(0, 14),  # daily for two weeks: short cycles keep their shape
    *range(14, 182, 7),  # weekly to half a year
    *range(182, 3654, 28),  # four-weekly to ten years
)
"""Lower edges (days) of the duration bins used by :func:`cycle_stats`; the last bin is open-ended."""


def group_levels(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Return the grouping columns of ``frame`` as text, with missing values as ``"(none)"``.

    Parameters
    ----------
    frame
        Any table holding the columns ``groups``.
    groups
        Column names. A name missing from ``frame`` raises ``KeyError``.

    Returns
    -------
    pandas.DataFrame
        One column per group (pandas ``str`` dtype, no missing values), same index as
        ``frame``.
    """
    out = {}
    for name in groups:
        if name not in frame:
            raise KeyError(f"grouping column {name!r} is not in the table")
        out[name] = _level_text(frame[name])
    return pd.DataFrame(out, index=frame.index, columns=list(groups))


def factorize_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Code of each row's combination of ``columns`` and the distinct combinations.

    Codes number the combinations in order of first appearance (as ``pandas.factorize`` does for
    one column); a missing value is a value of its own. Works on integer codes column by column,
    so it stays fast for millions of rows.

    Returns
    -------
    (codes, distinct)
        ``codes`` (int64, one per row) index the rows of ``distinct`` (the ``columns`` of the
        first row of each combination, fresh index).
    """
    columns = list(columns)
    combined = np.zeros(len(frame), dtype=np.int64)
    for name in columns:
        codes, uniques = pd.factorize(frame[name], use_na_sentinel=False)
        combined, _ = pd.factorize(combined * max(len(uniques), 1) + codes)
    combined = np.asarray(combined, dtype=np.int64)
    # codes count up in order of first appearance: a row is a first one where the running
    # maximum of the codes steps up
    first = np.flatnonzero(np.diff(np.maximum.accumulate(combined), prepend=-1) > 0)
    distinct = frame[columns].iloc[first].reset_index(drop=True)
    return combined, distinct


def _level_text(col: pd.Series):
    """``col`` as text (pandas ``str`` dtype), stripped, missing or blank as ``NONE_LEVEL``.

    The text is built once per distinct value and taken for every row in Arrow, so the cost
    grows with the number of levels, not of rows (beyond one pass over the codes).
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").str.strip()
    text = text.mask(text.isna() | (text == ""), NONE_LEVEL)
    labels = pd.array([*text.astype(object).tolist(), NONE_LEVEL], dtype="str")
    return labels.take(np.where(codes < 0, len(labels) - 1, codes))


def _cells(keys: pd.DataFrame, values: dict[str, np.ndarray], groups: list[str]) -> pd.DataFrame:
    """Sum ``values`` per distinct row of ``keys``; sorted by the keys, fresh index."""
    data = keys.copy()
    for name, arr in values.items():
        data[name] = arr
    if not groups:
        summed = data[list(values)].sum().to_frame().T
        if len(data) == 0:
            summed = summed.iloc[0:0]
        return summed.reset_index(drop=True)
    summed = data.groupby(groups, sort=True, observed=True, dropna=False)[list(values)].sum()
    return summed.reset_index()


def _closed(frame: pd.DataFrame) -> pd.Series:
    status = frame["status"].astype("string")
    return status.isin(["won", "lost"]).fillna(False).astype(bool)


def win_counts(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Won of closed deals per cell.

    Parameters
    ----------
    frame
        Canonical opportunities (needs ``status`` and the ``groups`` columns).
    groups
        Grouping columns defining a cell; ``[]`` gives one total row.

    Returns
    -------
    pandas.DataFrame
        Columns ``*groups, "won", "n"`` (``n`` = won + lost; open deals are left out), int64 counts,
        one row per cell that has at least one closed deal.
    """
    groups = list(groups)
    closed = frame.loc[_closed(frame).to_numpy(), [*groups, "status"]]
    keys = group_levels(closed, groups)
    won = (closed["status"].astype("string") == "won").to_numpy(dtype=np.int64)
    out = _cells(keys, {"won": won, "n": np.ones(len(closed), dtype=np.int64)}, groups)
    return out.astype({"won": "int64", "n": "int64"})


def amount_stats(frame: pd.DataFrame, groups: Sequence[str]) -> pd.DataFrame:
    """Sufficient statistics of log deal size for won deals, per cell.

    The normal likelihood of log amounts depends on the data only through ``n``, the sum of logs and
    the sum of squared logs, so these three numbers per cell reproduce it exactly.

    Parameters
    ----------
    frame
        Canonical opportunities (needs ``status``, ``amount`` and the ``groups`` columns).
    groups
        Grouping columns defining a cell.

    Returns
    -------
    pandas.DataFrame
        Columns ``*groups, "n", "sum_log", "sum_log2", "n_missing", "n_zero"``: ``n`` won deals with
        amount > 0 and the sums of ``log(amount)`` and ``log(amount)**2`` over them; ``n_missing``
        and ``n_zero`` count the won deals left out because their amount is empty or zero. One row
        per cell with at least one won deal (``n`` may be 0 when every amount there was excluded).
    """
    groups = list(groups)
    is_won = frame["status"].astype("string").eq("won").fillna(False).to_numpy(dtype=bool)
    won = frame.loc[is_won, [*groups, "amount"]]
    keys = group_levels(won, groups)
    amount = pd.to_numeric(won["amount"], errors="coerce").astype("float64").to_numpy()
    missing = np.isnan(amount)
    zero = ~missing & (amount <= 0)
    used = ~missing & ~zero
    logs = np.zeros(len(amount))
    logs[used] = np.log(amount[used])
    out = _cells(
        keys,
        {
            "n": used.astype(np.int64),
            "sum_log": logs,
            "sum_log2": logs**2,
            "n_missing": missing.astype(np.int64),
            "n_zero": zero.astype(np.int64),
        },
        groups,
    )
    return out.astype(
        {
            "n": "int64",
            "sum_log": "float64",
            "sum_log2": "float64",
            "n_missing": "int64",
            "n_zero": "int64",
        }
    )


def default_as_of(frame: pd.DataFrame) -> pd.Timestamp:
    """Latest creation or close date in ``frame`` (the day the export describes, if not told)."""
    dates = pd.concat([frame["created_date"], frame["close_date"]])
    latest = pd.to_datetime(dates, errors="coerce").max()
    if pd.isna(latest):
        raise ValueError("the table has no dates: pass as_of")
    return pd.Timestamp(latest).normalize()


def cycle_stats(
    frame: pd.DataFrame,
    groups: Sequence[str],
    as_of: pd.Timestamp | str | None = None,
    edges: Sequence[float] = DEFAULT_DURATION_EDGES,
) -> pd.DataFrame:
    """Counts of deals per cell, outcome and duration bin, with open deals right-censored.

    As seen on ``as_of``: a deal closed on or before ``as_of`` has outcome ``won``/``lost`` and a
    duration ``close_date - created_date`` in whole days; a deal still open then (status ``open``,
    or closed after ``as_of``) has outcome ``open`` and is known only to have lasted at least its
    age ``as_of - created_date``. Deals created after ``as_of`` are left out, as are open deals
    without a creation date (their age is unknown). Durations fall into the bins
    ``[edges[i], edges[i+1])`` (the last bin is open-ended): a closed deal in bin i contributes
    ``P(lo <= T < hi)`` to the likelihood, an open one ``P(T >= lo)`` (its age rounded down to the
    bin's lower edge, which keeps the statement true).

    Parameters
    ----------
    frame
        Canonical opportunities (``status``, ``created_date``, ``close_date`` and ``groups``).
    groups
        Grouping columns defining a cell.
    as_of
        The day the pipeline is seen from; default the latest date in ``frame``.
    edges
        Increasing lower edges of the duration bins in days, starting at 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``*groups, "outcome", "lo", "hi", "count"``; ``lo``/``hi`` in days (``hi`` is
        ``inf`` for the last bin); one row per non-empty (cell, outcome, bin). ``attrs`` holds
        ``as_of`` (ISO date) and ``n_no_created`` (open deals left out for lack of a creation date).
    """
    groups = list(groups)
    edges_arr = np.asarray(edges, dtype=float)
    if edges_arr[0] != 0 or np.any(np.diff(edges_arr) <= 0):
        raise ValueError("edges must start at 0 and increase")
    as_of_ts = default_as_of(frame) if as_of is None else pd.Timestamp(as_of).normalize()

    created = pd.to_datetime(frame["created_date"], errors="coerce")
    closed_at = pd.to_datetime(frame["close_date"], errors="coerce")
    status = frame["status"].astype("string").fillna("open").to_numpy(dtype=object)
    is_closed = np.isin(status, ["won", "lost"]) & (closed_at <= as_of_ts).fillna(False).to_numpy()
    known = created.notna().to_numpy() & (created <= as_of_ts).fillna(False).to_numpy()
    n_no_created = int((~is_closed & created.isna().to_numpy()).sum())

    end = np.where(is_closed, closed_at.to_numpy(), as_of_ts.to_datetime64())
    days = np.floor((end - created.to_numpy()) / np.timedelta64(1, "D"))
    keep = known & ~np.isnan(days)
    days = np.clip(days[keep], 0, None)
    outcome = np.where(is_closed[keep], status[keep], "open")
    bin_idx = np.searchsorted(edges_arr, days, side="right") - 1
    hi_edges = np.append(edges_arr[1:], np.inf)

    keys = group_levels(frame.loc[keep, groups], groups).reset_index(drop=True)
    keys["outcome"] = outcome.astype(object)
    keys["lo"] = edges_arr[bin_idx]
    keys["hi"] = hi_edges[bin_idx]
    by = [*groups, "outcome", "lo", "hi"]
    out = _cells(keys, {"count": np.ones(len(keys), dtype=np.int64)}, by)
    out = out.astype({"count": "int64", "lo": "float64", "hi": "float64"})
    out.attrs = {"as_of": as_of_ts.date().isoformat(), "n_no_created": n_no_created}
    return out


def table_hash(table: pd.DataFrame) -> str:
    """SHA-256 of a table's columns, dtypes and values (and ``attrs``), stable across processes."""
    import hashlib
    import json

    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, table.columns)), [str(t) for t in table.dtypes]]).encode())
    h.update(json.dumps(table.attrs, sort_keys=True, default=str).encode())
    h.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return h.hexdigest()
