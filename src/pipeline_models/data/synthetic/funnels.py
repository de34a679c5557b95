"""Simulated lead funnels of several shapes, exported at their last month's end, with known truth.

A funnel is simulated lead by lead, in absolute days, then cut at the export date, so a deal
created before the export but closing after it shows as open and a lead converting after it shows
unconverted. Generative model, per lead source ``s`` and with ``m`` the lead's creation month
counted from 0 at the first month:

arrivals
    ``n[s, day] ~ Poisson(leads_per_month_s / 30.4375 * v(m))``; ``v(m) = volume_shift`` from
    ``shift_month`` on, else 1.
conversion
    a lead ever converts with probability ``c_s(m)``,
    ``logit c_s(m) = logit(conversion_s * k(m)) + conversion_drift * m`` with
    ``k(m) = conversion_shift`` from ``shift_month`` on, else 1; it converts
    ``rint(LogNormal(log(lag_median_days_s), lag_sigma_s))`` days after its creation. The deal is
    created on the day the lead converts.
outcome
    ``won ~ Bernoulli(win_rate_s)``, else lost; the deal closes
    ``rint(LogNormal(log(cycle median of its outcome), cycle_sigma))`` days after its creation. With
    ``quarter_push`` q, a won deal closing in the first or second month of a calendar quarter is
    moved, with probability q, to a uniform day of the quarter's last month (a quarter-end push: the
    share of wins closing in a quarter's last month becomes about ``1/3 + 2q/3``).
deal
    ``amount ~ LogNormal(log(amount_median_s), amount_sigma)`` (whole units) on every deal;
    ``product`` and ``region`` (North, South) uniform, changing no rate. Where losses are not
    recorded a lost deal stays open; an open deal shows ``created + won_cycle_median_days`` as
    its expected close date.

The opportunities table dates a deal from a lead at the lead's conversion
(``created_date == converted_date``); :func:`written_as` gives the same deals dated at first contact
(the lead's creation), the other convention CRMs use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from pipeline_models.contract.schema import LEAD_COLUMNS, conform_opportunities

from .columns import NEVER, ONE_MONTH, dates, day_number, day_numbers, ids, month_end_day
from .draws import creation_order, expit

DAYS_PER_MONTH = 30.4375
"""Mean days in a month: a monthly rate divided by it is a daily rate."""

REGIONS = ("North", "South")
"""Regions a deal is drawn from, with equal odds."""

CONVENTIONS = ("conversion", "first_contact")
"""Ways an export dates a deal from a lead: at the lead's conversion or at its first contact."""


@dataclass(frozen=True)
class SourceSpec:
    """One lead source: its volume, conversion, lag to a deal, win rate and deal size.

    Parameters
    ----------
    name
        Source name as it appears in the export (``leads.source``, ``opportunities.lead_source``).
    leads_per_month
        Mean leads a month before any level shift.
    conversion
        Probability that a lead ever converts, in the first month (before shift and drift).
    lag_median_days, lag_sigma
        Days from lead to deal, ``LogNormal(log(lag_median_days), lag_sigma)``, rounded.
    win_rate
        Probability that a deal is won.
    amount_median
        Median deal size.
    """

    name: str
    leads_per_month: float
    conversion: float
    lag_median_days: float
    lag_sigma: float = 0.6
    win_rate: float = 0.3
    amount_median: float = 20_000.0


@dataclass(frozen=True)
class FunnelShape:
    """A funnel's shape: its sources and what holds for all of them.

    Parameters
    ----------
    name
        Name of the shape (a key of :data:`SHAPES` for the bundled ones).
    sources
        The lead sources.
    months
        Length of the history in months; the export is taken at the end of the last month.
    start
        First day of the history.
    won_cycle_median_days, lost_cycle_median_days, cycle_sigma
        Days from deal to close, ``LogNormal(log(median of the outcome), cycle_sigma)``, rounded.
    amount_sigma
        Log-scale spread of deal sizes.
    records_losses
        False: the CRM never closes a lost deal, which stays open (a funnel recording only
        conversions and wins).
    shift_month, volume_shift, conversion_shift
        From month ``shift_month`` (counted from 0; None: never) lead volume is multiplied by
        ``volume_shift`` and the conversion probability by ``conversion_shift``.
    conversion_drift
        Change of the conversion log-odds per month of lead creation.
    quarter_push
        Probability that a won deal closing in a quarter's first two months is pushed to its last.
    products
        Products a deal is drawn from, with equal odds.
    """

    name: str
    sources: tuple[SourceSpec, ...]
    months: int = 30
    start: str = "2024-01-01"
    won_cycle_median_days: float = 45.0
    lost_cycle_median_days: float = 60.0
    cycle_sigma: float = 0.6
    amount_sigma: float = 0.5
    records_losses: bool = True
    shift_month: int | None = None
    volume_shift: float = 1.0
    conversion_shift: float = 1.0
    conversion_drift: float = 0.0
    quarter_push: float = 0.0
    products: tuple[str, ...] = ("Core", "Plus")


