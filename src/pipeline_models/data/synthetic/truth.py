"""The ground truth of a simulated pipeline: every parameter and what the models should recover.

:func:`ground_truth` states the configuration's parameters and the derived quantities the tests
compare with, one part per model: win rates (per product, marginal over regions, owners and
sources), deal sizes (mean log amount and mean size), cycle times (medians and means), the stage
funnel (loss and pass rates), stalls, expected arrivals per month, lead conversion and lags.

Marginal win rate of product ``i``: ``sum_o sum_s w_o * share_s * expit(eta[i, o, s])`` over
owners ``o`` (weight ``w_o`` = region share / owners of the region) and sources ``s``. Mean deal
size: ``sum_r share_r * exp(mu_product + region_effect_r + sigma^2 / 2)``. Stage pass rate of a
deal that reached stage ``k``: ``1 - (1 - p) * loss_k / (1 - (1 - p) * lost_before_k)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from .columns import day_number
from .config import SampleConfig, stall_probabilities
from .draws import draw_owner_effects, expit, normalised
from .layout import owner_layout
from .parameters import (
    arrival_rates,
    expected_converted_leads,
    lag_pmf,
    loss_stage_probabilities,
    month_grid,
    product_stall_probability,
    source_effects,
)

GENERATOR = {"module": "pipeline_models.data.synthetic", "format": 1}
"""Names the generator in every ground truth (its import path and the truth's format)."""

_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun"] + [
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
]  # fmt: skip


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
        owner_effect = draw_owner_effects(random_seed, config.owner_sd, config.n_owners)
    grid = month_grid(config)
    rates = arrival_rates(config, grid)
    month_labels = [str(m) for m in grid["months"]]
    marginal, by_source = marginal_win_rates(config, owner_effect)
    truth: dict[str, Any] = {
        "generator": {**GENERATOR, "random_seed": int(random_seed)},
        "config": _config_dict(config),
        "history": {
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
            "months": month_labels,
        },
        "win": win_truth(config, owner_effect, marginal, by_source),
        "amount": amount_truth(config),
        "cycle": cycle_truth(config),
        "stages": stage_truth(config, marginal),
        "stall": stall_truth(config),
        "arrivals": arrival_truth(config, rates, grid["weight"], month_labels),
        "leads": lead_truth(config, rates, month_labels),
        "close_dates": close_date_truth(config),
        "mix": mix_truth(config),
    }
    if realised is not None:
        truth["realised"] = realised_truth(config, realised, leads)
    return truth


