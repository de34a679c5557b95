"""Random streams of the generator and the small numeric helpers its draws use.

Every part of the generative model draws from its own stream, seeded by ``[random_seed, part]``,
so changing how one part is drawn leaves every other part's numbers as they were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

STREAMS = (
    "arrivals",
    "mix",
    "owners",
    "outcome",
    "amount",
    "cycle",
    "stages",
    "close_dates",
    "amount_revisions",
    "order",
    "leads",
)
"""Independent random streams, one per part of the model, so changing one part leaves the others."""


def stream_rng(random_seed: int, stream: str) -> np.random.Generator:
    """The random generator of one part of the model (one of :data:`STREAMS`)."""
    return np.random.default_rng([int(random_seed), STREAMS.index(stream)])


def draw_owner_effects(random_seed: int, owner_sd: float, n_owners: int) -> np.ndarray:
    """The owners' win effects, ``owner_effect ~ Normal(0, owner_sd)``, from their own stream."""
    return stream_rng(random_seed, "owners").normal(0.0, owner_sd, n_owners)


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, log-odds to probability."""
    return 1.0 / (1.0 + np.exp(-x))


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Standard normal distribution function, elementwise."""
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(np.asarray(x) / math.sqrt(2.0)))


def normalised(values: Sequence[float]) -> np.ndarray:
    """``values`` scaled to sum to one."""
    arr = np.asarray(values, dtype=float)
    return arr / arr.sum()


def creation_order(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Indices sorting ``days``, ties in random order (one integer key sorts faster than lexsort)."""
    if len(days) == 0:
        return np.empty(0, dtype=np.int64)
    key = ((days - days.min()) << 32) | rng.integers(0, 2**32, len(days), dtype=np.int64)
    return np.argsort(key, kind="stable")


__all__ = [
    "STREAMS",
    "creation_order",
    "draw_owner_effects",
    "expit",
    "normal_cdf",
    "normalised",
    "stream_rng",
]
