"""A report that dies is a failed report: a killed kernel or worker, the failed runs kept, a
partial run (``--only``) and a choice parameter's unknown value."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
from tiny_runs import HEADER, ROWS, write_report_notebook

from pipeline_models import cli
from pipeline_models.run import runner
from pipeline_models.run.layout import RunPaths
from pipeline_models.run.publish import KEEP_FAILED, keep_failed, prune_failed
from pipeline_models.run.runner import RunError, RunOptions, run

PARAMS = 'run_dir: str = ""  # run folder\noutput_dir: str = "."  # output\nlabel: str = "one"  # a label\n'
SUMMARY = (
    "from pipeline_models.present.content import ReportContent\n"
    "ReportContent(label, headline=[('label', label)]).write(output_dir)\n"
)
KILL_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
KERNEL_DIED = "the report's kernel died (killed by signal 9, perhaps out of memory)"
REPO_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def write_notebooks(folder: Path, bodies: dict[str, str]) -> Path:
    """Tiny report notebooks: the parameters cell, a cell that prints, then ``body``."""
    for name, body in bodies.items():
        write_report_notebook(folder, name, PARAMS, "print('executed so far')", body)
    return folder


@pytest.fixture
def place(tmp_path):
    export = tmp_path / "in" / "export.csv"
    export.parent.mkdir()
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")

    def options(notebooks: Path, **kw) -> RunOptions:
        base = dict(
            export=export,
            period="2025-03",
            reports_dir=tmp_path / "reports",
            data_dir=tmp_path / "data",
            notebooks=notebooks,
            cache_dir=tmp_path / "fits",
            fit_models=False,
        )
        base.update(kw)
        return RunOptions(**base)

    return tmp_path, export, options


def report_processes() -> list[psutil.Process]:
    """Kernels and report workers this process started that still run."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            command = " ".join(child.cmdline())
            if child.status() != psutil.STATUS_ZOMBIE and (
                "ipykernel" in command or "spawn_main" in command
            ):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def failed_manifest(tmp_path: Path) -> dict:
    (manifest,) = (tmp_path / "reports" / ".failed" / "2025-03").glob("*/manifest.json")
    return json.loads(manifest.read_text())


# -- a dead kernel or worker ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_killed_kernel_is_a_failed_report_and_the_others_still_run(place, jobs):
    tmp_path, _, options = place
    notebooks = write_notebooks(
        tmp_path / "nb", {"dies": KILL_KERNEL, "fine": SUMMARY, "fine_too": SUMMARY}
    )
    with pytest.raises(RunError) as info:
        run(options(notebooks, jobs=jobs), progress=None)
    assert info.value.exit_code == runner.EXIT_REPORT_FAILED
    assert f"dies.ipynb: {KERNEL_DIED}" in str(info.value)
    assert "Traceback" not in str(info.value)
    manifest = failed_manifest(tmp_path)
    statuses = {name: entry["status"] for name, entry in manifest["reports"].items()}
    assert statuses == {"dies": "failed", "fine": "ok", "fine_too": "ok"}
    assert KERNEL_DIED in manifest["reports"]["dies"]["error"]
    kept = tmp_path / "reports" / ".failed" / "2025-03"
    (executed,) = kept.glob("*/files/dies/dies.ipynb")
    assert "executed so far" in executed.read_text()  # the notebook as far as it ran
    assert not (tmp_path / "reports" / "2025-03").exists()
    assert report_processes() == []


