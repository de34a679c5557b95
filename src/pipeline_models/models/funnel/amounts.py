"""Won deal size per level (source or product): a pooled mean and variance, with draws of the mean.

Each level's mean won amount is shrunk toward all levels' by ``amount_pooling`` wins; the mean's
uncertainty is normal with the pooled variance over (wins + pooling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline_models.models.funnel.config import FunnelConfig


@dataclass(frozen=True)
class Amounts:
    """Won deal size per level: pooled mean and variance, and draws of the mean (draws x levels)."""

    mean: np.ndarray
    var: np.ndarray
    draws: np.ndarray


def fit_amounts(
    amount: np.ndarray,
    codes: np.ndarray,
    levels: list[str],
    cfg: FunnelConfig,
    rng: np.random.Generator,
) -> Amounts:
    """Pooled won amounts per level; ``amount`` and ``codes`` (positions in ``levels``): the
    won deals (amounts not above zero are left out)."""
    keep = amount > 0
    amounts, codes = amount[keep], codes[keep]
    all_mean = float(amounts.mean()) if len(amounts) else 0.0
    all_var = float(amounts.var(ddof=1)) if len(amounts) > 1 else max(all_mean**2, 1e-9)
    n_won = np.bincount(codes, minlength=len(levels))
    own_mean = np.bincount(codes, weights=amounts, minlength=len(levels)) / np.maximum(n_won, 1)
    squares = np.bincount(codes, weights=(amounts - own_mean[codes]) ** 2, minlength=len(levels))
    own_var = np.where(n_won > 1, squares / np.maximum(n_won - 1, 1), all_var)
    weight = n_won / (n_won + cfg.amount_pooling)
    mean = weight * own_mean + (1 - weight) * all_mean
    var = np.maximum(weight * own_var + (1 - weight) * all_var, 1e-9)
    se = np.sqrt(var / (n_won + cfg.amount_pooling))
    draws = mean + se * rng.standard_normal((cfg.draws, len(levels)))
    return Amounts(mean, var, np.maximum(draws, 0.05 * np.maximum(mean, 1e-9)))


__all__ = ["Amounts", "fit_amounts"]
