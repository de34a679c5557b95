"""Open deals as the forecast sees them: each one's age and chance of closing won soon.

Deals far older than deals usually take have small chances: they sit in the CRM's weighted
pipeline at full weight, but count for little in the forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.models.forecaster import PipelineForecaster
from pipeline_models.models.forecaster.codes import month_index

AGE_BAND_EDGES = (-1, 2, 5, 11, 1000)
"""Age bands in months, (low, high]: a deal's first quarter, its second, the rest of its first year,
and older (1000 months stands for any age)."""

AGE_BAND_LABELS = ("0-2", "3-5", "6-11", "12+")
"""Names of the :data:`AGE_BAND_EDGES` bands."""

OUTLOOK_COLUMNS = ("opportunity_id", "product", "region", "owner", "stage", "amount")
"""The columns of an open deal a reader recognises it by."""


def chance_column(horizon: int) -> str:
    """Name of the column holding the chance of closing won within ``horizon`` months."""
    return f"p_won_{horizon}m"


def open_deal_outlook(
    forecaster: PipelineForecaster, open_deals: pd.DataFrame, horizon: int = 3
) -> pd.DataFrame:
    """Per open deal: age in months and the posterior mean chance of closing won within
    ``horizon`` months (old, stalled deals get small chances), with its amount; most likely
    first. Deals without a creation date cannot be aged and are left out."""
    deals = open_deals[open_deals["created_date"].notna()]
    chance = forecaster.chance_won_within(deals, horizon)
    out = deals[list(OUTLOOK_COLUMNS)].copy()
    out["age_months"] = np.maximum(forecaster.origin_month_ - month_index(deals["created_date"]), 0)
    out[chance_column(horizon)] = chance
    return out.sort_values(chance_column(horizon), ascending=False).reset_index(drop=True)


def age_band_table(deals: pd.DataFrame, horizon: int = 3) -> pd.DataFrame:
    """Open deals (an :func:`open_deal_outlook`) by age band: how many, and their mean chance of
    closing won within ``horizon`` months (``deals``, ``mean_p_won``; bands without deals left
    out)."""
    bands = pd.cut(deals["age_months"], list(AGE_BAND_EDGES), labels=list(AGE_BAND_LABELS))
    return deals.groupby(bands, observed=True).agg(
        deals=("opportunity_id", "size"), mean_p_won=(chance_column(horizon), "mean")
    )


__all__ = [
    "AGE_BAND_EDGES",
    "AGE_BAND_LABELS",
    "OUTLOOK_COLUMNS",
    "age_band_table",
    "chance_column",
    "open_deal_outlook",
]
