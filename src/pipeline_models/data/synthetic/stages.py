"""The stages each simulated deal passes and the long stage history built from them.

A deal passes the open stages in order, spending a Dirichlet share of its cycle in each
(``shares ~ Dirichlet(stage_time_concentration * stage_time_shares)``). A lost deal drops out at
a stage drawn from the loss-stage weights (``bottleneck_stage`` weighs ``bottleneck_weight``
times the others) and its cycle is spread over the stages it reached. A stalled deal stops at a
stage drawn from ``stalled_stage_weights`` and never moves again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .columns import NEVER, dates, text
from .config import SampleConfig
from .draws import normalised
from .parameters import loss_stage_probabilities


def stage_entries(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    cycle: np.ndarray,
    close: np.ndarray,
    won: np.ndarray,
    lost: np.ndarray,
    stalled: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Day each deal entered each stage (:data:`NEVER` if it never did) and its last open stage.

    Returns ``entries`` (n, stages + 2): the open stages in order, then the won and the lost
    stage, and ``last`` (n,): the index of the last open stage the deal reached.
    """
    n, k = len(created), len(config.stages)
    alpha = config.stage_time_concentration * normalised(config.stage_time_shares)
    shares = rng.gamma(alpha, size=(n, k))
    shares /= shares.sum(axis=1, keepdims=True)
    last = np.full(n, k - 1)
    last[lost] = rng.choice(k, size=int(lost.sum()), p=loss_stage_probabilities(config))
    last[stalled] = rng.choice(
        k, size=int(stalled.sum()), p=normalised(config.stalled_stage_weights)
    )
    before = np.cumsum(shares, axis=1) - shares  # share of the cycle spent before each stage
    through = np.take_along_axis(np.cumsum(shares, axis=1), last[:, None], axis=1)[:, 0]
    # a lost deal spends its whole cycle in the stages it reached; stalled deals keep the timing
    # of a won deal and simply stop
    scale = np.where(lost, through, 1.0)
    open_entries = created[:, None] + np.rint(cycle[:, None] * before / scale[:, None]).astype(
        np.int64
    )
    open_entries = np.where(np.arange(k)[None, :] <= last[:, None], open_entries, NEVER)
    closed_won = np.where(won, close, NEVER)
    closed_lost = np.where(lost, close, NEVER)
    entries = np.column_stack([open_entries, closed_won, closed_lost])
    return entries, last


def stage_table(ids: pa.Array, entries: np.ndarray, stages: Sequence[str]) -> pd.DataFrame:
    """Long stage history: one row per deal and stage entered, with the date it left."""
    # the next stage entered is the earliest later entry (open stages are entered in order and
    # a closed stage is last)
    later = np.minimum.accumulate(entries[:, ::-1], axis=1)[:, ::-1]
    exited = np.column_stack([later[:, 1:], np.full(len(entries), NEVER)])
    rows, cols = np.nonzero(entries < NEVER)
    return pd.DataFrame(
        {
            "opportunity_id": text(ids.take(pa.array(rows))),
            "stage": pd.Categorical.from_codes(cols, categories=list(stages)),
            "stage_index": cols.astype(np.int64),
            "entered_date": dates(entries[rows, cols]),
            "exited_date": dates(exited[rows, cols]),
        }
    )


__all__ = ["stage_entries", "stage_table"]
