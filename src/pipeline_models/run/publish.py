"""Publishing a finished run in one atomic step, keeping the last few runs of a period."""

from __future__ import annotations

import gc
import shutil
import sys
import time
from pathlib import Path

from pipeline_models.run.layout import RunPaths

KEEP_RUNS = 5
"""Published runs kept per period (the newest is the one ``reports/<period>`` links to)."""


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
