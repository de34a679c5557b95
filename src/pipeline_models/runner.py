"""The monthly run: archive the export, validate it, execute every report notebook, publish.

A run writes into a staging folder and publishes only when every report succeeded: the link
``reports/<period>`` then moves to the new run in one atomic step, so a failed or killed run never
damages the report set of an earlier successful run. A lock keeps two runs of one period apart.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from . import __version__
from .catalog import (
    CANONICAL_FILE,
    LEADS_FILE,
    MANIFEST_FILE,
    PERIOD_PATTERN,
    PREVIOUS_FILE,
    QUARANTINE_FILE,
    REPORT_ORDER,
    SUMMARY_FILE,
    VALIDATION_FILE,
    RunPaths,
    notebooks_dir,
    previous_period,
    sha256_file,
)
from .loader import LoadResult, load_export, load_leads, write_canonical
from .problems import ExportError, Problem

STANDARD_PARAMETERS = (
    "period",
    "export_path",
    "preset",
    "mapping_path",
    "leads_path",
    "previous_export_path",
    "output_dir",
    "cache_dir",
    "random_seed",
)
"""Parameters the runner passes to every report notebook; each notebook must declare them all."""

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT, EXIT_REPORT_FAILED, EXIT_STRICT, EXIT_BUSY = 0, 1, 2, 3, 4, 5
KEEP_RUNS = 5
"""Published runs kept per period (the newest is the one ``reports/<period>`` links to)."""

PACKAGES = (
    "pymc",
    "pytensor",
    "arviz",
    "nutpie",
    "numpy",
    "pandas",
    "pandera",
    "papermill",
    "nbconvert",
    "matplotlib",
)


class RunError(Exception):
    """A run could not complete; ``exit_code`` says why (see the EXIT_* constants)."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR):
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
    leads: Path | None = None
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
    fit_models: bool = True  # fit the shared models before the reports (off: tiny test runs)


@dataclass
class RunResult:
    exit_code: int
    published: Path | None
    manifest: dict


def _say(progress: Callable[[str], None] | None, message: str) -> None:
    if progress:
        progress(message)


# ---------------------------------------------------------------------------------------------
# Notebooks and their parameters


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
        raise RunError(f"{path}: no cell tagged 'parameters'")
    return params


def check_parameters(notebooks: list[Path], extra: dict) -> dict[str, dict]:
    """Which parameters go to which notebook; refuse missing and unknown ones.

    Every notebook must declare every standard parameter; an extra parameter (``--param``) must be
    declared by at least one notebook and goes only to the notebooks that declare it.
    """
    problems, declared = [], {}
    for path in notebooks:
        params = notebook_parameters(path)
        declared[path.stem] = params
        missing = [p for p in STANDARD_PARAMETERS if p not in params]
        if missing:
            problems.append(
                f"{path.name} does not declare the parameter(s) the runner passes: "
                + ", ".join(missing)
            )
    for name in extra:
        if name in STANDARD_PARAMETERS:
            problems.append(f"--param {name}: set by the runner itself; use its own option")
        elif not any(name in params for params in declared.values()):
            problems.append(
                f"--param {name}: no report declares it (known: "
                + ", ".join(
                    sorted({p for d in declared.values() for p in d} - set(STANDARD_PARAMETERS))
                )
                + ")"
            )
    if problems:
        raise RunError("parameter check failed:\n  - " + "\n  - ".join(problems))
    return declared


def coerce_parameter(value: str, spec: dict):
    """Turn a ``--param`` string into the type the notebook's parameters cell declares."""
    kind = (spec.get("inferred_type_name") or "").lower()
    try:
        if kind in ("int",):
            return int(value)
        if kind in ("float",):
            return float(value)
        if kind in ("bool",):
            if value.lower() in ("1", "true", "yes"):
                return True
            if value.lower() in ("0", "false", "no"):
                return False
            raise ValueError(value)
        if kind.startswith(("dict", "list")):
            return json.loads(value)
    except (ValueError, json.JSONDecodeError):
        raise RunError(f"--param value {value!r} is not a valid {kind}") from None
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
                        # unencrypted TCP is noise in a scheduled run's log
                        "--IPKernelApp.log_level=ERROR",
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


