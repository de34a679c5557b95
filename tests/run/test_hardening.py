"""A run tried as a hostile or unlucky user would: links out of ``--root``, the archive's layout,
a refused export, a reader that stops early, and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tiny_runs import HEADER, ROWS, write_report_notebook

from pipeline_models.run import archive as archives
from pipeline_models.run import runner
from pipeline_models.run.layout import RunPaths, run_paths, sha256_file
from pipeline_models.run.runner import RunError, RunOptions, RunState, run

LEADS = (
    "lead_id,created_date,source,opportunity_id,converted_date\nL1,2025-01-01,Web,A1,2025-01-05\n"
)


def make_notebook(folder: Path, body: str = "") -> Path:
    params = 'run_dir: str = ""\noutput_dir: str = "."\n'
    return write_report_notebook(folder, "tiny", params, body or "print('ok')")


@pytest.fixture
def root(tmp_path):
    """An allowed folder with an export and notebooks inside, and a folder outside it."""
    inside = tmp_path / "root"
    (inside / "in").mkdir(parents=True)
    (inside / "in" / "export.csv").write_text("\n".join([HEADER, *ROWS]) + "\n")
    make_notebook(inside / "nb")
    (tmp_path / "outside").mkdir()
    return inside, tmp_path / "outside"


def options(inside: Path, **kw) -> RunOptions:
    base = dict(
        export=inside / "in" / "export.csv",
        period="2025-03",
        reports_dir=inside / "reports",
        data_dir=inside / "data",
        notebooks=inside / "nb",
        root=inside,
        fit_models=False,
    )
    base.update(kw)
    return RunOptions(**base)


LINKED = [
    "reports/.lock-2025-03",
    "reports/.runs",
    "reports/.staging",
    "reports/.failed",
    "reports/2025-03",
    "data/raw",
    "data/raw/2025-03",
    "data/raw/2025-03/leads",
    "data/raw/2025-03/history",
    "data/raw/2025-03/side_tables",
    "data/fits",
    "data/fits/tables",
    "data/fits/win_rate-0123456789abcdef01234567",
]


@pytest.mark.parametrize("linked", LINKED)
def test_a_link_out_of_the_root_is_refused_before_anything_is_written(root, linked):
    inside, outside = root
    link = inside / linked
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside, target_is_directory=True)
    with pytest.raises(RunError) as info:
        run(options(inside), progress=None)
    assert info.value.exit_code == 2
    assert "lies outside the allowed folder" in str(info.value)
    assert list(outside.iterdir()) == []
    assert not (inside / "data" / "raw" / "2025-03").is_dir() or linked.startswith("data/raw")


def test_a_side_table_behind_a_link_out_of_the_root_is_refused(root):
    inside, outside = root
    export = inside / "in" / "sales_pipeline.csv"
    export.write_text(
        "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
        "X1,Ann,GTX,Acme,Won,2025-01-02,2025-02-01,100\n"
    )
    (outside / "accounts.csv").write_text("account,sector\nAcme,retail\n")
    (inside / "in" / "accounts.csv").symlink_to(outside / "accounts.csv")
    with pytest.raises(RunError, match="side table .*accounts.csv lies outside") as info:
        run(options(inside, export=export, preset="maven"), progress=None)
    assert info.value.exit_code == 2
    assert not (inside / "data").exists()


def state_for(inside: Path, **kw) -> RunState:
    opts = options(inside, **kw)
    paths = RunPaths(inside / "reports", inside / "data", opts.period, "run1")
    return RunState(opts, paths, [], {}, {}, datetime.now(UTC), None)


def test_leads_history_and_side_tables_are_archived_apart_from_the_export(root):
    inside, _ = root
    folder = inside / "in"
    export = folder / "sales_pipeline.csv"
    export.write_text("opportunity_id,sales_agent\nX1,Ann\n")
    (folder / "sales_teams.csv").write_text("sales_agent,regional_office\nAnn,West\n")
    (folder / "leads.csv").write_text(LEADS)
    (folder / "history.csv").write_text("opportunity_id,changed_date,stage\nX1,2025-01-02,Won\n")
    state = state_for(
        inside,
        export=export,
        preset="maven",
        leads=folder / "leads.csv",
        history=folder / "history.csv",
    )
    runner._archive(state)
    raw = inside / "data" / "raw" / "2025-03"
    assert [p.name for p in archives.archived_exports(raw)] == [state.archived["export"].name]
    assert state.archived["leads"].parent == raw / "leads"
    assert state.archived["history"].parent == raw / "history"
    [side] = state.archived["side_tables"]
    assert Path(side["archived"]).parent == raw / "side_tables"
    assert Path(side["archived"]).read_bytes() == (folder / "sales_teams.csv").read_bytes()
    assert len(side["sha256"]) == 64
    # a rerun with the leads sees no other export, and the next period finds this one
    runner._archive(state)
    assert state.archived["others"] == []
    found = archives.find_previous_export("2025-04", inside / "reports", inside / "data")
    assert found == state.archived["export"]


def test_a_refused_export_is_not_archived(root):
    inside, _ = root
    export = inside / "in" / "export.csv"
    export.write_text(HEADER + "\nA1,never,2025-02-10,Closed Won,won,1000,USD,W,Ann\n")
    leads = inside / "in" / "leads.csv"
    leads.write_text(LEADS)
    with pytest.raises(RunError) as info:
        run(options(inside, leads=leads), progress=None)
    assert info.value.exit_code == 2 and "not a date" in str(info.value)
    raw = inside / "data" / "raw" / "2025-03"
    assert not raw.exists() or not [p for p in raw.rglob("*") if p.is_file()]


def test_an_export_archived_before_stays_when_a_later_one_is_refused(root):
    inside, _ = root
    raw = inside / "data" / "raw" / "2025-03"
    good, _ = archives.archive_export(inside / "in" / "export.csv", raw)
    bad = inside / "in" / "bad.csv"
    bad.write_text(HEADER + "\nA1,never,2025-02-10,Closed Won,won,1000,USD,W,Ann\n")
    with pytest.raises(RunError):
        run(options(inside, export=bad), progress=None)
    assert archives.archived_exports(raw) == [good]


def test_no_temporary_file_is_left_when_archiving_fails(tmp_path, monkeypatch):
    source = tmp_path / "export.csv"
    source.write_text("one")
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / ".stale.csv.tmp").write_text("left by a killed run")

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(archives.os, "chmod", broken)
    with pytest.raises(OSError, match="disk full"):
        archives.archive_export(source, raw)
    archives.remove_stale_temporaries(raw)
    assert list(raw.iterdir()) == []


def test_a_link_planted_as_the_archived_name_is_not_written_through(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text("one")
    raw, outside = tmp_path / "raw", tmp_path / "outside.txt"
    raw.mkdir()
    outside.write_text("keep")
    digest = sha256_file(source)
    for name in (f".{digest[:12]}-export.csv.tmp", f"{digest[:12]}-export.csv.sha256"):
        (raw / name).symlink_to(outside)
    target, _ = archives.archive_export(source, raw)
    assert target.read_text() == "one" and outside.read_text() == "keep"


CHEAP_CLI = """
import sys
from pipeline_models import cli
from pipeline_models.run import runner
real = runner.run
def cheap(options, progress=print):
    options.fit_models = False  # the tiny notebook uses no model
    return real(options, progress)
