"""Bayesian hierarchical models fitted with PyMC on sufficient statistics: win rate, deal size and
cycle time, each a sum of varying intercepts over the export's grouping columns."""

from pipeline_models.models.hierarchical.base import FitDiagnostics, ModelRefused, PipelineModel
from pipeline_models.models.hierarchical.cycletime import CycleTimeModel
from pipeline_models.models.hierarchical.revenue import RevenueModel
from pipeline_models.models.hierarchical.winrate import WinRateModel

__all__ = [
    "CycleTimeModel",
    "FitDiagnostics",
    "ModelRefused",
    "PipelineModel",
    "RevenueModel",
    "WinRateModel",
]
