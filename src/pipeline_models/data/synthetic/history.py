"""The full simulated history of a pipeline: deals drawn step by step, with their whole truth.

:func:`simulate_history` runs the steps of the generative model in order (arrivals, mix, outcome,
deal size, cycle time, stages, the CRM's view of open deals, leads), each from its own random
stream (:mod:`.draws`), then names and orders the deals by creation.

arrivals
    ``n[product, month] ~ Poisson(rate_product * exp(trend * month) * season[calendar month])``,
    creation days uniform within the month.
mix
    ``region ~ Categorical(region share)``, ``owner ~ Uniform(owners of the region)``,
    ``segment ~ Categorical(segment mix of the product)``, ``lead_source ~ Categorical(source
    share)``, ``account ~ Uniform(accounts of the segment and region)``; all independent.
outcome
    ``stalled ~ Bernoulli(p_stall)`` first, otherwise ``won ~ Bernoulli(p)`` with
    ``logit p = intercept + product_effect + region_effect + owner_effect + lead_source_effect``.
deal size
    ``log(amount) ~ Normal(mu_product + region_log_amount_effect, amount_sigma)``, rounded.
cycle time
    ``days to close ~ LogNormal(mu[product, outcome], sigma[outcome])``, rounded (at least one),
    then the quarter-end pull of won deals (:func:`_quarter_end_pull`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .columns import NEVER, categorical, dates, ids, slug, text
from .config import DEFAULT_SEED, MAX_REVISIONS, SampleConfig, stall_probabilities
from .draws import creation_order, draw_owner_effects, expit, normalised, stream_rng
from .layout import account_layout, owner_layout
from .leads import simulate_leads
from .parameters import arrival_rates, month_grid, source_effects
from .revisions import amount_revisions, expected_close_dates
from .stages import stage_entries, stage_table
from .truth import ground_truth


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
    grid = month_grid(config)
    rates = arrival_rates(config, grid)
    deal = _arrivals(stream_rng(random_seed, "arrivals"), grid, rates)
    mix, names = _mix(config, stream_rng(random_seed, "mix"), deal["product"])
    deal |= mix
    owner_effect = draw_owner_effects(random_seed, config.owner_sd, config.n_owners)
    deal |= _outcomes(config, stream_rng(random_seed, "outcome"), deal, owner_effect)
    deal["amount"] = _amounts(config, stream_rng(random_seed, "amount"), deal)
    deal |= _cycle_times(config, stream_rng(random_seed, "cycle"), deal)
    entries, deal["last_open_stage"] = stage_entries(
        config,
        stream_rng(random_seed, "stages"),
        deal["created"],
        deal["cycle"],
        deal["close"],
        deal["won"],
        deal["lost"],
        deal["stalled"],
    )
    expected, revised = expected_close_dates(
        config,
        stream_rng(random_seed, "close_dates"),
        deal["created"],
        deal["cycle"],
        deal["close"],
    )
    deal |= amount_revisions(
        config, stream_rng(random_seed, "amount_revisions"), deal["created"], deal["cycle"]
    )

    order = creation_order(stream_rng(random_seed, "order"), deal["created"])
    deal = {key: values[order] for key, values in deal.items()}
    entries, expected, revised = entries[order], expected[order], revised[order]
    opportunity_id = ids("OPP-", len(order))
    leads, lead_of_deal = simulate_leads(
        config,
        stream_rng(random_seed, "leads"),
        rates,
        deal["source"],
        deal["created"],
        opportunity_id,
    )
    deals = _deal_table(
        config, deal, names, entries, expected, revised, text(opportunity_id), text(lead_of_deal)
    )
    stages = stage_table(opportunity_id, entries, config.all_stages)
    truth = ground_truth(
        config, random_seed, owner_effect=owner_effect, realised=deals, leads=leads
    )
    return SimulatedHistory(config, int(random_seed), deals, stages, leads, truth)


def _arrivals(
    rng: np.random.Generator, grid: dict[str, np.ndarray], rates: np.ndarray
) -> dict[str, np.ndarray]:
    """Product and creation day of every deal, grouped by product and month (not yet ordered)."""
    n_products = len(rates)
    counts = rng.poisson(rates[:, None] * grid["weight"][None, :])
    product = np.repeat(np.repeat(np.arange(n_products), counts.shape[1]), counts.ravel())
    month = np.repeat(np.tile(np.arange(counts.shape[1]), n_products), counts.ravel())
    n = len(product)
    created = grid["first"][month] + np.floor(rng.random(n) * grid["covered"][month]).astype(
        np.int64
    )
    return {"product": product, "created": created}


def _mix(
    config: SampleConfig, rng: np.random.Generator, product: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Each deal's region, owner, segment, lead source and account; the owner and account names."""
    n = len(product)
    region_share = normalised([r.share for r in config.regions])
    region = rng.choice(len(config.regions), size=n, p=region_share)
    owner_names, owner_region = owner_layout(config)
    owners_per_region = np.bincount(owner_region, minlength=len(config.regions))
    owner_offset = np.concatenate([[0], np.cumsum(owners_per_region)[:-1]])
    owner = owner_offset[region] + np.floor(rng.random(n) * owners_per_region[region]).astype(int)
    segment_cum = np.cumsum([normalised(p.segment_mix) for p in config.products], axis=1)
    segment = (rng.random(n)[:, None] > segment_cum[product]).sum(axis=1)
    segment = np.minimum(segment, len(config.segments) - 1)
    source_share = normalised([s.share for s in config.lead_sources])
    source = rng.choice(len(config.lead_sources), size=n, p=source_share)
    accounts = account_layout(config, region_share)
    cell = segment * len(config.regions) + region
    account = accounts["offset"][cell] + np.floor(rng.random(n) * accounts["size"][cell]).astype(
        int
    )
    drawn = {
        "region": region,
        "segment": segment,
        "owner": owner,
        "account": account,
        "source": source,
    }
    return drawn, {"owner": owner_names, "account": accounts["names"]}


