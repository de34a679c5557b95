"""What the plan aims at: the target (set, or derived from recent wins), costs per lead, and the
target in words."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline_models.contract.period import month_end
from pipeline_models.present.formats import format_count, format_money

METRICS = ("count", "revenue")
"""A target is a number of deals won or an amount of revenue won."""

DEFAULT_FACTOR = 1.2
"""Without a target, plan for this multiple of the deals won in the last window's length: a
plan for growth, not for standing still."""


def check_target(target: float, metric: str, confidence: float) -> None:
    """Refuse a target that cannot be planned for (with what is wrong)."""
    if metric not in METRICS:
        raise ValueError("metric must be 'count' or 'revenue'")
    if not target > 0:
        raise ValueError("target must be > 0")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")


def trailing_wins(frame: pd.DataFrame, as_of: pd.Timestamp | str, months: int) -> dict[str, float]:
    """Deals and revenue won in the ``months`` months up to ``as_of``."""
    as_of = pd.Timestamp(as_of).normalize()
    start = month_end(pd.Period(as_of, "M") - months)
    won = frame[
        (frame["status"] == "won") & (frame["close_date"] > start) & (frame["close_date"] <= as_of)
    ]
    return {"count": float(len(won)), "revenue": float(won["amount"].fillna(0).sum())}


def resolve_target(
    frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    horizon_months: int,
    target_deals: int = 0,
    target_revenue: float = 0.0,
    default_factor: float = DEFAULT_FACTOR,
) -> tuple[float, str, str]:
    """The target to plan for: ``(value, "count" | "revenue", how it was set)``.

    ``target_deals`` wins over ``target_revenue`` when both are set; with neither, the target is
    ``default_factor`` x the deals won in the last ``horizon_months`` months (at least 1).
    """
    if target_deals and target_deals > 0:
        note = "set by the target_deals parameter"
        if target_revenue and target_revenue > 0:
            note += " (target_revenue was also set and is not used)"
        return float(target_deals), "count", note
    if target_revenue and target_revenue > 0:
        return float(target_revenue), "revenue", "set by the target_revenue parameter"
    won = trailing_wins(frame, as_of, horizon_months)["count"]
    value = float(max(np.ceil(default_factor * won), 1))
    months = f"{horizon_months} month{'s' if horizon_months > 1 else ''}"
    if won > 0:
        note = f"no target set: {default_factor:g} x the {int(won)} deals won in the last {months}"
    else:
        note = f"no target set, and no deal was won in the last {months}: one deal"
    return value, "count", note


def parse_costs(value: dict | str | None) -> dict[str, float]:
    """Cost per lead by source from a dict or its JSON text; ``{}`` / ``""`` for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError("cost_per_lead must map sources to costs")
    out = {}
    for key, cost in value.items():
        cost = float(cost)
        if not np.isfinite(cost) or cost < 0:
            raise ValueError(f"cost_per_lead[{key!r}] must be a number >= 0")
        out[str(key)] = cost
    return out


def target_text(value: float, metric: str, currency: str = "") -> str:
    """The target in words: "120 deals won" or "1.50M revenue won"."""
    if metric == "count":
        return f"{format_count(value)} deal{'' if round(value) == 1 else 's'} won"
    return f"{format_money(value, currency)} revenue won"


__all__ = [
    "DEFAULT_FACTOR",
    "METRICS",
    "check_target",
    "parse_costs",
    "resolve_target",
    "target_text",
    "trailing_wins",
]
