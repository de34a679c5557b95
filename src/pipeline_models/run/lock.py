"""One run per period at a time: an exclusive lock, refused with exit 5 while another run holds it."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path

from pipeline_models.run.options import EXIT_BUSY, RunError


@contextlib.contextmanager
def period_lock(lock_path: Path):
    """Hold an exclusive lock for one period; refuse (exit 5) when another run holds it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            raise RunError(
                f"another run of this period is in progress ({holder}); wait for it to finish",
                EXIT_BUSY,
            ) from None
        raise
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
