"""Day numbers and the frame columns the generator builds from them.

The simulation works in day numbers (days since 1970-01-01, ``int64``), with :data:`NEVER` for a
date that never comes; this module turns them, and label codes, into pandas columns. Text columns
are built in Arrow (ids, labels, ISO dates), so millions of rows take well under a second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

NEVER = np.int64(2**40)
"""Day number standing for "never" (far beyond any date numpy prints)."""

ONE_MONTH = np.timedelta64(1, "M")


def day_number(value: date | str | np.datetime64 | pd.Timestamp) -> np.int64:
    """Day number (days since 1970-01-01) of a date-like value."""
    return np.int64(np.datetime64(pd.Timestamp(value).date(), "D").astype(np.int64))


def month_end_day(days: np.ndarray) -> np.ndarray:
    """Day number of the last day of each day's month."""
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return (months + ONE_MONTH).astype("datetime64[D]").astype(np.int64) - 1


def slug(name: str) -> str:
    """``name`` in lower case with runs of other characters as one underscore (column names)."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def ids(prefix: str, n: int) -> pa.Array:
    """``prefix`` followed by 1..n, zero-padded to a common width (built in Arrow: millions fast)."""
    width = max(6, len(str(n)))
    numbers = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, numbers, "")


def text(values: pa.Array) -> pd.Series:
    """A pandas text column (the default string dtype) holding Arrow strings."""
    return pd.Series(values, dtype="str")


def labels(codes: np.ndarray, names: Sequence[str], missing: np.ndarray | None = None) -> pd.Series:
    """Text column of ``names[codes]``; ``missing`` rows are empty."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=missing)
    dictionary = pa.array(np.asarray(names, dtype=object), pa.string())
    return text(pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string()))


def categorical(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    """Categorical column of ``names[codes]``, every name a category."""
    return pd.Categorical.from_codes(codes, categories=list(names))


def category_text(column: pd.Series) -> pd.Series:
    """Text column of a categorical column, with a fresh index."""
    codes = column.cat.codes.to_numpy()
    return labels(np.maximum(codes, 0), column.cat.categories, missing=codes < 0)


def dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` array of day numbers; :data:`NEVER` becomes NaT."""
    days = np.asarray(days, dtype=np.int64)
    never = days >= NEVER
    out = np.where(never, 0, days).astype("datetime64[D]").astype("datetime64[ns]")
    out[never] = np.datetime64("NaT", "ns")
    return out


def iso(days: np.ndarray) -> pd.Series:
    """Text column of ISO dates of day numbers; :data:`NEVER` becomes empty."""
    days = np.asarray(days, dtype=np.int64)
    never = days >= NEVER
    if never.all():
        return labels(np.zeros(len(days)), [""], missing=never)
    low, high = days[~never].min(), days[~never].max()
    spelled = np.datetime_as_string(np.arange(low, high + 1).astype("datetime64[D]"), unit="D")
    return labels(np.where(never, 0, days - low), spelled.tolist(), missing=never)


def day_numbers(column: pd.Series) -> np.ndarray:
    """Day numbers of a datetime column; missing values become :data:`NEVER`."""
    values = column.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    missing = np.isnat(values)
    return np.where(missing, NEVER, values.astype(np.int64))


__all__ = [
    "NEVER",
    "ONE_MONTH",
    "categorical",
    "category_text",
    "dates",
    "day_number",
    "day_numbers",
    "ids",
    "iso",
    "labels",
    "month_end_day",
    "slug",
    "text",
]
