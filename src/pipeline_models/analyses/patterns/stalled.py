"""Stalled deals: open deals older than won deals usually take, their value at risk, and where
they gather.

A deal is *stalled* when its age exceeds a high quantile of the days its product's won deals took
from creation to close (:func:`won_cycle_limits`). Where stalled deals gather is a relative risk
adjusted for the other attributes (:func:`stalled_ratios`), so a product selling mostly into a
stall-prone segment is not blamed for the segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline_models.analyses.patterns.fields import OPEN, WON, deal_status, level_text, open_deals
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.contract.labels import NONE_LEVEL
from pipeline_models.data.aggregate import factorize_rows, group_levels
from pipeline_models.models.forecaster import PipelineForecaster
from pipeline_models.models.pooling import gamma_poisson_rates

WON_CYCLE_QUANTILE = 0.9
"""An open deal older than this quantile of its product's won cycles is stalled: nine wins in ten
came sooner."""

MIN_WON = 20
"""Won deals a level needs for a limit of its own (with fewer its quantile would rest on luck)."""

STALLED_HORIZON_MONTHS = 24
"""Months a stalled deal's chance of being won is counted over: two years, longer than nearly
every won cycle, without promising that a deal open for years may still close any day."""


def won_cycle_limits(
    frame: pd.DataFrame, by: str = "product", q: float = WON_CYCLE_QUANTILE, min_won: int = MIN_WON
) -> pd.Series:
    """The ``q`` quantile of days from creation to close of won deals, per level of ``by``.

    A level with fewer than ``min_won`` won deals takes the quantile over all won deals (its own
    would rest on luck). The series is indexed by level; ``attrs["overall"]`` holds the overall
    quantile. Raises ``ValueError`` when no won deal has both dates.
    """
    won = frame[deal_status(frame).eq(WON).to_numpy()]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    ok = days.notna() & (days >= 0)
    if not ok.any():
        raise ValueError("no won deal with a creation and a close date")
    overall = float(np.quantile(days[ok], q))
    level = level_text(won[by]) if by in won else pd.Series(NONE_LEVEL, index=won.index)
    per = days[ok].groupby(level[ok].to_numpy()).agg(["size", lambda s: np.quantile(s, q)])
    per.columns = ["n", "limit"]
    limits = per["limit"].where(per["n"] >= min_won, overall)
    limits.attrs = {"overall": overall, "quantile": q}
    return limits


def has_won_cycle(frame: pd.DataFrame) -> bool:
    """Whether some won deal has both dates, so :func:`won_cycle_limits` has a cycle to read."""
    won = frame[deal_status(frame).eq(WON).to_numpy()]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["created_date"])).dt.days
    return bool((days.notna() & (days >= 0)).any())


def stalled_outlook_empty() -> pd.DataFrame:
    """The table of :func:`stalled_outlook` without a deal (nothing can be called stalled)."""
    return pd.DataFrame(columns=[*_OUTLOOK, *_OUTLOOK_ADDED])


def _limit_days(frame: pd.DataFrame, limits: pd.Series, by: str) -> np.ndarray:
    """Each deal's limit: its level's, else ``limits.attrs["overall"]``."""
    level = level_text(frame[by]) if by in frame else pd.Series(NONE_LEVEL, index=frame.index)
    overall = limits.attrs.get("overall", float(limits.max()) if len(limits) else np.nan)
    return level.map(limits).fillna(overall).astype(float).to_numpy()


def _age_days(frame: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - pd.to_datetime(frame["created_date"])).dt.days.astype(float)


def flag_stalled(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    limits: pd.Series,
    by: str = "product",
) -> pd.DataFrame:
    """Open deals with their age, the limit for their level and whether they are past it.

    ``stalled`` is True when ``age_days`` exceeds the limit (levels without one take
    ``limits.attrs["overall"]``). Open deals without a creation date have no age and are never
    flagged (``age_days`` is NaN).
    """
    open_ = open_deals(frame).copy()
    open_["age_days"] = _age_days(open_, pd.Timestamp(as_of))
    open_["limit_days"] = _limit_days(open_, limits, by)
    open_["stalled"] = (open_["age_days"] > open_["limit_days"]).fillna(False).astype(bool)
    return open_


def old_deals(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    limits: pd.Series,
    by: str = "product",
) -> pd.DataFrame:
    """Every deal old enough to have stalled: created more than its limit days before ``as_of``,
    whatever its status; ``stalled`` is True for those still open.

    The share of these that are stalled is a per-deal stall rate that does not depend on how fast
    the other deals of a group close (among *open* deals alone, a fast-closing product would look
    stall-prone only because its healthy deals have already left).
    """
    out = frame.copy()
    out["age_days"] = _age_days(out, pd.Timestamp(as_of))
    limit = _limit_days(out, limits, by)
    out = out[(out["age_days"] > limit).to_numpy()].copy()
    out["stalled"] = deal_status(out).eq(OPEN).to_numpy()
    return out


def _filled_amounts(
    deals: pd.DataFrame, revenue_model: object | None, random_seed: int | None
) -> tuple[pd.Series, pd.Series]:
    """Each deal's amount, a missing one replaced by its cell's mean won amount, and whether it
    was missing."""
    amount = pd.to_numeric(deals["amount"], errors="coerce")
    estimated = amount.isna()
    if estimated.any() and revenue_model is not None:
        rcols = list(getattr(revenue_model, "columns_", []))
        missing = deals[estimated.to_numpy()]
        if rcols:
            r_codes, cells = factorize_rows(group_levels(missing, rcols), rcols)
        else:  # one cell: every missing amount takes the same mean
            r_codes, cells = np.zeros(len(missing), dtype=int), missing.iloc[:1]
        mean = revenue_model.expected_amount(  # type: ignore[attr-defined]
            cells, random_seed=random_seed
        )
        amount = amount.copy()
        amount[estimated] = mean.mean("sample").to_numpy()[r_codes]
    return amount, estimated


_OUTLOOK = ["owner", "opportunity_id", "product", "stage", "age_days", "amount"]
_OUTLOOK_ADDED = ["amount estimated", "p_won_ever", "value_at_risk", "same stage"]


def stalled_outlook(
    flagged: pd.DataFrame,
    forecaster: PipelineForecaster,
    revenue_model: object | None = None,
    unchanged: pd.Series | None = None,
    random_seed: int | None = None,
    horizon: int = STALLED_HORIZON_MONTHS,
) -> pd.DataFrame:
    """The stalled deals an owner can act on, largest value at risk first.

    ``p_won_ever`` is the chance that the deal is won within ``horizon`` months (two years), from
    the forecaster's competing monthly chances of closing won and closing lost at the deal's
    product and age: a deal that has sat open longer than won deals of its product took gets a
    small one. It moves with the deal's score when ``flagged`` carries ``score_odds``. ``value_at_risk = amount * (1 - p_won_ever)``;
    a deal without an amount takes the revenue model's mean won amount for its cell
    (``amount estimated``).

    Parameters
    ----------
    flagged
        Output of :func:`flag_stalled` (only rows with ``stalled`` are used), with the optional
        ``score_odds`` of :func:`~pipeline_models.analyses.forecast.strength.with_score_odds`.
    forecaster
        The period's fitted :class:`~pipeline_models.models.forecaster.PipelineForecaster`.
    revenue_model
        A fitted :class:`~pipeline_models.models.RevenueModel` for missing amounts (optional).
    unchanged
        Per ``opportunity_id``: True when the deal sat at the same stage at the previous export.
    random_seed
        Seed of the revenue model's draws.
    horizon
        Months the chance of being won is counted over.
    """
    deals = flagged[flagged["stalled"]].copy()
    if deals.empty:
        return stalled_outlook_empty()
    deals["p_won_ever"] = forecaster.chance_won_within(deals, horizon)
    amount, estimated = _filled_amounts(deals, revenue_model, random_seed)
    deals["amount"] = amount
    deals["amount estimated"] = estimated & amount.notna()
    deals["value_at_risk"] = amount * (1 - deals["p_won_ever"])
    if unchanged is not None:
        same = deals["opportunity_id"].astype(str).map(unchanged)
        deals["same stage"] = same.map({True: "yes", False: "no"}).fillna("new")
    out = deals[[c for c in [*_OUTLOOK, *_OUTLOOK_ADDED] if c in deals]]
    return out.sort_values("value_at_risk", ascending=False, na_position="last", ignore_index=True)


Codes = dict[str, tuple[np.ndarray, pd.Index]]


def _fitted(overall: float, n: int, codes: Codes, factors: dict, skip: str | None) -> np.ndarray:
    """Expected stall indicator of each deal: the overall share times every attribute's factor
    (but ``skip``'s)."""
    mu = np.full(n, overall)
    for c, (code, _) in codes.items():
        if c != skip:
            mu = mu * factors[c][code]
    return mu


def _ipf_factors(y: np.ndarray, overall: float, codes: Codes, iterations: int) -> dict:
    """Main-effect factors of the log-linear model, by iterative proportional fitting: each
    attribute's factors in turn make its levels' expected counts equal their observed counts."""
    factors = {c: np.ones(len(levels)) for c, (_, levels) in codes.items()}
    if overall <= 0:
        return factors
    for _ in range(iterations):
        change = 0.0
        for c, (code, levels) in codes.items():
            observed = np.bincount(code, weights=y, minlength=len(levels))
            mu = _fitted(overall, len(y), codes, factors, c)
            expected = np.bincount(code, weights=mu, minlength=len(levels))
            new = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), 1.0)
            moved = np.abs(np.log(np.maximum(new, 1e-9)) - np.log(np.maximum(factors[c], 1e-9)))
            change = max(change, float(np.max(moved)))
            factors[c] = new
        if change < 1e-6:
            break
    return factors


