"""Many business units' monthly report sets in one command, as tasks on Dask distributed, and
the company's roll-up over them.

``pipeline-reports run-many --units units.yml --period 2026-11 --out reports/`` reads the units
file (:mod:`.units`) and runs every unit's set as one Dask task. The task runs exactly
``pipeline-reports run`` for the unit, in a process of its own (same archive, validation, fits,
reports, atomic publish and lock), its console written to ``<out>/<unit>/.logs/<period>.log``; a
unit that fails, however it fails, stops only itself. The tasks run on a local cluster of
``--workers`` processes, or on an existing cluster (``--scheduler tcp://host:8786``), whose
workers then need the package installed and the same paths.

A unit whose inputs and options are unchanged since its last published set of the period
(:meth:`.units.Unit.fingerprint`) and whose set is still there is skipped; ``--force`` runs it
again. Every finished unit is said on the console with the counts done, running and failed.
After the units, the company roll-up (:mod:`.company`) is built over every unit with a published
set of the period.

Exit codes: 0 every unit published or skipped, 6 some units failed, 3 every unit failed (or the
roll-up failed), 2 a bad units file or option, 5 another run-many of the period is running.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipeline_models.run.arguments import check_count, check_folder, check_period, check_seed
from pipeline_models.run.lock import period_lock
from pipeline_models.run.options import EXIT_BAD_INPUT, EXIT_OK, EXIT_REPORT_FAILED, RunError
from pipeline_models.run.units import Unit, read_units

EXIT_SOME_FAILED = 6
"""Exit code of a run-many in which some units failed and others published (or were skipped)."""

TOPIC = "pipeline-workbench-units"
"""The Dask event topic on which a unit's task says it has started."""

ENTRY = "import sys; from pipeline_models.cli import main; sys.exit(main())"
"""How a task starts ``pipeline-reports`` with the worker's own Python."""

CONNECT_TIMEOUT = "30s"
"""How long to try reaching an existing scheduler before giving up (exit 2)."""

STATE_DIR = ".run-many"
"""Folder under a unit's reports holding, per period, what its published set was made from."""


@dataclass
class ManyOptions:
    units: Path
    period: str
    reports_dir: Path = Path("reports")
    data_dir: Path = Path("data")
    workers: int | None = None  # local cluster's worker processes (default: cores, at most units)
    scheduler: str | None = None  # address of an existing Dask scheduler
    random_seed: int = 20261
    force: bool = False  # run every unit, changed or not


@dataclass
class UnitOutcome:
    """How one unit's run ended."""

    name: str
    status: str  # "published", "skipped" (unchanged) or "failed"
    exit_code: int | None = None
    seconds: float = 0.0  # the unit's run on its worker
    waited: float = 0.0  # from submitted to started on a worker
    worker: str = ""
    reason: str = ""
    log: str = ""


@dataclass
class ManyResult:
    exit_code: int
    outcomes: list[UnitOutcome]
    company: Path | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


