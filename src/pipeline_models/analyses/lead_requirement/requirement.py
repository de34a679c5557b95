"""The answer for one target: new leads needed for the chosen chance, the median case, and the
curve of ``P(target)`` against new leads behind them; beside it, the CRM's funnel-ratio answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline_models.models.funnel.model import LeadFunnelModel


@dataclass
class LeadRequirement:
    """The answer for one target: leads needed, the median case, and the curve behind them."""

    target: float
    metric: str
    confidence: float
    window: str
    months: int  # months in the window
    unit: str
    units: str
    leads_needed: int | None  # None: not reachable by adding leads
    median_case: int | None
    by_source: pd.Series
    p_in_hand: float  # chance that what is in hand alone reaches the target
    p_at_needed: float
    in_hand_expected: float
    in_hand_interval: tuple[float, float]  # the planner's interval of what is in hand
    curve: pd.DataFrame  # leads, p_reach


def funnel_ratio_leads(model: LeadFunnelModel, target: float, metric: str = "count") -> float:
    """The CRM's answer: target / (lead -> won rate of the current mix) [x mean won amount for a
    revenue target]. It ignores what is in hand and the time leads take to close."""
    rate = (model.mix_.to_numpy() * (model.conversion_ * model.win_).mean(axis=0)).sum()
    if metric == "revenue":
        rate = (
            model.mix_.to_numpy()
            * (model.conversion_ * model.win_).mean(axis=0)
            * model.amounts_.mean
        ).sum()
    return float(target / rate) if rate > 0 else float("nan")


__all__ = ["LeadRequirement", "funnel_ratio_leads"]