def _outcomes(
    config: SampleConfig,
    rng: np.random.Generator,
    deal: dict[str, np.ndarray],
    owner_effect: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each deal's win and stall probabilities and its outcome (stalled, won or lost)."""
    product, segment = deal["product"], deal["segment"]
    n = len(product)
    product_effect = np.array([p.win_effect for p in config.products])
    region_effect = np.array([r.win_effect for r in config.regions])
    eta = (
        config.intercept
        + product_effect[product]
        + region_effect[deal["region"]]
        + owner_effect[deal["owner"]]
        + source_effects(config)[deal["source"]]
    )
    win_probability = expit(eta)
    stall_in, stall_out = stall_probabilities(config)
    in_target = np.ones(n, dtype=bool)
    if config.stalled_segment is not None:
        in_target &= segment == config.segments.index(config.stalled_segment)
    if config.stalled_product is not None:
        in_target &= product == config.product_names.index(config.stalled_product)
    if config.stalled_segment is None and config.stalled_product is None:
        in_target[:] = False
    stall_probability = np.where(in_target, stall_in, stall_out)
    stalled = rng.random(n) < stall_probability
    won = ~stalled & (rng.random(n) < win_probability)
    lost = ~stalled & ~won
    return {
        "win_probability": win_probability,
        "stall_probability": stall_probability,
        "stalled": stalled,
        "won": won,
        "lost": lost,
    }


def _amounts(
    config: SampleConfig, rng: np.random.Generator, deal: dict[str, np.ndarray]
) -> np.ndarray:
    """Deal size of every deal (won, lost or open), in whole currency units (at least one)."""
    mu_amount = np.log([p.median_amount for p in config.products])
    region_amount = np.array([r.log_amount_effect for r in config.regions])
    log_amount = (
        mu_amount[deal["product"]]
        + region_amount[deal["region"]]
        + config.amount_sigma * rng.normal(size=len(deal["product"]))
    )
    return np.maximum(np.rint(np.exp(log_amount)), 1.0)


def _cycle_times(
    config: SampleConfig, rng: np.random.Generator, deal: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each deal's cycle in days, its true close day (:data:`NEVER` when stalled) and whether
    it was pulled to a quarter end."""
    product, created = deal["product"], deal["created"]
    mu_won = np.log([p.cycle_median_won for p in config.products])
    mu_lost = np.log([p.cycle_median_lost for p in config.products])
    z = rng.normal(size=len(product))
    draw_won = np.exp(mu_won[product] + config.cycle_sigma_won * z)
    draw_lost = np.exp(mu_lost[product] + config.cycle_sigma_lost * z)
    # stalled deals get the cycle a won deal would have had: it times their stages and the CRM's
    # expected close date, never an actual close
    cycle = np.maximum(np.rint(np.where(deal["lost"], draw_lost, draw_won)), 1).astype(np.int64)
    close, pulled = _quarter_end_pull(config, rng, created, created + cycle, deal["won"])
    return {
        "cycle": close - created,
        "close": np.where(deal["stalled"], NEVER, close),
        "pulled": pulled,
    }


def _quarter_end_pull(
    config: SampleConfig,
    rng: np.random.Generator,
    created: np.ndarray,
    close: np.ndarray,
    won: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Pull won deals closing early in a quarter into the last days of the previous quarter.

    A won deal closing in the first ``quarter_end_window_days`` of a quarter moves to one of the
    last four days of the previous quarter with probability ``quarter_end_pull``.
    """
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


def _deal_table(
    config: SampleConfig,
    deal: dict[str, np.ndarray],
    names: dict[str, list[str]],
    entries: np.ndarray,
    expected: np.ndarray,
    revised: np.ndarray,
    opportunity_id: pd.Series,
    lead_id: pd.Series,
) -> pd.DataFrame:
    """One row per deal, in creation order: attributes, outcome, stage entries, CRM view."""
    outcome = np.select([deal["won"], deal["lost"]], [0, 1], 2)
    return pd.DataFrame(
        {
            "opportunity_id": opportunity_id,
            "lead_id": lead_id,
            "created_date": dates(deal["created"]),
            "product": categorical(deal["product"], config.product_names),
            "region": categorical(deal["region"], config.region_names),
            "segment": categorical(deal["segment"], config.segments),
            "owner": categorical(deal["owner"], names["owner"]),
            "account": categorical(deal["account"], names["account"]),
            "lead_source": categorical(deal["source"], config.source_names),
            "win_probability": deal["win_probability"],
            "stall_probability": deal["stall_probability"],
            "outcome": categorical(outcome, ["won", "lost", "stalled"]),
            "stalled": deal["stalled"],
            "close_date": dates(deal["close"]),
            "cycle_days": pd.Series(deal["cycle"], dtype="Int64").mask(deal["stalled"]),
            "pulled_to_quarter_end": deal["pulled"],
            "amount": deal["amount"],
            "last_open_stage": categorical(deal["last_open_stage"], config.stages),
            **{
                f"entered_{slug(stage)}": dates(entries[:, j])
                for j, stage in enumerate(config.all_stages)
            },
            "expected_close_0": dates(expected[:, 0]),
            **{
                name: dates(values)
                for k in range(1, MAX_REVISIONS + 1)
                for name, values in (
                    (f"revised_{k}", revised[:, k - 1]),
                    (f"expected_close_{k}", expected[:, k]),
                )
            },
            "open_amount_factor": deal["open_amount_factor"],
            "amount_revised_date": dates(deal["amount_revised"]),
            "amount_missing_while_open": deal["amount_missing"],
        }
    )


__all__ = ["SimulatedHistory", "simulate_history"]
