"""Every path of a run, in one place (the datasets inside a run folder: :mod:`.catalog`).

Layout under the project root (each folder can be moved with a setting)::

    data/raw/<period>/<sha12>-<file>         raw exports, archived untouched, with <file>.sha256
    data/fits/                               fit cache shared by all reports (by data hash + config)
    reports/<period>/                        the published report set (a link to the newest run)
    reports/.runs/<period>/<run_id>/         every published run, newest kept by the link
    reports/.failed/<period>/<run_id>/       executed notebooks of a failed run, for debugging
    reports/.lock-<period>                   the lock that keeps two runs of a period apart

With ``--root`` every path a run reads or writes is resolved here (symbolic links followed) before
it is compared with the allowed folder: :func:`resolve_inside` is the one place that does it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline_models.present.content import SUMMARY_FILE as SUMMARY_FILE

REPORT_ORDER = ("overview", "product_potential", "lead_requirement", "forecast", "patterns")
"""Report notebooks in the order the index lists them; other notebooks follow by name."""

CATALOG_FILE = "catalog.json"
FITS_FILE = "fits.json"
CANONICAL_FILE = "opportunities.parquet"
LEADS_FILE = "leads.parquet"
HISTORY_FILE = "history.parquet"
PREVIOUS_FILE = "previous_opportunities.parquet"
VALIDATION_FILE = "validation.json"
QUARANTINE_FILE = "quarantine.csv"
MANIFEST_FILE = "manifest.json"


def project_root() -> Path:
    """The folder holding ``notebooks/`` (the source tree, or the current folder)."""
    env = os.environ.get("PIPELINE_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "notebooks").is_dir() and (parent / "pyproject.toml").exists():
            return parent
    return Path.cwd()


def notebooks_dir() -> Path:
    return Path(os.environ.get("PIPELINE_NOTEBOOKS", project_root() / "notebooks"))


def notebook_path(path: str | Path) -> Path:
    """A folder given to a report notebook (``run_dir``, ``output_dir``) as an absolute path.

    A relative path is read from the project's ``notebooks/`` folder, as the notebooks' defaults
    are written (``../data/work/2026-10``), whatever the working folder of the kernel and
    wherever the notebook itself lies (an analyst's working copy under ``data/work/notebooks/``
    finds the same run folder). An absolute path is kept as given.
    """
    path = Path(path).expanduser()
    return path if path.is_absolute() else (notebooks_dir() / path).resolve()


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def run_paths(reports: str | Path, data: str | Path, period: str, started: datetime) -> RunPaths:
    """The paths of a run started at ``started``: its id is the time to the second and the
    process, with ``-2``, ``-3`` ... where a run of the period already has that id (two runs in
    one second of one process)."""
    base = started.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    paths = RunPaths(Path(reports), Path(data), period, base)
    count = 1
    while paths.final.exists() or paths.staging.exists() or paths.failed.exists():
        count += 1
        paths = RunPaths(Path(reports), Path(data), period, f"{base}-{count}")
    return paths


@dataclass(frozen=True)
class RunPaths:
    """Where one run of one period reads and writes."""

    reports: Path
    data: Path
    period: str
    run_id: str

    @property
    def published(self) -> Path:
        return self.reports / self.period

    @property
    def runs(self) -> Path:
        return self.reports / ".runs" / self.period

    @property
    def staging(self) -> Path:
        """The folder a run writes into; moved under ``runs`` only when every report succeeded."""
        return self.reports / ".staging" / f"{self.period}-{self.run_id}"

    @property
    def final(self) -> Path:
        return self.runs / self.run_id

    @property
    def failed(self) -> Path:
        return self.reports / ".failed" / self.period / self.run_id

    @property
    def lock(self) -> Path:
        return self.reports / f".lock-{self.period}"

    @property
    def raw(self) -> Path:
        return self.data / "raw" / self.period

    @property
    def work(self) -> Path:
        """Inputs the notebooks read (canonical tables), inside the staging folder."""
        return self.staging / "files" / "_inputs"

    @property
    def raw_leads(self) -> Path:
        """Archived leads files: kept apart, so they are never taken for an export."""
        return self.raw / "leads"

    @property
    def raw_history(self) -> Path:
        """Archived stage histories, kept apart like the leads."""
        return self.raw / "history"

    @property
    def raw_side_tables(self) -> Path:
        """Archived side tables a preset joined onto the export (Maven's ``accounts.csv``)."""
        return self.raw / "side_tables"

    def written(self) -> tuple[tuple[Path, str], ...]:
        """Every place a run writes to, with its name in words (each is checked before use)."""
        return (
            (self.lock, "lock file"),
            (self.staging, "staging folder"),
            (self.final, "runs folder"),
            (self.failed, "failed runs folder"),
            (self.published, "published report set"),
            (self.raw, "raw archive folder"),
            (self.raw_leads, "raw archive folder"),
            (self.raw_history, "raw archive folder"),
            (self.raw_side_tables, "raw archive folder"),
        )

    def report_files(self, name: str) -> Path:
        """Where report ``name`` writes its summary and tables."""
        return self.staging / "files" / name


def resolve_inside(path: Path | str, root: Path | str | None, what: str) -> Path:
    """``path`` with every symbolic link followed; refused (exit 2) when it lies outside ``root``.

    The parts of ``path`` that do not exist yet are kept as written, so a folder a run is about to
    create is checked through the links of the folders above it.
    """
    from pipeline_models.run.options import RunError

    resolved = Path(path).resolve()
    if root is not None and not resolved.is_relative_to(Path(root).resolve()):
        raise RunError(f"{what} {path} lies outside the allowed folder {root}")
    return resolved


def previous_period(period: str) -> str:
    year, month = (int(x) for x in period.split("-"))
    year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return f"{year:04d}-{month:02d}"


def sample_work_dir(period: str) -> Path:
    """The run folder an analyst's notebooks use by default: the bundled sample, prepared."""
    return project_root() / "data" / "work" / period
