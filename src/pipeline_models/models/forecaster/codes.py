"""Integer codes of the export's labels, months and statuses, and tallies of integer rows.

The forecaster counts deals by group, month and status instead of handling them one by one; these
helpers turn the canonical table's columns into the small integers those counts are indexed by.
Months are counted from year 0 (``year * 12 + month - 1``), so a difference of two is a number of
months.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL


def labels_of(series: pd.Series) -> pd.Series:
    """The values of ``series`` as labels: text, a missing value as :data:`NONE_LEVEL`."""
    return series.astype("string").fillna(NONE_LEVEL)


def month_index(dates: pd.Series) -> np.ndarray:
    """Months since year 0 (so differences are month counts); NaT -> -1."""
    if isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M":
        first, last = dates.min(), dates.max()
        if pd.isna(first):
            return np.full(len(dates), -1, np.int64)
        day = np.timedelta64(1, "D")
        start = np.datetime64(first.normalize(), "D")
        # month of each day from the first to the last date (and -1 for NaT, looked up last)
        days = np.arange(start, np.datetime64(last, "D") + day, day)
        month_of_day = np.append(days.astype("datetime64[M]").astype(np.int64) + 1970 * 12, -1)
        offset = dates.to_numpy(dtype="datetime64[ns]") - np.datetime64(start, "ns")
        index = offset.view(np.int64) // (86_400 * 10**9)
        return month_of_day[np.clip(index, -1, len(days) - 1, out=index)]
    out = dates.dt.year * 12 + dates.dt.month - 1
    return out.fillna(-1).to_numpy(dtype=np.int64)


def month_of(origin: pd.Timestamp | str | int) -> int:
    """The month index of a date (an integer is taken as a month index already)."""
    if isinstance(origin, (int, np.integer)):
        return int(origin)
    origin = pd.Timestamp(origin)
    return int(origin.year * 12 + origin.month - 1)


def label_codes(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of the labels of ``series`` (as :func:`labels_of` writes them), and the labels
    in sorted order: ``labels[codes[i]]`` is the label of row ``i``."""
    codes, uniques = pd.factorize(series)
    names = labels_of(pd.Series(uniques)).tolist()
    if len(codes) and codes.min() < 0:
        names.append(NONE_LEVEL)
        codes = np.where(codes < 0, len(names) - 1, codes)
    labels = sorted(set(names))
    position = {name: i for i, name in enumerate(labels)}
    remap = np.array([position[name] for name in names], dtype=np.int64)
    if np.array_equal(remap, np.arange(len(remap))):
        return codes.astype(np.int64, copy=False), labels
    return remap[codes], labels


def present_codes(
    frame: pd.DataFrame, column: str, rows: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Codes of ``column``'s labels over ``rows`` (all one label without the column), numbered
    over the labels that occur there."""
    if column not in frame:
        return np.zeros(int(rows.sum()), np.int64), [NONE_LEVEL]
    codes, labels = label_codes(frame[column])
    codes = codes if rows.all() else codes[rows]
    present = np.bincount(codes, minlength=len(labels)) > 0
    if present.all():
        return codes, labels
    remap = np.cumsum(present) - 1
    return remap[codes], [label for label, keep in zip(labels, present, strict=True) if keep]


def renumbered(codes: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Codes renumbered over the names that occur, and those names."""
    used = np.unique(codes)
    renumber = np.zeros(len(names), np.int64)
    renumber[used] = np.arange(len(used))
    return renumber[codes], [names[i] for i in used]


def status_codes(status: pd.Series) -> np.ndarray:
    """0 for open (or any status other than won and lost), 1 won, 2 lost."""
    won = status.eq("won").to_numpy(dtype=bool, na_value=False)
    lost = status.eq("lost").to_numpy(dtype=bool, na_value=False)
    return won.astype(np.int8) + 2 * lost.astype(np.int8)


def tally(
    *columns: np.ndarray, weights: np.ndarray | None = None, inverse: bool = True
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Distinct rows of the integer ``columns``: their values, their total weight (row count by
    default) and, per input row, the index of its distinct row (``None`` unless ``inverse``)."""
    n = len(columns[0])
    if n == 0:
        empty = np.zeros(0, np.int64)
        return [empty for _ in columns], np.zeros(0), empty
    key = np.zeros(n, dtype=np.int64)
    bounds = []
    for column in columns:
        low = int(column.min())
        size = int(column.max()) - low + 1
        key *= size
        key += column
        key -= low
        bounds.append((low, size))
    span = math.prod(size for _, size in bounds)
    if span <= 4 * n + 4096:  # dense: count by key directly
        counts = np.bincount(key, minlength=span)
        values = np.flatnonzero(counts)
        if weights is None:
            totals = counts[values]
        else:
            totals = np.bincount(key, weights=weights, minlength=span)[values]
        index = (np.cumsum(counts > 0) - 1)[key] if inverse else None
    else:
        values, index = np.unique(key, return_inverse=True)
        totals = np.bincount(index, weights=weights, minlength=len(values))
    out = []
    rest = values
    for low, size in reversed(bounds):
        out.append(rest % size + low)
        rest = rest // size
    return out[::-1], totals, index


__all__ = [
    "label_codes",
    "labels_of",
    "month_index",
    "month_of",
    "present_codes",
    "renumbered",
    "status_codes",
    "tally",
]
