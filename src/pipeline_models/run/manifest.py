"""The run's manifest: what was read, with which versions and settings, and how each report went."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from pipeline_models import __version__
from pipeline_models.run.budget import effective_budget

if TYPE_CHECKING:
    from pipeline_models.run.inputs import Sources
    from pipeline_models.run.runner import RunState

PACKAGES = (
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "numpy",
    "pandas",
    "pandera",
    "papermill",
    "nbconvert",
    "matplotlib",
)
"""Packages whose versions a manifest records (what a rerun must match to give the same digits)."""


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline-workbench": __version__}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def start(state: RunState, sources: Sources) -> dict:
    """The manifest as it stands before the fits and the reports."""
    options, archived = state.options, state.archived
    result = state.prepared.result
    catalog = state.prepared.catalog
    others = archived["others"]
    manifest = {
        "period": options.period,
        "run_id": state.paths.run_id,
        "started": state.started.isoformat(timespec="seconds"),
        "export": {
            "file": str(options.export),
            "archived": str(archived["export"].resolve()),
            "sha256": archived["sha256"],
            "other_exports_of_period": others,
            "leads": str(archived["leads"].resolve()) if archived["leads"] else None,
            "history": str(archived["history"].resolve()) if archived.get("history") else None,
            "history_sha256": archived.get("history_sha256"),
            "side_tables": archived.get("side_tables", []),
            "previous": str(sources.previous_export) if sources.previous_export else None,
        },
        "mapping": result.info.get("mapping"),
        "validation": {
            "opportunities": len(result.frame),
            "warnings": [str(p) for p in result.warnings],
            "quarantined_rows": len(result.quarantine),
        },
        "parameters": {
            "period": options.period,
            "export_path": str(archived["export"].resolve()),
            "run_dir": str(catalog.folder),
            "cache_dir": str(catalog.cache_dir),
            "random_seed": int(options.random_seed),
            "datasets": catalog.meta["datasets"],
            "settings": catalog.meta["settings"],
            "fit": effective_budget(catalog.budget),
            "extra": options.params,
        },
        "random_seed": int(options.random_seed),
        "versions": package_versions(),
        "timings_s": state.timings,
        "reports": {},
        "run_warnings": [],
    }
    if others:
        manifest["run_warnings"].append(
            f"this period has {len(others)} other archived export(s) ({', '.join(others)}); "
            f"these reports use {archived['export'].name}"
        )
    if len(result.quarantine):
        manifest["run_warnings"].append(
            f"{len(result.quarantine)} rows of the export were skipped as bad; see quarantine.csv"
        )
    return manifest
