"""Cells of an export read as text: blank, stripped and distinct values, and the record columns.

Every value of an export is held as Arrow text until it is parsed. A column of a large export
repeats most of its values, so parsers work on its distinct cells (:func:`distinct`) and spread
what they find back to every cell (:func:`spread`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

ROW = "_row"
"""Internal column: the record's row number in the file (header = 1)."""

BROKEN = "_broken"
"""Internal column, present only when needed: how many fields a record holds when that differs
from the header (its cells are then padded or, for extra fields, joined into the last cell)."""

RECORD_COLUMNS = (ROW, BROKEN)
"""The internal columns a read table carries beside the file's own."""

TEXT = pd.StringDtype("pyarrow")
"""The dtype of every cell as read."""


def is_blank(series: pd.Series) -> pd.Series:
    """Cells that are missing, empty or nothing but whitespace (a boolean Series)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(series.astype(TEXT).array)
    # whitespace as str.strip() sees it on Arrow text, without making the stripped copy
    blank = pc.fill_null(
        pc.or_(pc.equal(pc.binary_length(cells), 0), pc.utf8_is_space(cells)), True
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(blank), index=series.index, name=series.name)


def blank_records(frame: pd.DataFrame) -> pd.Series:
    """Records blank in every column of the file (the record columns aside)."""
    blank = pd.Series(True, index=frame.index)
    for column in frame.columns:
        if column not in RECORD_COLUMNS:
            blank &= is_blank(frame[column])
    return blank


def strip(series: pd.Series) -> pd.Series:
    """``series.str.strip()``; ``series`` itself when no cell has whitespace around it, so that a
    column of a large export is not held twice."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = series.str.strip()
    # stripping only shortens cells: the same number of bytes means nothing was stripped
    before, after = (pc.sum(pc.binary_length(pa.array(s.array))) for s in (series, stripped))
    return series if before == after else stripped


def stripped_text(series: pd.Series) -> pd.Series:
    """``series`` as Arrow text without surrounding whitespace."""
    return strip(series.astype(TEXT))


def flag(mask: pd.Series) -> pd.Series:
    """A nullable boolean result of a string method as plain bool (NA is False)."""
    return mask.fillna(False).astype(bool)


def map_values(series: pd.Series, mapper: dict | pd.Series) -> pd.Series:
    """``series.map(mapper)``, looking up each distinct value once (a large column of text is
    not turned into Python strings)."""
    codes, uniques = series.array.factorize()
    looked_up = pd.Series(uniques).map(mapper)
    return pd.Series(
        looked_up.array.take(codes, allow_fill=True), index=series.index, name=series.name
    )


def distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct cells of ``series`` as text, and where each cell is among them (-1: a
    missing cell). A column of a large export repeats most of its values, so each distinct value
    is parsed once."""
    codes, cells = series.astype(TEXT).array.factorize()
    return codes, pd.Series(cells)


def spread(values: pd.Series, codes: np.ndarray, index: pd.Index, fill=None) -> pd.Series:
    """Per cell, the value found for its distinct cell (``fill`` for a missing cell)."""
    return pd.Series(values.array.take(codes, allow_fill=True, fill_value=fill), index=index)


def extract(series: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of ``pattern`` for cells that match it (Arrow's regex engine: fast)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = re.sub(r"\(\?P<\w+>", "(?:", pattern)  # the same pattern without its groups
    matched = flag(series.astype(TEXT).str.contains(plain, regex=True))
    subset = series[matched].astype(TEXT)
    if subset.empty:
        return pd.DataFrame(index=subset.index)
    struct = pc.extract_regex(pa.array(subset.array), pattern=pattern)
    return pd.DataFrame(
        {
            struct.type.field(i).name: pd.Series(struct.field(i), index=subset.index, dtype=TEXT)
            for i in range(struct.type.num_fields)
        }
    )


def label_key(label) -> str:
    """A label with case, spaces and punctuation removed: 'GTX Pro' and 'GTXPro' share one."""
    return re.sub(r"[\W_]+", "", str(label)).lower()
