"""Bounds on the work one export may cause: what a file must be, how wide its header and how long
its cells may be, and how many rows and bytes an Excel or Parquet file may unpack to.

A CRM export is a few thousand to a few million short records. A file far outside that (a header
of a million columns, a label of 100 KB, a small Parquet or Excel file that unpacks to gigabytes, a
named pipe that never ends) is refused before the work starts, with one problem naming the file
and the bound it crosses, never after minutes of work and gigabytes of memory.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pandas as pd

from pipeline_models.contract.problems import MAX_PROBLEMS_SHOWN, ExportError, Problem

from .cells import RECORD_COLUMNS, ROW, TEXT

MAX_COLUMNS = 2_000
"""Columns a header may have: CRM exports have tens to a few hundred; each column costs a pass of
every check, so a header of a million columns took minutes and gigabytes before it was refused."""

MAX_CELL_CHARS = 10_000
"""Characters a cell may hold: a name, stage or note of a CRM fits in far fewer; a longer cell is
binary data or a runaway quote, and a label that long makes charts unreadable and huge."""

MAX_SHEET_ROWS = 500_000
"""Rows an Excel sheet may have: the Excel reader takes some 35,000 narrow rows a second, so this
is a quarter of a minute of reading (more for a wide sheet); a larger export loads faster as CSV."""

MAX_SHEET_BYTES = 1_000_000_000
"""Bytes an Excel file's parts may unpack to (1 GB): an .xlsx is a zip archive whose sheets
compress some 20-fold, so a small file can hold far more than its size says."""

MAX_PARQUET_ROWS = 5_000_000
"""Rows a Parquet file may have: five times the largest CSV export the loader is tested on."""

MAX_PARQUET_CELLS = 100_000_000
"""Cells (rows times columns) a Parquet file may have: each becomes a text cell in memory."""

MAX_PARQUET_BYTES = 1_000_000_000
"""Bytes a Parquet file's columns may hold uncompressed (1 GB), as its metadata says."""

MAX_TEXT_BYTES = 2_000_000_000
"""Bytes the text of a Parquet file may take once read (2 GB): repeated strings are stored once
in a Parquet file but become one string per cell when read, so 576 KB can become gigabytes."""


def _refuse(name: str, reason: str, headline: str = "the export is too large to read") -> None:
    raise ExportError([Problem(name, reason)], headline=headline)


def check_regular_file(path: Path) -> None:
    """Refuse at once what is not a regular file: reading a named pipe or a device never ends.

    Raises
    ------
    ExportError
        The file is missing, a folder, or not a regular file.
    """
    name = str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        _refuse(name, "file not found", "cannot read the export")
    except OSError as exc:
        _refuse(name, f"cannot be read: {exc.strerror or exc}", "cannot read the export")
    if stat.S_ISDIR(mode):
        _refuse(name, "is a folder, not a file", "cannot read")
    if not stat.S_ISREG(mode):
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a device or socket"
        _refuse(name, f"is {kind}, not a regular file: save the export as a file", "cannot read")


def check_width(width: int, name: str) -> None:
    """Refuse a header of more than :data:`MAX_COLUMNS` columns."""
    if width > MAX_COLUMNS:
        _refuse(
            name,
            f"the header has {width:,} columns; the loader reads at most {MAX_COLUMNS:,} "
            "(a CRM export has far fewer: is this the right file, and its delimiter?)",
        )


def check_parquet(metadata, name: str) -> None:
    """Refuse a Parquet file whose metadata (read before any data) crosses a bound."""
    rows, width = metadata.num_rows, metadata.num_columns
    check_width(width, name)
    if rows > MAX_PARQUET_ROWS:
        _refuse(name, f"holds {rows:,} rows; the loader reads at most {MAX_PARQUET_ROWS:,}")
    if rows * width > MAX_PARQUET_CELLS:
        _refuse(
            name, f"holds {rows * width:,} cells; the loader reads at most {MAX_PARQUET_CELLS:,}"
        )
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if size > MAX_PARQUET_BYTES:
        _refuse(
            name, f"unpacks to {_size(size)}; the loader reads at most {_size(MAX_PARQUET_BYTES)}"
        )


