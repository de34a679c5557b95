"""What a configuration implies before any draw: the month grid, rates, effects and probabilities.

The simulation draws from these and the ground truth states them, so both read them here and
cannot disagree.

arrivals
    ``n[product, month] ~ Poisson(rate_product * level[month] * covered[month] / days[month])``
    with ``level = exp(trend * month) * season[calendar month]`` (season normalised to mean 1):
    a month the history covers only in part gets that part of its arrivals.
leads
    the expected number of converting leads created on day ``u`` is
    ``b(u) = sum_d a(u + d) * P(rint(lag) = d)``, with ``a`` the expected opportunities per day.
"""

from __future__ import annotations

import math

import numpy as np

from .columns import ONE_MONTH, day_number
from .config import LeadSourceSpec, SampleConfig
from .draws import normal_cdf, normalised


def month_grid(config: SampleConfig) -> dict[str, np.ndarray]:
    """Calendar months of the history: first/last covered day, covered and total days, g(month)."""
    first_month = np.datetime64(config.start, "M")
    last_month = np.datetime64(config.end, "M")
    months = np.arange(first_month, last_month + ONE_MONTH)
    month_first = months.astype("datetime64[D]").astype(np.int64)
    month_last = (months + ONE_MONTH).astype("datetime64[D]").astype(np.int64) - 1
    first = np.maximum(month_first, day_number(config.start))
    last = np.minimum(month_last, day_number(config.end))
    covered = last - first + 1
    days_in_month = month_last - month_first + 1
    index = np.arange(len(months))
    calendar = months.astype(np.int64) % 12
    season = normalised(config.season) * 12
    level = np.exp(config.trend_per_month * index) * season[calendar]
    return {
        "months": months,
        "first": first,
        "covered": covered,
        "days_in_month": days_in_month,
        "level": level,
        "weight": level * covered / days_in_month,
    }


def arrival_rates(config: SampleConfig, grid: dict[str, np.ndarray]) -> np.ndarray:
    """Monthly arrival rate of each product at month 0 with season 1 (``rate_product``)."""
    return (
        config.n_opportunities
        * normalised([p.share for p in config.products])
        / grid["weight"].sum()
    )


def daily_arrivals(
    config: SampleConfig, rates: np.ndarray, extra_days: int
) -> tuple[np.int64, np.ndarray]:
    """Expected opportunities per day from the start to ``extra_days`` past the end."""
    start = day_number(config.start)
    last = day_number(config.end) + extra_days
    days = np.arange(start, last + 1)
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    index = (months - np.datetime64(config.start, "M")).astype(np.int64)
    month_first = months.astype("datetime64[D]").astype(np.int64)
    days_in_month = (months + ONE_MONTH).astype("datetime64[D]").astype(np.int64) - month_first
    season = normalised(config.season) * 12
    level = np.exp(config.trend_per_month * index) * season[months.astype(np.int64) % 12]
    return start, rates.sum() * level / days_in_month


def source_effects(config: SampleConfig) -> np.ndarray:
    """Win effect of each lead source, the strong source's extra effect included."""
    effects = np.array([s.win_effect for s in config.lead_sources], dtype=float)
    if config.strong_source is not None:
        effects[config.source_names.index(config.strong_source)] += config.strong_source_effect
    return effects


def loss_stage_probabilities(config: SampleConfig) -> np.ndarray:
    """Probability that a lost deal drops out at each open stage (the bottleneck weighs more)."""
    weights = np.ones(len(config.stages))
    if config.bottleneck_stage is not None:
        weights[config.stages.index(config.bottleneck_stage)] = config.bottleneck_weight
    return weights / weights.sum()


def product_stall_probability(config: SampleConfig, i: int, inside: float, outside: float) -> float:
    """Stall probability of a deal of product ``i``, given the probabilities inside and outside
    the stalled segment/product."""
    product = config.products[i]
    if config.stalled_segment is None and config.stalled_product is None:
        return config.stalled_fraction
    if config.stalled_product is not None and product.name != config.stalled_product:
        return outside
    if config.stalled_segment is None:
        return inside
    share = normalised(product.segment_mix)[config.segments.index(config.stalled_segment)]
    return float(share * inside + (1 - share) * outside)


def lag_pmf(source: LeadSourceSpec) -> np.ndarray:
    """P(rint(lag) = d) for d = 0..D, D covering all but a negligible tail."""
    mu, sigma = math.log(source.lag_median_days), source.lag_sigma
    top = int(math.ceil(math.exp(mu + 4.5 * sigma))) + 1
    edges = np.log(np.arange(top + 1) + 0.5)
    cdf = np.concatenate([[0.0], normal_cdf((edges - mu) / sigma)])
    return np.diff(cdf)


def expected_converted_leads(
    config: SampleConfig, rates: np.ndarray, pmf: np.ndarray
) -> np.ndarray:
    """Expected converted leads (all sources together) created per day, from start - D to end.

    Opportunity arrivals are continued past the end so that leads created near the end are sized
    as if the pipeline went on: their missing conversions are then right-censoring, not fewer leads.
    """
    d = len(pmf) - 1
    _, daily = daily_arrivals(config, rates, extra_days=d)
    padded = np.concatenate([np.zeros(d), daily])
    converted = np.correlate(padded, pmf, mode="valid")  # day start - d + i
    n_days = int(day_number(config.end) - day_number(config.start)) + 1 + d
    return converted[:n_days]


__all__ = [
    "arrival_rates",
    "daily_arrivals",
    "expected_converted_leads",
    "lag_pmf",
    "loss_stage_probabilities",
    "month_grid",
    "product_stall_probability",
    "source_effects",
]
