"""Report notebooks: finding them, checking their parameters, executing them with Papermill."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline_models.run.layout import REPORT_ORDER
from pipeline_models.run.options import (
    EXIT_REPORT_FAILED,
    STANDARD_PARAMETERS,
    RunError,
)


def list_notebooks(folder: Path, only: tuple[str, ...] = ()) -> list[Path]:
    found = {p.stem: p for p in folder.glob("*.ipynb") if not p.name.startswith((".", "_"))}
    if only:
        unknown = [n for n in only if n not in found]
        if unknown:
            raise RunError(
                f"unknown report(s): {', '.join(unknown)} (available: {', '.join(sorted(found))})"
            )
        found = {n: found[n] for n in only}
    ordered = [found[n] for n in REPORT_ORDER if n in found]
    return ordered + sorted(p for n, p in found.items() if n not in REPORT_ORDER)


def notebook_parameters(path: Path) -> dict[str, dict]:
    """Parameters declared in a notebook's cell tagged ``parameters``: name -> type and default."""
    import papermill

    params = papermill.inspect_notebook(str(path))
    if not params:
        raise RunError(f"{path}: no cell tagged 'parameters'", EXIT_REPORT_FAILED)
    return params


RESERVED_PARAMETERS = {
    "run_dir": "set by the runner itself",
    "output_dir": "set by the runner itself",
    "random_seed": "use --seed",
    "period": "use --period",
}
"""Names a ``--param`` may not set, with what to use instead."""


def check_parameters(notebooks: list[Path], extra: dict) -> dict[str, dict]:
    """Which parameters go to which notebook; refuse missing, unknown and mistyped ones.

    Every notebook must declare every standard parameter; an extra parameter (``--param``) must be
    declared by at least one notebook, must read as the type each notebook declares for it, and
    goes only to the notebooks that declare it. Returns each notebook's declared parameters.
    """
    return parameter_values(notebooks, extra)[0]


def parameter_values(notebooks: list[Path], extra: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each notebook's declared parameters, and the ``--param`` values it gets, typed as it
    declares them; every problem is listed at once (exit 2)."""
    problems, declared, values = [], {}, {}
    for path in notebooks:
        params = notebook_parameters(path)
        declared[path.stem] = params
        missing = [p for p in STANDARD_PARAMETERS if p not in params]
        if missing:
            problems.append(
                f"{path.name} does not declare the parameter(s) the runner passes: "
                + ", ".join(missing)
            )
    known = sorted({p for d in declared.values() for p in d} - set(STANDARD_PARAMETERS))
    for name, text in extra.items():
        if name in RESERVED_PARAMETERS:
            problems.append(f"--param {name}: reserved ({RESERVED_PARAMETERS[name]})")
            continue
        takers = [report for report, params in declared.items() if name in params]
        if not takers:
            problems.append(f"--param {name}: no report declares it (known: {', '.join(known)})")
        for report in takers:
            try:
                value = coerce_parameter(str(text), declared[report][name], name)
                values.setdefault(report, {})[name] = check_choice(name, value)
            except RunError as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
    if len(problems) == 1:
        raise RunError(problems[0])
    if problems:
        raise RunError("parameter check failed:\n  - " + "\n  - ".join(problems))
    return declared, values


def choice_values() -> dict[str, tuple[str, ...]]:
    """Parameters whose value is one of a fixed set, with that set, taken from the analysis that
    reads the value (a notebook's parameters cell only names the values in its comment)."""
    from pipeline_models.analyses.product_potential.ranking import MEASURES

    return {"rank_measure": tuple(MEASURES)}


def check_choice(name: str, value):
    """``value`` itself when ``name`` takes any value or one of its allowed ones; else exit 2
    naming the allowed values (a report would otherwise fall back to its default silently)."""
    allowed = choice_values().get(name)
    if allowed is not None and value not in allowed:
        raise RunError(f"--param {name}={value!r}: not one of {', '.join(allowed)}")
    return value


def declared_defaults(declared: dict[str, dict]) -> dict:
    """A notebook's declared defaults as values (papermill reports them as source text); a
    default that is not a literal is left out."""
    import ast

    out = {}
    for key, spec in declared.items():
        text = spec.get("default")
        try:
            out[key] = ast.literal_eval(text) if text is not None else None
        except (ValueError, SyntaxError):
            continue
    return out


def default_settings(folder: Path | None = None) -> dict[str, dict]:
    """Every report notebook's declared defaults, by report."""
    from pipeline_models.run.layout import notebooks_dir

    notebooks = list_notebooks(folder or notebooks_dir())
    return {p.stem: declared_defaults(notebook_parameters(p)) for p in notebooks}


def coerce_parameter(value: str, spec: dict, name: str = "value"):
    """Turn a ``--param`` string into the type the notebook's parameters cell declares.

    ``int``, ``float``, ``bool``, ``dict`` and ``list`` are read as such (a float must be finite);
    ``str`` and undeclared types are kept as text. ``Optional[X]`` / ``X | None`` also take
    ``None``.
    """
    kind = (spec.get("inferred_type_name") or "").strip().lower().replace(" ", "")
    optional = kind.startswith("optional[") or "|none" in kind or kind.startswith("none|")
    if optional:
        kind = kind.removeprefix("optional[").removesuffix("]").replace("none|", "")
        kind = kind.replace("|none", "")
        if value.strip().lower() in ("none", ""):
            return None
    try:
        return _typed(value, kind)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise RunError(f"--param {name}={value!r}: not a valid {kind}") from None


def _typed(value: str, kind: str):
    import math

    if kind == "int":
        return int(value)
    if kind == "float":
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)
        return number
    if kind == "bool":
        if value.strip().lower() in ("1", "true", "yes"):
            return True
        if value.strip().lower() in ("0", "false", "no"):
            return False
        raise ValueError(value)
    for prefix, expected in (("dict", dict), ("list", list)):
        if kind.startswith(prefix):
            parsed = json.loads(value)
            if not isinstance(parsed, expected):
                raise TypeError(value)
            return parsed
    return value


@contextlib.contextmanager
def _kernel_of_this_python():
    """Make kernel ``python3`` start with the interpreter running this process.

    A user-level ``python3`` kernelspec may point at another Python without this package; a
    kernelspec placed first on ``JUPYTER_PATH`` keeps the run inside the project's environment.
    """
    with tempfile.TemporaryDirectory(prefix="pipeline-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / "python3"
        spec_dir.mkdir(parents=True)
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [
                        sys.executable,
                        "-m",
                        "ipykernel_launcher",
                        "-f",
                        "{connection_file}",
                        # the kernel talks to this process on loopback only: its warning about
                        # unencrypted TCP is noise in a scheduled run's log, and so is the
                        # error it logs when a run stopped with Ctrl-C closes its sockets (a
                        # report's own errors reach the run as cell errors, not as logs)
                        "--IPKernelApp.log_level=CRITICAL",
                    ],
                    "display_name": "Python 3 (pipeline workbench)",
                    "language": "python",
                    "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
                }
            )
        )
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + old if old else "")
        try:
            yield
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


