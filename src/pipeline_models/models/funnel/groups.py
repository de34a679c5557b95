"""Levels as codes, days between dates, and groups of equal keys: the counting the funnel rests on.

The funnel fits on counts by level (source, product) and distinct day, so every step first turns
rows into codes and groups. Keys of whole numbers in a modest range (codes, days) are counted
rather than sorted: one pass over the rows whatever their number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9
"""Nanoseconds in a day."""


def whole_days(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Whole days from ``earlier`` to ``later`` (datetime64), rounded down as
    ``Series.dt.days``; NaN where either is missing. In integer nanoseconds: no timedeltas."""
    later = np.asarray(later, dtype="datetime64[ns]")
    earlier = np.asarray(earlier, dtype="datetime64[ns]")
    days = (later.view(np.int64) - earlier.view(np.int64)) // DAY_NS
    return np.where(np.isnat(later) | np.isnat(earlier), np.nan, days)


def categories(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of ``values`` into their distinct labels; missing values get code -1."""
    codes, labels = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), pd.Index(labels.astype(str), dtype=object)


def codes(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Position of each value in ``levels`` (-1 where it is not one of them)."""
    index = pd.Index(levels, dtype=object)
    if isinstance(values.dtype, pd.CategoricalDtype):  # by category, not by row
        where = np.append(index.get_indexer(values.cat.categories), -1)
        return where[values.cat.codes.to_numpy()].astype(np.int64)
    return index.get_indexer(values.astype(object)).astype(np.int64)


def categorical(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical of ``codes`` into ``labels``; labels that repeat (a source named like
    :data:`~pipeline_models.contract.labels.NONE_LEVEL`) are merged."""
    distinct, position = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(position[codes], categories=distinct.tolist())


def _counted_groups(keys: tuple[np.ndarray, ...], n: int) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`groups` by counting, or None when the keys are not whole numbers in a modest range."""
    if not all(np.all(np.isfinite(k)) and np.array_equal(k, np.floor(k)) for k in keys):
        return None
    lows = [int(np.min(k)) for k in keys]
    spans = [int(np.max(k)) - lo + 1 for k, lo in zip(keys, lows, strict=True)]
    if np.prod(np.array(spans, dtype=float)) > 4 * n + 2**20:
        return None
    combined = np.zeros(n, dtype=np.int64)
    for k, lo, span in zip(keys, lows, spans, strict=True):
        combined = combined * span + (np.asarray(k).astype(np.int64) - lo)
    seen = np.bincount(combined) > 0
    group = (np.cumsum(seen) - 1)[combined]
    first = np.full(int(seen.sum()), n, dtype=np.int64)
    np.minimum.at(first, group, np.arange(n))
    return first, group


def groups(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal ``keys`` (the first key sorts first): the first row of each group, in
    sorted order, and each row's group number. Keys of whole numbers in a modest range (codes,
    days) are counted rather than sorted."""
    n = len(keys[0]) if keys else 0
    if n > 0:
        counted = _counted_groups(keys, n)
        if counted is not None:
            return counted
    order = np.lexsort(keys[::-1])
    new = np.zeros(len(order), dtype=bool)
    new[:1] = True
    for key in keys:
        ranked = key[order]
        new[1:] |= ranked[1:] != ranked[:-1]
    group = np.empty(len(order), dtype=np.int64)
    group[order] = np.cumsum(new) - 1
    return order[new], group


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values in order and each value's position among them (``np.unique`` with
    ``return_inverse``; by counting when the values are whole days, as lags are)."""
    values = np.asarray(values, dtype=float)
    if len(values) and values.min() >= 0 and values.max() < 1e6:
        whole = values.astype(np.int64)
        if np.array_equal(whole, values):
            seen = np.bincount(whole) > 0
            rank = np.cumsum(seen) - 1
            return np.flatnonzero(seen).astype(float), rank[whole]
    return np.unique(values, return_inverse=True)


def distinct_pairs(
    codes: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``(code, value)`` pairs, ordered, and how many items have each."""
    if not len(codes):
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    first, group = groups(codes, values)
    return codes[first], values[first], np.bincount(group, minlength=len(first))


__all__ = [
    "DAY_NS",
    "categorical",
    "categories",
    "codes",
    "distinct",
    "distinct_pairs",
    "groups",
    "whole_days",
]
