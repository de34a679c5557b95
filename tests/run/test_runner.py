"""The runner: archive, parameter checks, atomic publishing, failures, lock, index and manifest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_runs import HEADER, write_report_notebook

from pipeline_models.run import runner
from pipeline_models.run.layout import sha256_file
from pipeline_models.run.runner import RunError, RunOptions, run

ROWS = [  # one product name is markup: it must reach the pages as text
    "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
    "A2,2025-01-07,2025-03-01,Closed Lost,lost,500,USD,Widget,Bob",
    "A3,2025-02-01,2025-06-30,Proposal,open,,USD,<script>alert(1)</script>,Ann",
]

PARAMS = """
run_dir: str = ""  # run folder
output_dir: str = "."  # output
fail: bool = False  # raise on purpose
"""
BODY = """
from pipeline_models.present.content import ReportContent
from pipeline_models.present.display import show_table
from pipeline_models.run.catalog import Catalog
frame = Catalog.open(run_dir).opportunities()
if fail:
    raise ValueError("planned failure")
show_table(frame[["opportunity_id", "product"]])
ReportContent("Tiny", headline=[("deals", str(len(frame)))], warnings=["thin data"]).write(output_dir)
"""


def make_notebooks(folder: Path, names=("tiny",), params: str = PARAMS) -> Path:
    for name in names:
        write_report_notebook(folder, name, params, BODY)
    return folder


@pytest.fixture
def setup(tmp_path):
    export = tmp_path / "in" / "export.csv"
    export.parent.mkdir()
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")
    notebooks = make_notebooks(tmp_path / "nb")

    def options(**kw) -> RunOptions:
        base = dict(
            export=export,
            period="2025-03",
            reports_dir=tmp_path / "reports",
            data_dir=tmp_path / "data",
            notebooks=notebooks,
            cache_dir=tmp_path / "fits",
            fit_models=False,  # the tiny notebooks here use no model
        )
        base.update(kw)
        return RunOptions(**base)

    return tmp_path, export, options


@pytest.mark.slow
def test_run_publishes_html_index_and_manifest(setup):
    tmp_path, export, options = setup
    result = run(options(), progress=None)
    assert result.exit_code == 0
    published = tmp_path / "reports" / "2025-03"
    assert published.is_symlink()
    html = (published / "tiny.html").read_text()
    assert "Catalog.open" not in html  # no code in the report
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "cdn" not in html.lower() and "<script" not in html
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["reports"]["tiny"]["status"] == "ok"
    assert manifest["export"]["sha256"] == sha256_file(export)
    for key in ("period", "parameters", "random_seed", "versions", "timings_s", "validation"):
        assert manifest[key]
    assert manifest["versions"]["pymc"] != "not installed"
    index = (published / "index.html").read_text()
    assert "tiny.html" in index and "thin data" in index
    archived = Path(manifest["export"]["archived"])
    assert archived.read_bytes() == export.read_bytes()
    assert (archived.parent / (archived.name + ".sha256")).exists()


@pytest.mark.slow
def test_failed_run_keeps_the_previous_report_set(setup):
    tmp_path, export, options = setup
    run(options(), progress=None)
    before = (tmp_path / "reports" / "2025-03" / "tiny.html").read_bytes()
    with pytest.raises(RunError) as info:
        run(options(params={"fail": "true"}), progress=None)
    assert info.value.exit_code == runner.EXIT_REPORT_FAILED
    assert "planned failure" in str(info.value)
    assert (tmp_path / "reports" / "2025-03" / "tiny.html").read_bytes() == before
    failed = list((tmp_path / "reports" / ".failed" / "2025-03").glob("*/files/tiny/tiny.ipynb"))
    assert failed and "planned failure" in failed[0].read_text()
    assert not any((tmp_path / "reports" / ".staging").iterdir())


@pytest.mark.slow
def test_strict_mode_fails_on_report_warnings(setup):
    _, _, options = setup
    assert run(options(strict=True), progress=None).exit_code == runner.EXIT_STRICT


def test_unknown_parameter_is_refused(setup):
    _, _, options = setup
    with pytest.raises(RunError, match="no report declares it"):
        run(options(params={"targett": "5"}), progress=None)


def test_notebook_missing_a_standard_parameter_is_refused(setup):
    tmp_path, _, options = setup
    notebooks = make_notebooks(tmp_path / "nb2", params=PARAMS.replace("run_dir", "folder"))
    with pytest.raises(RunError, match="does not declare .*run_dir"):
        run(options(notebooks=notebooks), progress=None)


def test_bad_export_exits_with_bad_input_and_publishes_nothing(setup):
    tmp_path, export, options = setup
    export.write_text(HEADER + "\nA1,never,2025-02-10,Closed Won,won,1000,USD,W,Ann\n")
    with pytest.raises(RunError) as info:
        run(options(), progress=None)
    assert info.value.exit_code == runner.EXIT_BAD_INPUT
    assert "not a date" in str(info.value) and "row 2" in str(info.value)
    assert not (tmp_path / "reports" / "2025-03").exists()


def test_bad_period_and_paths_outside_root(setup):
    tmp_path, _, options = setup
    with pytest.raises(RunError, match="YYYY-MM"):
        run(options(period="2025-13"), progress=None)
    with pytest.raises(RunError, match="outside the allowed folder"):
        run(options(root=tmp_path / "in"), progress=None)


@pytest.mark.parametrize(
    ("period", "why"),
    [("2024-12", "after period 2024-12 ended"), ("2025-09", "more than 3 months before")],
)
def test_a_period_the_export_does_not_describe_is_refused_before_any_work(setup, period, why):
    tmp_path, export, options = setup
    with pytest.raises(RunError) as info:
        run(options(period=period), progress=None)
    assert info.value.exit_code == runner.EXIT_BAD_INPUT
    message = str(info.value)
    assert why in message and "export.csv" in message and "looks like period 2025-03" in message
    assert not (tmp_path / "reports" / period).exists()
    assert not (tmp_path / "reports" / ".staging").exists() or not any(
        (tmp_path / "reports" / ".staging").iterdir()
    )


def test_second_run_of_a_period_waits_for_the_lock(setup):
    tmp_path, _, options = setup
    lock = tmp_path / "reports" / ".lock-2025-03"
    with runner.period_lock(lock):
        with pytest.raises(RunError) as info:
            run(options(), progress=None)
    assert info.value.exit_code == runner.EXIT_BUSY


def test_archive_keeps_every_export_of_a_period(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("one")
    second.write_text("two")
    a, _ = runner.archive_export(first, tmp_path / "raw")
    b, _ = runner.archive_export(second, tmp_path / "raw")
    a2, _ = runner.archive_export(first, tmp_path / "raw")
    assert a == a2 and a != b and a.read_text() == "one" and b.read_text() == "two"
    assert not os.access(a, os.W_OK) or os.geteuid() == 0  # archived read-only


@pytest.mark.slow
def test_killed_run_leaves_the_published_set_intact(setup):
    tmp_path, export, options = setup
    run(options(), progress=None)
    published = tmp_path / "reports" / "2025-03"
    before = {p.name: p.read_bytes() for p in published.iterdir() if p.is_file()}
    slow = make_notebooks(tmp_path / "nb_slow", params=PARAMS + "\nimport time; time.sleep(60)\n")
    code = (
        "import sys\nfrom pathlib import Path\nfrom pipeline_models.run.runner import RunOptions, run\n"
        f"run(RunOptions(export=Path({str(export)!r}), period='2025-03', "
        f"reports_dir=Path({str(tmp_path / 'reports')!r}), data_dir=Path({str(tmp_path / 'data')!r}), "
        f"notebooks=Path({str(slow)!r}), fit_models=False), progress=print)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "executing" in line:
            break
    proc.kill()
    proc.wait(timeout=30)
    after = {p.name: p.read_bytes() for p in published.iterdir() if p.is_file()}
    assert after == before
    # the lock died with the process: a new run can start
    assert run(options(), progress=None).exit_code == 0
    # and the killed run's half-written staging folder is gone
    assert not any((tmp_path / "reports" / ".staging").iterdir())


@pytest.mark.slow
def test_reports_run_side_by_side(setup):
    tmp_path, _, options = setup
    notebooks = make_notebooks(tmp_path / "nb_two", names=("first", "second"))
    result = run(options(notebooks=notebooks, jobs=2), progress=None)
    assert result.exit_code == 0
    assert [r["status"] for r in result.manifest["reports"].values()] == ["ok", "ok"]
    assert (result.published / "first.html").exists() and (
        result.published / "second.html"
    ).exists()