def marginal_win_rates(
    config: SampleConfig, owner_effect: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Win rate of each product, and of each product and source, averaged over the mix."""
    _, owner_region = owner_layout(config)
    region_share = normalised([r.share for r in config.regions])
    source_share = normalised([s.share for s in config.lead_sources])
    owners_per_region = np.bincount(owner_region, minlength=len(config.regions))
    owner_weight = region_share[owner_region] / owners_per_region[owner_region]
    product_effect = np.array([p.win_effect for p in config.products])
    region_effect = np.array([r.win_effect for r in config.regions])
    eta = (
        config.intercept
        + product_effect[:, None, None]
        + (region_effect[owner_region] + owner_effect)[None, :, None]
        + source_effects(config)[None, None, :]
    )
    weights = owner_weight[None, :, None] * source_share[None, None, :]
    marginal = (expit(eta) * weights).sum(axis=(1, 2))
    by_source = (expit(eta) * owner_weight[None, :, None]).sum(axis=1)  # product x source
    return marginal, by_source


def win_truth(
    config: SampleConfig, owner_effect: np.ndarray, marginal: np.ndarray, by_source: np.ndarray
) -> dict[str, Any]:
    """Truth of the win-rate model: every effect and the marginal win rates."""
    products, regions, sources = config.product_names, config.region_names, config.source_names
    owner_names, owner_region = owner_layout(config)
    product_share = normalised([p.share for p in config.products])
    product_effect = np.array([p.win_effect for p in config.products])
    region_effect = np.array([r.win_effect for r in config.regions])
    return {
        "formula": "logit p = intercept + product_effect + region_effect + owner_effect "
        "+ lead_source_effect (among deals that close; stalled deals never do)",
        "intercept": config.intercept,
        "product_effect": dict(zip(products, product_effect.tolist(), strict=True)),
        "region_effect": dict(zip(regions, region_effect.tolist(), strict=True)),
        "owner_sd": config.owner_sd,
        "owner_effect": dict(zip(owner_names, np.asarray(owner_effect).tolist(), strict=True)),
        "owner_region": {o: regions[r] for o, r in zip(owner_names, owner_region, strict=True)},
        "lead_source_effect": dict(zip(sources, source_effects(config).tolist(), strict=True)),
        "strong_source": config.strong_source,
        "marginal_win_rate": dict(zip(products, marginal.tolist(), strict=True)),
        "marginal_win_rate_by_source": {
            name: dict(zip(sources, by_source[i].tolist(), strict=True))
            for i, name in enumerate(products)
        },
        "overall_win_rate": float(product_share @ marginal),
    }


def amount_truth(config: SampleConfig) -> dict[str, Any]:
    """Truth of the deal-size model: log-scale parameters, mean log amount and mean deal size."""
    products, regions = config.product_names, config.region_names
    region_share = normalised([r.share for r in config.regions])
    mu_amount = np.log([p.median_amount for p in config.products])
    region_amount = np.array([r.log_amount_effect for r in config.regions])
    mean_region_amount = float(region_share @ region_amount)
    var_region_amount = float(region_share @ (region_amount - mean_region_amount) ** 2)
    sigma = config.amount_sigma
    mean_size = np.array(
        [region_share @ np.exp(mu + region_amount + sigma**2 / 2) for mu in mu_amount]
    )
    return {
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
    }


def cycle_truth(config: SampleConfig) -> dict[str, Any]:
    """Truth of the cycle-time model: LogNormal parameters, medians and means per outcome."""
    return {
        "formula": "days to close ~ LogNormal(mu[product, outcome], sigma[outcome]), "
        "rounded to whole days (>= 1), then the quarter-end pull of won deals",
        "sigma": {"won": config.cycle_sigma_won, "lost": config.cycle_sigma_lost},
        "by_product": {
            p.name: {
                "won": _cycle_summary(p.cycle_median_won, config.cycle_sigma_won),
                "lost": _cycle_summary(p.cycle_median_lost, config.cycle_sigma_lost),
            }
            for p in config.products
        },
        "quarter_end_pull": config.quarter_end_pull,
        "quarter_end_window_days": config.quarter_end_window_days,
        "quarter_end_max_shift": config.quarter_end_max_shift,
    }


def _cycle_summary(median: float, s: float) -> dict[str, float]:
    mu = math.log(median)
    return {"mu": mu, "median_days": median, "mean_days": math.exp(mu + s**2 / 2)}


def stage_truth(config: SampleConfig, marginal: np.ndarray) -> dict[str, Any]:
    """Truth of the stage funnel: where lost deals drop out and each stage's pass rate."""
    loss = loss_stage_probabilities(config)
    reach_lost = np.concatenate([[0.0], np.cumsum(loss)[:-1]])  # lost before reaching stage k
    stage_pass = {}
    for i, name in enumerate(config.product_names):
        p = marginal[i]
        reached = 1 - (1 - p) * reach_lost
        stage_pass[name] = dict(
            zip(config.stages, (1 - (1 - p) * loss / reached).tolist(), strict=True)
        )
    return {
        "open": list(config.stages),
        "won": config.won_stage,
        "lost": config.lost_stage,
        "bottleneck_stage": config.bottleneck_stage,
        "loss_stage_probability": dict(zip(config.stages, loss.tolist(), strict=True)),
        "pass_rate": stage_pass,
        "time_share": dict(
            zip(config.stages, normalised(config.stage_time_shares).tolist(), strict=True)
        ),
        "stalled_stage_probability": dict(
            zip(config.stages, normalised(config.stalled_stage_weights).tolist(), strict=True)
        ),
    }


def stall_truth(config: SampleConfig) -> dict[str, Any]:
    """Truth of stalling: where stalled deals concentrate and each product's stall probability."""
    stall_in, stall_out = stall_probabilities(config)
    return {
        "stalled_fraction": config.stalled_fraction,
        "stalled_segment": config.stalled_segment,
        "stalled_product": config.stalled_product,
        "stalled_share": config.stalled_share,
        "probability_inside": stall_in,
        "probability_outside": stall_out,
        "by_product": {
            p.name: product_stall_probability(config, i, stall_in, stall_out)
            for i, p in enumerate(config.products)
        },
    }


def arrival_truth(
    config: SampleConfig, rates: np.ndarray, weight: np.ndarray, month_labels: list[str]
) -> dict[str, Any]:
    """Truth of the arrival forecast: rates, trend, season and expected deals per month."""
    expected_counts = rates[:, None] * weight[None, :]
    return {
        "formula": "n[product, month] ~ Poisson(rate_product * exp(trend * month) "
        "* season[calendar month]); month = 0 at the first month",
        "rate_product": dict(zip(config.product_names, rates.tolist(), strict=True)),
        "trend_per_month": config.trend_per_month,
        "season": dict(zip(_MONTH_NAMES, (normalised(config.season) * 12).tolist(), strict=True)),
        "expected_per_month": {
            "months": month_labels,
            **{name: expected_counts[i].tolist() for i, name in enumerate(config.product_names)},
        },
        "expected_total": float(expected_counts.sum()),
    }


def lead_truth(config: SampleConfig, rates: np.ndarray, month_labels: list[str]) -> dict[str, Any]:
    """Truth of the lead model: conversion rates, lags and (with leads) expected leads a month."""
    sources = config.lead_sources
    source_share = normalised([s.share for s in sources])
    truth: dict[str, Any] = {
        "formula": "lead converts ~ Bernoulli(conversion_rate[source]); "
        "days to opportunity ~ LogNormal(lag_mu[source], lag_sigma[source]), rounded",
        "conversion_rate": {s.name: s.conversion_rate for s in sources},
        "lag_mu": {s.name: math.log(s.lag_median_days) for s in sources},
        "lag_sigma": {s.name: s.lag_sigma for s in sources},
        "lag_median_days": {s.name: s.lag_median_days for s in sources},
        "lag_mean_days": {
            s.name: s.lag_median_days * math.exp(s.lag_sigma**2 / 2) for s in sources
        },
        "opportunity_share": dict(zip(config.source_names, source_share.tolist(), strict=True)),
    }
    if config.with_leads:
        truth["expected_leads_per_month"] = {
            "months": month_labels,
            **_expected_leads_per_month(config, rates, len(month_labels)),
        }
    return truth


def _expected_leads_per_month(
    config: SampleConfig, rates: np.ndarray, n_months: int
) -> dict[str, list[float]]:
    """Expected leads of each source created per month of the history (converting or not)."""
    source_share = normalised([s.share for s in config.lead_sources])
    start_month = np.datetime64(config.start, "M")
    n_days = int(day_number(config.end) - day_number(config.start)) + 1
    per_month = {}
    for s, spec in enumerate(config.lead_sources):
        daily = expected_converted_leads(config, rates, lag_pmf(spec))
        daily = daily * source_share[s] / spec.conversion_rate
        first = day_number(config.start) - (len(daily) - n_days)
        months = (first + np.arange(len(daily))).astype("datetime64[D]").astype("datetime64[M]")
        inside = months >= start_month
        totals = np.bincount(
            (months[inside] - start_month).astype(np.int64),
            weights=daily[inside],
            minlength=n_months,
        )
        per_month[spec.name] = totals.tolist()
    return per_month


def close_date_truth(config: SampleConfig) -> dict[str, Any]:
    """How the CRM's expected close dates were set and revised."""
    return {
        "optimism": config.close_date_optimism,
        "noise": config.close_date_noise,
        "revision_count_weights": list(config.revision_count_weights),
        "push_days_median": config.push_days_median,
        "pull_in_probability": config.pull_in_probability,
        "month_end_snap": config.month_end_snap,
    }


def mix_truth(config: SampleConfig) -> dict[str, Any]:
    """Shares of products, regions and lead sources, and each product's segment mix."""
    product_share = normalised([p.share for p in config.products])
    region_share = normalised([r.share for r in config.regions])
    source_share = normalised([s.share for s in config.lead_sources])
    return {
        "product_share": dict(zip(config.product_names, product_share.tolist(), strict=True)),
        "region_share": dict(zip(config.region_names, region_share.tolist(), strict=True)),
        "lead_source_share": dict(zip(config.source_names, source_share.tolist(), strict=True)),
        "segment_mix": {
            p.name: dict(zip(config.segments, normalised(p.segment_mix).tolist(), strict=True))
            for p in config.products
        },
    }


def realised_truth(
    config: SampleConfig, realised: pd.DataFrame, leads: pd.DataFrame | None
) -> dict[str, Any]:
    """Counts of what one simulation drew: deals by outcome, closes by the end, pulls, leads."""
    end = pd.Timestamp(config.end)
    outcome = realised["outcome"].astype(str)
    closed_by_end = realised["close_date"].le(end)
    return {
        "n_opportunities": len(realised),
        "outcome": {k: int((outcome == k).sum()) for k in ("won", "lost", "stalled")},
        "closed_by_end": {k: int(((outcome == k) & closed_by_end).sum()) for k in ("won", "lost")},
        "pulled_to_quarter_end": int(realised["pulled_to_quarter_end"].sum()),
        "n_leads": None if leads is None or not config.with_leads else len(leads),
    }


def _config_dict(config: SampleConfig) -> dict[str, Any]:
    """The configuration as plain JSON values (dates as ISO text, tuples as lists)."""
    return _plain(asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def stage_conversion_truth(truth: dict[str, Any]) -> dict[str, float]:
    """The true conversion of each open stage of a ground truth (:func:`ground_truth`): the
    share of deals leaving the stage that move on, closing and stalled deals together.

    Per product (arrival share ``w``, win rate ``p``, stall probability ``q``): a closing deal
    reaches stage ``k`` with probability ``1 - (1 - p) * lost_before_k`` and is lost there with
    ``(1 - p) * loss_k``; a stalled deal passes ``k`` when it stalls beyond it.
    """
    stages = truth["stages"]["open"]
    loss = np.array([truth["stages"]["loss_stage_probability"][k] for k in stages])
    lost_before = np.concatenate([[0.0], np.cumsum(loss)[:-1]])
    stall_at = np.array([truth["stages"]["stalled_stage_probability"][k] for k in stages])
    beyond = 1 - np.cumsum(stall_at)
    passed, left = np.zeros(len(stages)), np.zeros(len(stages))
    for product, w in truth["mix"]["product_share"].items():
        p = truth["win"]["marginal_win_rate"][product]
        q = truth["stall"]["by_product"][product]
        reached = 1 - (1 - p) * lost_before
        passed += w * ((1 - q) * (reached - (1 - p) * loss) + q * beyond)
        left += w * ((1 - q) * reached + q * beyond)
    return dict(zip(stages, (passed / left).tolist(), strict=True))


__all__ = [
    "GENERATOR",
    "amount_truth",
    "arrival_truth",
    "close_date_truth",
    "cycle_truth",
    "ground_truth",
    "lead_truth",
    "marginal_win_rates",
    "mix_truth",
    "realised_truth",
    "stage_truth",
    "stage_conversion_truth",
    "stall_truth",
    "win_truth",
]
