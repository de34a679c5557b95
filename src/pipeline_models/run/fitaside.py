"""Fits made side by side: while the run's fit step makes part of the period's fits, a second
process makes the rest into the fit cache, and the fit step then loads them from it.

The fits are deterministic (same data, settings and seed, same draws in any process) and the
cache writes each entry whole, so which process made a fit changes nothing in the reports. A second
process only pays where there is a second core and enough deals that its start (a new interpreter,
a few seconds) is worth it. If the second process fails or dies, the fit step makes those fits
itself and reports any failure as it would have.

A few small fits (:data:`SHARED`) go to whichever process is free first: each process claims one
before making it, by a file in the run folder that only one can create.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

ASIDE = ("deal_score", "account_products", "lead_track", "period_outlook")
"""Catalog steps made in the second process: the deal score (the longest), two small fits and the
period's forecast (which reads the deal score), against the hierarchical models and the forecast's
track record in the fit step's own process."""
SHARED = ("account_products", "lead_track")
"""Of those, the steps either process makes: the first to be free claims each (the second process
has the longer list at 10^6 deals, the fit step's own process at 10^4)."""
CLAIMS = ".fit-claims"
"""Folder of the run folder where each process claims a shared step (removed afterwards)."""
MIN_DEALS = 5_000
"""Below this many deals every fit takes seconds, and a second process costs more than it saves."""

Step = tuple[str, tuple]


def _work(folder: str, steps: Sequence[Step]) -> None:
    # Ctrl-C is the run's to handle: it ends this process itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from pipeline_models.run.catalog import Catalog

    catalog = Catalog.open(folder, say=None)
    # its own steps first, then the ones either process makes (claimed when it gets to them)
    for name, args in sorted(steps, key=lambda step: step[0] in SHARED):
        if name in SHARED and not claim(Path(folder), name):
            continue
        try:
            getattr(catalog, name)(*args)
        except Exception:  # noqa: BLE001 - the fit step makes it again and reports the failure
            return


def claim(folder: Path, name: str) -> bool:
    """Whether this process makes the shared step ``name`` of the run folder's fit step: the
    first process to ask does (a file made only if it does not exist, which is atomic)."""
    try:
        os.close(os.open(folder / CLAIMS / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def fitting_aside(folder: Path, steps: Sequence[Step], deals: int) -> Iterator[bool]:
    """Fit ``steps`` (catalog method names and arguments) in a second process while the block
    runs; on leaving the block wait for it. Yields whether a second process was started."""
    if not steps or deals < MIN_DEALS or usable_cores() < 2:
        yield False
        return
    claims = Path(folder) / CLAIMS
    shutil.rmtree(claims, ignore_errors=True)  # a run stopped before it could clear them
    claims.mkdir()
    # spawn, not fork: this process may hold threads (fork would copy their locks)
    process = multiprocessing.get_context("spawn").Process(
        target=_work, args=(str(folder), list(steps)), name="fits-aside", daemon=True
    )
    process.start()
    try:
        yield True
        process.join()
    finally:
        if process.is_alive():
            process.kill()
            process.join()
        shutil.rmtree(claims, ignore_errors=True)


__all__ = ["ASIDE", "MIN_DEALS", "SHARED", "claim", "fitting_aside", "usable_cores"]
