"""A synthetic CRM export with known ground truth: the bundled sample and every model's test bed.

The generator simulates two years of a sales pipeline deal by deal (vectorised with numpy, so
millions of deals take seconds), keeps the full truth (final outcome, true close date, stage
history, how the CRM's expected close date and amount were revised), and can show the export as the
CRM would have shown it on any date (:func:`snapshot`).

Generative model (the same parametrisation the models use, so recovery tests compare directly)
---------------------------------------------------------------------------------------------
arrivals
    ``n[product, month] ~ Poisson(rate_product * exp(trend * month) * season[calendar month])``,
    creation days uniform within the month; ``month`` counts from 0 at the history's first month.
mix
    ``region ~ Categorical(region share)``, ``owner ~ Uniform(owners of the region)``,
    ``segment ~ Categorical(segment mix of the product)``, ``lead_source ~ Categorical(source
    share)``, ``account ~ Uniform(accounts of the segment and region)``; all independent.
outcome
    ``stalled ~ Bernoulli(p_stall)`` first (``p_stall`` is high inside the stalled segment/product
    and low elsewhere; a stalled deal never closes). Otherwise ``won ~ Bernoulli(p)`` with
    ``logit p = intercept + product_effect + region_effect + owner_effect + lead_source_effect``,
    ``owner_effect ~ Normal(0, owner_sd)``.
deal size
    ``log(amount) ~ Normal(mu_product + region_log_amount_effect, amount_sigma)`` for every deal
    (won, lost, open), rounded to whole currency units.
cycle time
    days from creation to close ``~ LogNormal(mu[product, outcome], sigma[outcome])`` for won and
    lost deals separately, rounded to whole days (at least one). Then a quarter-end push: a won deal
    that would close in the first ``quarter_end_window_days`` of a quarter is pulled into the last
    days of the previous quarter with probability ``quarter_end_pull``, when that removes at most
    ``quarter_end_max_shift`` of its cycle (so the stated LogNormal stays accurate).
stages
    a deal passes the open stages in order, spending a Dirichlet share of its cycle in each. A lost
    deal drops out at a stage drawn from the loss-stage weights (``bottleneck_stage`` weighs
    ``bottleneck_weight`` times the others) and its cycle is spread over the stages it reached. A
    stalled deal stops at a stage drawn from ``stalled_stage_weights`` and never moves again.
leads
    every opportunity comes from a lead of its source created ``rint(lag)`` days earlier,
    ``lag ~ LogNormal(lag_mu_source, lag_sigma_source)``. With ``b(u)`` the expected number of
    converting leads created on day ``u``, never-converting leads on day ``u`` are
    ``Poisson(b(u) * (1 - c) / c)``, so every lead converts with probability
    ``c = conversion_rate_source``. The opportunity process is continued past the history's end
    to create the leads that convert only after it (their ``converted_date`` lies after the end and
    they have no opportunity): every snapshot shows them unconverted, as a CRM would.
CRM behaviour
    the expected close date starts optimistic and is pushed later (up to three times, often to a
    month end) as it approaches, a few are pulled in; some open amounts are revised once before
    closing; about 10% of open deals have no amount until they close.

The ground truth (:func:`ground_truth`) states every parameter and the derived quantities tests
compare with: per-product marginal win rate, mean log amount and mean deal size, cycle medians and
means, expected arrivals per month, conversion rates and lag summaries.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline_models.schema import LEAD_COLUMNS, OPPORTUNITY_COLUMNS

__all__ = [
    "LeadSourceSpec",
    "ProductSpec",
    "RegionSpec",
    "SampleConfig",
    "SimulatedHistory",
    "ground_truth",
    "month_ends",
    "sample_command",
    "simulate_history",
    "snapshot",
    "write_sample",
]

DEFAULT_SEED = 20261
"""Seed of the bundled sample."""

GROUND_TRUTH_FILE = "ground_truth.json"
HISTORY_FILE = "history.parquet"
EXPORTS_DIR = "exports"

_NEVER = np.int64(2**40)
"""Day number standing for "never" (far beyond any date numpy prints)."""

_ONE_MONTH = np.timedelta64(1, "M")

_MAX_REVISIONS = 3
"""Most times the CRM's expected close date of one deal is revised."""

_STREAMS = (
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


# --------------------------------------------------------------------------------------------------
# configuration


@dataclass(frozen=True)
class ProductSpec:
    """One product: its arrival share, win effect, deal size, cycle times and segment mix.

    Parameters
    ----------
    name
        Product name as it appears in the export.
    share
        Share of opportunity arrivals (normalised over all products).
    win_effect
        Additive effect on the log-odds of winning.
    median_amount
        Median deal size, ``exp(mu_product)``, before the region effect.
    cycle_median_won, cycle_median_lost
        Median days from creation to close of won and of lost deals,
        ``exp(mu[product, outcome])``.
    segment_mix
        Probability of each segment (in ``SampleConfig.segments`` order) for this product.
    """

    name: str
    share: float
    win_effect: float
    median_amount: float
    cycle_median_won: float
    cycle_median_lost: float
    segment_mix: tuple[float, ...]


@dataclass(frozen=True)
class RegionSpec:
    """One region: its share of deals, win effect and deal-size effect (log scale)."""

    name: str
    share: float
    win_effect: float
    log_amount_effect: float


@dataclass(frozen=True)
class LeadSourceSpec:
    """One lead source.

    Parameters
    ----------
    name
        Source name as it appears in the export.
    share
        Share of opportunities that come from this source (normalised over all sources).
    conversion_rate
        Probability that a lead of this source becomes an opportunity.
    lag_median_days, lag_sigma
        Days from lead to opportunity ``~ LogNormal(log(lag_median_days), lag_sigma)``.
    win_effect
        Additive effect on the log-odds of winning (``SampleConfig.strong_source_effect`` is added
        on top for the strong source).
    """

    name: str
    share: float
    conversion_rate: float
    lag_median_days: float
    lag_sigma: float
    win_effect: float


DEFAULT_PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec("Starter", 0.30, 0.65, 2_000, 20, 16, (0.70, 0.25, 0.05)),
    ProductSpec("Team", 0.22, 0.36, 6_000, 35, 28, (0.50, 0.40, 0.10)),
    ProductSpec("Professional", 0.18, 0.05, 15_000, 55, 45, (0.30, 0.50, 0.20)),
    ProductSpec("Analytics Add-on", 0.12, -0.25, 9_000, 45, 35, (0.30, 0.45, 0.25)),
    ProductSpec("Enterprise", 0.10, -0.54, 40_000, 90, 70, (0.05, 0.35, 0.60)),
    ProductSpec("Platform", 0.08, -0.89, 60_000, 120, 95, (0.02, 0.28, 0.70)),
)
"""Six products, win rates about 0.45 down to 0.15, deal sizes 2k to 60k, cycles 20 to 120 days."""

DEFAULT_REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("North America", 0.40, 0.15, 0.10),
    RegionSpec("EMEA", 0.30, 0.00, 0.00),
    RegionSpec("APAC", 0.20, -0.10, -0.10),
    RegionSpec("LATAM", 0.10, -0.20, -0.25),
)

DEFAULT_LEAD_SOURCES: tuple[LeadSourceSpec, ...] = (
    LeadSourceSpec("Web", 0.35, 0.20, 7, 0.6, -0.10),
    LeadSourceSpec("Referral", 0.15, 0.45, 5, 0.5, 0.00),
    LeadSourceSpec("Partner", 0.15, 0.35, 14, 0.6, 0.20),
    LeadSourceSpec("Event", 0.15, 0.15, 21, 0.5, -0.05),
    LeadSourceSpec("Outbound", 0.20, 0.10, 21, 0.7, -0.30),
)

