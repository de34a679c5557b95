"""What wins: each attribute's effect on the win rate, relative to the average deal.

The groups of the pooled win-rate model (product, region, owner, lead source) are read from its
posterior, each adjusted for the others (:func:`driver_effects`). Deal size and cycle length are
not in the model; their bands are compared by pooled counts, each on its own
(:func:`band_effects`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import special

from pipeline_models.analyses.patterns.fields import CLOSED, LOST, WON, deal_status
from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.models.hierarchical.base import stack_draws
from pipeline_models.models.pooling import beta_binomial_rates
from pipeline_models.present.formats import format_money

EFFECT_COLUMNS = ["term", "level", "deals", "won", "rate", "rate_ratio", "lower", "upper",
                  "odds_ratio", "credible"]  # fmt: skip

N_BANDS = 4
"""Deal size and cycle length are cut at their quartiles: four bands a reader can hold in mind."""


def rate_draws(win_model: object, term: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Draws of the average win rate and of each level's rate (other groups at their average).

    Reads the posterior's ``intercept`` and ``b_<term>`` (the varying intercepts, present under
    either parametrization): the model's public tables give summaries only.
    """
    post = win_model.posterior_  # type: ignore[attr-defined]
    a = stack_draws(post, "intercept")
    b = stack_draws(post, f"b_{term}", (term,))
    levels = list(win_model.terms_[term])  # type: ignore[attr-defined]
    return special.expit(a), special.expit(a[:, None] + b), levels


def _term_effects(
    win_model: object, term: str, counts: pd.DataFrame, interval: float
) -> list[dict[str, object]]:
    """One row of :func:`driver_effects` per level of ``term``."""
    lo, hi = (1 - interval) / 2, (1 + interval) / 2
    base, rates, levels = rate_draws(win_model, term)
    ratio = rates / base[:, None]
    odds = (rates / (1 - rates)) / (base / (1 - base))[:, None]
    rows = []
    for j, level in enumerate(levels):
        c = counts.loc[(term, level)] if (term, level) in counts.index else {}
        low, high = np.quantile(ratio[:, j], [lo, hi])
        rows.append(
            {
                "term": term,
                "level": level,
                "deals": int(c.get("deals", 0)),
                "won": int(c.get("won", 0)),
                "rate": float(rates[:, j].mean()),
                "rate_ratio": float(np.median(ratio[:, j])),
                "lower": float(low),
                "upper": float(high),
                "odds_ratio": float(np.median(odds[:, j])),
                "credible": bool(low > 1 or high < 1),
            }
        )
    return rows


def driver_effects(win_model: object, interval: float = INTERVAL) -> pd.DataFrame:
    """Each fitted level's win rate relative to the average deal, from the pooled win-rate model.

    ``rate_ratio = p(level) / p(average)`` with the other groups at their average level (the
    model adjusts each group for the others); ``odds_ratio = exp(effect)``. Intervals are
    equal-tailed posterior intervals; ``credible`` when the ratio's interval excludes 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``term, level, deals, won, rate, rate_ratio, lower, upper, odds_ratio, credible``.
    """
    effects = win_model.group_effects()  # type: ignore[attr-defined]
    counts = effects.set_index(["term", "level"])[["deals", "won"]]
    rows = [
        row
        for term in win_model.terms_  # type: ignore[attr-defined]
        for row in _term_effects(win_model, term, counts, interval)
    ]
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _nice(value: float) -> float:
    """Round to two significant digits (edges a reader can remember)."""
    if value <= 0 or not np.isfinite(value):
        return float(value)
    digits = int(np.floor(np.log10(value))) - 1
    return float(round(value, -digits))


def _band_labels(values: pd.Series, edges: list[float], unit: str, fmt) -> pd.Series:
    """``values`` cut at ``edges`` into bands labelled ``under 5k``, ``5k to 20k``, ``20k or more``."""
    labels = []
    bounds = [-np.inf, *edges, np.inf]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        if np.isinf(lo):
            labels.append(f"under {fmt(hi)}{unit}")
        elif np.isinf(hi):
            labels.append(f"{fmt(lo)}{unit} or more")
        else:
            labels.append(f"{fmt(lo)} to {fmt(hi)}{unit}")
    return pd.cut(values, bounds, right=False, labels=labels)


def _edge_money(value: float) -> str:
    """A band edge as money without zero decimals: 46000 -> ``46k``, 1500 -> ``1.50k``."""
    return re.sub(r"\.0+(?=\D*$)", "", format_money(value))


def _closed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[deal_status(frame).isin(CLOSED).to_numpy()]