def check_text_bytes(size: int, name: str) -> None:
    """Refuse a file whose cells would take more than :data:`MAX_TEXT_BYTES` as text."""
    if size > MAX_TEXT_BYTES:
        _refuse(
            name,
            f"its cells would take {_size(size)} as text (values repeated many times); "
            f"the loader reads at most {_size(MAX_TEXT_BYTES)}",
        )


def check_workbook(path: Path) -> None:
    """Refuse an Excel file whose parts unpack to more than :data:`MAX_SHEET_BYTES`, from the sizes
    its zip directory declares (the reader never unpacks more than declared)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return  # not an .xlsx archive: the Excel reader names what it is
    with zipfile.ZipFile(path) as archive:
        size = sum(info.file_size for info in archive.infolist())
    if size > MAX_SHEET_BYTES:
        _refuse(
            str(path),
            f"unpacks to {_size(size)}; the loader reads at most {_size(MAX_SHEET_BYTES)}",
        )


def check_sheet_rows(rows: int | None, name: str, declared: bool = False) -> None:
    """Refuse a sheet of more than :data:`MAX_SHEET_ROWS` rows: the size the sheet declares
    (``declared``), or the rows read so far."""
    if rows is not None and rows > MAX_SHEET_ROWS:
        size = f" (it declares {rows:,})" if declared else ""
        _refuse(
            name,
            f"the sheet has more than {MAX_SHEET_ROWS:,} rows{size}, the most the loader reads "
            "from Excel: save it as CSV",
        )


def _size(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


# ---------------------------------------------------------------------------------------------
# Cells


_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
"""The characters of :data:`~pipeline_models.contract.problems.CONTROL` as a regular expression
(Arrow's engine reads the escapes; the characters themselves would end the pattern at a NUL)."""


def _rows(frame: pd.DataFrame, mask) -> tuple[int, ...]:
    return tuple(int(r) for r in frame[ROW].to_numpy()[mask])


def _control_reason(example: str) -> str:
    char = re.search(_CONTROL_PATTERN, example).group(0)
    return (
        f"cell holds the control character {char!r} (U+{ord(char):04X}): binary data or a "
        "damaged export; remove it in the CRM or the spreadsheet"
    )


def cell_problems(frame: pd.DataFrame, name: str) -> list[Problem]:
    """Header names and cells holding control characters or more than :data:`MAX_CELL_CHARS`
    characters, one problem per column and kind (naming its rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    problems = []
    for column in frame.columns:
        if column in RECORD_COLUMNS:
            continue
        if re.search(_CONTROL_PATTERN, str(column)):
            problems.append(Problem(name, _control_reason(str(column)), column=str(column)))
        cells = pa.array(frame[column].astype(TEXT).array)
        too_long = pc.fill_null(pc.greater(pc.utf8_length(cells), MAX_CELL_CHARS), False)
        if pc.any(too_long).as_py():
            mask = too_long.to_numpy(zero_copy_only=False)
            problems.append(
                Problem(
                    name,
                    f"cell holds more than {MAX_CELL_CHARS:,} characters "
                    f"(the longest {pc.max(pc.utf8_length(cells)).as_py():,})",
                    column=str(column),
                    rows=_rows(frame, mask),
                )
            )
        control = pc.fill_null(pc.match_substring_regex(cells, _CONTROL_PATTERN), False)
        if pc.any(control).as_py():
            mask = control.to_numpy(zero_copy_only=False)
            example = cells.filter(control)[0].as_py()
            problems.append(
                Problem(name, _control_reason(example), column=str(column), rows=_rows(frame, mask))
            )
        if len(problems) > MAX_PROBLEMS_SHOWN:
            break  # enough to say what is wrong with the file
    return problems


def check_cells(frame: pd.DataFrame, name: str) -> None:
    """Refuse a table whose header or cells hold control characters or over-long cells.

    Raises
    ------
    ExportError
        One problem per column and kind, each naming the column and its rows.
    """
    problems = cell_problems(frame, name)
    if problems:
        raise ExportError(problems, headline="cells the loader cannot read")
