"""Bad arguments of every command: exit 2, one plain line naming the argument, nothing archived."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_runs import HEADER, ROWS, write_report_notebook

from pipeline_models import cli

PARAMS = """
run_dir: str = ""  # run folder
output_dir: str = "."  # output
target_revenue: float = 0.0  # revenue target
backtest_months: int = 6  # months
cost_per_lead: dict = {}  # costs
"""


def write_notebook(folder: Path, name: str = "tiny") -> Path:
    return write_report_notebook(folder, name, PARAMS)


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A folder with a tiny export and notebooks; the commands run inside it."""
    (tmp_path / "export.csv").write_text("\n".join([HEADER, *ROWS]) + "\n")
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("PIPELINE_NOTEBOOKS", str(write_notebook(tmp_path / "nb")))
    monkeypatch.chdir(tmp_path)
    return tmp_path


RUN = ["run", "--export", "export.csv", "--period", "2025-03"]


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--param", "target_revenue=abc"], "--param target_revenue"),
        (["--param", "target_revenue=nan"], "--param target_revenue"),
        (["--param", "backtest_months=1.5"], "--param backtest_months"),
        (["--param", "cost_per_lead=[1]"], "--param cost_per_lead"),
        (["--param", "nope=1"], "--param nope"),
        (["--param", "foo"], "--param 'foo'"),
        (["--param", "=5"], "--param '=5'"),
        (["--param", "random_seed=3"], "--param random_seed: reserved (use --seed)"),
        (["--param", "run_dir=/tmp"], "--param run_dir: reserved"),
        (["--only", "nope"], "unknown report(s): nope"),
        (["--seed", "-1"], "--seed -1"),
        (["--seed", str(2**32)], "--seed"),
        (["--jobs", "0"], "--jobs 0"),
        (["--out", "a_file"], "--out a_file is a file"),
        (["--data", "a_file"], "--data a_file is a file"),
        (["--cache", "a_file"], "--cache a_file is a file"),
        (["--out", "a_file/reports"], "--out a_file/reports cannot be created"),
        (["--leads", "missing.csv"], "--leads missing.csv not found"),
        (["--history", "nb"], "--history nb is a folder"),
        (["--preset", "nope"], "unknown preset"),
    ],
)
def test_bad_run_arguments_are_refused_before_anything_is_archived(place, capsys, extra, named):
    assert cli.main(RUN + extra) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (place / "data" / "raw").exists()
    assert not (place / "reports").exists() or not any((place / "reports").glob("2025-03*"))


def test_a_period_with_a_trailing_line_end_is_refused(place, capsys):
    assert cli.main(["run", "--export", "export.csv", "--period", "2025-03\n"]) == 2
    assert "--period '2025-03\\n' is not a month" in capsys.readouterr().err
    assert not (place / "data").exists()


def test_an_export_name_too_long_to_archive_is_refused(place, capsys):
    long = place / ("x" * 232 + ".csv")  # 236 bytes: the archive's hash file would need 256
    long.write_text((place / "export.csv").read_text())
    assert cli.main(["run", "--export", long.name, "--period", "2025-03"]) == 2
    err = capsys.readouterr().err
    assert "--export" in err and "236 bytes" in err and "at most 235" in err
    assert not (place / "data").exists()


def test_a_disk_too_full_for_the_run_is_refused_before_anything_is_archived(
    place, capsys, monkeypatch
):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    assert cli.main(RUN) == 2
    err = capsys.readouterr().err
    assert "has 1 MiB free; this run needs about 200 MiB" in err
    assert len(err.strip().splitlines()) == 1
    assert not (place / "data" / "raw").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_folder_that_cannot_be_written_is_refused(place, capsys):
    locked = place / "locked"
    locked.mkdir(mode=0o555)
    assert cli.main(RUN + ["--out", "locked/reports"]) == 2
    assert "--out locked/reports cannot be written" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["sample", "--out", "a_file"], "--out a_file is a file"),
        (["sample", "--months", "x"], "--months 'x'"),
        (["sample", "--seed", "-1"], "--seed -1"),
        (["params", "--notebooks", "a_file"], "--notebooks a_file is not a folder"),
        (["backtest", "--export", "export.csv", "--origins", "2025-13"], "--origins '2025-13'"),
        (["backtest", "--export", "export.csv", "--origins", ","], "--origins ','"),
        (
            ["backtest", "--export", "export.csv", "--origins", "2025-01", "--horizons", "0"],
            "--horizons '0'",
        ),  # noqa: E501
        (
            ["backtest", "--export", "export.csv", "--origins", "2025-01", "--horizons", "a"],
            "--horizons 'a'",
        ),  # noqa: E501
        (
            ["backtest", "--export", "export.csv", "--origins", "2025-01", "--seed", "-1"],
            "--seed -1",
        ),  # noqa: E501
        (
            ["backtest", "--export", "export.csv", "--origins", "2025-01", "--out", "a_file/x.csv"],
            "--out a_file",
        ),  # noqa: E501
        (
            ["backtest", "--export", "export.csv", "--origins", "2025-01", "--snapshots", "a_file"],
            "--snapshots a_file",
        ),  # noqa: E501
        (["validate", "--export", "missing.csv"], "--export missing.csv not found"),
        (
            ["validate", "--export", "export.csv", "--quarantine", "nb"],
            "--quarantine nb is a folder",
        ),  # noqa: E501
        (
            ["prepare", "--export", "export.csv", "--period", "2025-3", "--out", "w"],
            "--period '2025-3'",
        ),  # noqa: E501
        (
            ["prepare", "--export", "export.csv", "--period", "2025-03", "--out", "a_file"],
            "--out a_file",
        ),  # noqa: E501
    ],
)
def test_bad_arguments_of_the_other_commands(place, capsys, argv, named):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (place / "data").exists() and not (place / "w").exists()
