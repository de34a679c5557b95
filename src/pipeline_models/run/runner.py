"""The monthly run: archive the export, validate it, fit once, execute every report, publish.

A run writes into a staging folder and publishes only when every report succeeded: the link
``reports/<period>`` then moves to the new run in one atomic step, so a failed or killed run never
damages the report set of an earlier successful run. A lock keeps two runs of one period apart.

A run ends in a :class:`RunError` only with exit 2 (bad input), 3 (a report or the run failed)
or 5 (busy). An unexpected failure in any step is a failed run: the staging folder is kept as the
failure folder, the full traceback is written to ``error.log`` in it, and the message is one plain
sentence with the log's path. A report whose kernel or worker dies is a failed report (the
others still run); only the last few failed runs of a period are kept (:mod:`.publish`). A
partial run (``--only``) publishes into the period's set (:mod:`.partial`).

:func:`run` is a short list of steps over one :class:`RunState`; each step is a function below.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline_models.present.files import write_csv
from pipeline_models.run import manifest as manifests
from pipeline_models.run.archive import (
    Archived,
    archive_export,
    archived_exports,
    find_previous_export,
    remove_stale_temporaries,
)
from pipeline_models.run.arguments import check_run_options
from pipeline_models.run.console import Interrupted, interruptible
from pipeline_models.run.fitstep import fit_all, report_settings
from pipeline_models.run.index import executive_page, render_index
from pipeline_models.run.inputs import (
    Prepared,
    Sources,
    after_period_sentence,
    prepare,
    validate,
)
from pipeline_models.run.layout import (
    MANIFEST_FILE,
    QUARANTINE_FILE,
    SUMMARY_FILE,
    RunPaths,
    notebooks_dir,
    resolve_inside,
    run_paths,
)
from pipeline_models.run.lock import period_lock
from pipeline_models.run.notebooks import (
    ReportJob,
    declared_defaults,
    execute_reports,
    list_notebooks,
    notebook_parameters,
    parameter_values,
)
from pipeline_models.run.options import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_OK,
    EXIT_REPORT_FAILED,
    EXIT_STRICT,
    STANDARD_PARAMETERS,
    RunError,
    RunOptions,
    RunResult,
)
from pipeline_models.run.partial import carry_over, check_partial
from pipeline_models.run.publish import keep_failed, publish, release_memory
from pipeline_models.run.render import render_html


@dataclass
class RunState:
    """What the steps of one run share."""

    options: RunOptions
    paths: RunPaths
    notebooks: list[Path]
    declared: dict[str, dict]
    values: dict[str, dict]
    """The ``--param`` values each report gets, typed as its notebook declares them."""
    started: datetime
    progress: Callable[[str], None] | None
    timings: dict[str, float] = field(default_factory=dict)
    archived: dict = field(default_factory=dict)
    files: Archived = field(default_factory=Archived)
    prepared: Prepared | None = None
    parameters: dict[str, dict] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    step: str = "starting"
    """What the run is doing, in words (an unexpected failure names it)."""

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)


def run(options: RunOptions, progress: Callable[[str], None] | None = print) -> RunResult:
    """Run every report for one period; see the module docstring for the guarantees.

    Every argument is checked before anything is archived. A run stopped with Ctrl-C raises
    :class:`~pipeline_models.run.console.Interrupted` once its lock is released and its staging
    folder removed; a refused export (exit 2) leaves nothing in the archive.
    """
    started = datetime.now(UTC)
    paths = run_paths(options.reports_dir, options.data_dir, options.period, started)
    check_run_options(options, paths)
    folder = options.notebooks or notebooks_dir()
    notebooks = list_notebooks(folder, options.only)
    if not notebooks:
        raise RunError(f"no report notebooks in {folder}", EXIT_BAD_INPUT)
    declared, values = parameter_values(notebooks, options.params)
    state = RunState(options, paths, notebooks, declared, values, started, progress)
    with interruptible(), period_lock(paths.lock):
        try:
            for step, doing in STEPS:
                state.step = doing
                step(state)
        except RunError as exc:
            if exc.exit_code == EXIT_BAD_INPUT:
                state.files.discard()
            raise
        except Interrupted:
            shutil.rmtree(paths.staging, ignore_errors=True)
            raise
        except Exception as exc:  # an unexpected failure is a failed run, never a traceback
            raise _unexpected(state, exc) from None
    return _result(state)


ERROR_LOG = "error.log"
"""The file in a failure folder that holds the full traceback of an unexpected failure."""


def _unexpected(state: RunState, exc: Exception) -> RunError:
    """Keep what the run made as its failure folder, log the traceback there, and say it plainly."""
    failed = state.paths.failed
    failed.parent.mkdir(parents=True, exist_ok=True)
    if state.paths.staging.exists() and not failed.exists():
        shutil.move(str(state.paths.staging), str(failed))
    failed.mkdir(parents=True, exist_ok=True)
    log = failed / ERROR_LOG
    log.write_text("".join(traceback.format_exception(exc)))
    reason = plain_reason(exc)
    if state.manifest:
        _record_moved_paths(state, failed)
        state.manifest.update(
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            error=f"{state.step}: {reason}",
        )
        (failed / MANIFEST_FILE).write_text(json.dumps(state.manifest, indent=2, default=str))
    kept = keep_failed(state.paths, state.options.keep_failed)
    return RunError(
        f"the run failed while {state.step} ({reason}); the previous report set is untouched. "
        f"The full error is in {log} ({kept})",
        EXIT_REPORT_FAILED,
    )


def plain_reason(exc: BaseException) -> str:
    """An exception as one short line: its kind and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def check_inside(path: Path, root: Path, what: str) -> None:
    """Refuse (exit 2) a path that resolves outside ``root`` (:func:`.layout.resolve_inside`)."""
    resolve_inside(path, root, what)