@pytest.mark.slow
def test_a_killed_worker_is_a_failed_report_and_its_kernel_is_ended(place):
    tmp_path, _, options = place
    pids = tmp_path / "pids.txt"
    body = (
        f"import os, pathlib, time\npathlib.Path({str(pids)!r}).write_text("
        "f'{os.getppid()} {os.getpid()}')\ntime.sleep(120)"
    )
    notebooks = write_notebooks(
        tmp_path / "nb", {"held": body, "fine": SUMMARY, "fine_too": SUMMARY}
    )
    seen: list[int] = []

    def kill_the_worker() -> None:
        deadline = time.monotonic() + 120
        while not pids.exists() or not pids.read_text():
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)
        worker, kernel = (int(p) for p in pids.read_text().split())
        seen.extend([worker, kernel])
        os.kill(worker, 9)  # as the out-of-memory killer would

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    with pytest.raises(RunError) as info:
        run(options(notebooks, jobs=2), progress=None)
    killer.join()
    message = str(info.value)
    assert info.value.exit_code == runner.EXIT_REPORT_FAILED
    assert (
        "held.ipynb: the report's worker process died (killed by signal 9, perhaps out of memory)"
        in message
    )
    statuses = {n: e["status"] for n, e in failed_manifest(tmp_path)["reports"].items()}
    assert statuses == {"held": "failed", "fine": "ok", "fine_too": "ok"}
    worker, kernel = seen
    psutil.wait_procs([p for p in map(_process, seen) if p], timeout=0.5)
    assert not alive(kernel), "the dead worker's kernel outlived the run"
    assert not alive(worker)
    assert report_processes() == []


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


# -- failed runs kept ------------------------------------------------------------------------