_CORE = (
    SourceSpec("Website", 600, 0.06, 21, win_rate=0.25, amount_median=12_000.0),
    SourceSpec("Referral", 150, 0.22, 14, win_rate=0.42, amount_median=30_000.0),
    SourceSpec("Events", 250, 0.10, 35, win_rate=0.30, amount_median=22_000.0),
    SourceSpec("Outbound", 300, 0.08, 28, win_rate=0.22, amount_median=35_000.0),
)
"""Four sources, 1,300 leads a month, 9% converting overall (6% to 22% by source)."""

_SLOW = tuple(
    replace(source, lag_median_days=lag, lag_sigma=0.8)
    for source, lag in zip(_CORE, (60, 75, 120, 90), strict=True)
)
"""The core sources taking two to four months from lead to deal."""

SHAPES: dict[str, FunnelShape] = {
    "steady": FunnelShape("steady", _CORE),
    "conversion_only": FunnelShape(
        "conversion_only",
        (
            SourceSpec("Inbound", 800, 0.08, 18, win_rate=0.28, amount_median=15_000.0),
            SourceSpec("Partner", 200, 0.20, 30, win_rate=0.40, amount_median=40_000.0),
            SourceSpec("Paid search", 400, 0.05, 10, win_rate=0.20, amount_median=9_000.0),
        ),
        records_losses=False,
    ),
    "long_lags": FunnelShape(
        "long_lags", _SLOW, won_cycle_median_days=60.0, lost_cycle_median_days=90.0
    ),
    "level_shift": FunnelShape(
        "level_shift", _CORE, shift_month=20, volume_shift=1.6, conversion_shift=1.8
    ),
    "cohort_drift": FunnelShape("cohort_drift", _CORE, conversion_drift=-0.03),
    "quarter_rhythm": FunnelShape("quarter_rhythm", _CORE, quarter_push=0.5),
    "sparse_sources": FunnelShape(
        "sparse_sources",
        (
            SourceSpec("Website", 700, 0.07, 21, win_rate=0.25, amount_median=12_000.0),
            SourceSpec("Outbound", 350, 0.08, 28, win_rate=0.22, amount_median=35_000.0),
            SourceSpec("Events", 200, 0.12, 35, win_rate=0.30, amount_median=22_000.0),
            SourceSpec("Partner", 4, 0.25, 30, win_rate=0.45, amount_median=50_000.0),
            SourceSpec("Analyst", 2.5, 0.20, 45, win_rate=0.35, amount_median=60_000.0),
        ),
    ),
}
"""The bundled funnel shapes: a steady funnel and one for each way real funnels depart from it."""


@dataclass
class SyntheticFunnel:
    """A simulated funnel as exported at ``as_of``, with its known truth.

    Attributes
    ----------
    shape
        The shape simulated (with the history length used).
    as_of
        The export date: the last day of the last month.
    opportunities
        Canonical opportunities table at ``as_of``: deals created by then, won or lost when they
        closed by then (a lost deal only if the funnel records losses), otherwise open.
    leads
        Canonical leads table at ``as_of``; a conversion after it is not shown.
    truth
        ``conversion`` (source -> probability a lead of the last month ever converts),
        ``conversion_start`` (the same at the first month), ``win_rate``, ``leads_per_month`` (in
        the last month), ``lag_median_days``, ``lag_sigma``, ``records_losses`` and ``full``: every
        lead with its whole fate, after ``as_of`` too (``lead_id, source, created_date,
        conversion_probability, converts, converted_date, opportunity_id, outcome, close_date,
        amount, product, region``).
    """

    shape: FunnelShape
    as_of: pd.Timestamp
    opportunities: pd.DataFrame
    leads: pd.DataFrame
    truth: dict


