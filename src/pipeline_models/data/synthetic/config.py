"""What the generator is told: products, regions, lead sources and every knob of the pipeline.

A :class:`SampleConfig` is a frozen value; its defaults make the bundled sample. It checks itself
when made, including that the stalled share can be placed (:func:`stall_probabilities`), so a bad
configuration fails before any draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .draws import normalised

DEFAULT_SEED = 20261
"""Seed of the bundled sample."""

MAX_REVISIONS = 3
"""Most times the CRM's expected close date of one deal is revised."""


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
        if len(self.revision_count_weights) != MAX_REVISIONS + 1:
            raise ValueError(f"revision_count_weights needs {MAX_REVISIONS + 1} weights")
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
        stall_probabilities(self)  # raises when the stalled share cannot be placed

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


def stall_target_share(config: SampleConfig) -> float:
    """Probability that a deal falls in the stalled segment/product."""
    shares = normalised([p.share for p in config.products])
    total = 0.0
    for share, product in zip(shares, config.products, strict=True):
        if config.stalled_product is not None and product.name != config.stalled_product:
            continue
        mix = normalised(product.segment_mix)
        seg = (
            1.0
            if config.stalled_segment is None
            else mix[config.segments.index(config.stalled_segment)]
        )
        total += share * seg
    return float(total)


def stall_probabilities(config: SampleConfig) -> tuple[float, float]:
    """Stall probability inside and outside the stalled segment/product."""
    if config.stalled_segment is None and config.stalled_product is None:
        return config.stalled_fraction, config.stalled_fraction
    target = stall_target_share(config)
    if target <= 0 or target >= 1:
        raise ValueError("the stalled segment/product must hold some but not all deals")
    inside = config.stalled_fraction * config.stalled_share / target
    outside = config.stalled_fraction * (1 - config.stalled_share) / (1 - target)
    if not (0 <= inside <= 1 and 0 <= outside <= 1):
        raise ValueError("stalled_fraction and stalled_share give a probability outside [0, 1]")
    return float(inside), float(outside)


__all__ = [
    "DEFAULT_LEAD_SOURCES",
    "DEFAULT_PRODUCTS",
    "DEFAULT_REGIONS",
    "DEFAULT_SEASON",
    "DEFAULT_SEED",
    "MAX_REVISIONS",
    "LeadSourceSpec",
    "ProductSpec",
    "RegionSpec",
    "SampleConfig",
    "stall_probabilities",
    "stall_target_share",
]
