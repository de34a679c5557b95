"""``pipeline_models.sample`` keeps the import path of :mod:`pipeline_models.data.synthetic`."""

from __future__ import annotations

from pipeline_models.data.synthetic import (
    DEFAULT_LEAD_SOURCES,
    DEFAULT_PRODUCTS,
    DEFAULT_REGIONS,
    DEFAULT_SEASON,
    DEFAULT_SEED,
    EXPORTS_DIR,
    GROUND_TRUTH_FILE,
    HISTORY_FILE,
    LeadSourceSpec,
    ProductSpec,
    RegionSpec,
    SampleConfig,
    SimulatedHistory,
    ground_truth,
    month_ends,
    sample_command,
    simulate_history,
    snapshot,
    write_sample,
)

__all__ = [
    "DEFAULT_LEAD_SOURCES",
    "DEFAULT_PRODUCTS",
    "DEFAULT_REGIONS",
    "DEFAULT_SEASON",
    "DEFAULT_SEED",
    "EXPORTS_DIR",
    "GROUND_TRUTH_FILE",
    "HISTORY_FILE",
    "LeadSourceSpec",
    "ProductSpec",
    "RegionSpec",
    "SampleConfig",
    "SimulatedHistory",
    "ground_truth",
    "month_ends",
    "sample_command",
    "simulate_history",
    "snapshot",
    "write_sample",
]
