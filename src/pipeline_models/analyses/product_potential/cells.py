"""How a level is made of the models' cells, and how draws of unequal counts are lined up.

A model predicts per *cell* (a product, region, owner and lead source combination); a level's
figure is the average over its deals' cells, weighted by how many of its deals fall in each
(:func:`cell_mix`). Posterior draws of several models are made joint by taking draw ``k`` of each,
after thinning them to one count (:func:`thin_draws`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.data.aggregate import group_levels

from .levels import level_labels


def cell_mix(
    frame: pd.DataFrame, rows: np.ndarray, by: Sequence[str], columns: Sequence[str]
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Distinct cells (``columns``) of the chosen rows per level, with their share of the level.

    Returns
    -------
    (cells, weights, levels)
        The cells table (model columns), a weight matrix (cell, level) whose columns sum to 1
        and the level labels (sorted).
    """
    cols = list(dict.fromkeys([*by, *columns]))
    chosen = frame.loc[rows]
    keys = group_levels(chosen, cols) if cols else pd.DataFrame(index=chosen.index)
    keys["_level"] = level_labels(chosen, by).to_numpy()
    counts = keys.groupby([*cols, "_level"] if cols else ["_level"], sort=True).size()
    counts = counts.rename("weight").reset_index()
    levels = sorted(counts["_level"].unique().tolist())
    weights = np.zeros((len(counts), len(levels)))
    pos = pd.Index(levels).get_indexer(counts["_level"])
    weights[np.arange(len(counts)), pos] = counts["weight"].to_numpy(dtype=float)
    weights /= weights.sum(axis=0, keepdims=True)
    cells = counts[list(columns)].reset_index(drop=True)
    return cells, weights, levels


def rows_or_all(labels: pd.Series, wanted: np.ndarray) -> np.ndarray:
    """``wanted`` rows, plus every row of a level that has no wanted row (its best stand-in)."""
    has = pd.Series(wanted, index=labels.index).groupby(labels.to_numpy()).transform("any")
    return wanted | ~has.to_numpy(dtype=bool)


def thin_draws(values: np.ndarray, n: int) -> np.ndarray:
    """Evenly spaced ``n`` of the draws (first axis), or all when there are not more."""
    if values.shape[0] <= n:
        return values
    keep = np.linspace(0, values.shape[0] - 1, n).round().astype(int)
    return values[keep]
