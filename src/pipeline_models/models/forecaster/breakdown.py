"""The forecast by product and region: the draws of each level, for open and new deals.

Open deals carry their own product and region (their cells are labelled). New deals are counted
by hazard group, so they add to a product where the group is the product, and to the regions in
proportion to each group's regions among the deals it has had (with half a deal added to every
region of every group, so a region never seen in a group keeps a small share).
"""

from __future__ import annotations

import numpy as np

from pipeline_models.models.forecaster.cells import OpenCells
from pipeline_models.models.forecaster.counts import DealView

BREAKDOWN_COLUMNS = ("product", "region")
"""Columns a forecast can be broken down by."""


def region_shares(view: DealView) -> tuple[list[str] | None, np.ndarray | None]:
    """The regions of ``view`` and each group's shares of them (rows sum to one), or ``None``
    where no deal has a region."""
    if view.regions is None:
        return None, None
    table = view.region_table + 0.5
    return view.regions, table / table.sum(axis=1, keepdims=True)


def add_open_levels(
    by_group: dict,
    horizon: int,
    count: np.ndarray,
    revenue: np.ndarray,
    cells: OpenCells,
    breakdown: tuple[str, ...],
) -> None:
    """Add the open deals' draws (cell, draw) of window ``horizon`` by level to ``by_group``."""
    for column in BREAKDOWN_COLUMNS:
        if column not in breakdown or column not in cells.labels:
            continue
        level_of_cell, levels = cells.labels[column]
        for li, level in enumerate(levels):
            rows = level_of_cell == li
            by_group[(horizon, "count", column, str(level))] = count[rows].sum(axis=0)
            by_group[(horizon, "revenue", column, str(level))] = revenue[rows].sum(axis=0)


def add_new_levels(
    by_group: dict,
    horizon: int,
    count: np.ndarray,
    revenue: np.ndarray,
    new_g: np.ndarray,
    new_month: np.ndarray,
    levels: list[str],
    by_product: bool,
    regions: list[str] | None,
    shares: np.ndarray | None,
    breakdown: tuple[str, ...],
) -> None:
    """Add the new deals' draws (row, draw) of window ``horizon`` to ``by_group``: rows of group
    ``new_g`` arriving in month ``new_month``; by product where the groups are the products
    (``by_product``), by region in proportion to each group's region ``shares``."""
    S = count.shape[1]
    for j in np.flatnonzero(new_month <= horizon):
        gi = new_g[j]
        if "product" in breakdown and by_product:
            for target, values in (("count", count[j]), ("revenue", revenue[j])):
                key = (horizon, target, "product", levels[gi])
                by_group[key] = by_group.get(key, np.zeros(S)) + values
        if "region" in breakdown and shares is not None:
            for ri, region in enumerate(regions):
                for target, values in (("count", count[j]), ("revenue", revenue[j])):
                    key = (horizon, target, "region", region)
                    by_group[key] = by_group.get(key, np.zeros(S)) + values * shares[gi][ri]


__all__ = ["BREAKDOWN_COLUMNS", "add_new_levels", "add_open_levels", "region_shares"]