def run_unit(name: str, args: list[str], log: str, environ: dict | None = None) -> dict:
    """One unit's ``pipeline-reports run`` in its own process (on a Dask worker); what it did.

    The unit's console goes to ``log``. ``environ`` gives variables the worker's process may
    have changed their values as the command had them (``None``: unset), so that the run is
    the one ``pipeline-reports run`` would make (:func:`command_environ`). The child is asked
    to stop (SIGTERM) if the worker's process ends first, so a stopped cluster leaves no run
    behind.
    """
    started = time.time()
    worker = _worker_address()
    _announce(name, worker)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    restore_environ(environ or {}, env)
    # the worker's own (its parent process id) is no concern of the run
    env.pop("__DASK_PARENT_PID", None)
    with open(log, "w", encoding="utf-8") as out:
        code = subprocess.run(
            [sys.executable, "-c", ENTRY, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None,
            check=False,
        ).returncode
    return {
        "exit_code": code,
        "started": started,
        "seconds": time.time() - started,
        "worker": worker,
        "reason": "" if code == EXIT_OK else failure_reason(Path(log), code),
    }


def command_environ() -> dict[str, str | None]:
    """This process's values of the variables a Dask worker's process is started with (one
    thread for BLAS and OpenMP, a low malloc trim threshold): a unit's run gets them back, so it
    runs with the threads and memory settings a plain ``pipeline-reports run`` would have."""
    import dask

    keys = {"PYTHONHASHSEED"}  # a worker's process is started with a fixed hash seed
    for setting in ("distributed.nanny.pre-spawn-environ", "distributed.nanny.environ"):
        keys.update(dask.config.get(setting, default={}) or {})
    return {key: os.environ.get(key) for key in sorted(keys)}


def restore_environ(values: dict[str, str | None], environ=None) -> None:
    """Put the variables of ``environ`` (default: this process's) back as
    :func:`command_environ` read them (``None``: unset). A local cluster's start sets them in the
    process that starts it and leaves them set; a unit's run is given them back too."""
    target = os.environ if environ is None else environ
    for key, value in values.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def _stop_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "this process"


def _announce(name: str, worker: str) -> None:
    """Tell the client that ``name`` has started (best effort: progress only)."""
    with contextlib.suppress(Exception):
        from distributed import get_worker

        get_worker().log_event(TOPIC, {"unit": name, "worker": worker, "at": time.time()})


def failure_reason(log: Path, code: int) -> str:
    """Why a unit's run failed, from the end of its console: the run's own message (it begins
    ``pipeline-reports run:``), or how the process ended."""
    if code < 0:
        return f"its run was stopped by signal {-code}"
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    marker = "pipeline-reports run:"
    starts = [i for i, line in enumerate(lines) if line.startswith(marker)]
    if starts:
        text = " ".join(line.strip() for line in lines[starts[-1] :])[len(marker) :].strip()
    else:
        text = next((line.strip() for line in reversed(lines) if line.strip()), "")
        text = f"exit {code}" + (f": {text}" if text else "")
    return text if len(text) <= 600 else text[:597] + "..."


def run_many(
    options: ManyOptions,
    progress: Callable[[str], None] | None = print,
    runner: Callable[..., dict] = run_unit,
) -> ManyResult:
    """Run every unit of the units file for one period, then build the company roll-up."""
    say = progress or (lambda _message: None)
    started = time.time()
    units = _check(options)
    reports, data = Path(options.reports_dir).resolve(), Path(options.data_dir).resolve()
    with period_lock(reports / f".lock-run-many-{options.period}"):
        plans = [_plan(unit, options, reports, data) for unit in units]
        todo = [p for p in plans if p.outcome is None]
        for plan in plans:
            if plan.outcome is not None:
                say(f"{plan.unit.name}: unchanged since its published set: skipped")
        timings: dict[str, float] = {}
        if todo:
            _run_all(todo, options, say, runner, timings)
        outcomes = [p.outcome for p in plans]
        for plan in todo:
            if plan.outcome.status == "published":
                _write_state(plan, reports, options.period)
        t0 = time.time()
        company = _company(options, units, outcomes, reports, say)
        timings["roll-up"] = time.time() - t0
    result = ManyResult(_exit_code(outcomes, company), outcomes, company, time.time() - started)
    result.timings = timings
    say(_closing(outcomes, result.seconds))
    return result


@dataclass
class _Plan:
    unit: Unit
    args: list[str]
    fingerprint: str
    log: Path
    outcome: UnitOutcome | None = None


def _check(options: ManyOptions) -> list[Unit]:
    check_period(options.period)
    check_seed(options.random_seed)
    check_folder(options.reports_dir, "--out")
    check_folder(options.data_dir, "--data")
    if options.workers is not None:
        check_count(options.workers, "--workers")
    if options.scheduler is not None and options.workers is not None:
        raise RunError("--workers and --scheduler: give one (the cluster has its own workers)")
    return read_units(options.units)


def _plan(unit: Unit, options: ManyOptions, reports: Path, data: Path) -> _Plan:
    """The unit's command, and whether its published set already holds what it would make."""
    args = unit.command(options.period, reports, data, options.random_seed)
    plan = _Plan(unit, args, unit.fingerprint(args), reports / unit.name / ".logs")
    plan.log = plan.log / f"{options.period}.log"
    state = _read_state(reports / unit.name, options.period)
    published = reports / unit.name / options.period / "index.html"
    if not options.force and state.get("fingerprint") == plan.fingerprint and published.exists():
        plan.outcome = UnitOutcome(unit.name, "skipped", EXIT_OK, log=str(plan.log))
    return plan


def _state_path(unit_reports: Path, period: str) -> Path:
    return unit_reports / STATE_DIR / f"{period}.json"


def _read_state(unit_reports: Path, period: str) -> dict:
    try:
        return json.loads(_state_path(unit_reports, period).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(plan: _Plan, reports: Path, period: str) -> None:
    path = _state_path(reports / plan.unit.name, period)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"fingerprint": plan.fingerprint, "command": plan.args}, indent=1))
    tmp.replace(path)


def _run_all(todo: list[_Plan], options, say, runner, timings: dict) -> None:
    """Submit every unit's run to the cluster and record each outcome as it ends."""
    from distributed import as_completed

    t0 = time.time()
    environ = command_environ()  # before a local cluster's start changes them
    with dask_client(options, len(todo), say) as client:
        timings["cluster start"] = time.time() - t0
        board = _Board(len(todo), say)
        with contextlib.suppress(Exception):
            client.subscribe_topic(TOPIC, board.started)
        submitted = time.time()
        futures = {
            client.submit(
                runner,
                p.unit.name,
                p.args,
                str(p.log),
                environ=environ,
                key=f"unit-{p.unit.name}",
                pure=False,
            ): p
            for p in todo
        }
        for future in as_completed(futures):
            plan = futures[future]
            plan.outcome = _outcome(plan, future, submitted)
            board.finished(plan.outcome)


