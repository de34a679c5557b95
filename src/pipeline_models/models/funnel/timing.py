"""The funnel's lags fitted from its items: opportunity -> won and -> lost by source and by
product, lead -> won (won paths) and lead -> opportunity by source.

Every lag distribution is weighted against truncation (:func:`~.lags.truncation_weights`, with
each item's window from its creation to the as-of date and to the export's first recorded
outcome) and pooled with all levels' lags worth ``lag_pooling`` lags. Each outcome also gets an
``"__all__"`` distribution of every level's lags together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.groups import codes, distinct
from pipeline_models.models.funnel.lags import (
    LagDistribution,
    no_lag,
    observation_windows,
    pooled_lags,
    truncation_weights,
)
from pipeline_models.models.funnel.opportunities import LOST, OPEN, WON
from pipeline_models.models.funnel.tally import OpportunityArrays

ALL = "__all__"
"""Key of the lag distribution of all levels together."""


@dataclass(frozen=True)
class OutcomeLags:
    """Opportunity -> won and -> lost lags by source and by product (each with :data:`ALL`), and
    the first recorded close of the items."""

    first_close: pd.Timestamp | None
    won: dict[str, LagDistribution]
    lost: dict[str, LagDistribution]
    product_won: dict[str, LagDistribution]
    product_lost: dict[str, LagDistribution]


def _by_level(
    level: np.ndarray,
    levels: list[str],
    present: list[str],
    observed: tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]],
    strength: float,
) -> dict[str, LagDistribution]:
    """Lags of one outcome (``observed``: the rows, their lags, truncation weights and distinct
    days) for each level present in the items (pooled with all levels' lags), and ``ALL``."""
    rows, lag, weights, days = observed
    pooled = pooled_lags(lag, weights, level[rows], levels, strength, days)
    out = {lv: pooled[lv] for lv in present}
    out[ALL] = pooled_lags(lag, weights, np.zeros(len(rows), np.int64), [ALL], 0.0, days)[ALL]
    return out


def outcome_lags(
    o: OpportunityArrays,
    close: np.ndarray,
    as_of: pd.Timestamp,
    levels: tuple[list[str], list[str]],
    present: tuple[list[str], list[str]],
    strength: float,
) -> OutcomeLags:
    """Won and lost lags of the opportunities ``o`` (``close``: their close dates), by source and
    by product (``levels``: the fit's sources and products; ``present``: those the
    opportunities hold)."""
    closes = close[o.outcome != OPEN]
    first_close = pd.Timestamp(closes.min()) if len(closes) else None
    observed = {}
    for code in (WON, LOST):
        rows = np.flatnonzero((o.outcome == code) & ~np.isnan(o.lag))
        lower, upper = observation_windows(o.created[rows], as_of, first_close)
        lag = o.lag[rows]
        observed[code] = (rows, lag, truncation_weights(lag, lower, upper), distinct(lag))
    (sources, products), (opp_sources, opp_products) = levels, present
    return OutcomeLags(
        first_close,
        *(_by_level(o.source, sources, opp_sources, observed[c], strength) for c in (WON, LOST)),
        *(_by_level(o.product, products, opp_products, observed[c], strength) for c in (WON, LOST)),
    )


def path_lags(
    won_paths: pd.DataFrame,
    as_of: pd.Timestamp,
    first_close: pd.Timestamp | None,
    sources: list[str],
    strength: float,
) -> tuple[pd.DataFrame, dict[str, LagDistribution]]:
    """The won paths with a lead -> won lag, with their truncation ``weight``, and the lead ->
    won lag distribution by source."""
    paths = won_paths.dropna(subset=["lag_total"])
    lower, upper = observation_windows(paths["lead_created"], as_of, first_close)
    paths = paths.assign(weight=truncation_weights(paths["lag_total"], lower, upper))
    lag_total = pooled_lags(
        paths["lag_total"].to_numpy(float),
        paths["weight"].to_numpy(float),
        codes(paths["source"], sources),
        sources,
        strength,
    )
    return paths, lag_total


def conversion_lags(
    leads: pd.DataFrame, as_of: pd.Timestamp, sources: list[str], strength: float
) -> tuple[pd.Timestamp | None, dict[str, LagDistribution]]:
    """The first recorded conversion of the leads, and the lead -> opportunity lag by source."""
    conv = leads[leads["converted"]].dropna(subset=["lag1"])
    first = None
    if len(conv):
        first = pd.Timestamp((conv["created"] + pd.to_timedelta(conv["lag1"], unit="D")).min())
    lower, upper = observation_windows(conv["created"], as_of, first)
    lags = pooled_lags(
        conv["lag1"].to_numpy(float),
        truncation_weights(conv["lag1"], lower, upper),
        codes(conv["source"], sources),
        sources,
        strength,
    )
    return first, lags


def no_conversion_lags(sources: list[str]) -> dict[str, LagDistribution]:
    """Without a leads table an opportunity is its own lead: no lead -> opportunity lag."""
    return {s: no_lag() for s in sources}


__all__ = [
    "ALL",
    "OutcomeLags",
    "conversion_lags",
    "no_conversion_lags",
    "outcome_lags",
    "path_lags",
]
