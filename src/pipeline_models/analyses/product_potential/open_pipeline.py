"""Expected value of the open pipeline per level: each open deal's chance of being won at its age
times its amount, summed (``sum P(won eventually) x amount``), per posterior draw."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.data.aggregate import factorize_rows, group_levels

from .cells import thin_draws
from .levels import level_labels

if TYPE_CHECKING:
    from pipeline_models.models import CycleTimeModel, RevenueModel

HORIZON_DAYS = 3650.0
"""A deal counts as won eventually when it is won within ten years: old deals that have probably
stalled count for little."""


def open_pipeline_draws(
    cycle_model: CycleTimeModel,
    revenue_model: RevenueModel,
    frame: pd.DataFrame,
    as_of: str | pd.Timestamp,
    by: Sequence[str],
    levels: Sequence[str],
    n_samples: int,
    random_seed: int | None = None,
) -> np.ndarray:
    """Draws of the expected value of each level's open deals, ``sum P(won eventually) x amount``.

    ``P(won eventually)`` is the cycle-time model's chance that a deal open at its age is won
    (within ten years: old deals that have probably stalled count for little); the amount is the
    deal's recorded one, or the revenue model's mean won amount of its cell when it has none.
    A deal's age is taken at the middle of its week of age; open deals without a creation date
    are taken as just created (age 0). Shape
    ``(n_samples, level)``; 0 for a level without open deals.
    """
    as_of = pd.Timestamp(as_of).normalize()
    status = frame["status"].astype("string").fillna("open")
    deals = frame[(status == "open").to_numpy()]
    out = np.zeros((n_samples, len(levels)))
    if deals.empty:
        return out
    cols = list(dict.fromkeys([*cycle_model.columns_, *revenue_model.columns_, *by]))
    table = _deal_cells(deals, as_of, cols)
    pair_of_deal, p_won = _won_chance(cycle_model, table, n_samples, random_seed)
    # the sum over deals of P(won) x amount is linear: sum the amounts of each (pair, level)
    # first, so the work grows with pairs and levels, not with deals
    level_of_deal = pd.Index(list(levels)).get_indexer(level_labels(deals, by).to_numpy())
    amount = pd.to_numeric(deals["amount"], errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(amount)
    counted = level_of_deal >= 0
    known = counted & ~missing
    weights = np.zeros((p_won.shape[1], len(levels)))
    np.add.at(weights, (pair_of_deal[known], level_of_deal[known]), amount[known])
    out += p_won @ weights
    if (missing & counted).any():
        out += _value_without_amount(
            revenue_model,
            table.loc[missing],
            p_won,
            pair_of_deal[missing],
            level_of_deal[missing],
            len(levels),
            n_samples,
            random_seed,
        )
    return out


def _deal_cells(deals: pd.DataFrame, as_of: pd.Timestamp, cols: list[str]) -> pd.DataFrame:
    """The open deals' model columns as levels, with ``age_days`` at the middle of their week."""
    created = pd.to_datetime(deals["created_date"], errors="coerce")
    age = np.clip((as_of - created).dt.days.to_numpy(dtype=float), 0.0, None)
    # the chance changes slowly with age: it is computed at the middle of the deal's week of
    # age, so the work grows with cells and weeks, not with the distinct ages of many deals
    age = np.where(np.isnan(age), 0.0, np.floor(age / 7.0) * 7.0 + 3.5)
    table = (
        group_levels(deals, cols).reset_index(drop=True)
        if cols
        else pd.DataFrame(index=pd.RangeIndex(len(deals)))
    )
    table["age_days"] = age
    return table


def _won_chance(
    cycle_model: CycleTimeModel, table: pd.DataFrame, n_samples: int, random_seed: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each deal's (cell, age) pair and the draws ``(sample, pair)`` of its chance to be won."""
    # deals of one cell and age share their chance: compute it once per distinct pair
    ccols = [*cycle_model.columns_, "age_days"]
    pair_of_deal, pairs = factorize_rows(table, ccols)
    p_pairs = cycle_model.predict_outcome(
        pairs, horizon_days=HORIZON_DAYS, random_seed=random_seed, n_samples=n_samples
    )["p_won"].values
    return pair_of_deal, thin_draws(np.asarray(p_pairs), n_samples)


def _value_without_amount(
    revenue_model: RevenueModel,
    table: pd.DataFrame,
    p_won: np.ndarray,
    pair: np.ndarray,
    level: np.ndarray,
    n_levels: int,
    n_samples: int,
    random_seed: int | None,
) -> np.ndarray:
    """Expected value ``(sample, level)`` of the open deals without an amount (rows of
    ``table``): each counts the revenue model's mean won amount of its cell."""
    rcols = list(revenue_model.columns_)
    if rcols:
        cell_codes, cells = factorize_rows(table[rcols], rcols)
    else:
        cell_codes, cells = np.zeros(len(table), dtype=int), pd.DataFrame(index=range(1))
    size = thin_draws(
        np.asarray(revenue_model.expected_amount(cells, random_seed).values), n_samples
    )
    # deals without an amount count the mean won amount of their cell: group them by
    # (pair, cell, level)
    combos = (
        pd.DataFrame({"pair": pair, "cell": cell_codes, "level": level})
        .query("level >= 0")
        .value_counts()
        .reset_index(name="n")
    )
    pair, cell, level = (combos[c].to_numpy() for c in ("pair", "cell", "level"))
    contribution = p_won[:, pair] * size[:, cell] * combos["n"].to_numpy(dtype=float)
    onehot = np.zeros((len(combos), n_levels))
    onehot[np.arange(len(combos)), level] = 1.0
    return contribution @ onehot
