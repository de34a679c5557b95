"""Cells of open deals: deals that share their closing chances and their amount model.

Open deals of one hazard group, age, breakdown level and with or without a known amount are won
with the same chance in every coming month, so they are simulated together: the cost of a
forecast grows with the number of cells (groups x ages x regions), not with the number of deals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.models.forecaster.codes import label_codes, month_index, renumbered, tally

SCORE_ODDS = "score_odds"
"""Optional column of open deals: each deal's odds of winning against its group's average, from
the deal score. Deals then share a cell only when their odds round to the same step."""
ODDS_STEP = 0.1
"""Log-odds step the scores are rounded to in cells (a chance of 30% moves by at most 1 point)."""


@dataclass
class OpenCells:
    """Open deals that share their closing probabilities and their amount model, simulated
    together: same hazard group, age, breakdown levels, and amount known or not."""

    g: np.ndarray  # hazard group (len(levels_): all-products hazards, for unseen levels)
    age: np.ndarray  # age in months in the first coming month, capped at max_age_months + 1
    n: np.ndarray  # deals
    known: np.ndarray  # amounts known (else drawn from won amounts)
    amounts: np.ndarray  # known amounts, cell after cell
    start: np.ndarray  # where each cell's amounts start in ``amounts``
    total: np.ndarray  # sum of the cell's known amounts
    var: np.ndarray  # their variance (population)
    labels: dict[str, tuple[np.ndarray, list[str]]]  # column -> (level of each cell, levels)
    score_step: np.ndarray | None = None  # (cells,) score odds in log-odds steps; None: all 0

    @classmethod
    def of_counts(cls, g: np.ndarray, age: np.ndarray, n: np.ndarray) -> OpenCells:
        """Cells of deals without known amounts and without a breakdown."""
        zeros = np.zeros(len(g))
        return cls(
            g=g,
            age=age,
            n=n.astype(np.int64),
            known=np.zeros(len(g), bool),
            amounts=np.zeros(0),
            start=np.zeros(len(g), np.int64),
            total=zeros,
            var=zeros,
            labels={},
        )


def group_of_labels(names: list[str], levels: list[str]) -> np.ndarray:
    """The hazard group of each label: its level's index, or ``len(levels)`` (the all-products
    hazards) for a level the fit never saw."""
    level_index = {lv: i for i, lv in enumerate(levels)}
    return np.array([level_index.get(name, len(levels)) for name in names], np.int64)


def deal_cells(
    open_deals: pd.DataFrame | None,
    levels: list[str],
    origin_month: int,
    group: str,
    max_age_months: int,
    breakdown: tuple[str, ...],
) -> OpenCells:
    """Cells of ``open_deals``: group, age, whether the amount is known, and the region where
    the breakdown asks for it. Deals without a creation date cannot be aged and are left out."""
    if open_deals is None or not len(open_deals):
        return OpenCells.of_counts(*(np.zeros(0, np.int64) for _ in range(3)))
    valid = open_deals["created_date"].notna().to_numpy()
    N = int(valid.sum())
    if group in open_deals:
        label, names = label_codes(open_deals[group])
        label = label[valid]
    else:
        label, names = np.zeros(N, np.int64), [NONE_LEVEL]
    group_of = group_of_labels(names, levels)
    K = max_age_months + 1
    created = month_index(open_deals["created_date"])[valid]
    age = np.minimum(np.maximum(origin_month - created, 0) + 1, K)
    amount = open_deals["amount"].to_numpy(dtype=float, na_value=np.nan)[valid]
    known = ~np.isnan(amount)
    columns = [label, age, known.astype(np.int64)]
    step = odds_steps(open_deals)
    if step is not None:
        columns.append(step[valid])
    region_names = None
    if "region" in open_deals and "region" in breakdown:
        region, region_names = label_codes(open_deals["region"])
        columns.append(region[valid])
    values, n, cell = tally(*columns)
    cell_label, cell_age, cell_known = values[0], values[1], values[2].astype(bool)
    amounts, start, total, var = _known_amounts(amount, known, cell, n, cell_known)
    labels = {"product": renumbered(cell_label, names)} if "product" in breakdown else {}
    if region_names is not None:
        labels["region"] = renumbered(values[-1], region_names)
    return OpenCells(
        g=group_of[cell_label],
        age=cell_age,
        n=n.astype(np.int64),
        known=cell_known,
        amounts=amounts,
        start=start,
        total=total,
        var=var,
        labels=labels,
        score_step=None if step is None else values[3],
    )


def odds_steps(deals: pd.DataFrame) -> np.ndarray | None:
    """Each deal's score odds as a whole number of log-odds steps; ``None`` without scores."""
    if SCORE_ODDS not in deals:
        return None
    odds = pd.to_numeric(deals[SCORE_ODDS], errors="coerce").fillna(1.0).to_numpy(dtype=float)
    return np.round(np.log(np.clip(odds, 1e-6, 1e6)) / ODDS_STEP).astype(np.int64)


def step_odds(steps: np.ndarray) -> np.ndarray:
    """The odds of whole log-odds ``steps``, shaped (1, deals) as ``won_by`` takes them."""
    return np.exp(np.asarray(steps) * ODDS_STEP)[None, :]


def _known_amounts(
    amount: np.ndarray, known: np.ndarray, cell: np.ndarray, n: np.ndarray, cell_known: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The known amounts cell after cell, where each cell's start, and their sum and population
    variance per cell."""
    order = np.argsort(cell[known], kind="stable")
    amounts = amount[known][order]
    n_known = np.where(cell_known, n, 0).astype(np.int64)
    start = np.cumsum(n_known) - n_known
    C = len(n)
    total = np.bincount(cell[known], weights=amount[known], minlength=C)
    mean = np.divide(total, n_known, out=np.zeros(C), where=n_known > 0)
    spread = (amount[known] - mean[cell[known]]) ** 2
    var = np.divide(
        np.bincount(cell[known], weights=spread, minlength=C),
        n_known,
        out=np.zeros(C),
        where=n_known > 0,
    )
    return amounts, start, total, var


__all__ = ["OpenCells", "deal_cells", "group_of_labels"]