def _archive(state: RunState) -> None:
    """Copy the raw exports, untouched, into the period's archive: the export in the period's
    folder, the leads, the stage history and the side tables a preset joins each in their own."""
    t0 = time.perf_counter()
    options, paths, files = state.options, state.paths, state.files
    export = Path(options.export)
    state.say(f"Archiving {export} ...")
    paths.raw.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(paths.raw)
    archived, digest = files.add("export", export, paths.raw)
    leads = files.add("leads", Path(options.leads), paths.raw_leads)[0] if options.leads else None
    history, history_digest = (
        files.add("history", Path(options.history), paths.raw_history)
        if options.history
        else (None, None)
    )
    for side in _side_tables(options):
        files.add("side_tables", side, paths.raw_side_tables)
    state.archived = {
        "export": archived,
        "sha256": digest,
        "others": [p.name for p in archived_exports(paths.raw) if p != archived],
        "leads": leads,
        "history": history,
        "history_sha256": history_digest,
        "side_tables": files.files.get("side_tables", []),
    }
    state.timings["archive"] = time.perf_counter() - t0


def _side_tables(options: RunOptions) -> list[Path]:
    from pipeline_models.io.columns import side_tables
    from pipeline_models.io.presets import get_mapping

    return side_tables(
        get_mapping(options.preset, options.mapping, options.pipeline), options.export
    )


def _sources(state: RunState) -> Sources:
    options = state.options
    previous = options.previous_export or find_previous_export(
        options.period, options.reports_dir, options.data_dir
    )
    if previous is not None:
        resolve_inside(previous, options.root, "previous export")
    return Sources(
        export=Path(options.export),
        period=options.period,
        preset=options.preset,
        mapping=options.mapping,
        pipeline=options.pipeline,
        leads=options.leads,
        history=options.history,
        previous_export=previous,
        on_bad_rows=options.on_bad_rows,
        random_seed=options.random_seed,
        cache_dir=Path(options.cache_dir or Path(options.data_dir) / "fits"),
        fit=dict(options.fit),
    )


