"""Publishing a finished run in one atomic step, keeping the last few runs of a period, and the
last few failed runs."""

from __future__ import annotations

import gc
import shutil
import sys
import time
from pathlib import Path

from pipeline_models.run.layout import RunPaths

KEEP_RUNS = 5
"""Published runs kept per period (the newest is the one ``reports/<period>`` links to)."""


KEEP_FAILED = 3
"""Failed runs kept per period under ``reports/.failed``. Each holds a full copy of the export's
tables (customer data), so they must not pile up without bound; the last three are enough to
compare a failure with the ones before it (``--keep-failed`` changes it)."""


def publish(paths: RunPaths) -> Path:
    """Move the staged run into place and point ``reports/<period>`` at it, atomically."""
    paths.runs.mkdir(parents=True, exist_ok=True)
    paths.staging.replace(paths.final)
    link = paths.published
    if link.exists() and not link.is_symlink():
        # a report folder from before runs were kept: keep it as an earlier run
        link.replace(paths.runs / f"earlier-{int(time.time())}")
    tmp_link = link.with_name(f".{link.name}.link-{paths.run_id}")
    tmp_link.symlink_to(Path(".runs") / paths.period / paths.run_id)
    tmp_link.replace(link)
    runs = sorted((p for p in paths.runs.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-KEEP_RUNS]:
        if old.resolve() != paths.final.resolve():
            shutil.rmtree(old, ignore_errors=True)
    return link


def prune_failed(paths: RunPaths, keep: int = KEEP_FAILED) -> int:
    """Delete all but the newest ``keep`` failed runs of the period, the run that has just failed
    always among those kept; return how many were deleted.

    Run ids begin with the run's start time, so their names sort oldest first. A link planted
    among them is left alone: nothing is deleted through it.
    """
    folder = paths.failed.parent
    if not folder.is_dir():
        return 0
    others = sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and p != paths.failed
    )
    old = others[: max(len(others) - (keep - 1), 0)]
    for run in old:
        shutil.rmtree(run, ignore_errors=True)
    return len(old)


def keep_failed(paths: RunPaths, keep: int = KEEP_FAILED) -> str:
    """Prune the period's failed runs (:func:`prune_failed`) and say so, for a failed run's
    message."""
    deleted = prune_failed(paths, keep)
    said = f"the last {keep} failed run(s) of a period are kept (--keep-failed)"
    return said + (f"; {deleted} older one(s) deleted" if deleted else "")


def release_memory() -> None:
    """Hand freed memory back to the system, so the report kernels have it (best effort)."""
    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
