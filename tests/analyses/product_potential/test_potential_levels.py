"""Level labels and the level dimension
(:mod:`pipeline_models.analyses.product_potential.levels`)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from potential_cases import hand_frame

from pipeline_models.analyses.product_potential.levels import level_dim, level_dim_of, level_labels


def test_labels_join_the_columns_and_name_missing_values():
    frame = hand_frame()
    labels = level_labels(frame, ["product", "region"])
    assert labels.index.equals(frame.index)
    assert labels.tolist() == [
        "X · N", "X · N", "X · S", "X · S", "Y · N", "Y · (none)", "Y · N", "(none) · N"
    ]  # fmt: skip
    assert level_labels(frame.iloc[:0], ["product"]).empty
    with pytest.raises(KeyError, match="owner"):
        level_labels(frame.drop(columns="owner", errors="ignore"), ["owner"])


def test_level_dimension():
    assert level_dim(["product", "region"]) == "product_region"
    values = xr.DataArray(np.zeros((2, 3)), dims=("sample", "product"))
    assert level_dim_of(values) == "product"
    with pytest.raises(ValueError, match="sample, level"):
        level_dim_of(xr.DataArray(np.zeros((2, 3, 1)), dims=("sample", "product", "region")))
