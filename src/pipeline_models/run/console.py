"""What a command prints, and how it is stopped: output that survives a closed pipe, and Ctrl-C
ended in one plain line.

A scheduled run's output may go to a reader that stops early (``pipeline-reports run | head -1``):
from then on the command prints nothing more and carries on to the end. Ctrl-C (SIGINT) or a
stop by the system (SIGTERM) raises :class:`Interrupted`, which no library can swallow (PyMC
catches ``KeyboardInterrupt`` and would keep a half-drawn sample); the command then says so in one
line and exits ``128 + signal``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import TextIO

EXIT_INTERRUPTED = 128 + signal.SIGINT
"""Exit code of a command stopped with Ctrl-C (130), as shells report it."""


class Interrupted(BaseException):
    """The command was asked to stop (Ctrl-C or SIGTERM); a ``BaseException``, so no
    ``except Exception`` and no ``except KeyboardInterrupt`` in a library stops it."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class PipeSafeStream:
    """A text stream that turns silent once its reader has gone (a closed pipe)."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        if self.closed_by_reader:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        if self.closed_by_reader:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        """Point the file descriptor at ``/dev/null``: later writes, child processes and the
        interpreter's last flush then find a stream that takes everything."""
        self.closed_by_reader = True
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Make ``sys.stdout`` survive a reader that closes early (idempotent)."""
    if not isinstance(sys.stdout, PipeSafeStream) and sys.stdout is not None:
        sys.stdout = PipeSafeStream(sys.stdout)


def _raise_interrupted(signum, frame) -> None:
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        signum: signal.signal(signum, _raise_interrupted)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


__all__ = ["EXIT_INTERRUPTED", "Interrupted", "PipeSafeStream", "guard_stdout", "interruptible"]