def execute_notebook(source: Path, output: Path, parameters: dict, cwd: Path) -> None:
    """Execute one notebook with Papermill; raise RunError naming the failing cell."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(source),
            str(output),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            cwd=str(cwd),
            start_timeout=180,
        )
    except PapermillExecutionError as exc:
        raise RunError(
            f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}",
            EXIT_REPORT_FAILED,
        ) from None


# ---------------------------------------------------------------------------------------------
# Rendering


def render_html(notebook_path: Path, html_path: Path) -> None:
    """Render an executed notebook to self-contained HTML: no code, no scripts, images embedded."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            # log lines and warnings on stderr are for the analyst, not for leadership
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    nb.metadata["title"] = nb.metadata.get("title") or notebook_path.stem.replace("_", " ").title()
    templates = Path(__file__).parent / "templates"
    exporter = HTMLExporter(
        template_name="report",
        extra_template_basedirs=[str(templates)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        # nbconvert's sanitizer escapes all HTML output, tables included; export strings are
        # escaped where they enter the notebook (report.show_table, report.say) and the page's
        # Content-Security-Policy forbids every script.
        sanitize_html=False,
    )
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(body, encoding="utf-8")


def render_index(manifest: dict, path: Path) -> None:
    """Write ``index.html``: headline figures of each report with links (all values escaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
    )
    reports = [
        {
            "title": r.get("title", name),
            "href": f"{name}.html",
            "status": r["status"],
            "headline": r.get("headline", []),
            "warnings": r.get("warnings", []),
        }
        for name, r in manifest["reports"].items()
    ]
    page = env.get_template("index.html.j2").render(
        period=manifest["period"],
        export_name=Path(manifest["export"]["file"]).name,
        export_hash=manifest["export"]["sha256"],
        n_opportunities=manifest["validation"]["opportunities"],
        generated=manifest["finished"],
        reports=reports,
        run_warnings=manifest.get("run_warnings", []),
        version=__version__,
    )
    path.write_text(page, encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Archive, lock, publish


def archive_export(source: Path, raw_dir: Path) -> tuple[Path, str]:
    """Copy a raw export untouched into ``raw_dir`` under its hash; return (path, sha256)."""
    digest = sha256_file(source)
    raw_dir.mkdir(parents=True, exist_ok=True)
    target = raw_dir / f"{digest[:12]}-{source.name}"
    if not target.exists():
        tmp = raw_dir / f".{target.name}.tmp"
        shutil.copyfile(source, tmp)
        if sha256_file(tmp) != digest:
            tmp.unlink()
            raise RunError(f"{source}: changed while it was being archived; run again")
        os.chmod(tmp, 0o444)
        tmp.replace(target)
        (raw_dir / f"{target.name}.sha256").write_text(f"{digest}  {target.name}\n")
    return target, digest


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


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "pipeline-workbench": __version__}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _find_previous_export(options: RunOptions) -> Path | None:
    """The export that the previous period's published run used, if any."""
    prev = previous_period(options.period)
    manifest = options.reports_dir / prev / MANIFEST_FILE
    if manifest.exists():
        try:
            archived = Path(json.loads(manifest.read_text())["export"]["archived"])
            if archived.exists():
                return archived
        except (KeyError, ValueError):
            pass
    raw = options.data_dir / "raw" / prev
    candidates = [
        p for p in raw.glob("*") if p.is_file() and not p.name.endswith((".sha256", ".tmp"))
    ]
    return max(candidates, key=lambda p: p.stat().st_mtime) if len(candidates) == 1 else None


def _check_inside(path: Path, root: Path, what: str) -> None:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise RunError(f"{what} {path} lies outside the allowed folder {root}", EXIT_BAD_INPUT)


# ---------------------------------------------------------------------------------------------
# The run


def run(options: RunOptions, progress: Callable[[str], None] | None = print) -> RunResult:
    """Run every report for one period; see the module docstring for the guarantees."""
    if not PERIOD_PATTERN.match(options.period):
        raise RunError(
            f"--period {options.period!r} is not a month written YYYY-MM", EXIT_BAD_INPUT
        )
    if options.root is not None:
        for path, what in (
            (options.export, "export"),
            (options.leads, "leads file"),
            (options.mapping, "mapping file"),
            (options.previous_export, "previous export"),
            (options.reports_dir, "reports folder"),
            (options.data_dir, "data folder"),
            (options.cache_dir, "fit cache folder"),
        ):
            if path is not None:
                _check_inside(Path(path), options.root, what)
    if not Path(options.export).is_file():
        raise RunError(f"export {options.export} not found", EXIT_BAD_INPUT)
    started = datetime.now(UTC)
    notebooks_folder = options.notebooks or notebooks_dir()
    notebooks = list_notebooks(notebooks_folder, options.only)
    if not notebooks:
        raise RunError(f"no report notebooks in {notebooks_folder}")
    declared = check_parameters(notebooks, options.params)

    paths = RunPaths(
        reports=Path(options.reports_dir),
        data=Path(options.data_dir),
        period=options.period,
        run_id=started.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}",
    )
    with period_lock(paths.lock):
        return _run_locked(options, paths, notebooks, declared, started, progress)


