"""The period's model fits, shared by every report of a run.

Every report notebook asks :func:`period_models` for the fitted models. The configuration and seed
are the same everywhere, so the fit cache (keyed by model type, configuration, seed and aggregated
inputs) holds one fit of each model per period, and the second report loads what the first fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .models import CycleTimeModel, FitDiagnostics, RevenueModel, WinRateModel, fit_cached
from .models.cache import CachedFit
from .schema import present_groups

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

    def diagnostics(self) -> dict[str, FitDiagnostics]:
        return {
            "win rate": self.win_rate.diagnostics(),
            "deal size": self.revenue.diagnostics(),
            "cycle time": self.cycle_time.diagnostics(),
        }

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

    ``table_digest``: SHA-256 of the file ``frame`` was read from, unchanged (the ``sha256`` a
    report's :func:`~pipeline_models.report.load_inputs` records for the runner's canonical
    table). Fits recorded under it load without aggregating the table again.
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
