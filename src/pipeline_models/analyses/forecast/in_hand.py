"""The period's forecast as every report reads it, and what is in hand in it.

One prediction of the period's forecaster: the open deals (each moved by its deal score), the deals
the lead funnel's open and coming leads bring, and deals not yet created, with the run's seed. The
forecast report shows it; the lead requirement takes from the very same draws what is in hand (the
open deals and the open leads), so both reports give one figure with one interval for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline_models.analyses.forecast import strength
from pipeline_models.analyses.forecast.tables import interval_words, span_text
from pipeline_models.analyses.policy import FORECAST_QUANTILES
from pipeline_models.models.forecaster import ForecastResult
from pipeline_models.present.formats import format_count, format_money

if TYPE_CHECKING:
    from pipeline_models.run.catalog import Catalog

FORECAST_MONTHS = 4
"""Months the period's forecast draws at least: the next month, the one after, the quarter's span,
and one more, so that next month's run finds this run's forecast of its whole quarter in the
ledger (:mod:`~pipeline_models.analyses.forecast.ledger`). Every report draws the same months, so
every report reads the same draws."""

IN_HAND_PARTS = {"open": "open deals", "leads": "open leads"}
"""The parts of a forecast that are in hand at its origin, with their names for readers."""

IN_HAND_QUANTILES = (round(FORECAST_QUANTILES[0], 6), round(FORECAST_QUANTILES[-1], 6))
"""The interval what is in hand is shown with in both reports: the planner's
(:data:`~pipeline_models.analyses.policy.FORECAST_INTERVAL`), an outcome still to come."""


OUTLOOK_VERSION = 2
"""Version of what :func:`period_outlook` keeps in the fit cache (raised when how it is drawn
changes outside the forecaster, deal score and funnel, whose own versions are in its key)."""
SCORE_ODDS_VERSION = 1
"""Version of what :func:`period_score_odds` keeps in the fit cache."""


def period_outlook(
    catalog: Catalog, months: int = FORECAST_MONTHS
) -> tuple[ForecastResult, pd.DataFrame]:
    """The period's forecast for the windows of 1 to ``max(months, FORECAST_MONTHS)`` months,
    and the open deals it read (with their score odds). The same catalog gives the same draws
    to every report that asks for the same months: the run's fit step draws them (else the first
    report that asks), and they are kept in the fit cache for the others
    (:meth:`Catalog.derived`)."""
    horizons = tuple(range(1, outlook_reach(months) + 1))
    score, funnel = catalog.deal_score(), catalog.lead_funnel()
    key = {
        "version": OUTLOOK_VERSION,
        "horizons": list(horizons),
        "forecaster": catalog.forecaster().config_id,
        "deal_score": None if score is None else score.config_id,
        "funnel": None if funnel is None else funnel.config_id,
    }
    table = catalog.derived("outlook", key, lambda: _outlook_table(catalog, horizons))
    return ForecastResult.from_frame(table), period_score_odds(catalog)


def period_score_odds(catalog: Catalog) -> pd.DataFrame:
    """The period's open deals, each with its score odds (``score_odds``, against the deals of
    its forecast group that were open at its age: :func:`.strength.with_score_odds`); without a
    deal score, the open deals as they are. Scored once per run and kept in the fit cache
    (:meth:`Catalog.derived`): the period's forecast and the stalled deals read the same odds."""
    frame = catalog.opportunities()
    open_deals = frame[frame["status"] == "open"].copy()
    score = catalog.deal_score()
    if score is None:
        return open_deals
    group = catalog.forecaster().forecast_config.group
    key = {"version": SCORE_ODDS_VERSION, "deal_score": score.config_id, "group": group}

    def odds_table() -> pd.DataFrame:
        scored = strength.with_score_odds(open_deals, score, group, frame, catalog.as_of)
        return pd.DataFrame({"odds": scored[strength.SCORE_ODDS].to_numpy(dtype=float)})

    table = catalog.derived("score_odds", key, odds_table)
    open_deals[strength.SCORE_ODDS] = table["odds"].to_numpy(dtype=float)
    return open_deals


def outlook_reach(months: int) -> int:
    """The longest window of the period's forecast a report that asks for ``months`` reads:
    reports whose reach is the same read the same draws."""
    return max(months, FORECAST_MONTHS)


def _outlook_table(catalog: Catalog, horizons: tuple[int, ...]) -> pd.DataFrame:
    """Draw the period's forecast, in its table form."""
    # each open deal's chance moves with its score (odds against the deals open at its age)
    result = catalog.forecaster().predict(
        period_score_odds(catalog),
        horizons=horizons,
        random_seed=catalog.random_seed,
        funnel=catalog.lead_funnel(),
    )
    return result.to_frame()


def monthly_parts(
    result: ForecastResult, months: int, parts: dict[str, str] = IN_HAND_PARTS
) -> dict[str, dict[str, np.ndarray]]:
    """Per part (by its reader's name) and metric, draws x coming months of deals and revenue won
    in each of the first ``months`` months, from the forecast's cumulative windows. A window
    widened more than the one before it by the self-calibration could give a month a negative
    draw: months are clipped at 0."""
    out = {}
    for part, name in parts.items():
        out[name] = {}
        for metric in ("count", "revenue"):
            cumulative = np.column_stack(
                [result.draws[(h, metric, part)] for h in range(1, months + 1)]
            )
            monthly = np.diff(cumulative, axis=1, prepend=0.0)
            out[name][metric] = np.maximum(monthly, 0.0)
    return out


def in_hand_figure(
    parts: dict[str, dict[str, np.ndarray]], metric: str
) -> tuple[float, tuple[float, float]]:
    """What is in hand over the whole window: the expected value of ``metric`` and its
    interval (:data:`IN_HAND_QUANTILES`)."""
    total = sum(p[metric] for p in parts.values()).sum(axis=1)
    low, high = np.quantile(total, IN_HAND_QUANTILES)
    return float(total.mean()), (float(low), float(high))


def in_hand_words(
    expected: float, interval: tuple[float, float], metric: str, currency: str = ""
) -> str:
    """What is in hand in words: ``"41 deals (80% interval 33–50)"`` or the same in money,
    ``"4.82M USD (80% interval 4.02M–5.63M USD)"``."""
    low, high = interval
    words = interval_words(IN_HAND_QUANTILES[1] - IN_HAND_QUANTILES[0])
    span = span_text(low, high, metric, currency)
    if metric == "count":
        figure = f"{format_count(expected)} deal{'' if round(expected) == 1 else 's'}"
    else:
        figure = format_money(expected, currency)
    if span == span_text(low, low, metric, currency):  # no spread to speak of: 0 in every draw
        return figure
    return f"{figure} ({words} {span})"


__all__ = [
    "FORECAST_MONTHS",
    "IN_HAND_PARTS",
    "IN_HAND_QUANTILES",
    "in_hand_figure",
    "in_hand_words",
    "monthly_parts",
    "outlook_reach",
    "period_outlook",
    "period_score_odds",
]