def simulate_funnel(
    shape: FunnelShape | str, random_seed: int, months: int | None = None
) -> SyntheticFunnel:
    """Simulate a lead funnel and export it at the end of its last month.

    Parameters
    ----------
    shape
        A :class:`FunnelShape` or the name of one of :data:`SHAPES`.
    random_seed
        Seed of ``np.random.default_rng``: the same seed gives the same funnel.
    months
        History length in months; None keeps the shape's.

    Returns
    -------
    SyntheticFunnel
        The export at ``as_of`` and the truth behind it.

    Raises
    ------
    ValueError
        For an unknown shape name or a shape whose numbers are not probabilities, rates or
        durations.
    """
    shape = _resolved(shape, months)
    start = day_number(shape.start)
    end = month_end_day(np.datetime64(shape.start, "M") + (shape.months - 1) * ONE_MONTH)
    full = _full_history(shape, np.random.default_rng(random_seed), start, end)
    return SyntheticFunnel(
        shape=shape,
        as_of=pd.Timestamp(dates(np.array([end]))[0]),
        opportunities=_opportunities_at(shape, full, end),
        leads=_leads_at(full, end),
        truth={**_parameter_truth(shape), "full": full},
    )


def written_as(funnel: SyntheticFunnel, convention: str) -> pd.DataFrame:
    """The funnel's opportunities table as an export dating deals by ``convention`` writes it.

    Parameters
    ----------
    funnel
        A simulated funnel.
    convention
        ``"conversion"``: a deal from a lead is created when the lead converts (the table as
        simulated); ``"first_contact"``: it is dated at the lead's creation.

    Returns
    -------
    pandas.DataFrame
        A copy of ``funnel.opportunities``; under ``"first_contact"`` the ``created_date`` of every
        deal with a lead in ``funnel.leads`` is that lead's ``created_date``, nothing else changes.

    Raises
    ------
    ValueError
        For a convention not in :data:`CONVENTIONS`.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown date convention {convention!r}; known: {', '.join(CONVENTIONS)}")
    out = funnel.opportunities.copy()
    if convention == "first_contact":
        first_contact = funnel.leads.set_index("lead_id")["created_date"]
        dated = out["lead_id"].map(first_contact)
        out["created_date"] = dated.fillna(out["created_date"]).astype("datetime64[ns]")
    return out


def funnel_truth_table(funnel: SyntheticFunnel) -> pd.DataFrame:
    """The funnel's true parameters, one row per source, in the shape's order.

    Returns
    -------
    pandas.DataFrame
        ``source``; ``leads_per_month`` and ``conversion`` in force in the last month (after any
        shift and drift); ``conversion_start`` at the first month; ``win_rate``;
        ``lag_median_days``.
    """
    truth = funnel.truth
    names = [s.name for s in funnel.shape.sources]
    columns = ("leads_per_month", "conversion", "conversion_start", "win_rate", "lag_median_days")
    return pd.DataFrame(
        {"source": names, **{c: [float(truth[c][n]) for n in names] for c in columns}}
    )


def _resolved(shape: FunnelShape | str, months: int | None) -> FunnelShape:
    """The shape named or given, with ``months`` when given, checked."""
    if isinstance(shape, str):
        if shape not in SHAPES:
            raise ValueError(f"unknown funnel shape {shape!r}; known: {', '.join(SHAPES)}")
        shape = SHAPES[shape]
    if months is not None:
        shape = replace(shape, months=months)
    problems = [] if shape.sources else ["no sources"]
    if shape.months < 1 or not 0 <= shape.quarter_push <= 1:
        problems.append("months must be at least 1, quarter_push within [0, 1]")
    if min(shape.won_cycle_median_days, shape.lost_cycle_median_days, shape.volume_shift) <= 0:
        problems.append("cycle medians and volume_shift must be positive")
    if len({s.name for s in shape.sources}) < len(shape.sources):
        problems.append("source names repeat")
    shift = shape.conversion_shift if shape.shift_month is not None else 1.0
    for s in shape.sources:
        if not (0 < s.conversion < 1 and 0 < s.conversion * shift < 1 and 0 < s.win_rate < 1):
            problems.append(f"{s.name}: conversion (also times conversion_shift) and win_rate")
        if min(s.leads_per_month, s.lag_median_days, s.amount_median) <= 0:
            problems.append(f"{s.name}: leads_per_month, lag_median_days, amount_median <= 0")
    if problems:
        raise ValueError(f"funnel shape {shape.name!r}: " + "; ".join(problems))
    return shape


def _shifted(shape: FunnelShape, month: np.ndarray) -> np.ndarray:
    """Whether each month lies at or after the level shift."""
    if shape.shift_month is None:
        return np.zeros(np.shape(month), dtype=bool)
    return np.asarray(month) >= shape.shift_month


def _conversion(shape: FunnelShape, base: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Probability of ever converting of leads with start conversion ``base`` made in ``month``."""
    p = base * np.where(_shifted(shape, month), shape.conversion_shift, 1.0)
    return expit(np.log(p / (1 - p)) + shape.conversion_drift * month)


