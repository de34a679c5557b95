"""``pipeline_models.presets`` keeps the import path of :mod:`pipeline_models.io.presets`."""

from .io.presets import (
    CANONICAL_TARGETS,
    LEAD_MAPPING,
    PRESETS,
    Lookup,
    Mapping,
    get_mapping,
    guess_preset,
    load_mapping,
)

__all__ = [
    "CANONICAL_TARGETS",
    "LEAD_MAPPING",
    "PRESETS",
    "Lookup",
    "Mapping",
    "get_mapping",
    "guess_preset",
    "load_mapping",
]
