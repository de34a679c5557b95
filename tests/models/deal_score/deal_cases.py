"""Simulated closed deals with known effects, for the deal score's recovery tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

PRODUCTS = ("Alpha", "Beta", "Gamma", "Delta")
PRODUCT_EFFECT = np.array([0.6, 0.0, -0.4, -0.9])
REGIONS = ("North", "South", "East")
REGION_EFFECT = np.array([0.3, 0.0, -0.3])
OWNERS = tuple(f"rep {k:02d}" for k in range(12))
INTERACTION = 0.8
"""Extra log-odds of product Alpha sold in the North (the only true pair effect)."""
ROUND_EFFECT = -0.9
"""Log-odds of a round amount (one significant digit) against an exact one."""


def size_effect(log_amount: np.ndarray) -> np.ndarray:
    """A non-linear effect of deal size: a hump around 20k, falling for the largest deals."""
    return 0.9 * np.exp(-0.5 * ((log_amount - np.log(20_000)) / 0.7) ** 2) - 0.25 * np.maximum(
        log_amount - np.log(100_000), 0
    )


def simulate_deals(n: int, seed: int, owner_sd: float = 0.5) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` closed deals and each one's true chance of being won."""
    rng = np.random.default_rng(seed)
    product = rng.integers(0, len(PRODUCTS), n)
    region = rng.integers(0, len(REGIONS), n)
    owner = rng.integers(0, len(OWNERS), n)
    owner_effect = np.random.default_rng(1000).normal(0, owner_sd, len(OWNERS))  # one sales team
    log_amount = rng.normal(np.log(25_000), 1.0, n)
    exact = np.round(np.exp(log_amount), 0) + rng.integers(1, 9, n)  # four or more digits
    round_figure = rng.random(n) < 0.4
    magnitude = 10.0 ** np.floor(np.log10(exact))
    amount = np.where(round_figure, np.round(exact / magnitude) * magnitude, exact)
    eta = (
        -0.8
        + PRODUCT_EFFECT[product]
        + REGION_EFFECT[region]
        + owner_effect[owner]
        + INTERACTION * ((product == 0) & (region == 0))
        + size_effect(np.log(amount))
        + ROUND_EFFECT * round_figure
    )
    truth = expit(eta)
    frame = pd.DataFrame(
        {
            "product": np.array(PRODUCTS)[product],
            "region": np.array(REGIONS)[region],
            "owner": np.array(OWNERS)[owner],
            "amount": amount,
        }
    )
    frame["won"] = rng.random(n) < truth
    return frame, truth