runner.run = cheap
if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))
"""


def start_cli(inside: Path, notebooks: Path, **popen) -> subprocess.Popen:
    script = inside.parent / "cheap_cli.py"
    script.write_text(CHEAP_CLI)
    argv = [sys.executable, str(script), "run", "--export", "in/export.csv", "--period", "2025-03"]
    env = dict(os.environ, PIPELINE_NOTEBOOKS=str(notebooks))
    return subprocess.Popen(argv, cwd=inside, env=env, **popen)


@pytest.mark.slow
def test_a_reader_that_stops_early_does_not_stop_the_run(root):
    inside, _ = root
    reader = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()"], stdin=subprocess.PIPE
    )
    proc = start_cli(inside, inside / "nb", stdout=reader.stdin, stderr=subprocess.PIPE, text=True)
    reader.stdin.close()
    reader.wait(timeout=60)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    manifest = json.loads((inside / "reports" / "2025-03" / "manifest.json").read_text())
    assert manifest["reports"]["tiny"]["status"] == "ok"


@pytest.mark.slow
def test_ctrl_c_ends_the_run_in_one_line_and_frees_the_lock(root):
    inside, _ = root
    slow = make_notebook(inside / "nb_slow", "import time; time.sleep(60)")
    proc = start_cli(
        inside,
        slow,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in proc.stdout:
        if "executing" in line:
            break
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip() == (
        "pipeline-reports run: interrupted; the previous report set is untouched"
    )
    assert not (inside / "reports" / "2025-03").exists()
    assert not any((inside / "reports" / ".staging").iterdir())
    with runner.period_lock(inside / "reports" / ".lock-2025-03"):
        pass  # free: no RunError (exit 5)


def test_two_runs_of_a_period_in_one_second_of_one_process_get_their_own_folders(tmp_path):
    started = datetime(2026, 11, 2, 6, 0, 0, tzinfo=UTC)
    first = run_paths(tmp_path / "reports", tmp_path / "data", "2026-10", started)
    first.final.mkdir(parents=True)
    second = run_paths(tmp_path / "reports", tmp_path / "data", "2026-10", started)
    second.staging.mkdir(parents=True)
    third = run_paths(tmp_path / "reports", tmp_path / "data", "2026-10", started)
    assert first.run_id == f"20261102T060000-{os.getpid()}"
    assert second.run_id == f"{first.run_id}-2"
    assert third.run_id == f"{first.run_id}-3"
    assert run_paths(tmp_path / "reports", tmp_path / "data", "2026-09", started) == RunPaths(
        tmp_path / "reports", tmp_path / "data", "2026-09", first.run_id
    )