DEFAULT_SEASON: tuple[float, ...] = (
    0.95, 1.00, 1.10, 1.00, 1.00, 1.05, 0.90, 0.85, 1.05, 1.10, 1.05, 0.95,
)  # fmt: skip
"""Arrival multipliers for January..December (normalised to mean 1 when used)."""


@dataclass(frozen=True)
class SampleConfig:
    """Everything the generator needs besides the seed; the defaults make the bundled sample.

    The history covers ``start``..``end`` (fixed dates, never today's). ``n_opportunities`` is the
    expected number of deals created in that span; scale it for benchmarks with
    ``dataclasses.replace(config, n_opportunities=10**6, with_leads=False)``.
    """

    start: date = date(2024, 11, 1)
    end: date = date(2026, 10, 31)
    n_opportunities: int = 10_000
    products: tuple[ProductSpec, ...] = DEFAULT_PRODUCTS
    regions: tuple[RegionSpec, ...] = DEFAULT_REGIONS
    lead_sources: tuple[LeadSourceSpec, ...] = DEFAULT_LEAD_SOURCES
    segments: tuple[str, ...] = ("SMB", "Mid-Market", "Enterprise")
    n_owners: int = 25
    owner_sd: float = 0.35  # sd of the owners' win effects (logit scale)
    accounts_per_deal: float = 0.3  # accounts ~ this x deals, so accounts buy repeatedly
    intercept: float = -1.1  # win log-odds of a deal with all effects zero
    amount_sigma: float = 0.6  # sd of log(amount) within a product and region
    cycle_sigma_won: float = 0.45
    cycle_sigma_lost: float = 0.7
    stages: tuple[str, ...] = ("Qualification", "Discovery", "Proposal", "Negotiation")
    won_stage: str = "Closed Won"
    lost_stage: str = "Closed Lost"
    stage_time_shares: tuple[float, ...] = (0.20, 0.25, 0.30, 0.25)  # mean share of cycle per stage
    stage_time_concentration: float = 20.0  # Dirichlet concentration of those shares
    bottleneck_stage: str | None = "Proposal"
    bottleneck_weight: float = 4.0  # loss weight of the bottleneck stage, the others weigh 1
    stalled_fraction: float = 0.05  # expected share of all deals that stall (never close)
    stalled_segment: str | None = "Enterprise"
    stalled_product: str | None = None
    stalled_share: float = 0.8  # share of stalled deals inside the stalled segment/product
    stalled_stage_weights: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)
    strong_source: str | None = "Referral"
    strong_source_effect: float = 0.8  # added to the strong source's win effect
    trend_per_month: float = 0.015  # log growth of arrivals per month
    season: tuple[float, ...] = DEFAULT_SEASON
    quarter_end_pull: float = 0.5  # chance that an eligible won deal is pulled to quarter end
    quarter_end_window_days: int = 10  # deals closing this early in a quarter are eligible
    quarter_end_max_shift: float = 0.15  # ... if the pull removes at most this share of the cycle
    close_date_optimism: float = 0.85  # median first expected cycle / true cycle
    close_date_noise: float = 0.3  # sd of log of that ratio
    revision_count_weights: tuple[float, ...] = (0.3, 0.35, 0.2, 0.15)  # 0..3 revisions at most
    push_days_median: float = 30.0
    pull_in_probability: float = 0.06  # chance that a revision pulls the date in
    month_end_snap: float = 0.5  # chance that an expected close date is set to a month end
    amount_change_fraction: float = 0.3  # share of deals whose open amount is revised once
    amount_change_sigma: float = 0.15  # sd of log(open amount / final amount) before that
    open_amount_missing: float = 0.10  # share of deals without an amount while open
    currency: str = "USD"
    with_leads: bool = True  # False skips the leads table (large benchmarks)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.n_opportunities < 0:
            raise ValueError("n_opportunities must be >= 0")
        if len(self.season) != 12 or min(self.season) <= 0:
            raise ValueError("season needs 12 positive multipliers")
        if len(self.stage_time_shares) != len(self.stages):
            raise ValueError("stage_time_shares needs one share per stage")
        if len(self.stalled_stage_weights) != len(self.stages):
            raise ValueError("stalled_stage_weights needs one weight per stage")
        if len(self.revision_count_weights) != _MAX_REVISIONS + 1:
            raise ValueError(f"revision_count_weights needs {_MAX_REVISIONS + 1} weights")
        for product in self.products:
            if len(product.segment_mix) != len(self.segments):
                raise ValueError(f"{product.name}: segment_mix needs one value per segment")
        if self.bottleneck_stage is not None and self.bottleneck_stage not in self.stages:
            raise ValueError(f"bottleneck_stage {self.bottleneck_stage!r} is not a stage")
        if self.stalled_segment is not None and self.stalled_segment not in self.segments:
            raise ValueError(f"stalled_segment {self.stalled_segment!r} is not a segment")
        if self.stalled_product is not None and self.stalled_product not in self.product_names:
            raise ValueError(f"stalled_product {self.stalled_product!r} is not a product")
        if self.strong_source is not None and self.strong_source not in self.source_names:
            raise ValueError(f"strong_source {self.strong_source!r} is not a lead source")
        if self.n_owners < len(self.regions):
            raise ValueError("need at least one owner per region")
        for source in self.lead_sources:
            if not 0 < source.conversion_rate <= 1:
                raise ValueError(f"{source.name}: conversion_rate must be in (0, 1]")
        _stall_probabilities(self)  # raises when the stalled share cannot be placed

    @property
    def product_names(self) -> list[str]:
        return [p.name for p in self.products]

    @property
    def region_names(self) -> list[str]:
        return [r.name for r in self.regions]

    @property
    def source_names(self) -> list[str]:
        return [s.name for s in self.lead_sources]

    @property
    def all_stages(self) -> list[str]:
        """Open stages in order, then the won and the lost stage."""
        return [*self.stages, self.won_stage, self.lost_stage]


@dataclass(frozen=True, eq=False)
class SimulatedHistory:
    """The full truth of one simulated pipeline.

    Attributes
    ----------
    config, random_seed
        What produced it.
    deals
        One row per opportunity: attributes, true outcome (``won``/``lost``/``stalled``), true
        ``close_date`` (may lie after the history's end; empty for stalled deals), ``cycle_days``,
        the date it entered each stage (``entered_<stage>``), and how the CRM showed its expected
        close date (``expected_close_k`` valid from ``revised_k``) and amount.
    stages
        Stage history, one row per deal and stage entered: ``opportunity_id, stage, stage_index,
        entered_date, exited_date`` (empty while still in the stage).
    leads
        Every lead: ``lead_id, created_date, source, opportunity_id, converted_date``. A lead that
        converts after the history's end has a ``converted_date`` beyond it and no
        ``opportunity_id``.
    truth
        The ground truth dictionary (see :func:`ground_truth`), JSON-ready.
    """

    config: SampleConfig
    random_seed: int
    deals: pd.DataFrame = field(repr=False)
    stages: pd.DataFrame = field(repr=False)
    leads: pd.DataFrame = field(repr=False)
    truth: dict[str, Any] = field(repr=False)


# --------------------------------------------------------------------------------------------------
# small helpers


def _rng(random_seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([int(random_seed), _STREAMS.index(stream)])


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[float])(np.asarray(x) / math.sqrt(2.0)))


