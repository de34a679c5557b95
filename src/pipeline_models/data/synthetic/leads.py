"""Simulated leads: the lead behind every opportunity and the leads that never became one.

Every opportunity comes from a lead of its source created ``rint(lag)`` days earlier,
``lag ~ LogNormal(lag_mu_source, lag_sigma_source)``. With ``b(u)`` the expected number of
converting leads created on day ``u`` (:func:`~.parameters.expected_converted_leads`),
never-converting leads on day ``u`` are ``Poisson(b(u) * (1 - c) / c)``, so every lead converts
with probability ``c = conversion_rate_source``. The opportunity process is continued past the
history's end to create the leads that convert only after it (their ``converted_date`` lies after
the end and they have no opportunity): every snapshot shows them unconverted, as a CRM would.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from .columns import NEVER, categorical, dates, day_number, ids, text
from .config import LeadSourceSpec, SampleConfig
from .draws import creation_order, normalised
from .parameters import daily_arrivals, expected_converted_leads, lag_pmf


def simulate_leads(
    config: SampleConfig,
    rng: np.random.Generator,
    rates: np.ndarray,
    source: np.ndarray,
    created: np.ndarray,
    opportunity_id: pa.Array,
) -> tuple[pd.DataFrame, pa.Array]:
    """Leads behind the opportunities plus the unconverted ones; the lead id of every deal.

    Parameters
    ----------
    config, rng
        The generator's configuration and the leads' random stream.
    rates
        Monthly arrival rate of each product (:func:`~.parameters.arrival_rates`).
    source, created, opportunity_id
        Lead source code, creation day and id of every deal, in creation order.

    Returns
    -------
    (leads, lead_id)
        Every lead in creation order (``lead_id, created_date, source, opportunity_id,
        converted_date``) and the lead id of each deal (all missing without leads).
    """
    n = len(created)
    if not config.with_leads:
        return _no_leads(config), pa.nulls(n, pa.string())
    source_share = normalised([x.share for x in config.lead_sources])
    lead_day = np.empty(n, dtype=np.int64)
    # three kinds of lead: converted within the history (one per deal), converting after its end
    # (their opportunity lies beyond the history), never converting
    days, sources, converted_days = [], [], []
    for s, spec in enumerate(config.lead_sources):
        mask = source == s
        lead_day[mask] = created[mask] - _lags(rng, spec, int(mask.sum()))
        for made, converted in _leads_without_deal(config, rng, rates, spec, source_share[s]):
            days.append(made)
            converted_days.append(converted)
            sources.append(np.full(len(made), s))
    other_day = np.concatenate(days)
    all_day = np.concatenate([lead_day, other_day])
    all_source = np.concatenate([source, *sources])
    deal_index = np.concatenate([np.arange(n), np.full(len(other_day), -1)])
    order = creation_order(rng, all_day)
    lead_id = ids("LEAD-", len(all_day))
    deal_index = deal_index[order]
    converted = deal_index >= 0
    lead_position = np.empty(n, dtype=np.int64)
    lead_position[deal_index[converted]] = np.flatnonzero(converted)
    converted_day = np.concatenate([created, *converted_days])[order]
    leads = pd.DataFrame(
        {
            "lead_id": text(lead_id),
            "created_date": dates(all_day[order]),
            "source": categorical(all_source[order], config.source_names),
            "opportunity_id": text(
                opportunity_id.take(pa.array(np.maximum(deal_index, 0), mask=~converted))
            ),
            "converted_date": dates(converted_day),
        }
    )
    return leads, lead_id.take(pa.array(lead_position))


def _lags(rng: np.random.Generator, spec: LeadSourceSpec, size: int) -> np.ndarray:
    """Whole days from lead to opportunity, ``rint(LogNormal(log(median), sigma))``."""
    mu = math.log(spec.lag_median_days)
    return np.rint(np.exp(mu + spec.lag_sigma * rng.normal(size=size))).astype(np.int64)


def _leads_without_deal(
    config: SampleConfig,
    rng: np.random.Generator,
    rates: np.ndarray,
    spec: LeadSourceSpec,
    share: float,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leads of one source without a deal in the history, as (creation days, conversion days):
    first those converting after the history's end, then those never converting."""
    start, end = day_number(config.start), day_number(config.end)
    pmf = lag_pmf(spec)
    _, daily = daily_arrivals(config, rates, extra_days=len(pmf) - 1)
    future = rng.poisson(daily[end - start + 1 :] * share)
    future_day = np.repeat(end + 1 + np.arange(len(future)), future)
    future_lead_day = future_day - _lags(rng, spec, len(future_day))
    keep = future_lead_day <= end
    c = spec.conversion_rate
    expected_converted = expected_converted_leads(config, rates, pmf) * share
    never = rng.poisson(expected_converted * (1 - c) / c)
    first_day = start - (len(pmf) - 1)
    return [
        (future_lead_day[keep], future_day[keep]),
        (np.repeat(first_day + np.arange(len(never)), never), np.full(int(never.sum()), NEVER)),
    ]


def _no_leads(config: SampleConfig) -> pd.DataFrame:
    """The leads table without rows (a history simulated without leads)."""
    return pd.DataFrame(
        {
            "lead_id": text(pa.array([], pa.string())),
            "created_date": pd.Series([], dtype="datetime64[ns]"),
            "source": categorical(np.empty(0, int), config.source_names),
            "opportunity_id": text(pa.array([], pa.string())),
            "converted_date": pd.Series([], dtype="datetime64[ns]"),
        }
    )


__all__ = ["simulate_leads"]