def _run_locked(options, paths, notebooks, declared, started, progress) -> RunResult:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    export = Path(options.export)
    _say(progress, f"Archiving {export} ...")
    archived, digest = archive_export(export, paths.raw)
    others = sorted(
        p.name
        for p in paths.raw.iterdir()
        if p.is_file()
        and p != archived
        and not p.name.endswith((".sha256", ".tmp"))
        and not p.name.startswith(".")
    )
    leads_archived = None
    if options.leads:
        leads_archived, leads_digest = archive_export(Path(options.leads), paths.raw)
    timings["archive"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _say(progress, "Validating the export ...")
    period_end = (pd.Period(options.period, "M").end_time).normalize()
    try:
        result: LoadResult = load_export(
            export,
            preset=options.preset,
            mapping=options.mapping,
            on_bad_rows=options.on_bad_rows,
            as_of=max(period_end, pd.Timestamp.now().normalize()),
        )
        leads_result = load_leads(options.leads) if options.leads else None
    except ExportError as exc:
        raise RunError(str(exc), EXIT_BAD_INPUT) from None
    timings["load_and_validate"] = time.perf_counter() - t0
    _say(progress, f"  {len(result.frame)} opportunities, {len(result.warnings)} warnings")

    # Under the lock, any staging folder of this period is the remains of a killed run.
    for stale in paths.staging.parent.glob(f"{paths.period}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    paths.work.mkdir(parents=True)
    write_canonical(result.frame, paths.work / CANONICAL_FILE)
    leads_path = ""
    if leads_result is not None:
        leads_result.frame.to_parquet(paths.work / LEADS_FILE, index=False)
        leads_path = str((paths.work / LEADS_FILE).resolve())
    if not result.quarantine.empty:
        from .report import write_csv

        write_csv(result.quarantine, paths.staging / QUARANTINE_FILE)
    validation = {
        "opportunities": len(result.frame),
        "info": result.info,
        "problems": [p.to_dict() for p in result.problems],
        "quarantined_rows": len(result.quarantine),
        "leads": leads_result.info if leads_result is not None else None,
    }
    (paths.work / VALIDATION_FILE).write_text(json.dumps(validation, indent=2, default=str))

    previous_path = ""
    previous_source = options.previous_export or _find_previous_export(options)
    if options.root is not None and previous_source is not None:
        _check_inside(Path(previous_source), options.root, "previous export")
    if previous_source is not None:
        try:
            prev = load_export(
                previous_source, preset=options.preset, mapping=options.mapping, on_bad_rows="skip"
            )
            write_canonical(prev.frame, paths.work / PREVIOUS_FILE)
            previous_path = str((paths.work / PREVIOUS_FILE).resolve())
        except ExportError as exc:
            raise RunError(f"previous export {previous_source}: {exc}", EXIT_BAD_INPUT) from None

    cache_dir = Path(options.cache_dir or Path(options.data_dir) / "fits")
    cache_dir.mkdir(parents=True, exist_ok=True)
    base_parameters = {
        "period": options.period,
        "export_path": str((paths.work / CANONICAL_FILE).resolve()),
        "preset": "canonical",
        "mapping_path": "",
        "leads_path": leads_path,
        "previous_export_path": previous_path,
        "cache_dir": str(cache_dir.resolve()),
        "random_seed": int(options.random_seed),
    }
    manifest = {
        "period": options.period,
        "run_id": paths.run_id,
        "started": started.isoformat(timespec="seconds"),
        "export": {
            "file": str(export),
            "archived": str(archived.resolve()),
            "sha256": digest,
            "other_exports_of_period": others,
            "leads": str(leads_archived.resolve()) if leads_archived else None,
            "previous": str(previous_source) if previous_source else None,
        },
        "mapping": result.info.get("mapping"),
        "validation": {
            "opportunities": len(result.frame),
            "warnings": [str(p) for p in result.warnings],
            "quarantined_rows": len(result.quarantine),
        },
        "parameters": {**base_parameters, "extra": options.params},
        "random_seed": int(options.random_seed),
        "versions": package_versions(),
        "timings_s": timings,
        "reports": {},
        "run_warnings": [],
    }
    if others:
        manifest["run_warnings"].append(
            f"this period has {len(others)} other archived export(s) ({', '.join(others)}); "
            f"these reports use {archived.name}"
        )
    if len(result.quarantine):
        manifest["run_warnings"].append(
            f"{len(result.quarantine)} rows of the export were skipped as bad; see quarantine.csv"
        )

    if options.fit_models:
        manifest["models"] = _fit_models(
            result.frame,
            options.period,
            cache_dir,
            options.random_seed,
            progress,
            timings,
            table_digest=sha256_file(paths.work / CANONICAL_FILE),
        )
        manifest["run_warnings"].extend(manifest["models"]["warnings"])
    # the reports read the canonical file: the runner's copy of the table is not needed any more
    result.frame = result.frame.iloc[0:0]
    _release_memory()
    failures = _execute_all(
        options, paths, notebooks, declared, base_parameters, manifest, progress
    )
    if failures:
        failed_dir = paths.failed
        failed_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(paths.staging), str(failed_dir))
        manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        (failed_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
        raise RunError(
            "report(s) failed; the previous report set is untouched. Executed notebooks with the "
            f"error are kept in {failed_dir}:\n  - " + "\n  - ".join(failures),
            EXIT_REPORT_FAILED,
        )

    manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    render_index(manifest, paths.staging / "index.html")
    timings["index"] = time.perf_counter() - t0
    (paths.staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    published = publish(paths)
    _say(progress, f"Published {published}/index.html")
    warned = any(r.get("warnings") for r in manifest["reports"].values())
    code = EXIT_STRICT if options.strict and warned else EXIT_OK
    if code == EXIT_STRICT:
        _say(progress, "Reports carry warnings and --strict is set: exit code 4")
    return RunResult(code, published, manifest)


def _execute_one(notebook: Path, executed: Path, parameters: dict) -> tuple[float, str | None]:
    """Execute one notebook (in a worker process when reports run side by side)."""
    t0 = time.perf_counter()
    try:
        execute_notebook(notebook, executed, parameters, notebook.parent)
    except RunError as exc:
        return time.perf_counter() - t0, str(exc)
    return time.perf_counter() - t0, None


def _execute_all(options, paths, notebooks, declared, base, manifest, progress) -> list[str]:
    """Execute and render each notebook; return failure messages (empty when all succeeded).

    With ``options.jobs > 1`` notebooks execute side by side in worker processes (each runs its
    own kernel); rendering and bookkeeping stay in this process, in report order.
    """
    from concurrent.futures import ProcessPoolExecutor

    failures = []
    total = len(notebooks)
    jobs = []
    for notebook in notebooks:
        name = notebook.stem
        files = paths.report_files(name)
        files.mkdir(parents=True, exist_ok=True)
        parameters = {**base, "output_dir": str(files.resolve())}
        for key, value in options.params.items():
            if key in declared[name]:
                parameters[key] = coerce_parameter(str(value), declared[name][key])
        manifest["reports"][name] = {"status": "running", "parameters": parameters}
        jobs.append((notebook, files / f"{name}.ipynb", parameters))
    with _kernel_of_this_python():
        if options.jobs > 1 and len(jobs) > 1:
            _say(progress, f"Executing {total} reports, {options.jobs} at a time ...")
            # spawn, not fork: this process may hold threads (fork would copy their locks)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=options.jobs, mp_context=context) as pool:
                futures = [pool.submit(_execute_one, *job) for job in jobs]
                for index, (job, future) in enumerate(zip(jobs, futures, strict=True), start=1):
                    _finish_report(
                        index, total, job, future.result(), paths, manifest, failures, progress
                    )
        else:
            for index, job in enumerate(jobs, start=1):
                _say(progress, f"[{index}/{total}] {job[0].stem}: executing ...")
                _finish_report(
                    index, total, job, _execute_one(*job), paths, manifest, failures, progress
                )
    return failures


def _finish_report(index, total, job, outcome, paths, manifest, failures, progress) -> None:
    """Render one executed report and record its status, headline and warnings."""
    notebook, executed, _ = job
    seconds, error = outcome
    name = notebook.stem
    entry = manifest["reports"][name]
    entry["execute_s"] = round(seconds, 2)
    if error:
        entry.update(status="failed", error=error)
        failures.append(error)
        _say(progress, f"[{index}/{total}] {name}: FAILED: {error}")
        return
    t0 = time.perf_counter()
    render_html(executed, paths.staging / f"{name}.html")
    entry["render_s"] = round(time.perf_counter() - t0, 2)
    summary_path = executed.parent / SUMMARY_FILE
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        entry.update(
            title=summary.get("title", name),
            headline=summary.get("headline", []),
            warnings=summary.get("warnings", []),
        )
    else:
        entry.update(title=name, headline=[], warnings=[f"{name} wrote no {SUMMARY_FILE}"])
    entry["status"] = "ok"
    _say(progress, f"[{index}/{total}] {name}: done in {seconds + entry['render_s']:.1f} s")


def _release_memory() -> None:
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


def _fit_models(
    frame, period: str, cache_dir: Path, seed: int, progress, timings: dict, table_digest: str
) -> dict:
    """Fit the period's models once, before any report, so every report loads the same fits
    (found by the digest of the canonical table they read, without aggregating it again)."""
    from .asof import month_end
    from .fits import period_models

    t0 = time.perf_counter()
    _say(progress, "Fitting the period's models (win rate, deal size, cycle time) ...")
    models = period_models(
        frame, cache_dir, seed, as_of=month_end(period), table_digest=table_digest
    )
    timings["model_fits"] = time.perf_counter() - t0
    for name, fit in models.cached.items():
        for step, seconds in fit.timings.items():
            timings[f"{step} ({name})"] = seconds
    hits = models.cache_hits
    cached = "loaded from the fit cache" if all(hits.values()) else "fitted"
    _say(progress, f"  models {cached} in {timings['model_fits']:.1f} s")
    return {
        "cache_hits": hits,
        "diagnostics": {
            name: {
                "max_rhat": d.max_rhat,
                "min_ess_bulk": d.min_ess_bulk,
                "divergences": d.divergences,
                "ok": d.ok,
                "message": d.message,
            }
            for name, d in models.diagnostics().items()
        },
        "warnings": models.warnings(),
    }


__all__ = ["RunError", "RunOptions", "RunResult", "run", "STANDARD_PARAMETERS", "Problem"]