def _month_index(days: np.ndarray, shape: FunnelShape) -> np.ndarray:
    """Month of each day number, counted from 0 at the history's first month."""
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]")
    return (months - np.datetime64(shape.start, "M")).astype(np.int64)


def _arrivals(
    shape: FunnelShape, rng: np.random.Generator, start: np.int64, end: np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """Creation day and source code of every lead, in creation order (ties in random order)."""
    day = np.arange(start, end + 1)
    volume = np.where(_shifted(shape, _month_index(day, shape)), shape.volume_shift, 1.0)
    rate = np.array([s.leads_per_month for s in shape.sources]) / DAYS_PER_MONTH
    counts = rng.poisson(rate[:, None] * volume[None, :]).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    source, created = cell // len(day), start + cell % len(day)
    order = creation_order(rng, created)
    return created[order], source[order]


def _lognormal_days(
    rng: np.random.Generator, median: np.ndarray, sigma: float | np.ndarray
) -> np.ndarray:
    """Whole days ``rint(LogNormal(log(median), sigma))``, at least 0."""
    draws = np.exp(np.log(median) + sigma * rng.standard_normal(np.shape(median)))
    return np.maximum(np.rint(draws), 0).astype(np.int64)


def _quarter_pushed(
    rng: np.random.Generator, close: np.ndarray, won: np.ndarray, push: float
) -> np.ndarray:
    """Close days, wins of a quarter's first two months moved to its last with odds ``push``.

    A moved win closes on a uniform day of the quarter's last month.
    """
    month = close.astype("datetime64[D]").astype("datetime64[M]")
    in_quarter = month.astype(np.int64) % 3
    moved = won & (in_quarter < 2) & (rng.random(len(close)) < push)
    last_month = month + (2 - in_quarter).astype("timedelta64[M]")
    first_day = last_month.astype("datetime64[D]").astype(np.int64)
    length = (last_month + ONE_MONTH).astype("datetime64[D]").astype(np.int64) - first_day
    new_day = first_day + np.floor(rng.random(len(close)) * length).astype(np.int64)
    return np.where(moved, new_day, close)


def _full_history(
    shape: FunnelShape, rng: np.random.Generator, start: np.int64, end: np.int64
) -> pd.DataFrame:
    """Every lead created from ``start`` to ``end`` with its whole fate (the truth's ``full``)."""
    created, source = _arrivals(shape, rng, start, end)
    n = len(created)
    sources = shape.sources
    by_source = {
        f: np.array([getattr(s, f) for s in sources], dtype=float)
        for f in ("conversion", "lag_median_days", "lag_sigma", "win_rate", "amount_median")
    }
    probability = _conversion(shape, by_source["conversion"][source], _month_index(created, shape))
    # every lead draws its whole fate, so one lead's draws never depend on whether others convert
    converts = rng.random(n) < probability
    converted = created + _lognormal_days(
        rng, by_source["lag_median_days"][source], by_source["lag_sigma"][source]
    )
    won = rng.random(n) < by_source["win_rate"][source]
    cycle_median = np.where(won, shape.won_cycle_median_days, shape.lost_cycle_median_days)
    close = converted + _lognormal_days(rng, cycle_median, shape.cycle_sigma)
    close = _quarter_pushed(rng, close, won, shape.quarter_push)
    amount = np.rint(
        by_source["amount_median"][source] * np.exp(shape.amount_sigma * rng.standard_normal(n))
    )
    product = rng.integers(0, len(shape.products), n)
    region = rng.integers(0, len(REGIONS), n)
    # deal ids follow creation (conversion) order
    deal_rows = np.flatnonzero(converts)
    deal_rows = deal_rows[np.argsort(converted[deal_rows], kind="stable")]
    opportunity_id = pd.Series(pd.NA, index=range(n), dtype="string")
    opportunity_id.iloc[deal_rows] = np.asarray(ids("OPP-", len(deal_rows)))
    return pd.DataFrame(
        {
            "lead_id": pd.array(np.asarray(ids("LEAD-", n)), dtype="string"),
            "source": pd.array(np.array([s.name for s in sources])[source], dtype="string"),
            "created_date": dates(created),
            "conversion_probability": probability,
            "converts": converts,
            "converted_date": dates(np.where(converts, converted, NEVER)),
            "opportunity_id": opportunity_id,
            "outcome": pd.array(
                np.where(converts, np.where(won, "won", "lost"), None), dtype="string"
            ),
            "close_date": dates(np.where(converts, close, NEVER)),
            "amount": np.where(converts, amount, np.nan),
            "product": pd.array(np.array(shape.products)[product], dtype="string"),
            "region": pd.array(np.array(REGIONS)[region], dtype="string"),
        }
    )


def _opportunities_at(shape: FunnelShape, full: pd.DataFrame, day: np.int64) -> pd.DataFrame:
    """Canonical opportunities table exported at the end of ``day``."""
    converted = day_numbers(full["converted_date"])
    deals = full[converted <= day].sort_values("opportunity_id", kind="stable")
    created = day_numbers(deals["converted_date"])
    close = day_numbers(deals["close_date"])
    won = (deals["outcome"] == "won").to_numpy()
    closed = (won | shape.records_losses) & (close <= day)
    status = np.where(closed, np.where(won, "won", "lost"), "open")
    expected_close = created + int(round(shape.won_cycle_median_days))
    frame = deals[["opportunity_id", "amount", "product", "region", "lead_id"]].assign(
        created_date=dates(created),
        close_date=dates(np.where(closed, close, expected_close)),
        stage=np.char.capitalize(status),  # Won, Lost, Open
        status=status,
        lead_source=deals["source"],
    )
    return conform_opportunities(frame)


def _leads_at(full: pd.DataFrame, day: np.int64) -> pd.DataFrame:
    """Canonical leads table exported at the end of ``day``: conversions by then only."""
    shown = day_numbers(full["converted_date"]) <= day
    leads = full[list(LEAD_COLUMNS)].copy()
    leads["opportunity_id"] = leads["opportunity_id"].where(shown)
    leads["converted_date"] = leads["converted_date"].where(shown)
    return leads.reset_index(drop=True)


def _parameter_truth(shape: FunnelShape) -> dict:
    """The shape's parameters per source, conversion and volume as in the first and last month."""
    last = np.array(shape.months - 1)
    volume = shape.volume_shift if _shifted(shape, last) else 1.0

    def per_source(value) -> dict:
        return {s.name: value(s) for s in shape.sources}

    return {
        "conversion": per_source(lambda s: float(_conversion(shape, np.array(s.conversion), last))),
        "conversion_start": per_source(
            lambda s: float(_conversion(shape, np.array(s.conversion), np.array(0)))
        ),
        "win_rate": per_source(lambda s: s.win_rate),
        "leads_per_month": per_source(lambda s: s.leads_per_month * volume),
        "lag_median_days": per_source(lambda s: s.lag_median_days),
        "lag_sigma": per_source(lambda s: s.lag_sigma),
        "records_losses": shape.records_losses,
    }


__all__ = [
    "CONVENTIONS",
    "DAYS_PER_MONTH",
    "REGIONS",
    "SHAPES",
    "FunnelShape",
    "SourceSpec",
    "SyntheticFunnel",
    "funnel_truth_table",
    "simulate_funnel",
    "written_as",
]