def ended_by(returncode: int | None) -> str:
    """How a kernel or worker process ended, in words (a negative code is the signal it got)."""
    import signal

    if returncode is None:
        return "it ended without an exit status"
    if returncode >= 0:
        return f"exited with code {returncode}"
    number = -returncode
    if number == signal.SIGKILL:
        # the out-of-memory killer sends SIGKILL, and so does a person with kill -9
        return f"killed by signal {number}, perhaps out of memory"
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"killed by signal {number}"
    return f"killed by signal {number} ({name})"


def watched_kernel_manager(on_start: Callable) -> type:
    """A kernel manager class that calls ``on_start(provisioner)`` once its kernel is running,
    so a run knows each kernel's process (its exit status, and its group to end)."""
    from jupyter_client.manager import AsyncKernelManager

    class WatchedKernelManager(AsyncKernelManager):
        async def _async_post_start_kernel(self, **kw) -> None:
            await super()._async_post_start_kernel(**kw)
            on_start(self.provisioner)

    return WatchedKernelManager


@contextlib.contextmanager
def _quiet_papermill():
    """Papermill logs a dead kernel as an error line of its own; the run says it in its words."""
    import logging

    logger = logging.getLogger("papermill")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def execute_notebook(
    source: Path,
    output: Path,
    parameters: dict,
    cwd: Path,
    on_kernel_start: Callable[[int | None], None] | None = None,
) -> None:
    """Execute one notebook with Papermill; raise RunError naming the failing cell, or saying
    how its kernel died (the notebook as executed so far is kept in ``output``).

    ``on_kernel_start(group)`` gets the process group of the report's kernel once it runs.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    kernels = []

    def started(provisioner) -> None:
        kernels.append(provisioner.process)
        if on_kernel_start:
            on_kernel_start(getattr(provisioner, "pgid", None))

    try:
        with _quiet_papermill():
            papermill.execute_notebook(
                str(source),
                str(output),
                parameters=parameters,
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                cwd=str(cwd),
                start_timeout=180,
                kernel_manager_class=watched_kernel_manager(started),
            )
    except PapermillExecutionError as exc:
        raise RunError(
            f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}",
            EXIT_REPORT_FAILED,
        ) from None
    except (DeadKernelError, RuntimeError):
        returncode = kernels[-1].poll() if kernels else None
        if returncode is None:  # the kernel still runs: not a dead kernel
            raise
        raise RunError(
            f"{source.name}: the report's kernel died ({ended_by(returncode)})",
            EXIT_REPORT_FAILED,
        ) from None


@dataclass(frozen=True)
class ReportJob:
    """One report notebook to execute: its source, the executed copy and its parameters."""

    notebook: Path
    executed: Path
    parameters: dict

    @property
    def name(self) -> str:
        return self.notebook.stem


def execute_job(
    job: ReportJob, on_kernel_start: Callable[[int | None], None] | None = None
) -> tuple[float, str | None]:
    """Execute one report: the seconds it took and, when it failed, why."""
    t0 = time.perf_counter()
    try:
        execute_notebook(
            job.notebook, job.executed, job.parameters, job.notebook.parent, on_kernel_start
        )
    except RunError as exc:
        return time.perf_counter() - t0, str(exc)
    return time.perf_counter() - t0, None


def execute_reports(
    jobs: list[ReportJob],
    parallel: int,
    finished: Callable[[int, ReportJob, float, str | None], None],
    progress: Callable[[str], None] | None = None,
) -> None:
    """Execute every job; call ``finished(index, job, seconds, error)`` in report order.

    With ``parallel > 1`` notebooks execute side by side, each in a worker process of its own
    (:mod:`.workers`); ``finished`` always runs in this process. A report whose kernel or worker
    dies is a failed report; the others still run.
    """
    from pipeline_models.run.workers import execute_side_by_side

    with _kernel_of_this_python():
        if parallel > 1 and len(jobs) > 1:
            if progress:
                progress(f"Executing {len(jobs)} reports, {parallel} at a time ...")
            execute_side_by_side(jobs, parallel, finished)
        else:
            for index, job in enumerate(jobs, start=1):
                if progress:
                    progress(f"[{index}/{len(jobs)}] {job.name}: executing ...")
                finished(index, job, *execute_job(job))