def _normalised(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    return arr / arr.sum()


def _day(value: date | str | np.datetime64 | pd.Timestamp) -> np.int64:
    """Day number (days since 1970-01-01) of a date-like value."""
    return np.int64(np.datetime64(pd.Timestamp(value).date(), "D").astype(np.int64))


def _month_end(days: np.ndarray) -> np.ndarray:
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    return (months + _ONE_MONTH).astype("datetime64[D]").astype(np.int64) - 1


def _slug(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def _ids(prefix: str, n: int) -> pa.Array:
    """``prefix`` followed by 1..n, zero-padded to a common width (built in Arrow: millions fast)."""
    width = max(6, len(str(n)))
    numbers = pc.utf8_lpad(pa.array(np.arange(1, n + 1)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, numbers, "")


def _text(values: pa.Array) -> pd.Series:
    """A pandas text column (the default string dtype) holding Arrow strings."""
    return pd.Series(values, dtype="str")


def _labels(
    codes: np.ndarray, labels: Sequence[str], missing: np.ndarray | None = None
) -> pd.Series:
    """Text column of ``labels[codes]``; ``missing`` rows are empty."""
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=missing)
    dictionary = pa.array(np.asarray(labels, dtype=object), pa.string())
    return _text(pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string()))


def _dates(days: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` array of day numbers; ``_NEVER`` becomes NaT."""
    days = np.asarray(days, dtype=np.int64)
    never = days >= _NEVER
    out = np.where(never, 0, days).astype("datetime64[D]").astype("datetime64[ns]")
    out[never] = np.datetime64("NaT", "ns")
    return out


def _iso(days: np.ndarray) -> pd.Series:
    """Text column of ISO dates of day numbers; ``_NEVER`` becomes empty."""
    days = np.asarray(days, dtype=np.int64)
    never = days >= _NEVER
    if never.all():
        return _labels(np.zeros(len(days)), [""], missing=never)
    low, high = days[~never].min(), days[~never].max()
    text = np.datetime_as_string(np.arange(low, high + 1).astype("datetime64[D]"), unit="D")
    return _labels(np.where(never, 0, days - low), text.tolist(), missing=never)


def _day_numbers(column: pd.Series) -> np.ndarray:
    """Day numbers of a datetime column; missing values become ``_NEVER``."""
    values = column.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    missing = np.isnat(values)
    return np.where(missing, _NEVER, values.astype(np.int64))


def _category_text(column: pd.Series) -> pd.Series:
    """Text column of a categorical column, with a fresh index."""
    codes = column.cat.codes.to_numpy()
    return _labels(np.maximum(codes, 0), column.cat.categories, missing=codes < 0)


_GROUPS = ("product", "region", "segment", "owner", "account", "lead_source")


def _categorical(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(names))


def _owner_layout(config: SampleConfig) -> tuple[list[str], np.ndarray]:
    """Owner names and each owner's region; owners split by region share (largest remainder)."""
    shares = _normalised([r.share for r in config.regions])
    extra = config.n_owners - len(config.regions)
    raw = shares * extra
    counts = np.floor(raw).astype(int) + 1
    remainder = config.n_owners - counts.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    counts[order[:remainder]] += 1
    region_of_owner = np.repeat(np.arange(len(config.regions)), counts)
    firsts = _FIRST_NAMES
    lasts = _LAST_NAMES
    names = []
    for i in range(config.n_owners):
        a, b = i % len(firsts), i // len(firsts)
        name = f"{firsts[a]} {lasts[(a + b) % len(lasts)]}"
        if b >= len(lasts):
            name = f"{name} {b // len(lasts) + 1}"
        names.append(name)
    return names, region_of_owner


_FIRST_NAMES = (
    "Ada", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Luis", "Maya", "Nils", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf",
)  # fmt: skip
_LAST_NAMES = (
    "Moreno", "Okafor", "Lindqvist", "Tanaka", "Novak", "Haddad", "Fischer", "Silva",
    "Kowalski", "Nguyen", "Brennan", "Petrov", "Adeyemi", "Costa", "Ibsen", "Mehta",
    "Laurent", "Schmidt", "Park", "Duarte", "Walsh", "Rossi", "Chen", "Varga", "Eriksen",
)  # fmt: skip


def _month_grid(config: SampleConfig) -> dict[str, np.ndarray]:
    """Calendar months of the history: first/last covered day, covered and total days, g(month)."""
    first_month = np.datetime64(config.start, "M")
    last_month = np.datetime64(config.end, "M")
    months = np.arange(first_month, last_month + _ONE_MONTH)
    month_first = months.astype("datetime64[D]").astype(np.int64)
    month_last = (months + _ONE_MONTH).astype("datetime64[D]").astype(np.int64) - 1
    first = np.maximum(month_first, _day(config.start))
    last = np.minimum(month_last, _day(config.end))
    covered = last - first + 1
    days_in_month = month_last - month_first + 1
    index = np.arange(len(months))
    calendar = months.astype(np.int64) % 12
    season = _normalised(config.season) * 12
    level = np.exp(config.trend_per_month * index) * season[calendar]
    return {
        "months": months,
        "first": first,
        "covered": covered,
        "days_in_month": days_in_month,
        "level": level,
        "weight": level * covered / days_in_month,
    }


def _arrival_rates(config: SampleConfig, grid: dict[str, np.ndarray]) -> np.ndarray:
    """Monthly arrival rate of each product at month 0 with season 1 (``rate_product``)."""
    return (
        config.n_opportunities
        * _normalised([p.share for p in config.products])
        / grid["weight"].sum()
    )


def _stall_target_share(config: SampleConfig) -> float:
    """Probability that a deal falls in the stalled segment/product."""
    shares = _normalised([p.share for p in config.products])
    total = 0.0
    for share, product in zip(shares, config.products, strict=True):
        if config.stalled_product is not None and product.name != config.stalled_product:
            continue
        mix = _normalised(product.segment_mix)
        seg = (
            1.0
            if config.stalled_segment is None
            else mix[config.segments.index(config.stalled_segment)]
        )
        total += share * seg
    return float(total)


def _stall_probabilities(config: SampleConfig) -> tuple[float, float]:
    """Stall probability inside and outside the stalled segment/product."""
    if config.stalled_segment is None and config.stalled_product is None:
        return config.stalled_fraction, config.stalled_fraction
    target = _stall_target_share(config)
    if target <= 0 or target >= 1:
        raise ValueError("the stalled segment/product must hold some but not all deals")
    inside = config.stalled_fraction * config.stalled_share / target
    outside = config.stalled_fraction * (1 - config.stalled_share) / (1 - target)
    if not (0 <= inside <= 1 and 0 <= outside <= 1):
        raise ValueError("stalled_fraction and stalled_share give a probability outside [0, 1]")
    return float(inside), float(outside)


def _source_effects(config: SampleConfig) -> np.ndarray:
    effects = np.array([s.win_effect for s in config.lead_sources], dtype=float)
    if config.strong_source is not None:
        effects[config.source_names.index(config.strong_source)] += config.strong_source_effect
    return effects


def _loss_stage_probabilities(config: SampleConfig) -> np.ndarray:
    weights = np.ones(len(config.stages))
    if config.bottleneck_stage is not None:
        weights[config.stages.index(config.bottleneck_stage)] = config.bottleneck_weight
    return weights / weights.sum()


def _lag_pmf(source: LeadSourceSpec) -> np.ndarray:
    """P(rint(lag) = d) for d = 0..D, D covering all but a negligible tail."""
    mu, sigma = math.log(source.lag_median_days), source.lag_sigma
    top = int(math.ceil(math.exp(mu + 4.5 * sigma))) + 1
    edges = np.log(np.arange(top + 1) + 0.5)
    cdf = np.concatenate([[0.0], _normal_cdf((edges - mu) / sigma)])
    return np.diff(cdf)


# --------------------------------------------------------------------------------------------------
# simulation


def simulate_history(
    config: SampleConfig | None = None, random_seed: int = DEFAULT_SEED
) -> SimulatedHistory:
    """Simulate the full history of a pipeline with known truth.

    Parameters
    ----------
    config
        The generator's configuration; ``None`` means :class:`SampleConfig` defaults.
    random_seed
        Seed of every random draw; the same seed gives identical tables.

    Returns
    -------
    SimulatedHistory
        Deals, stage history, leads and the ground truth.
    """
    config = SampleConfig() if config is None else config
    grid = _month_grid(config)
    rates = _arrival_rates(config, grid)
    n_products = len(config.products)

    # arrivals -----------------------------------------------------------------------------------
    rng = _rng(random_seed, "arrivals")
    counts = rng.poisson(rates[:, None] * grid["weight"][None, :])
    product = np.repeat(np.repeat(np.arange(n_products), counts.shape[1]), counts.ravel())
    month = np.repeat(np.tile(np.arange(counts.shape[1]), n_products), counts.ravel())
    n = len(product)
    created = grid["first"][month] + np.floor(rng.random(n) * grid["covered"][month]).astype(
        np.int64
    )

    # mix ------------------------------------------------------------------------------------------
    rng = _rng(random_seed, "mix")
    region_share = _normalised([r.share for r in config.regions])
    region = rng.choice(len(config.regions), size=n, p=region_share)
    owner_names, owner_region = _owner_layout(config)
    owners_per_region = np.bincount(owner_region, minlength=len(config.regions))
    owner_offset = np.concatenate([[0], np.cumsum(owners_per_region)[:-1]])
    owner = owner_offset[region] + np.floor(rng.random(n) * owners_per_region[region]).astype(int)
    segment_cum = np.cumsum([_normalised(p.segment_mix) for p in config.products], axis=1)
    segment = (rng.random(n)[:, None] > segment_cum[product]).sum(axis=1)
    segment = np.minimum(segment, len(config.segments) - 1)
    source_share = _normalised([s.share for s in config.lead_sources])
    source = rng.choice(len(config.lead_sources), size=n, p=source_share)
    accounts = _account_layout(config, region_share)
    cell = segment * len(config.regions) + region
    account = accounts["offset"][cell] + np.floor(rng.random(n) * accounts["size"][cell]).astype(
        int
    )

    # win probability and outcome ----------------------------------------------------------------
    owner_effect = _rng(random_seed, "owners").normal(0.0, config.owner_sd, config.n_owners)
    product_effect = np.array([p.win_effect for p in config.products])
    region_effect = np.array([r.win_effect for r in config.regions])
    source_effect = _source_effects(config)
    eta = (
        config.intercept
        + product_effect[product]
        + region_effect[region]
        + owner_effect[owner]
        + source_effect[source]
    )
    win_probability = _expit(eta)
    stall_in, stall_out = _stall_probabilities(config)
    in_target = np.ones(n, dtype=bool)
    if config.stalled_segment is not None:
        in_target &= segment == config.segments.index(config.stalled_segment)
    if config.stalled_product is not None:
        in_target &= product == config.product_names.index(config.stalled_product)
    if config.stalled_segment is None and config.stalled_product is None:
        in_target[:] = False
    stall_probability = np.where(in_target, stall_in, stall_out)
    rng = _rng(random_seed, "outcome")
    stalled = rng.random(n) < stall_probability
    won = ~stalled & (rng.random(n) < win_probability)
    lost = ~stalled & ~won

    # deal size ------------------------------------------------------------------------------------
    rng = _rng(random_seed, "amount")
    mu_amount = np.log([p.median_amount for p in config.products])
    region_amount = np.array([r.log_amount_effect for r in config.regions])
    log_amount = (
        mu_amount[product] + region_amount[region] + config.amount_sigma * rng.normal(size=n)
    )
    amount = np.maximum(np.rint(np.exp(log_amount)), 1.0)

    # cycle times and close dates ----------------------------------------------------------------
    rng = _rng(random_seed, "cycle")
    mu_won = np.log([p.cycle_median_won for p in config.products])
    mu_lost = np.log([p.cycle_median_lost for p in config.products])
    z = rng.normal(size=n)
    draw_won = np.exp(mu_won[product] + config.cycle_sigma_won * z)
    draw_lost = np.exp(mu_lost[product] + config.cycle_sigma_lost * z)
    # stalled deals get the cycle a won deal would have had: it times their stages and the CRM's
    # expected close date, never an actual close
    cycle = np.maximum(np.rint(np.where(lost, draw_lost, draw_won)), 1).astype(np.int64)
    close = created + cycle
    close, pulled = _quarter_end_pull(config, rng, created, close, won)
    cycle = close - created
    close = np.where(stalled, _NEVER, close)

    # stages ---------------------------------------------------------------------------------------
    entries, last_open_stage = _stage_entries(
        config, _rng(random_seed, "stages"), created, cycle, close, won, lost, stalled
    )

    # how the CRM shows the expected close date and the amount while open ------------------------
    expected, revised = _expected_close_dates(
        config, _rng(random_seed, "close_dates"), created, cycle, close
    )
    rng = _rng(random_seed, "amount_revisions")
    has_change = rng.random(n) < config.amount_change_fraction
    amount_factor = np.where(
        has_change, np.exp(config.amount_change_sigma * rng.normal(size=n)), 1.0
    )
    change_day = created + np.rint(rng.uniform(0.1, 0.9, n) * cycle).astype(np.int64)
    change_day = np.where(has_change, np.maximum(change_day, created + 1), _NEVER)
    amount_missing = rng.random(n) < config.open_amount_missing

    # order by creation and name the deals ---------------------------------------------------------
    order = _creation_order(_rng(random_seed, "order"), created)

    def ordered(arr: np.ndarray) -> np.ndarray:
        return arr[order]

    opportunity_id = _ids("OPP-", n)
    cols = {
        "product": ordered(product),
        "region": ordered(region),
        "segment": ordered(segment),
        "owner": ordered(owner),
        "account": ordered(account),
        "source": ordered(source),
        "created": ordered(created),
        "close": ordered(close),
        "cycle": ordered(cycle),
        "stalled": ordered(stalled),
        "won": ordered(won),
        "lost": ordered(lost),
    }

    # leads ----------------------------------------------------------------------------------------
    leads, lead_of_deal = _simulate_leads(
        config,
        _rng(random_seed, "leads"),
        grid,
        rates,
        cols["source"],
        cols["created"],
        opportunity_id,
    )

    outcome = np.select([cols["won"], cols["lost"]], [0, 1], 2)
    all_stages = config.all_stages
    deals = pd.DataFrame(
        {
            "opportunity_id": _text(opportunity_id),
            "lead_id": _text(lead_of_deal),
            "created_date": _dates(cols["created"]),
            "product": _categorical(cols["product"], config.product_names),
            "region": _categorical(cols["region"], config.region_names),
            "segment": _categorical(cols["segment"], config.segments),
            "owner": _categorical(cols["owner"], owner_names),
            "account": _categorical(cols["account"], accounts["names"]),
            "lead_source": _categorical(cols["source"], config.source_names),
            "win_probability": ordered(win_probability),
            "stall_probability": ordered(stall_probability),
            "outcome": _categorical(outcome, ["won", "lost", "stalled"]),
            "stalled": cols["stalled"],
            "close_date": _dates(cols["close"]),
            "cycle_days": pd.Series(cols["cycle"], dtype="Int64").mask(cols["stalled"]),
            "pulled_to_quarter_end": ordered(pulled),
            "amount": ordered(amount),
            "last_open_stage": _categorical(ordered(last_open_stage), config.stages),
            **{
                f"entered_{_slug(stage)}": _dates(ordered(entries[:, j]))
                for j, stage in enumerate(all_stages)
            },
            "expected_close_0": _dates(ordered(expected[:, 0])),
            **{
                name: _dates(ordered(values))
                for k in range(1, _MAX_REVISIONS + 1)
                for name, values in (
                    (f"revised_{k}", revised[:, k - 1]),
                    (f"expected_close_{k}", expected[:, k]),
                )
            },
            "open_amount_factor": ordered(amount_factor),
            "amount_revised_date": _dates(ordered(change_day)),
            "amount_missing_while_open": ordered(amount_missing),
        }
    )
    stages = _stage_table(opportunity_id, entries[order], all_stages)
    truth = ground_truth(
        config, random_seed, owner_effect=owner_effect, realised=deals, leads=leads
    )
    return SimulatedHistory(config, int(random_seed), deals, stages, leads, truth)


def _creation_order(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Indices sorting ``days``, ties in random order (one integer key sorts faster than lexsort)."""
    if len(days) == 0:
        return np.empty(0, dtype=np.int64)
    key = ((days - days.min()) << 32) | rng.integers(0, 2**32, len(days), dtype=np.int64)
    return np.argsort(key, kind="stable")


def _account_layout(config: SampleConfig, region_share: np.ndarray) -> dict[str, Any]:
    """Accounts per (segment, region) cell, sized by the cell's expected share of deals."""
    shares = _normalised([p.share for p in config.products])
    segment_share = np.sum(
        [s * _normalised(p.segment_mix) for s, p in zip(shares, config.products, strict=True)],
        axis=0,
    )
    cell_share = (segment_share[:, None] * region_share[None, :]).ravel()
    n_accounts = max(len(cell_share), int(round(config.accounts_per_deal * config.n_opportunities)))
    size = np.maximum(1, np.rint(cell_share * n_accounts)).astype(int)
    offset = np.concatenate([[0], np.cumsum(size)[:-1]])
    width = max(5, len(str(int(size.sum()))))
    names = [f"Account {i:0{width}d}" for i in range(1, int(size.sum()) + 1)]
    return {"size": size, "offset": offset, "names": names}


def _quarter_end_pull(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    close: np.ndarray,
    won: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pull won deals closing early in a quarter into the last days of the previous quarter."""
    months = close.astype("datetime64[D]").astype("datetime64[M]")
    offset = (months.astype(np.int64) % 3).astype("timedelta64[M]")
    quarter_start = (months - offset).astype("datetime64[D]").astype(np.int64)
    early = (close - quarter_start) < config.quarter_end_window_days
    target = quarter_start - 1 - rng.integers(0, 4, len(close))
    # a pull may take at most quarter_end_max_shift of the cycle, so the won cycle-time
    # distribution stays close to its stated LogNormal (mean log shifts by well under 0.01)
    small = (target - created) >= (1 - config.quarter_end_max_shift) * (close - created)
    pull = won & early & small & (rng.random(len(close)) < config.quarter_end_pull)
    return np.where(pull, target, close), pull


def _stage_entries(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    cycle: np.ndarray,
    close: np.ndarray,
    won: np.ndarray,
    lost: np.ndarray,
    stalled: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Day each deal entered each stage (``_NEVER`` if it never did) and its last open stage."""
    n, k = len(created), len(config.stages)
    alpha = config.stage_time_concentration * _normalised(config.stage_time_shares)
    shares = rng.gamma(alpha, size=(n, k))
    shares /= shares.sum(axis=1, keepdims=True)
    last = np.full(n, k - 1)
    last[lost] = rng.choice(k, size=int(lost.sum()), p=_loss_stage_probabilities(config))
    last[stalled] = rng.choice(
        k, size=int(stalled.sum()), p=_normalised(config.stalled_stage_weights)
    )
    before = np.cumsum(shares, axis=1) - shares  # share of the cycle spent before each stage
    through = np.take_along_axis(np.cumsum(shares, axis=1), last[:, None], axis=1)[:, 0]
    # a lost deal spends its whole cycle in the stages it reached; stalled deals keep the timing
    # of a won deal and simply stop
    scale = np.where(lost, through, 1.0)
    open_entries = created[:, None] + np.rint(cycle[:, None] * before / scale[:, None]).astype(
        np.int64
    )
    open_entries = np.where(np.arange(k)[None, :] <= last[:, None], open_entries, _NEVER)
    closed_won = np.where(won, close, _NEVER)
    closed_lost = np.where(lost, close, _NEVER)
    entries = np.column_stack([open_entries, closed_won, closed_lost])
    return entries, last


def _stage_table(ids: pa.Array, entries: np.ndarray, stages: Sequence[str]) -> pd.DataFrame:
    """Long stage history: one row per deal and stage entered, with the date it left."""
    # the next stage entered is the earliest later entry (open stages are entered in order and
    # a closed stage is last)
    later = np.minimum.accumulate(entries[:, ::-1], axis=1)[:, ::-1]
    exited = np.column_stack([later[:, 1:], np.full(len(entries), _NEVER)])
    rows, cols = np.nonzero(entries < _NEVER)
    return pd.DataFrame(
        {
            "opportunity_id": _text(ids.take(pa.array(rows))),
            "stage": pd.Categorical.from_codes(cols, categories=list(stages)),
            "stage_index": cols.astype(np.int64),
            "entered_date": _dates(entries[rows, cols]),
            "exited_date": _dates(exited[rows, cols]),
        }
    )


def _expected_close_dates(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    cycle: np.ndarray,
    close: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The CRM's expected close date of each deal and the days it was revised.

    Returns ``expected`` (n, R+1): the date set at creation and after each revision, and
    ``revised`` (n, R): the day of each revision (``_NEVER`` when it did not happen). Revisions
    happen while the deal is open: pushes shortly before the expected date, later by about
    ``push_days_median`` (often to a month end); pull-ins earlier, by two to six weeks.
    """
    n = len(created)
    guess = (
        cycle * config.close_date_optimism * np.exp(config.close_date_noise * rng.normal(size=n))
    )
    expected0 = created + np.maximum(7, np.rint(guess)).astype(np.int64)
    snap = rng.random(n) < config.month_end_snap
    expected0 = np.where(snap, _month_end(expected0), expected0)
    allowed = rng.choice(_MAX_REVISIONS + 1, size=n, p=_normalised(config.revision_count_weights))
    expected = np.empty((n, _MAX_REVISIONS + 1), dtype=np.int64)
    revised = np.full((n, _MAX_REVISIONS), _NEVER, dtype=np.int64)
    expected[:, 0] = expected0
    previous_day, previous_expected = created.copy(), expected0
    alive = np.ones(n, dtype=bool)
    for k in range(1, _MAX_REVISIONS + 1):
        pull = rng.random(n) < config.pull_in_probability
        day_push = previous_expected - rng.integers(0, 15, n)
        day_pull = previous_day + np.rint(
            rng.uniform(0.2, 0.6, n) * (previous_expected - previous_day)
        ).astype(np.int64)
        day = np.maximum(np.where(pull, day_pull, day_push), previous_day + 1)
        push_days = np.maximum(
            7, np.rint(config.push_days_median * np.exp(0.5 * rng.normal(size=n)))
        ).astype(np.int64)
        pushed = previous_expected + push_days
        pushed = np.where(rng.random(n) < config.month_end_snap, _month_end(pushed), pushed)
        pulled = np.maximum(day + 7, previous_expected - rng.integers(14, 46, n))
        alive &= (k <= allowed) & (day < close)
        expected[:, k] = np.where(alive, np.where(pull, pulled, pushed), previous_expected)
        revised[:, k - 1] = np.where(alive, day, _NEVER)
        previous_day = np.where(alive, day, previous_day)
        previous_expected = expected[:, k]
    return expected, revised


def _simulate_leads(
    config: SampleConfig,
    rng: np.random.Generator,
    grid: dict[str, np.ndarray],
    rates: np.ndarray,
    source: np.ndarray,
    created: np.ndarray,
    opportunity_id: pa.Array,
) -> tuple[pd.DataFrame, pa.Array]:
    """Leads behind the opportunities plus the unconverted ones; the lead id of every deal."""
    n = len(created)
    if not config.with_leads:
        empty = pd.DataFrame(
            {
                "lead_id": _text(pa.array([], pa.string())),
                "created_date": pd.Series([], dtype="datetime64[ns]"),
                "source": _categorical(np.empty(0, int), config.source_names),
                "opportunity_id": _text(pa.array([], pa.string())),
                "converted_date": pd.Series([], dtype="datetime64[ns]"),
            }
        )
        return empty, pa.nulls(n, pa.string())
    start, end = _day(config.start), _day(config.end)
    source_share = _normalised([x.share for x in config.lead_sources])
    lead_day = np.empty(n, dtype=np.int64)
    # three kinds of lead: converted within the history (one per deal), converting after its end
    # (their opportunity lies beyond the history), never converting
    days, sources, converted_days = [], [], []
    for s, spec in enumerate(config.lead_sources):
        mu = math.log(spec.lag_median_days)

        def lags(size: int, mu: float = mu, sigma: float = spec.lag_sigma) -> np.ndarray:
            return np.rint(np.exp(mu + sigma * rng.normal(size=size))).astype(np.int64)

        mask = source == s
        lead_day[mask] = created[mask] - lags(int(mask.sum()))
        pmf = _lag_pmf(spec)
        _, daily = _daily_arrivals(config, rates, extra_days=len(pmf) - 1)
        future = rng.poisson(daily[end - start + 1 :] * source_share[s])
        future_day = np.repeat(end + 1 + np.arange(len(future)), future)
        future_lead_day = future_day - lags(len(future_day))
        keep = future_lead_day <= end
        days.append(future_lead_day[keep])
        converted_days.append(future_day[keep])
        c = spec.conversion_rate
        expected_converted = _expected_converted_leads(config, grid, rates, pmf) * source_share[s]
        never = rng.poisson(expected_converted * (1 - c) / c)
        first_day = start - (len(pmf) - 1)
        days.append(np.repeat(first_day + np.arange(len(never)), never))
        converted_days.append(np.full(int(never.sum()), _NEVER))
        sources.extend([np.full(int(keep.sum()), s), np.full(int(never.sum()), s)])
    other_day = np.concatenate(days)
    all_day = np.concatenate([lead_day, other_day])
    all_source = np.concatenate([source, *sources])
    deal_index = np.concatenate([np.arange(n), np.full(len(other_day), -1)])
    order = _creation_order(rng, all_day)
    lead_id = _ids("LEAD-", len(all_day))
    deal_index = deal_index[order]
    converted = deal_index >= 0
    lead_position = np.empty(n, dtype=np.int64)
    lead_position[deal_index[converted]] = np.flatnonzero(converted)
    converted_day = np.concatenate([created, *converted_days])[order]
    leads = pd.DataFrame(
        {
            "lead_id": _text(lead_id),
            "created_date": _dates(all_day[order]),
            "source": _categorical(all_source[order], config.source_names),
            "opportunity_id": _text(
                opportunity_id.take(pa.array(np.maximum(deal_index, 0), mask=~converted))
            ),
            "converted_date": _dates(converted_day),
        }
    )
    return leads, lead_id.take(pa.array(lead_position))


def _daily_arrivals(
    config: SampleConfig, rates: np.ndarray, extra_days: int
) -> tuple[np.int64, np.ndarray]:
    """Expected opportunities per day from the start to ``extra_days`` past the end."""
    start = _day(config.start)
    last = _day(config.end) + extra_days
    days = np.arange(start, last + 1)
    months = days.astype("datetime64[D]").astype("datetime64[M]")
    index = (months - np.datetime64(config.start, "M")).astype(np.int64)
    month_first = months.astype("datetime64[D]").astype(np.int64)
    days_in_month = (months + _ONE_MONTH).astype("datetime64[D]").astype(np.int64) - month_first
    season = _normalised(config.season) * 12
    level = np.exp(config.trend_per_month * index) * season[months.astype(np.int64) % 12]
    return start, rates.sum() * level / days_in_month


def _expected_converted_leads(
    config: SampleConfig, grid: dict[str, np.ndarray], rates: np.ndarray, pmf: np.ndarray
) -> np.ndarray:
    """Expected converted leads (all sources together) created per day, from start - D to end.

    Opportunity arrivals are continued past the end so that leads created near the end are sized
    as if the pipeline went on: their missing conversions are then right-censoring, not fewer leads.
    """
    d = len(pmf) - 1
    _, daily = _daily_arrivals(config, rates, extra_days=d)
    padded = np.concatenate([np.zeros(d), daily])
    converted = np.correlate(padded, pmf, mode="valid")  # day start - d + i
    n_days = int(_day(config.end) - _day(config.start)) + 1 + d
    return converted[:n_days]


# --------------------------------------------------------------------------------------------------
# ground truth


def ground_truth(
    config: SampleConfig,
    random_seed: int,
    *,
    owner_effect: np.ndarray | None = None,
    realised: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The true parameters of a simulated pipeline, JSON-ready.

    Parameters
    ----------
    config, random_seed
        The generator's configuration and seed.
    owner_effect
        The owners' drawn win effects; drawn again from ``random_seed`` when ``None``.
    realised
        The simulated deals; adds realised counts when given.
    leads
        The simulated leads; adds the realised lead count when given.

    Returns
    -------
    dict
        Keys ``generator, config, history, win, amount, cycle, stages, stall, arrivals, leads,
        close_dates, mix`` and, with ``realised``, ``realised``.
    """
    if owner_effect is None:
        owner_effect = _rng(random_seed, "owners").normal(0.0, config.owner_sd, config.n_owners)
    grid = _month_grid(config)
    rates = _arrival_rates(config, grid)
    products, regions, sources = config.product_names, config.region_names, config.source_names
    owner_names, owner_region = _owner_layout(config)
    region_share = _normalised([r.share for r in config.regions])
    source_share = _normalised([s.share for s in config.lead_sources])
    product_share = _normalised([p.share for p in config.products])
    owners_per_region = np.bincount(owner_region, minlength=len(regions))
    owner_weight = region_share[owner_region] / owners_per_region[owner_region]
    product_effect = np.array([p.win_effect for p in config.products])
    region_effect = np.array([r.win_effect for r in config.regions])
    source_effect = _source_effects(config)

    eta = (
        config.intercept
        + product_effect[:, None, None]
        + (region_effect[owner_region] + owner_effect)[None, :, None]
        + source_effect[None, None, :]
    )
    weights = owner_weight[None, :, None] * source_share[None, None, :]
    marginal = (_expit(eta) * weights).sum(axis=(1, 2))
    by_source = (_expit(eta) * owner_weight[None, :, None]).sum(axis=1)  # product x source

    mu_amount = np.log([p.median_amount for p in config.products])
    region_amount = np.array([r.log_amount_effect for r in config.regions])
    mean_region_amount = float(region_share @ region_amount)
    var_region_amount = float(region_share @ (region_amount - mean_region_amount) ** 2)
    sigma = config.amount_sigma
    mean_size = np.array(
        [region_share @ np.exp(mu + region_amount + sigma**2 / 2) for mu in mu_amount]
    )

    def cycle_summary(median: float, s: float) -> dict[str, float]:
        mu = math.log(median)
        return {"mu": mu, "median_days": median, "mean_days": math.exp(mu + s**2 / 2)}

    loss = _loss_stage_probabilities(config)
    reach_lost = np.concatenate([[0.0], np.cumsum(loss)[:-1]])  # lost before reaching stage k

    stage_pass = {}
    for i, name in enumerate(products):
        p = marginal[i]
        reached = 1 - (1 - p) * reach_lost
        stage_pass[name] = dict(
            zip(config.stages, (1 - (1 - p) * loss / reached).tolist(), strict=True)
        )

    stall_in, stall_out = _stall_probabilities(config)
    expected_counts = rates[:, None] * grid["weight"][None, :]
    month_labels = [str(m) for m in grid["months"]]

    lead_truth: dict[str, Any] = {
        "formula": "lead converts ~ Bernoulli(conversion_rate[source]); "
        "days to opportunity ~ LogNormal(lag_mu[source], lag_sigma[source]), rounded",
        "conversion_rate": {s.name: s.conversion_rate for s in config.lead_sources},
        "lag_mu": {s.name: math.log(s.lag_median_days) for s in config.lead_sources},
        "lag_sigma": {s.name: s.lag_sigma for s in config.lead_sources},
        "lag_median_days": {s.name: s.lag_median_days for s in config.lead_sources},
        "lag_mean_days": {
            s.name: s.lag_median_days * math.exp(s.lag_sigma**2 / 2) for s in config.lead_sources
        },
        "opportunity_share": dict(zip(sources, source_share.tolist(), strict=True)),
    }
    if config.with_leads:
        per_month = {}
        for s, spec in enumerate(config.lead_sources):
            daily = _expected_converted_leads(config, grid, rates, _lag_pmf(spec))
            daily = daily * source_share[s] / spec.conversion_rate
            first = _day(config.start) - (
                len(daily) - (int(_day(config.end) - _day(config.start)) + 1)
            )
            months = (first + np.arange(len(daily))).astype("datetime64[D]").astype("datetime64[M]")
            inside = months >= np.datetime64(config.start, "M")
            totals = np.bincount(
                (months[inside] - np.datetime64(config.start, "M")).astype(np.int64),
                weights=daily[inside],
                minlength=len(month_labels),
            )
            per_month[spec.name] = totals.tolist()
        lead_truth["expected_leads_per_month"] = {"months": month_labels, **per_month}

    truth: dict[str, Any] = {
        "generator": {
            "module": "pipeline_models.sample",
            "format": 1,
            "random_seed": int(random_seed),
        },
        "config": _config_dict(config),
        "history": {
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
            "months": month_labels,
        },
        "win": {
            "formula": "logit p = intercept + product_effect + region_effect + owner_effect "
            "+ lead_source_effect (among deals that close; stalled deals never do)",
            "intercept": config.intercept,
            "product_effect": dict(zip(products, product_effect.tolist(), strict=True)),
            "region_effect": dict(zip(regions, region_effect.tolist(), strict=True)),
            "owner_sd": config.owner_sd,
            "owner_effect": dict(zip(owner_names, np.asarray(owner_effect).tolist(), strict=True)),
            "owner_region": {o: regions[r] for o, r in zip(owner_names, owner_region, strict=True)},
            "lead_source_effect": dict(zip(sources, source_effect.tolist(), strict=True)),
            "strong_source": config.strong_source,
            "marginal_win_rate": dict(zip(products, marginal.tolist(), strict=True)),
            "marginal_win_rate_by_source": {
                name: dict(zip(sources, by_source[i].tolist(), strict=True))
                for i, name in enumerate(products)
            },
            "overall_win_rate": float(product_share @ marginal),
        },
        "amount": {
            "formula": "log(amount) ~ Normal(mu_product + region_effect, sigma); "
            "every deal carries one, rounded to whole units",
            "mu_product": dict(zip(products, mu_amount.tolist(), strict=True)),
            "region_effect": dict(zip(regions, region_amount.tolist(), strict=True)),
            "sigma": sigma,
            "mean_log_amount": dict(
                zip(products, (mu_amount + mean_region_amount).tolist(), strict=True)
            ),
            "sd_log_amount": math.sqrt(sigma**2 + var_region_amount),
            "mean_deal_size": dict(zip(products, mean_size.tolist(), strict=True)),
            "median_deal_size": {p.name: p.median_amount for p in config.products},
        },
        "cycle": {
            "formula": "days to close ~ LogNormal(mu[product, outcome], sigma[outcome]), "
            "rounded to whole days (>= 1), then the quarter-end pull of won deals",
            "sigma": {"won": config.cycle_sigma_won, "lost": config.cycle_sigma_lost},
            "by_product": {
                p.name: {
                    "won": cycle_summary(p.cycle_median_won, config.cycle_sigma_won),
                    "lost": cycle_summary(p.cycle_median_lost, config.cycle_sigma_lost),
                }
                for p in config.products
            },
            "quarter_end_pull": config.quarter_end_pull,
            "quarter_end_window_days": config.quarter_end_window_days,
            "quarter_end_max_shift": config.quarter_end_max_shift,
        },
        "stages": {
            "open": list(config.stages),
            "won": config.won_stage,
            "lost": config.lost_stage,
            "bottleneck_stage": config.bottleneck_stage,
            "loss_stage_probability": dict(zip(config.stages, loss.tolist(), strict=True)),
            "pass_rate": stage_pass,
            "time_share": dict(
                zip(config.stages, _normalised(config.stage_time_shares).tolist(), strict=True)
            ),
            "stalled_stage_probability": dict(
                zip(config.stages, _normalised(config.stalled_stage_weights).tolist(), strict=True)
            ),
        },
        "stall": {
            "stalled_fraction": config.stalled_fraction,
            "stalled_segment": config.stalled_segment,
            "stalled_product": config.stalled_product,
            "stalled_share": config.stalled_share,
            "probability_inside": stall_in,
            "probability_outside": stall_out,
            "by_product": {
                p.name: _product_stall_probability(config, i, stall_in, stall_out)
                for i, p in enumerate(config.products)
            },
        },
        "arrivals": {
            "formula": "n[product, month] ~ Poisson(rate_product * exp(trend * month) "
            "* season[calendar month]); month = 0 at the first month",
            "rate_product": dict(zip(products, rates.tolist(), strict=True)),
            "trend_per_month": config.trend_per_month,
            "season": dict(
                zip(
                    ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]
                    + ["Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
                    (_normalised(config.season) * 12).tolist(),
                    strict=True,
                )
            ),
            "expected_per_month": {
                "months": month_labels,
                **{name: expected_counts[i].tolist() for i, name in enumerate(products)},
            },
            "expected_total": float(expected_counts.sum()),
        },
        "leads": lead_truth,
        "close_dates": {
            "optimism": config.close_date_optimism,
            "noise": config.close_date_noise,
            "revision_count_weights": list(config.revision_count_weights),
            "push_days_median": config.push_days_median,
            "pull_in_probability": config.pull_in_probability,
            "month_end_snap": config.month_end_snap,
        },
        "mix": {
            "product_share": dict(zip(products, product_share.tolist(), strict=True)),
            "region_share": dict(zip(regions, region_share.tolist(), strict=True)),
            "lead_source_share": dict(zip(sources, source_share.tolist(), strict=True)),
            "segment_mix": {
                p.name: dict(zip(config.segments, _normalised(p.segment_mix).tolist(), strict=True))
                for p in config.products
            },
        },
    }
    if realised is not None:
        end = pd.Timestamp(config.end)
        outcome = realised["outcome"].astype(str)
        closed_by_end = realised["close_date"].le(end)
        truth["realised"] = {
            "n_opportunities": len(realised),
            "outcome": {k: int((outcome == k).sum()) for k in ("won", "lost", "stalled")},
            "closed_by_end": {
                k: int(((outcome == k) & closed_by_end).sum()) for k in ("won", "lost")
            },
            "pulled_to_quarter_end": int(realised["pulled_to_quarter_end"].sum()),
            "n_leads": None if leads is None or not config.with_leads else len(leads),
        }
    return truth


def _product_stall_probability(
    config: SampleConfig, i: int, inside: float, outside: float
) -> float:
    product = config.products[i]
    if config.stalled_segment is None and config.stalled_product is None:
        return config.stalled_fraction
    if config.stalled_product is not None and product.name != config.stalled_product:
        return outside
    if config.stalled_segment is None:
        return inside
    share = _normalised(product.segment_mix)[config.segments.index(config.stalled_segment)]
    return float(share * inside + (1 - share) * outside)


def _config_dict(config: SampleConfig) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return plain(asdict(config))


# --------------------------------------------------------------------------------------------------
# snapshots and files


def snapshot(
    history: SimulatedHistory, as_of: date | str | pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The export as the CRM showed it at the end of ``as_of``.

    Parameters
    ----------
    history
        A simulated history (:func:`simulate_history`).
    as_of
        The export date.

    Returns
    -------
    (opportunities, leads)
        Canonical columns (:data:`schema.OPPORTUNITY_COLUMNS`, :data:`schema.LEAD_COLUMNS`), dates
        as ISO strings, missing values as NaN (empty in a CSV). Opportunities created by ``as_of``: status
        ``won``/``lost`` with the actual close date when the close happened by then, otherwise
        ``open`` with the stage, expected close date and amount shown at that date. Leads created by
        ``as_of``, the conversion shown only when it happened by then.
    """
    day = _day(as_of)
    deals = history.deals
    config = history.config
    created = _day_numbers(deals["created_date"])
    keep = np.flatnonzero(created <= day)
    d = deals.iloc[keep]
    all_stages = config.all_stages

    entries = np.column_stack([_day_numbers(d[f"entered_{_slug(s)}"]) for s in all_stages]).reshape(
        len(d), len(all_stages)
    )
    entered = entries <= day
    stage_index = len(all_stages) - 1 - np.argmax(entered[:, ::-1], axis=1)
    won_index, lost_index = len(config.stages), len(config.stages) + 1
    status = np.select([stage_index == won_index, stage_index == lost_index], [0, 1], 2)
    is_open = status == 2

    close = _day_numbers(d["close_date"])
    revisions = np.column_stack(
        [_day_numbers(d[f"revised_{k}"]) for k in range(1, _MAX_REVISIONS + 1)]
    ).reshape(len(d), _MAX_REVISIONS)
    expected = np.column_stack(
        [_day_numbers(d[f"expected_close_{k}"]) for k in range(_MAX_REVISIONS + 1)]
    ).reshape(len(d), _MAX_REVISIONS + 1)
    n_revisions = (revisions <= day).sum(axis=1)
    shown_close = np.where(is_open, expected[np.arange(len(d)), n_revisions], close)

    amount = d["amount"].to_numpy(dtype=float)
    before_change = _day_numbers(d["amount_revised_date"]) > day
    open_amount = np.where(
        before_change, np.rint(amount * d["open_amount_factor"].to_numpy(dtype=float)), amount
    )
    missing = d["amount_missing_while_open"].to_numpy(dtype=bool)
    shown_amount = np.where(is_open, np.where(missing, np.nan, open_amount), amount)

    opportunities = pd.DataFrame(
        {
            "opportunity_id": d["opportunity_id"].reset_index(drop=True),
            "created_date": _iso(created[keep]),
            "close_date": _iso(shown_close),
            "stage": _labels(stage_index, all_stages),
            "status": _labels(status, ["won", "lost", "open"]),
            "amount": shown_amount,
            "currency": _labels(np.zeros(len(d)), [config.currency]),
            **{name: _category_text(d[name]) for name in _GROUPS},
            "lead_id": d["lead_id"].reset_index(drop=True),
        },
        columns=list(OPPORTUNITY_COLUMNS),
    )

    leads = history.leads
    lead_created = _day_numbers(leads["created_date"])
    lead_keep = np.flatnonzero(lead_created <= day)
    lv = leads.iloc[lead_keep]
    converted = _day_numbers(lv["converted_date"])
    shown = converted <= day
    lead_frame = pd.DataFrame(
        {
            "lead_id": lv["lead_id"].reset_index(drop=True),
            "created_date": _iso(lead_created[lead_keep]),
            "source": _category_text(lv["source"]),
            "opportunity_id": lv["opportunity_id"].reset_index(drop=True).where(shown),
            "converted_date": _iso(np.where(shown, converted, _NEVER)),
        },
        columns=list(LEAD_COLUMNS),
    )
    return opportunities, lead_frame


def month_ends(config: SampleConfig, months: str | int | Sequence[str] | None = None) -> list[date]:
    """Snapshot dates: month ends of the history, selected by ``months``.

    Parameters
    ----------
    config
        Gives the history's span.
    months
        ``None``: the last three month ends; ``"all"``: every month end; an integer ``k``: the last
        ``k``; a string of ``YYYY-MM`` values separated by commas, or a sequence of them: those
        months (each must lie within the history).

    Returns
    -------
    list of datetime.date
        Sorted snapshot dates, each the last day of its month (or the history's end).
    """
    grid = _month_grid(config)
    last_days = _month_end(grid["first"])
    ends = np.minimum(last_days, _day(config.end)).astype("datetime64[D]")
    all_ends = [d.item() for d in ends]
    if months is None:
        return all_ends[-3:]
    if isinstance(months, str):
        text = months.strip()
        if text.lower() == "all":
            return all_ends
        if text.isdigit():
            return all_ends[-int(text) :] if int(text) > 0 else []
        months = [m.strip() for m in text.split(",") if m.strip()]
    if isinstance(months, int):
        if months < 0:
            raise ValueError("months must be >= 0")
        return all_ends[-months:] if months else []
    by_label = {e.strftime("%Y-%m"): e for e in all_ends}
    chosen = []
    for label in months:
        if label not in by_label:
            raise ValueError(
                f"month {label!r} is not within the history "
                f"({all_ends[0]:%Y-%m}..{all_ends[-1]:%Y-%m})"
            )
        chosen.append(by_label[label])
    return sorted(set(chosen))


def write_sample(
    out_dir: str | Path,
    config: SampleConfig | None = None,
    random_seed: int = DEFAULT_SEED,
    months: str | int | Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Simulate a pipeline and write its monthly exports, the truth history and the ground truth.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    config
        The generator's configuration; ``None`` means :class:`SampleConfig` defaults.
    random_seed
        Seed of every random draw.
    months
        Which month-end snapshots to write (see :func:`month_ends`); default the last three.
    progress
        Called with a short message per step; nothing is printed otherwise.

    Returns
    -------
    list of pathlib.Path
        Written files: ``exports/opportunities_YYYY-MM.csv`` and ``exports/leads_YYYY-MM.csv`` per
        snapshot, then ``ground_truth.json`` and ``history.parquet``.
    """
    config = SampleConfig() if config is None else config
    say = progress or (lambda message: None)
    out = Path(out_dir)
    exports = out / EXPORTS_DIR
    exports.mkdir(parents=True, exist_ok=True)
    history = simulate_history(config, random_seed)
    say(f"simulated {len(history.deals)} opportunities and {len(history.leads)} leads")
    written: list[Path] = []
    for as_of in month_ends(config, months):
        opportunities, leads = snapshot(history, as_of)
        label = f"{as_of:%Y-%m}"
        path = exports / f"opportunities_{label}.csv"
        _write_csv(opportunities, path)
        written.append(path)
        if config.with_leads:
            lead_path = exports / f"leads_{label}.csv"
            _write_csv(leads, lead_path)
            written.append(lead_path)
        say(f"wrote the {label} snapshot ({len(opportunities)} opportunities)")
    truth_path = out / GROUND_TRUTH_FILE
    truth_path.write_text(json.dumps(history.truth, indent=2) + "\n", encoding="utf-8")
    written.append(truth_path)
    history_path = out / HISTORY_FILE
    history.deals.to_parquet(history_path, index=False)
    written.append(history_path)
    say(f"wrote {truth_path.name} and {history_path.name}")
    return written


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.2f", encoding="utf-8")


def sample_command(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    months: str | int | Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Entry point for ``pipeline-reports sample``: write the bundled sample and return 0.

    ``months`` takes what a command line gives: ``None``, ``"all"``, a count such as ``"3"``, or
    ``"2026-08,2026-09"``. Each written file is reported through ``progress``.
    """
    say = progress or (lambda message: None)
    paths = write_sample(out_dir, random_seed=seed, months=months, progress=progress)
    for path in paths:
        say(f"  {path}")
    return 0