def _attribute_ratios(
    c: str, code: np.ndarray, levels: pd.Index, y: np.ndarray, mu: np.ndarray, interval: float
) -> pd.DataFrame:
    """One attribute's levels: stalled over expected count with the other factors fixed, pooled
    across levels and scaled so that the average deal is 1."""
    observed = np.bincount(code, weights=y, minlength=len(levels))
    expected = np.bincount(code, weights=mu, minlength=len(levels))
    n = np.bincount(code, minlength=len(levels))
    scale = observed.sum() / expected.sum() if expected.sum() > 0 else 1.0
    rates = gamma_poisson_rates(observed, expected * scale, interval=interval)
    return pd.DataFrame(
        {
            "attribute": c,
            "level": [str(v) for v in levels],
            "deals": n,
            "stalled": observed.astype(int),
            "share": observed / n,
            "ratio": rates["mean"].to_numpy(),
            "lower": rates["lower"].to_numpy(),
            "upper": rates["upper"].to_numpy(),
        }
    )


_RATIOS = ["attribute", "level", "deals", "stalled", "share", "ratio", "lower", "upper", "credible"]
ATTRIBUTES = ("segment", "product", "region", "owner")
"""Attributes whose levels stalled deals are looked for in."""


def stalled_ratios(
    deals: pd.DataFrame,
    by: Sequence[str] = ATTRIBUTES,
    interval: float = INTERVAL,
    iterations: int = 100,
) -> pd.DataFrame:
    """How much more often than the average deal each group's deals stall, each attribute
    adjusted for the others.

    ``deals`` holds a boolean ``stalled`` and the grouping columns, normally every deal old enough
    to have stalled (:func:`old_deals`).

    A log-linear (Poisson, relative-risk) main-effects model
    ``E[stalled_i] = share * prod_attribute f[attribute, level_i]`` is fitted by iterative
    proportional fitting, so a product full of a stall-prone segment is not blamed for the segment.
    Then for each attribute, with the other factors fixed, a level's ratio is its stalled count over
    its expected count, pooled across the attribute's levels (gamma-Poisson, empirical Bayes) and
    scaled so that the average deal is 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``attribute, level, deals, stalled, share, ratio, lower, upper, credible``
        (``share`` raw; ``ratio`` and its interval adjusted); ``attrs["overall"]`` is the overall
        stalled share.
    """
    columns = [c for c in by if c in deals and deals[c].notna().any()]
    if deals.empty or not columns:
        return pd.DataFrame(columns=_RATIOS)
    y = deals["stalled"].to_numpy(dtype=float)
    overall = float(y.mean())
    codes = {c: pd.factorize(level_text(deals[c])) for c in columns}
    factors = _ipf_factors(y, overall, codes, iterations)
    parts = [
        _attribute_ratios(c, code, levels, y, _fitted(overall, len(y), codes, factors, c), interval)
        for c, (code, levels) in codes.items()
    ]
    out = pd.concat(parts, ignore_index=True)
    out["credible"] = (out["lower"] > 1) | (out["upper"] < 1)
    out.attrs = {"overall": overall}
    return out[_RATIOS]


def stalled_hotspots(
    deals: pd.DataFrame,
    by: Sequence[str] = ATTRIBUTES,
    interval: float = INTERVAL,
) -> pd.DataFrame:
    """The groups of :func:`stalled_ratios` whose adjusted ratio credibly differs from 1,
    highest ratio first."""
    ratios = stalled_ratios(deals, by, interval=interval)
    # rows by a boolean mask: an empty object column would otherwise select columns
    credible = ratios["credible"].astype(bool).to_numpy()
    out = ratios.loc[credible].sort_values("ratio", ascending=False, ignore_index=True)
    out.attrs = ratios.attrs
    return out


__all__ = [
    "ATTRIBUTES",
    "MIN_WON",
    "STALLED_HORIZON_MONTHS",
    "WON_CYCLE_QUANTILE",
    "flag_stalled",
    "has_won_cycle",
    "old_deals",
    "stalled_hotspots",
    "stalled_outlook_empty",
    "stalled_outlook",
    "stalled_ratios",
    "won_cycle_limits",
]
