"""Hand-made deals and a simulated pipeline shared by the forecaster and forecast report tests."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pandas as pd

from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.models.forecaster import ForecastConfig

FAST = ForecastConfig(draws=400, calibration_origins=0)


def deals(rows: list[tuple]) -> pd.DataFrame:
    """Canonical frame from (id, created, close, status, amount, product) rows."""
    frame = pd.DataFrame(
        rows,
        columns=["opportunity_id", "created_date", "close_date", "status", "amount", "product"],
    )
    frame["stage"] = frame["status"].map({"won": "Won", "lost": "Lost", "open": "Proposal"})
    return conform_opportunities(frame)


@lru_cache(maxsize=1)
def sample_export() -> pd.DataFrame:
    """The last export of a simulated history of 3,000 deals (do not modify: it is shared)."""
    config = replace(sample.SampleConfig(), n_opportunities=3_000, with_leads=False)
    history = sample.simulate_history(config, random_seed=7)
    return conform_opportunities(sample.snapshot(history, history.config.end)[0])