def _prepare(state: RunState) -> None:
    """Validate the export, then write the run folder's datasets inside the staging folder."""
    t0 = time.perf_counter()
    state.say("Validating the export ...")
    sources = _sources(state)
    checked = validate(sources)
    state.timings["load_and_validate"] = time.perf_counter() - t0
    result = checked[0]
    state.say(f"  {len(result.frame)} opportunities, {len(result.warnings)} warnings")
    # Under the lock, any staging folder of this period is the remains of a killed run.
    for stale in state.paths.staging.parent.glob(f"{state.paths.period}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    state.parameters = _report_parameters(state)
    state.prepared = prepare(sources, state.paths.work, report_settings(state.parameters), checked)
    if not result.quarantine.empty:
        write_csv(result.quarantine, state.paths.staging / QUARANTINE_FILE)
    state.manifest = manifests.start(state, sources)
    later = result.info.get("after_period")
    if later:
        state.manifest["run_warnings"].append(
            after_period_sentence(later, later["period_end"]).replace("the", "The", 1) + "."
        )


def _report_parameters(state: RunState) -> dict[str, dict]:
    """Each report's parameters: the standard ones, then its declared defaults overridden by
    ``--param`` values."""
    out = {}
    for notebook in state.notebooks:
        name = notebook.stem
        declared = state.declared[name]
        parameters = {
            "run_dir": str(state.paths.work.resolve()),
            "output_dir": str(state.paths.report_files(name).resolve()),
        }
        parameters.update(state.values.get(name, {}))
        out[name] = {**declared_defaults(declared), **parameters}
    return out


def _fit(state: RunState) -> None:
    """Fit every estimator and track record once, before any report."""
    if not state.options.fit_models:
        return
    t0 = time.perf_counter()
    models = fit_all(state.prepared.catalog, state.progress, state.timings)
    state.timings["model_fits"] = time.perf_counter() - t0
    state.manifest["models"] = models
    state.manifest["run_warnings"].extend(models["warnings"])
    # the reports read the run folder: the runner's copies of the tables are not needed any more
    state.prepared.result.frame = state.prepared.result.frame.iloc[0:0]
    state.prepared.catalog.release()
    release_memory()


def _execute(state: RunState) -> None:
    """Execute and render each report notebook, in report order."""
    jobs = []
    for notebook in state.notebooks:
        name = notebook.stem
        files = state.paths.report_files(name)
        files.mkdir(parents=True, exist_ok=True)
        passed = {
            k: v
            for k, v in state.parameters[name].items()
            if k in ("run_dir", "output_dir") or k in state.options.params
        }
        state.manifest["reports"][name] = {"status": "running", "parameters": passed}
        jobs.append(ReportJob(notebook, files / f"{name}.ipynb", passed))

    def finished(index: int, job: ReportJob, seconds: float, error: str | None) -> None:
        _finish_report(state, index, len(jobs), job, seconds, error)

    execute_reports(jobs, state.options.jobs, finished, state.progress)


def _finish_report(state, index, total, job: ReportJob, seconds, error) -> None:
    """Render one executed report and record its status, headline and warnings."""
    entry = state.manifest["reports"][job.name]
    entry["execute_s"] = round(seconds, 2)
    if error:
        entry.update(status="failed", error=error)
        state.failures.append(error)
        state.say(f"[{index}/{total}] {job.name}: FAILED: {error}")
        return
    t0 = time.perf_counter()
    render_html(job.executed, state.paths.staging / f"{job.name}.html")
    entry["render_s"] = round(time.perf_counter() - t0, 2)
    summary_path = job.executed.parent / SUMMARY_FILE
    if summary_path.exists():
        summary = json.loads(summary_path.read_text())
        entry.update(
            title=summary.get("title", job.name),
            headline=summary.get("headline", []),
            warnings=summary.get("warnings", []),
        )
    else:
        entry.update(title=job.name, headline=[], warnings=[f"{job.name} wrote no {SUMMARY_FILE}"])
    entry["status"] = "ok"
    state.say(f"[{index}/{total}] {job.name}: done in {seconds + entry['render_s']:.1f} s")


def _finish(state: RunState) -> None:
    """Publish the run, or keep a failed one aside and leave the published set untouched."""
    manifest = state.manifest
    manifest["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    carried = [] if state.failures else carry_over(state)
    if carried:
        state.say(f"Kept from the published set: {', '.join(carried)}")
    _record_moved_paths(state, state.paths.failed if state.failures else state.paths.final)
    if state.failures:
        failed = state.paths.failed
        failed.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(state.paths.staging), str(failed))
        (failed / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
        kept = keep_failed(state.paths, state.options.keep_failed)
        raise RunError(
            "report(s) failed; the previous report set is untouched. Executed notebooks with the "
            f"error are kept in {failed} ({kept}):\n  - " + "\n  - ".join(state.failures),
            EXIT_REPORT_FAILED,
        )
    t0 = time.perf_counter()
    render_index(manifest, state.paths.staging / "index.html", _executive(state))
    state.timings["index"] = time.perf_counter() - t0
    (state.paths.staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    state.archived["published"] = publish(state.paths)
    state.say(f"Published {state.archived['published']}/index.html")


def _executive(state: RunState):
    """The executive page of the staged set (``None`` when the run made no run folder)."""
    from pipeline_models.run.catalog import Catalog

    work = state.paths.work
    catalog = Catalog.open(work) if (work / "catalog.json").exists() else None
    frame = catalog.opportunities() if catalog is not None else None
    currency = catalog.currency() if catalog is not None else ""
    return executive_page(state.paths.staging, state.manifest, state.paths.reports, frame, currency)


def _record_moved_paths(state: RunState, target: Path) -> None:
    """Point the manifest's folders at where the staging folder is moved to (it is then gone)."""
    staging = str(state.paths.staging.resolve())

    def moved(value):
        text = str(value)
        return str(target.resolve()) + text[len(staging) :] if text.startswith(staging) else value

    parameters = state.manifest["parameters"]
    parameters["run_dir"] = moved(parameters["run_dir"])
    for entry in state.manifest["reports"].values():
        entry["parameters"] = {k: moved(v) for k, v in entry.get("parameters", {}).items()}


STEPS = (
    (_archive, "archiving the export"),
    (_prepare, "validating the export"),
    (check_partial, "checking the published set"),
    (_fit, "fitting the models"),
    (_execute, "executing the reports"),
    (_finish, "publishing the report set"),
)
"""The steps of a run, each with what it is doing in words."""


def _result(state: RunState) -> RunResult:
    warned = any(r.get("warnings") for r in state.manifest["reports"].values())
    code = EXIT_STRICT if state.options.strict and warned else EXIT_OK
    if code == EXIT_STRICT:
        state.say("Reports carry warnings and --strict is set: exit code 4")
    return RunResult(code, state.archived["published"], state.manifest)


__all__ = [
    "ERROR_LOG",
    "EXIT_BAD_INPUT",
    "EXIT_BUSY",
    "EXIT_REPORT_FAILED",
    "EXIT_STRICT",
    "STANDARD_PARAMETERS",
    "RunError",
    "RunOptions",
    "RunResult",
    "RunState",
    "archive_export",
    "check_inside",
    "check_run_options",
    "list_notebooks",
    "notebook_parameters",
    "period_lock",
    "plain_reason",
    "render_html",
    "run",
]