def test_only_the_last_failed_runs_of_a_period_are_kept(tmp_path):
    paths = RunPaths(tmp_path / "reports", tmp_path / "data", "2025-03", "20250406T060000-9")
    folder = paths.failed.parent
    earlier = [f"2025040{day}T060000-1" for day in range(1, 6)]
    for name in [*earlier, paths.run_id]:
        (folder / name / "files").mkdir(parents=True)
    (tmp_path / "elsewhere" / "keep.txt").parent.mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("not a failed run")
    (folder / "0-link").symlink_to(tmp_path / "elsewhere")
    assert KEEP_FAILED == 3
    said = keep_failed(paths, KEEP_FAILED)
    assert (
        said
        == "the last 3 failed run(s) of a period are kept (--keep-failed); 3 older one(s) deleted"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["0-link", *earlier[3:], paths.run_id]
    assert (tmp_path / "elsewhere" / "keep.txt").is_file()  # nothing deleted through a link
    # the run that has just failed is kept even when it is not the newest by name
    late = RunPaths(paths.reports, paths.data, "2025-03", "20250101T000000-1")
    late.failed.mkdir()
    assert prune_failed(late, 1) == 3
    assert sorted(p.name for p in folder.iterdir()) == ["0-link", late.run_id]


def test_a_failed_run_says_how_many_failed_runs_are_kept(place, monkeypatch):
    tmp_path, _, options = place
    notebooks = write_notebooks(tmp_path / "nb", {"fine": SUMMARY})

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the report step")

    clock = iter(datetime(2025, 4, 2, 6, tzinfo=UTC) + timedelta(minutes=m) for m in range(10))

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(clock)

    monkeypatch.setattr(runner, "execute_reports", broken)
    monkeypatch.setattr(runner, "datetime", Clock)
    messages = []
    for _ in range(4):
        with pytest.raises(RunError) as info:
            run(options(notebooks, keep_failed=2), progress=None)
        assert info.value.exit_code == runner.EXIT_REPORT_FAILED
        messages.append(str(info.value))
    kept = sorted(p.name for p in (tmp_path / "reports" / ".failed" / "2025-03").iterdir())
    ran = [re.search(r"2025-03/([^/]+)/error\.log", m).group(1) for m in messages]
    assert len(set(ran)) == 4 and kept == ran[-2:]
    assert "the last 2 failed run(s) of a period are kept (--keep-failed)" in messages[-1]
    assert "1 older one(s) deleted" in messages[-1]
    assert "deleted" not in messages[0]


def test_keep_failed_below_one_is_refused(place, capsys):
    tmp_path, export, _ = place
    argv = ["run", "--export", str(export), "--period", "2025-03", "--keep-failed", "0"]
    assert cli.main([*argv, "--out", str(tmp_path / "reports")]) == 2
    assert "--keep-failed 0: must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


# -- a partial run (--only) ------------------------------------------------------------------


@pytest.mark.slow
def test_only_publishes_into_the_set_and_keeps_the_other_reports(place):
    tmp_path, export, options = place
    notebooks = write_notebooks(tmp_path / "nb", {"first": SUMMARY, "second": SUMMARY})
    full = run(options(notebooks), progress=None)
    first_page = (full.published / "first.html").read_bytes()
    partial = run(options(notebooks, only=("second",), params={"label": "two"}), progress=None)
    assert partial.exit_code == 0
    published = tmp_path / "reports" / "2025-03"
    assert published.resolve().name == partial.manifest["run_id"] != full.manifest["run_id"]
    assert (published / "first.html").read_bytes() == first_page
    # the rerun report, with its new parameter, is the one published (pages show no code, so
    # its summary says which label it ran with)
    second = json.loads((published / "files" / "second" / "summary.json").read_text())
    assert second["title"] == "two" and (published / "second.html").is_file()
    manifest = json.loads((published / "manifest.json").read_text())
    assert list(manifest["reports"]) == ["first", "second"]
    assert manifest["reports"]["first"]["from_run"] == full.manifest["run_id"]
    assert "from_run" not in manifest["reports"]["second"]
    assert manifest["carried_over"] == ["first"]
    assert (published / "files" / "first" / "summary.json").is_file()
    index = (published / "index.html").read_text()
    assert "first.html" in index and "second.html" in index

    # a partial run over a set made from another export is refused, the set untouched
    export.write_text("\n".join([HEADER, *ROWS, ROWS[0].replace("A1", "A4")]) + "\n")
    archived = sorted((tmp_path / "data" / "raw" / "2025-03").glob("*.csv"))
    with pytest.raises(RunError) as info:
        run(options(notebooks, only=("second",)), progress=None)
    assert info.value.exit_code == runner.EXIT_BAD_INPUT
    assert "--only second: the published set of 2025-03 was made from other opportunities" in str(
        info.value
    )
    assert "without --only" in str(info.value) and "--out" in str(info.value)
    assert json.loads((published / "manifest.json").read_text()) == manifest
    assert sorted((tmp_path / "data" / "raw" / "2025-03").glob("*.csv")) == archived
    assert not any((tmp_path / "reports" / ".staging").iterdir())


def test_only_over_a_set_of_another_seed_is_refused(place):
    tmp_path, _, options = place
    notebooks = write_notebooks(tmp_path / "nb", {"first": SUMMARY})
    paths = RunPaths(tmp_path / "reports", tmp_path / "data", "2025-03", "x")
    paths.published.mkdir(parents=True)
    state = runner.RunState(
        options(notebooks, only=("first",), random_seed=7), paths, [], {}, {}, None, None
    )
    state.manifest = {
        "parameters": {"datasets": {"opportunities": {"sha256": "a"}}},
        "random_seed": 7,
    }
    previous = {"parameters": {"datasets": {"opportunities": {"sha256": "a"}}}, "random_seed": 8}
    (paths.published / "manifest.json").write_text(json.dumps(previous))
    from pipeline_models.run.partial import check_partial

    with pytest.raises(RunError, match=r"made from seed 8 \(this run: 7\)"):
        check_partial(state)
    previous["random_seed"] = 7
    (paths.published / "manifest.json").write_text(json.dumps(previous))
    check_partial(state)  # the same data and seed: accepted


# -- a choice parameter ----------------------------------------------------------------------


def test_an_unknown_ranking_measure_is_refused_before_anything_runs(place, capsys, monkeypatch):
    tmp_path, export, _ = place
    monkeypatch.setenv("PIPELINE_NOTEBOOKS", str(REPO_NOTEBOOKS))
    argv = ["run", "--export", str(export), "--period", "2025-03", "--out", str(tmp_path / "r")]
    code = cli.main([*argv, "--data", str(tmp_path / "data"), "--param", "rank_measure=nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--param rank_measure='nope': not one of revenue_per_opportunity" in err
    assert "win_rate" in err and "cycle_days" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists() and not (tmp_path / "r").exists()


def test_a_known_ranking_measure_is_passed_as_given():
    from pipeline_models.run.notebooks import parameter_values

    notebook = REPO_NOTEBOOKS / "product_potential.ipynb"
    _, values = parameter_values([notebook], {"rank_measure": "win_rate"})
    assert values == {"product_potential": {"rank_measure": "win_rate"}}
