"""Report notebooks executed side by side, each in a worker process of its own, ended with the run.

A worker or a report's kernel can die (the out-of-memory killer sends SIGKILL): that report is
then a failed report with the reason in words, and the other reports run on. One worker per
report rather than a pool: a pool whose worker dies breaks every report still in it, and cannot
say which report the dead worker held. Each worker tells the run its kernel's process group, so
the run ends the kernel of a worker that died or that it stops (Ctrl-C): no worker and no kernel
outlives the run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from pipeline_models.run.notebooks import ReportJob, ended_by, execute_job

END_WAIT_S = 10.0
"""Seconds a worker that sent its outcome gets to exit by itself before it is killed."""


def _work(job: ReportJob, connection: Connection) -> None:
    """A worker's life: execute one report, telling the run its kernel and then the outcome."""
    # Ctrl-C is the run's to handle: it ends the workers itself (one message, no traceback each)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    t0 = time.perf_counter()
    try:
        outcome = execute_job(job, lambda group: connection.send(("kernel", group)))
    except Exception as exc:  # the report failed, not the run: the others go on
        reason = (str(exc).strip().splitlines() or [""])[0]
        outcome = (time.perf_counter() - t0, f"{job.notebook.name}: {type(exc).__name__}: {reason}")
    connection.send(("done", *outcome))
    connection.close()


@dataclass
class Worker:
    """One report's worker process, as the run sees it."""

    job: ReportJob
    process: multiprocessing.process.BaseProcess
    connection: Connection
    started: float
    kernel_group: int | None = None
    outcome: tuple[float, str | None] | None = None

    @classmethod
    def start(cls, context, job: ReportJob) -> Worker:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_work, args=(job, send), name=f"report-{job.name}")
        process.start()
        send.close()  # the worker holds the sending end: its death then reads as the pipe's end
        return cls(job, process, receive, time.perf_counter())

    def read(self) -> None:
        """Take what the worker sent; a worker gone without an outcome is a failed report."""
        with contextlib.suppress(EOFError, OSError):
            while self.outcome is None and self.connection.poll():
                kind, *rest = self.connection.recv()
                if kind == "kernel":
                    self.kernel_group = rest[0]
                else:
                    self.outcome = (rest[0], rest[1])
        if self.outcome is None and not self.process.is_alive():
            self.process.join()
            self.outcome = (
                time.perf_counter() - self.started,
                f"{self.job.notebook.name}: the report's worker process died "
                f"({ended_by(self.process.exitcode)})",
            )

    def end(self) -> None:
        """End the worker and, unless it finished its report (its kernel then shut down with
        it), the kernel's whole process group."""
        finished = self.outcome is not None and self.process.exitcode is None
        if finished:
            self.process.join(END_WAIT_S)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(END_WAIT_S)
        clean = self.outcome is not None and not _died(self.outcome)
        if self.kernel_group and not clean:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.kernel_group, signal.SIGKILL)
        self.connection.close()


def _died(outcome: tuple[float, str | None]) -> bool:
    """Whether an outcome is a death (the kernel may then still be running)."""
    return bool(outcome[1]) and " died (" in outcome[1]


def execute_side_by_side(
    jobs: list[ReportJob],
    parallel: int,
    finished: Callable[[int, ReportJob, float, str | None], None],
) -> None:
    """Execute the jobs, at most ``parallel`` at a time, each in a new worker process; call
    ``finished(index, job, seconds, error)`` in this process, in report order. Every worker
    and kernel still running when this returns or raises (Ctrl-C) is ended."""
    # spawn, not fork: this process may hold threads (fork would copy their locks)
    context = multiprocessing.get_context("spawn")
    waiting = list(enumerate(jobs, start=1))
    running: dict[int, Worker] = {}
    outcomes: dict[int, tuple[float, str | None]] = {}
    reported = 0
    try:
        while waiting or running:
            while waiting and len(running) < parallel:
                index, job = waiting.pop(0)
                running[index] = Worker.start(context, job)
            wait(
                [w.connection for w in running.values()]
                + [w.process.sentinel for w in running.values()]
            )
            for index, worker in list(running.items()):
                worker.read()
                if worker.outcome is not None:
                    worker.end()
                    outcomes[index] = worker.outcome
                    del running[index]
            while reported + 1 in outcomes:
                reported += 1
                finished(reported, jobs[reported - 1], *outcomes.pop(reported))
    finally:
        for worker in running.values():
            worker.end()


__all__ = ["END_WAIT_S", "Worker", "execute_side_by_side"]