def _outcome(plan: _Plan, future, submitted: float) -> UnitOutcome:
    """How a unit's task ended, a lost worker or a failed task included."""
    try:
        done = future.result()
    except Exception as exc:  # the task itself failed (a worker died): the unit failed
        reason = f"its worker stopped ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        return UnitOutcome(plan.unit.name, "failed", None, reason=reason, log=str(plan.log))
    code = done["exit_code"]
    return UnitOutcome(
        plan.unit.name,
        "published" if code == EXIT_OK else "failed",
        code,
        seconds=done["seconds"],
        waited=max(done["started"] - submitted, 0.0),
        worker=done["worker"],
        reason=done["reason"],
        log=str(plan.log),
    )


class _Board:
    """The console's account of the units: done, running and failed, with times."""

    def __init__(self, total: int, say: Callable[[str], None]):
        self.total, self.say = total, say
        self.running: set[str] = set()
        self.done = self.failed = 0
        self.t0 = time.time()

    def started(self, event) -> None:
        message = event[1] if isinstance(event, tuple) else event
        self.running.add(message["unit"])
        self.say(f"{message['unit']}: started on {message['worker']}")

    def finished(self, outcome: UnitOutcome) -> None:
        self.running.discard(outcome.name)
        if outcome.status == "failed":
            self.failed += 1
            said = f"FAILED after {outcome.seconds:.0f} s: {outcome.reason} (log: {outcome.log})"
        else:
            self.done += 1
            said = f"published in {outcome.seconds:.0f} s"
        self.say(f"{outcome.name}: {said} ({self._counts()})")

    def _counts(self) -> str:
        return (
            f"{self.done + self.failed}/{self.total} finished, {len(self.running)} running, "
            f"{self.failed} failed, {time.time() - self.t0:.0f} s"
        )


@contextlib.contextmanager
def dask_client(options: ManyOptions, units: int, say: Callable[[str], None]):
    """A Dask client on the given scheduler, or on a local cluster of worker processes (one
    task each at a time; a unit's memory is its own process's, so workers have no limit)."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if options.scheduler:
        try:
            client = Client(options.scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise RunError(f"--scheduler {options.scheduler}: cannot reach it ({exc})") from None
        say(f"Running {units} unit(s) on the cluster at {options.scheduler}")
        with client:
            yield client
        return
    workers = options.workers or max(1, min(units, os.cpu_count() or 1))
    say(f"Running {units} unit(s) on a local cluster of {workers} worker(s)")
    environ = command_environ()
    with dask.config.set({"distributed.scheduler.worker-saturation": 1.0}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=0,
            dashboard_address=":0",  # a free port: never clashes with another cluster
            silence_logs=logging.ERROR,
        )
    try:
        with cluster, Client(cluster) as client:
            yield client
    finally:
        restore_environ(environ)


def _company(options, units, outcomes, reports: Path, say) -> Path | None:
    """Build and publish the company roll-up; a failure of its own is said, never raised."""
    from pipeline_models.run.company import build_company

    try:
        return build_company(options.period, reports, units, outcomes, options.random_seed, say)
    except Exception as exc:  # every unit's set stands; the roll-up alone failed
        from pipeline_models.run.runner import plain_reason

        say(f"The company roll-up failed: {plain_reason(exc)}; every unit's set is published")
        return None


def _exit_code(outcomes: list[UnitOutcome], company: Path | None) -> int:
    failed = sum(o.status == "failed" for o in outcomes)
    if failed == len(outcomes):
        return EXIT_REPORT_FAILED
    if failed:
        return EXIT_SOME_FAILED
    return EXIT_OK if company is not None else EXIT_REPORT_FAILED


def _closing(outcomes: list[UnitOutcome], seconds: float) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("published", "skipped", "failed")}
    line = (
        f"{len(outcomes)} unit(s) in {seconds:.0f} s: {counts['published']} published, "
        f"{counts['skipped']} unchanged, {counts['failed']} failed"
    )
    failed = [f"  - {o.name}: {o.reason}" for o in outcomes if o.status == "failed"]
    return "\n".join([line, *failed])


def outcome_record(outcome: UnitOutcome) -> dict:
    """An outcome as the roll-up's manifest keeps it."""
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in asdict(outcome).items()}


__all__ = [
    "EXIT_BAD_INPUT",
    "command_environ",
    "EXIT_SOME_FAILED",
    "ManyOptions",
    "ManyResult",
    "UnitOutcome",
    "dask_client",
    "failure_reason",
    "outcome_record",
    "run_many",
    "restore_environ",
    "run_unit",
]
