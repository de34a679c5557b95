"""The levels a product-potential figure is given for: one text label per product (or per product
and region), and the dimension that carries them in the posterior draws."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.data.aggregate import factorize_rows, group_levels

LEVEL_SEPARATOR = " · "
"""Joins the values of a level of several columns: ``"Pro · North"``."""


def level_labels(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """One text label per row: the ``by`` columns' values joined (missing -> ``"(none)"``)."""
    by = list(by)
    for col in by:
        if col not in frame:
            raise KeyError(f"grouping column {col!r} is not in the table")
    if not len(frame):
        return pd.Series([], index=frame.index, dtype=object)
    # one label per distinct combination of raw values, shared by its rows
    codes, distinct = factorize_rows(frame, by)
    text = group_levels(distinct, by)
    labels = np.asarray(
        [LEVEL_SEPARATOR.join(map(str, c)) for c in text.itertuples(index=False)], dtype=object
    )
    return pd.Series(labels[codes], index=frame.index, dtype=object)


def level_dim(by: Sequence[str]) -> str:
    """Name of the level dimension for ``by``: ``"product"`` or ``"product_region"``."""
    return "_".join(by)


def level_dim_of(values: xr.DataArray | xr.Dataset) -> str:
    """The level dimension of draws with dims ``(sample, <level>)``.

    Raises
    ------
    ValueError
        When ``values`` has not exactly one dimension besides ``sample``.
    """
    dims = [d for d in values.dims if d != "sample"]
    if len(dims) != 1:
        raise ValueError(f"expected dims (sample, level), got {tuple(values.dims)}")
    return dims[0]