def deal_size_band(frame: pd.DataFrame, n_bands: int = N_BANDS) -> pd.Series | None:
    """Band of each closed deal's amount (quantiles of closed deals' amounts, rounded edges).

    ``None`` when fewer than half of the won or of the lost deals carry an amount (some CRMs, like
    Maven's, record amounts only for won deals: size cannot then separate winners from losers).
    """
    closed = _closed(frame)
    amount = pd.to_numeric(closed["amount"], errors="coerce")
    has = amount.notna() & (amount > 0)
    for s in (WON, LOST):
        part = (deal_status(closed) == s).to_numpy()
        if part.sum() == 0 or has[part].mean() < 0.5:
            return None
    qs = np.quantile(amount[has], np.linspace(0, 1, n_bands + 1)[1:-1])
    edges = sorted({_nice(v) for v in qs if v > 0})
    if not edges:
        return None
    return _band_labels(amount.where(has), edges, "", _edge_money)


def cycle_band(frame: pd.DataFrame, n_bands: int = N_BANDS) -> pd.Series | None:
    """Band of each closed deal's days from creation to close (quantile edges, rounded)."""
    closed = _closed(frame)
    days = (pd.to_datetime(closed["close_date"]) - pd.to_datetime(closed["created_date"])).dt.days
    ok = days.notna() & (days >= 0)
    if ok.sum() < 2 * n_bands:
        return None
    qs = np.quantile(days[ok], np.linspace(0, 1, n_bands + 1)[1:-1])
    edges = sorted({max(_nice(v), 1.0) for v in qs})
    return _band_labels(days.where(ok), edges, " days", lambda v: f"{v:,.0f}")


def band_effects(
    frame: pd.DataFrame, band: pd.Series, term: str, interval: float = INTERVAL
) -> pd.DataFrame:
    """Win rate per band of closed deals, pooled (beta-binomial), relative to the team's rate.

    Not adjusted for the other attributes (unlike :func:`driver_effects`): a band's ratio also
    carries its mix of products and owners. Same columns as :func:`driver_effects`.
    """
    closed = frame.loc[band.index]
    won = (deal_status(closed) == WON).astype(int)
    ok = band.notna()
    counts = won[ok].groupby(band[ok], observed=False).agg(["sum", "size"])
    rates = beta_binomial_rates(
        counts["sum"], counts["size"], interval=interval, index=counts.index
    )
    team = counts["sum"].sum() / counts["size"].sum() if counts["size"].sum() else np.nan
    out = pd.DataFrame(
        {
            "term": term,
            "level": [str(i) for i in counts.index],
            "deals": counts["size"].astype(int).to_numpy(),
            "won": counts["sum"].astype(int).to_numpy(),
            "rate": rates["mean"].to_numpy(),
            "rate_ratio": (rates["mean"] / team).to_numpy(),
            "lower": (rates["lower"] / team).to_numpy(),
            "upper": (rates["upper"] / team).to_numpy(),
            "odds_ratio": np.nan,
        }
    )
    out["credible"] = (out["lower"] > 1) | (out["upper"] < 1)
    return out[out["deals"] > 0].reset_index(drop=True)


def all_effects(
    frame: pd.DataFrame, win_model: object, interval: float = INTERVAL
) -> tuple[pd.DataFrame, list[str]]:
    """Effects of every attribute on the win rate, and notes on what could not be measured.

    The pooled win-rate model's groups (:func:`driver_effects`, adjusted for each other), then the
    deal size and cycle length bands (:func:`band_effects`, each on its own).
    """
    parts = [driver_effects(win_model, interval=interval)]
    notes = []
    size = deal_size_band(frame)
    if size is None:
        notes.append(
            "Deal size cannot separate winners from losers here: fewer than half of the won or of "
            "the lost deals carry an amount."
        )
    else:
        parts.append(band_effects(frame, size, "deal size", interval=interval))
    cycle = cycle_band(frame)
    if cycle is None:
        notes.append("Too few closed deals with both dates to compare cycle lengths.")
    else:
        parts.append(band_effects(frame, cycle, "cycle length", interval=interval))
    kept = [p for p in parts if len(p)]
    return (pd.concat(kept, ignore_index=True) if kept else no_effects()), notes


def no_effects() -> pd.DataFrame:
    """The table of :func:`all_effects` without an effect (no closed deal to compare)."""
    out = pd.DataFrame(columns=EFFECT_COLUMNS)
    out["credible"] = out["credible"].astype(bool)
    return out


__all__ = [
    "EFFECT_COLUMNS",
    "N_BANDS",
    "no_effects",
    "all_effects",
    "band_effects",
    "cycle_band",
    "deal_size_band",
    "driver_effects",
    "rate_draws",
]
