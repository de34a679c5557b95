"""Bounds on the work an export may cause: each file far outside a CRM export is refused at once,
with one short problem naming the file and the bound (the CLI's exit code 2)."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from io_exports import GOOD_ROWS, HEADER, problems_of, write

from pipeline_models.contract.problems import ExportError, Problem
from pipeline_models.io import limits
from pipeline_models.io.opportunities import load_export
from pipeline_models.io.readers import read_table


def refusal(path, **kwargs) -> Problem:
    """The one problem a refused load gives."""
    (problem,) = problems_of(path, **kwargs)
    assert problem.file == str(path)
    return problem


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline_models.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_header_wider_than_the_limit_is_refused_before_its_rows_are_read(tmp_path):
    extra = limits.MAX_COLUMNS - len(HEADER.split(",")) + 1
    header = HEADER + "," + ",".join(f"x{i}" for i in range(extra))
    path = write(tmp_path, [r + "," * extra for r in GOOD_ROWS], header=header)
    problem = refusal(path)
    assert f"{limits.MAX_COLUMNS + 1:,} columns" in problem.reason
    assert f"at most {limits.MAX_COLUMNS:,}" in problem.reason


def test_a_header_at_the_limit_loads(tmp_path):
    extra = limits.MAX_COLUMNS - len(HEADER.split(","))
    header = HEADER + "," + ",".join(f"x{i}" for i in range(extra))
    path = write(tmp_path, [r + "," * extra for r in GOOD_ROWS], header=header)
    assert len(load_export(path, as_of="2025-12-31").frame) == 3


def test_a_very_wide_header_prints_a_short_message(tmp_path):
    # 20,000 unknown columns: once a list of every missing column with the whole header each
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"col{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n")
    done = cli("validate", "--export", str(path))
    assert done.returncode == 2
    assert "the header has 20,000 columns" in done.stderr and len(done.stderr) < 1_000


def test_a_cell_longer_than_the_limit_is_refused_with_its_column_and_row(tmp_path):
    long = "W" * (limits.MAX_CELL_CHARS + 1)
    path = write(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1].replace("Widget", long), GOOD_ROWS[2]])
    problem = refusal(path)
    assert (problem.column, problem.rows) == ("product", (3,))
    assert f"more than {limits.MAX_CELL_CHARS:,} characters" in problem.reason
    assert len(str(problem)) < 300


def test_a_cell_at_the_limit_loads(tmp_path):
    label = "W" * limits.MAX_CELL_CHARS
    path = write(tmp_path, [GOOD_ROWS[0].replace("Widget", label), *GOOD_ROWS[1:]])
    assert load_export(path, as_of="2025-12-31").frame.loc[0, "product"] == label


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x07", "\x7f", "\x85"])
def test_a_control_character_in_a_cell_is_a_problem_with_column_and_row(tmp_path, char):
    path = write(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1].replace("Bob", f"B{char}ob"), GOOD_ROWS[2]])
    problem = refusal(path, on_bad_rows="skip")
    assert (problem.column, problem.rows) == ("owner", (3,))
    assert f"U+{ord(char):04X}" in problem.reason
    assert char not in str(problem)  # shown as an escape, never echoed raw


def test_tabs_and_line_breaks_in_a_quoted_cell_are_text(tmp_path):
    path = write(tmp_path, [GOOD_ROWS[0].replace("Widget", '"Wid\tget\r\nPro"'), *GOOD_ROWS[1:]])
    assert load_export(path, as_of="2025-12-31").frame.loc[0, "product"] == "Wid\tget\r\nPro"


def test_a_control_character_in_the_header_is_a_problem(tmp_path):
    path = write(tmp_path, GOOD_ROWS, header=HEADER + ",No\x00tes")
    with pytest.raises(ExportError) as error:
        read_table(path)
    (problem,) = error.value.problems
    assert problem.column == "No\x00tes" and "U+0000" in problem.reason
    assert "\x00" not in str(error.value) and "No\\x00tes" in str(error.value)


def test_a_nul_byte_that_passed_validate_now_fails_it(tmp_path):
    path = write(tmp_path, [GOOD_ROWS[0].replace("Widget", "Wid\x00get"), *GOOD_ROWS[1:]])
    done = cli("validate", "--export", str(path))
    assert done.returncode == 2
    assert "column 'product', row 2" in done.stderr and "'\\x00'" in done.stderr


def test_a_named_pipe_is_refused_at_once(tmp_path):
    fifo = tmp_path / "export.csv"
    os.mkfifo(fifo)
    with pytest.raises(ExportError) as error:
        read_table(fifo)
    assert "named pipe" in error.value.problems[0].reason
    # the command line may refuse it before the loader does; either way at once, with exit 2
    done = cli("validate", "--export", str(fifo), timeout=60)  # a hang ends as TimeoutExpired
    assert done.returncode == 2 and str(fifo) in done.stderr
    assert "not a regular file" in done.stderr or "named pipe" in done.stderr


def test_a_device_is_refused(tmp_path):
    with pytest.raises(ExportError) as error:
        read_table("/dev/zero")
    assert "device" in error.value.problems[0].reason


def _parquet(tmp_path, rows: int, value: str = "x"):
    path = tmp_path / "export.parquet"
    frame = pd.read_csv(write(tmp_path, GOOD_ROWS), dtype=str)
    frame = frame.sample(rows, replace=True, random_state=1).reset_index(drop=True)
    frame["product"] = value
    frame["opportunity_id"] = [f"A{i}" for i in range(rows)]
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_a_parquet_file_with_more_rows_than_the_limit_is_refused_from_its_metadata(
    tmp_path, monkeypatch
):
    path = _parquet(tmp_path, 6)
    monkeypatch.setattr(limits, "MAX_PARQUET_ROWS", 5)
    problem = refusal(path)
    assert problem.reason == "holds 6 rows; the loader reads at most 5"


def test_a_parquet_file_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    path = _parquet(tmp_path, 6)
    monkeypatch.setattr(limits, "MAX_PARQUET_BYTES", 100)
    assert "unpacks to" in refusal(path).reason


def test_repeated_strings_are_measured_before_a_string_is_made_per_cell(tmp_path, monkeypatch):
    # stored once in the file, a label repeated on every row is one string per cell once read
    path = _parquet(tmp_path, 2_000, value="P" * 5_000)
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(limits, "MAX_TEXT_BYTES", 5_000_000)
    problem = refusal(path)
    assert "would take 10.1 MB as text" in problem.reason


def test_a_parquet_file_within_the_limits_loads(tmp_path):
    assert len(load_export(_parquet(tmp_path, 6), as_of="2025-12-31").frame) == 6


def _workbook(tmp_path, rows: int):
    import openpyxl

    path = tmp_path / "export.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    for i in range(rows):
        sheet.append([f"A{i}", *GOOD_ROWS[0].split(",")[1:]])
    book.save(path)
    return path


def test_an_excel_sheet_with_more_rows_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = _workbook(tmp_path, 5)
    monkeypatch.setattr(limits, "MAX_SHEET_ROWS", 4)
    problem = refusal(path)
    assert "the sheet has more than 4 rows (it declares 6)" in problem.reason


def test_an_excel_sheet_is_counted_as_it_is_read(tmp_path, monkeypatch):
    # a sheet may not declare its size, or declare it wrong: the rows read are counted
    path = _workbook(tmp_path, 5)
    monkeypatch.setattr(limits, "MAX_SHEET_ROWS", 4)
    original = limits.check_sheet_rows
    monkeypatch.setattr(
        "pipeline_models.io.readers.check_sheet_rows",
        lambda rows, name, declared=False: None if declared else original(rows, name),
    )
    assert refusal(path).reason.startswith("the sheet has more than 4 rows, the most")


def test_an_excel_file_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    path = _workbook(tmp_path, 5)
    monkeypatch.setattr(limits, "MAX_SHEET_BYTES", 1_000)
    assert "unpacks to" in refusal(path).reason


def test_an_excel_file_within_the_limits_loads(tmp_path):
    assert len(load_export(_workbook(tmp_path, 5), as_of="2025-12-31").frame) == 5
