"""A synthetic CRM export with known ground truth: the bundled sample and every model's test bed.

The generator simulates two years of a sales pipeline deal by deal (vectorised with numpy, so
millions of deals take seconds), keeps the full truth (final outcome, true close date, stage
history, how the CRM's expected close date and amount were revised), and can show the export as the
CRM would have shown it on any date (:func:`snapshot`), with the stage history it would have logged
by then (:func:`history_snapshot`).

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

Modules
-------
config (what the generator is told), parameters (what that implies before any draw), layout
(owners and accounts), draws (random streams), columns (day numbers and frame columns), history
(the simulation), stages, revisions (the CRM's view of open deals), leads, truth (the ground
truth), snapshots (the export on a date), stage_log (the stage history logged by a date) and writer
(the sample on disk).
"""

from __future__ import annotations

from .config import (
    DEFAULT_LEAD_SOURCES,
    DEFAULT_PRODUCTS,
    DEFAULT_REGIONS,
    DEFAULT_SEASON,
    DEFAULT_SEED,
    LeadSourceSpec,
    ProductSpec,
    RegionSpec,
    SampleConfig,
)
from .history import SimulatedHistory, simulate_history
from .snapshots import month_ends, snapshot
from .stage_log import history_snapshot
from .truth import ground_truth, stage_conversion_truth
from .writer import EXPORTS_DIR, GROUND_TRUTH_FILE, HISTORY_FILE, sample_command, write_sample

__all__ = [
    "DEFAULT_LEAD_SOURCES",
    "DEFAULT_PRODUCTS",
    "DEFAULT_REGIONS",
    "DEFAULT_SEASON",
    "DEFAULT_SEED",
    "EXPORTS_DIR",
    "GROUND_TRUTH_FILE",
    "HISTORY_FILE",
    "LeadSourceSpec",
    "ProductSpec",
    "RegionSpec",
    "SampleConfig",
    "SimulatedHistory",
    "ground_truth",
    "stage_conversion_truth",
    "history_snapshot",
    "month_ends",
    "sample_command",
    "simulate_history",
    "snapshot",
    "write_sample",
]
