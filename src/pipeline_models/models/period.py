"""The period's fits, shared by every report of a run: the three hierarchical models, the
forecaster and the lead funnel (their track records: :mod:`pipeline_models.run.tracks`).

The run's fit step calls each function here once, before any report; the reports then ask the
run's catalog, which calls the same functions with the same configuration, seed and table digests
and so loads what the fit step made (the fit cache's key is the estimator's configuration id,
the seed and the digests of what it reads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_models.contract.schema import present_groups
from pipeline_models.models.cache import (
    CachedFit,
    fit_cached,
    fit_cached_estimator,
)
from pipeline_models.models.hierarchical import (
    CycleTimeModel,
    FitDiagnostics,
    RevenueModel,
    WinRateModel,
)

WIN_GROUPS = ("product", "region", "owner", "lead_source")
"""Grouping columns of the win-rate model, where the export has them."""
REVENUE_GROUPS = ("product", "region")
CYCLE_GROUPS = ("product",)


@dataclass
class PeriodModels:
    """The fitted win-rate, revenue and cycle-time models of one period."""

    win_rate: WinRateModel
    revenue: RevenueModel
    cycle_time: CycleTimeModel
    cached: dict[str, CachedFit] = field(default_factory=dict)
    """How each fit was obtained (cache hit, folder, seconds), by model name."""
    _diagnostics: dict[str, FitDiagnostics] | None = field(default=None, init=False, repr=False)

    def diagnostics(self) -> dict[str, FitDiagnostics]:
        """Each fit's convergence, computed once (R-hat and ESS read every posterior draw)."""
        if self._diagnostics is None:
            self._diagnostics = {
                "win rate": self.win_rate.diagnostics(),
                "deal size": self.revenue.diagnostics(),
                "cycle time": self.cycle_time.diagnostics(),
            }
        return self._diagnostics

    def warnings(self) -> list[str]:
        """One line per model whose fit did not converge, for the top of a report."""
        return [f"{name} model: {d.message}" for name, d in self.diagnostics().items() if not d.ok]

    @property
    def cache_hits(self) -> dict[str, bool]:
        return {name: fit.hit for name, fit in self.cached.items()}


def model_groups(frame: pd.DataFrame, wanted: tuple[str, ...]) -> list[str]:
    """The wanted grouping columns that hold values in ``frame`` (in the wanted order)."""
    present = set(present_groups(frame))
    return [g for g in wanted if g in present]


def period_models(
    frame: pd.DataFrame,
    cache_dir: str | Path,
    random_seed: int,
    as_of: str | pd.Timestamp | None = None,
    table_digest: str | None = None,
) -> PeriodModels:
    """Fit (or load from the cache) the three models on the canonical table of a period.

    ``table_digest``: SHA-256 of the file ``frame`` was read from, unchanged (the digest the run
    folder's catalog records for its canonical table). Fits recorded under it load without
    aggregating the table again.
    """
    as_of = None if as_of is None else str(pd.Timestamp(as_of).date())
    unfitted = {
        "win_rate": WinRateModel(groups=model_groups(frame, WIN_GROUPS)),
        "revenue": RevenueModel(groups=model_groups(frame, REVENUE_GROUPS)),
        "cycle_time": CycleTimeModel(groups=model_groups(frame, CYCLE_GROUPS), as_of=as_of),
    }
    cached = {
        name: fit_cached(model, frame, cache_dir, random_seed, table_digest)
        for name, model in unfitted.items()
    }
    return PeriodModels(
        cached["win_rate"].model, cached["revenue"].model, cached["cycle_time"].model, cached
    )


def fit_forecaster(
    frame: pd.DataFrame, as_of: pd.Timestamp, cache_dir: str | Path, table_digest: str | None
) -> CachedFit:
    """The pipeline forecaster fitted on what was known at ``as_of`` (from the cache when made)."""
    from pipeline_models.models.forecaster import PipelineForecaster

    origin = pd.Timestamp(as_of).normalize()
    return fit_cached_estimator(
        PipelineForecaster(),
        lambda model: model.fit(frame, origin),
        cache_dir,
        {"opportunities": str(table_digest), "origin": str(origin.date())},
    )


def fit_lead_funnel(
    frame: pd.DataFrame,
    leads: pd.DataFrame | None,
    as_of: pd.Timestamp,
    cache_dir: str | Path,
    digests: dict[str, str | None],
    random_seed: int,
) -> CachedFit:
    """The lead funnel fitted at ``as_of`` on the opportunities and leads (cached)."""
    from pipeline_models.models.funnel import LeadFunnelModel

    origin = pd.Timestamp(as_of).normalize()
    return fit_cached_estimator(
        LeadFunnelModel(),
        lambda model: model.fit(frame, leads, origin, random_seed=random_seed),
        cache_dir,
        {**{k: str(v) for k, v in digests.items()}, "as_of": str(origin.date())},
        random_seed,
    )
