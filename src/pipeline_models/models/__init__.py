"""Bayesian models of a sales pipeline: win rate, deal size and cycle time, and their fit cache.

Every model keeps one contract (:class:`~pipeline_models.models.hierarchical.base.PipelineModel`):
``Model(groups=..., priors=...)`` stores configuration, ``fit(frame, random_seed=...)`` returns the
fitted model, then ``summary()``, ``diagnostics()``, ``save(path)`` / ``Model.load(path)`` and the
model's own ``predict_*`` and tables.
"""

from pipeline_models.models.cache import fit_cached
from pipeline_models.models.hierarchical.base import (
    INTERVAL,
    FitDiagnostics,
    FitMismatchError,
    PipelineModel,
    model_class,
)
from pipeline_models.models.hierarchical.cycletime import CycleTimeModel
from pipeline_models.models.hierarchical.priors import (
    CYCLE_PRIORS,
    REVENUE_PRIORS,
    WINRATE_PRIORS,
    Prior,
)
from pipeline_models.models.hierarchical.revenue import RevenueModel
from pipeline_models.models.hierarchical.winrate import WinRateModel

__all__ = [
    "CYCLE_PRIORS",
    "INTERVAL",
    "REVENUE_PRIORS",
    "WINRATE_PRIORS",
    "CycleTimeModel",
    "FitDiagnostics",
    "FitMismatchError",
    "PipelineModel",
    "Prior",
    "RevenueModel",
    "WinRateModel",
    "fit_cached",
    "model_class",
]
