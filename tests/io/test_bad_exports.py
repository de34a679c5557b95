"""Malformed exports: every case of tests/data/bad/cases.yml gives exactly its messages.

Each error names the file, column, rows and reason; ``--on-bad-rows skip`` accounts for every
data row (loaded, quarantined or reported as an exact duplicate); the command line fails with
exit code 2 and the message on stderr, never with a traceback.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline_models.contract.problems import ERROR, WARNING, ExportError
from pipeline_models.io.opportunities import load_export

BAD = Path(__file__).parents[1] / "data" / "bad"
CASES = yaml.safe_load((BAD / "cases.yml").read_text(encoding="utf-8"))
AS_OF = "2025-12-31"
HEADER = "opportunity_id,created_date,close_date,stage,status,amount,currency,product,owner"
GOOD_ROW = "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann"


def options(case: dict) -> dict:
    if case.get("mapping"):
        return {"mapping": BAD / case["mapping"]}
    return {"preset": case.get("preset", "canonical")}


def triples(problems, severity: str) -> set[tuple]:
    return {(p.column, tuple(p.rows), p.reason) for p in problems if p.severity == severity}


def expected(case: dict, key: str) -> set[tuple]:
    return {(e["column"], tuple(e["rows"]), e["reason"]) for e in case.get(key, [])}


def test_the_corpus_is_complete():
    files = {c["file"] for c in CASES}
    assert len(CASES) >= 25 and len(files) == len(CASES)
    on_disk = {p.name for p in BAD.iterdir() if p.suffix == ".csv"}
    assert on_disk == files, "every corpus file has a case, and every case a file"


def test_the_docs_show_every_case_and_its_messages():
    doc = (BAD.parents[2] / "docs" / "bad_input.md").read_text(encoding="utf-8")
    for case in CASES:
        assert f"`{case['file']}`" in doc
        for problem in case.get("errors", []) + case.get("warnings", []):
            assert problem["reason"] in doc, problem["reason"]


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_each_case_gives_exactly_its_messages(case):
    path = BAD / case["file"]
    if case.get("errors"):
        with pytest.raises(ExportError) as info:
            load_export(path, as_of=AS_OF, **options(case))
        problems = info.value.problems
        assert triples(problems, ERROR) == expected(case, "errors")
        assert all(p.file == str(path) for p in problems)
        text = str(info.value)
        for e in case["errors"]:
            assert e["reason"] in text and str(path) in text
            if e["column"]:
                assert f"column '{e['column']}'" in text
    else:
        result = load_export(path, as_of=AS_OF, **options(case))
        problems = result.problems
        assert not triples(problems, ERROR)
        assert result.info["rows"] == case["data_rows"]
        for column, values in case.get("values", {}).items():
            got = result.frame[column]
            if pd.api.types.is_datetime64_any_dtype(got):
                got = got.dt.strftime("%Y-%m-%d")
            assert [None if pd.isna(v) else v for v in got] == values, column
    assert expected(case, "warnings") <= triples(problems, WARNING)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_skipping_bad_rows_accounts_for_every_row(case):
    path = BAD / case["file"]
    if case.get("skippable", True) is False:
        with pytest.raises(ExportError):
            load_export(path, as_of=AS_OF, on_bad_rows="skip", **options(case))
        return
    result = load_export(path, as_of=AS_OF, on_bad_rows="skip", **options(case))
    quarantined = result.quarantine
    duplicates = [
        r for p in result.warnings if "repeats an earlier row" in p.reason for r in p.rows
    ]
    assert len(duplicates) == case.get("duplicates", 0)
    assert len(result.frame) + len(quarantined) + len(duplicates) == case["data_rows"]
    error_rows = {r for e in case.get("errors", []) for r in e["rows"]}
    assert set(quarantined.get("row", [])) == error_rows
    assert all(quarantined.get("reason", pd.Series(dtype=str)).str.len() > 0)
    if error_rows:
        skipped = [p for p in result.warnings if "rows skipped" in p.reason]
        assert skipped[0].reason.startswith(f"{len(error_rows)} rows skipped")


def test_a_quarantined_record_keeps_every_field():
    result = load_export(BAD / "unquoted_delimiter.csv", as_of=AS_OF, on_bad_rows="skip")
    row = result.quarantine.iloc[0]
    assert (row["product"], row["owner"]) == ("Widget", " Deluxe,Bob")


def test_excel_rows_are_named_as_excel_shows_them(tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    lines = [
        HEADER,
        "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
        "",  # an empty row inside the table
        "A2,2025-01-07,2025-03-01,Closed Lost,lost,-5,USD,Widget,Bob",
    ]
    for r, line in enumerate(lines, start=1):
        for c, value in enumerate(line.split(",") if line else [], start=1):
            sheet.cell(row=r, column=c, value=-5 if value == "-5" else value)
    sheet.cell(row=12, column=2).number_format = "0.00"  # formatted but empty rows at the end
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    with pytest.raises(ExportError) as info:
        load_export(path, as_of=AS_OF)
    (negative,) = [p for p in info.value.problems if p.severity == ERROR]
    assert (negative.column, negative.rows, negative.reason) == (
        "amount",
        (4,),
        "amount is negative",
    )
    assert [p.rows for p in info.value.problems if p.reason == "empty line ignored"] == [(3,)]


# ---------------------------------------------------------------------------------------------
# The command line


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("pipeline-reports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline_models.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


CLI_CASES = ["empty.csv", "truncated_last_line.csv", "wrong_preset.csv", "unknown_stage.csv"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_validate_fails_with_exit_code_2_and_the_message_on_stderr(name):
    case = next(c for c in CASES if c["file"] == name)
    args = ["validate", "--export", str(BAD / name)]
    args += ["--mapping", str(BAD / case["mapping"])] if case.get("mapping") else []
    args += ["--preset", case["preset"]] if case.get("preset") else []
    done = cli(*args)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    for error in case["errors"]:
        assert error["reason"] in done.stderr
    assert str(BAD / name) in done.stderr


def test_validate_refuses_damaged_files_without_a_traceback(tmp_path):
    (tmp_path / "export.xlsx").write_text(HEADER + "\n")  # a CSV wearing an Excel name
    (tmp_path / "mapping.yml").write_text("columns:\n  ID: [opportunity_id]\nstatus: [won]\n")
    for args, reason in (
        (["--export", str(tmp_path / "export.xlsx")], "is not a readable Excel file"),
        (
            [
                "--export",
                str(BAD / "unknown_stage.csv"),
                "--mapping",
                str(tmp_path / "mapping.yml"),
            ],
            "'status:' must map stage names",
        ),
    ):
        done = cli("validate", *args)
        assert done.returncode == 2, done.stderr
        assert reason in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_validate_skip_writes_every_skipped_row_to_the_quarantine_file(tmp_path):
    quarantine = tmp_path / "q.csv"
    source = BAD / "text_in_amounts.csv"
    done = cli(
        "validate",
        "--export",
        str(source),
        "--on-bad-rows",
        "skip",
        "--quarantine",
        str(quarantine),
    )
    assert done.returncode == 0, done.stderr
    assert "4 skipped rows written to" in done.stdout and "4 rows skipped" in done.stdout
    with quarantine.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["3", "4", "5", "6"]
    assert all(r["reason"] == "amount: amount is not a number" for r in rows)
    assert [r["amount"] for r in rows] == ["five hundred", "n/a", "inf", "12x"]


# ---------------------------------------------------------------------------------------------
# A million rows


@pytest.mark.slow
def test_a_million_rows_with_one_bad_row_name_exactly_that_row(tmp_path):
    n, bad = 1_000_000, 500_000
    path = tmp_path / "big.csv"
    statuses = ("Closed Won,won", "Closed Lost,lost", "Proposal,open")
    lines = [
        f"D{i},2025-{1 + i % 12:02d}-{1 + i % 28:02d},2025-12-{1 + i % 28:02d},"
        f"{statuses[i % 3]},{100 + i % 9000}.50,USD,P{i % 7},Owner {i % 40}"
        for i in range(n)
    ]
    lines[bad] = lines[bad].replace(".50,USD", ".50 twelve,USD")
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ExportError) as info:
        load_export(path, as_of=AS_OF)
    seconds = time.perf_counter() - started
    print(f"\nloading {n:,} rows with one bad row took {seconds:.1f} s")
    (problem,) = info.value.problems
    assert (problem.column, problem.rows, problem.reason) == (
        "amount",
        (bad + 2,),
        "amount is not a number",
    )


# ---------------------------------------------------------------------------------------------
# Paths from a scheduler: with --root, nothing is read or written outside the folder


@pytest.fixture
def scheduled(tmp_path):
    """A root folder with an export, a folder outside it, and links from one to the other."""
    root, outside = tmp_path / "srv", tmp_path / "elsewhere"
    (root / "exports").mkdir(parents=True)
    outside.mkdir()
    for folder in (root / "exports", outside):
        (folder / "export.csv").write_text(HEADER + "\n" + GOOD_ROW + "\n")
    (root / "exports" / "link_out.csv").symlink_to(outside / "export.csv")
    (root / "exports" / "link_in.csv").symlink_to(root / "exports" / "export.csv")
    (root / "out_link").symlink_to(outside, target_is_directory=True)
    (root / "no_notebooks").mkdir()
    return root, outside


def scheduled_options(root: Path, **paths):
    from pipeline_models.run.runner import RunOptions

    base = {
        "export": root / "exports" / "export.csv",
        "period": "2025-03",
        "reports_dir": root / "reports",
        "data_dir": root / "data",
        "cache_dir": root / "fits",
        "notebooks": root / "no_notebooks",
        "root": root,
    }
    return RunOptions(**{**base, **paths})


@pytest.mark.parametrize(
    "option, path, what",
    [
        ("export", "exports/../../elsewhere/export.csv", "export"),
        ("export", "exports/link_out.csv", "export"),
        ("leads", "../elsewhere/export.csv", "leads file"),
        ("mapping", "out_link/mapping.yml", "mapping file"),
        ("previous_export", "out_link/export.csv", "previous export"),
        ("reports_dir", "out_link/reports", "reports folder"),
        ("reports_dir", "reports/../..", "reports folder"),
        ("data_dir", "out_link", "data folder"),
        ("cache_dir", "../elsewhere/fits", "fit cache folder"),
        ("cache_dir", "out_link/fits", "fit cache folder"),
    ],
)
def test_root_refuses_paths_that_leave_it(scheduled, option, path, what):
    from pipeline_models.run.runner import EXIT_BAD_INPUT, RunError, run

    root, outside = scheduled
    with pytest.raises(RunError) as info:
        run(scheduled_options(root, **{option: root / path}), progress=None)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert f"{what} {root / path} lies outside the allowed folder {root}" in str(info.value)
    assert not any(outside.glob("**/*.parquet")) and sorted(p.name for p in outside.iterdir()) == [
        "export.csv"
    ]


def test_root_accepts_links_that_stay_inside(scheduled):
    from pipeline_models.run.runner import RunError, run

    root, _ = scheduled
    with pytest.raises(RunError, match="no report notebooks"):  # past the root check
        run(scheduled_options(root, export=root / "exports" / "link_in.csv"), progress=None)


def test_run_with_root_refuses_a_traversal_on_the_command_line(scheduled):
    root, _ = scheduled
    done = cli(
        "run",
        "--root",
        str(root),
        "--export",
        "exports/../../elsewhere/export.csv",
        "--period",
        "2025-03",
        "--out",
        "reports",
        cwd=root,
    )
    assert done.returncode == 2
    assert "lies outside the allowed folder" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
