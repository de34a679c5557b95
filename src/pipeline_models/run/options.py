"""What a run is asked to do, how it ends, and the parameters every report notebook declares."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline_models.run.publish import KEEP_FAILED

STANDARD_PARAMETERS = ("run_dir", "output_dir")
"""Parameters the runner passes to every report notebook; each notebook must declare them all.
A notebook reads its datasets and fits from the run folder's catalog, never from file paths."""

EXIT_OK, EXIT_BAD_INPUT, EXIT_REPORT_FAILED, EXIT_STRICT, EXIT_BUSY = 0, 2, 3, 4, 5
"""How a run ends. No outcome exits 1: an unexpected failure is a failed run (exit 3)."""


class RunError(Exception):
    """A run could not complete; ``exit_code`` says why (see the EXIT_* constants): by default
    what it was asked to do is wrong (exit 2)."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RunOptions:
    export: Path
    period: str
    reports_dir: Path = Path("reports")
    data_dir: Path = Path("data")
    preset: str | None = None
    mapping: Path | None = None
    pipeline: str | None = None  # the CRM pipeline to read, where the export holds several
    leads: Path | None = None
    history: Path | None = None  # the CRM's stage history (one row per change of a deal)
    previous_export: Path | None = None
    params: dict = field(default_factory=dict)
    on_bad_rows: str = "error"
    strict: bool = False
    random_seed: int = 20261
    notebooks: Path | None = None
    only: tuple[str, ...] = ()
    jobs: int = 1
    cache_dir: Path | None = None
    root: Path | None = None
    keep_failed: int = KEEP_FAILED  # failed runs kept per period
    fit_models: bool = True  # fit the shared models before the reports (off: tiny test runs)
    fit: dict = field(default_factory=dict)  # sampler budget of the hierarchical fits (--fit)


@dataclass
class RunResult:
    exit_code: int
    published: Path | None
    manifest: dict
