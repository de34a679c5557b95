"""Reading a CSV, Parquet or Excel file as text cells, each record keeping its row number.

The readers never change the file they read. Every value is read as text, so that a problem
can quote the cell as the user sees it, and every record keeps its row number: the row a
spreadsheet shows it on (header = 1; an empty line is a row; a quoted value that spans lines
stays on one row).

Well-formed CSV goes through Arrow's parser in one pass; only a file whose records do not all have
the header's number of fields (or that holds empty lines) is read a second time, record by record,
so that each broken record is named by its row and kept for the quarantine file. A UTF-8 file goes
to Arrow as it is on disk, and only the columns asked for are read; a file in another encoding is
decoded first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import WARNING, ExportError, Problem

from .cells import BROKEN, RECORD_COLUMNS, ROW, TEXT, blank_records
from .limits import (
    check_cells,
    check_parquet,
    check_regular_file,
    check_sheet_rows,
    check_text_bytes,
    check_width,
    check_workbook,
)
from .sniffing import (
    DELIMITER_NAMES,
    CsvHead,
    file_kind,
    is_utf8,
    sniff_csv,
    sniff_delimiter,
    sniff_encoding,
)

Read = tuple[pd.DataFrame, dict, list]
"""What a reader gives: the text table, what was detected, and the problems found."""


def read_table(
    path: str | Path,
    sheet: str | int | None = None,
    columns: Collection[str] | None = None,
) -> Read:
    """Read a CSV, Parquet or Excel file as text cells, with row numbers in ``_row``.

    Empty records are left out (their rows are listed in ``info["blank_rows"]``). A CSV record
    whose field count differs from the header's is kept, padded, with its field count in
    ``_broken``. Returns the frame, what was detected (format, encoding, delimiter) and problems.

    ``columns`` names the header columns to read from a UTF-8 CSV whose records all have the
    header's number of fields; other files are read whole, and so is such a CSV when a record is
    empty in these columns (whether it is empty is decided on every column).

    A file that is not a regular file, or crosses a bound of :mod:`~pipeline_models.io.limits`
    (header width, cell length, control characters in cells, rows and bytes of Excel and
    Parquet), is refused with one problem naming the file and the bound.
    """
    path = Path(path)
    name = str(path)
    check_regular_file(path)
    frame, info, problems = _read_any(path, sheet, columns)
    check_duplicate_header([str(c) for c in frame.columns if c not in RECORD_COLUMNS], name)
    check_cells(frame, name)
    blank = blank_records(frame)
    if blank.any():
        rows = frame.loc[blank, ROW].to_numpy()
        last = frame.loc[~blank, ROW].max() if (~blank).any() else 0
        inner = tuple(int(r) for r in rows if r < last)
        info["blank_rows"] = [int(r) for r in rows]
        if inner:
            problems.append(Problem(name, "empty line ignored", rows=inner, severity=WARNING))
        frame = frame.loc[~blank.to_numpy()]
    if frame.empty:
        raise ExportError(
            [Problem(name, "the file has a header but no data rows")], headline="empty export"
        )
    return frame.reset_index(drop=True), info, problems


def _read_any(path: Path, sheet, columns: Collection[str] | None) -> Read:
    """The reader for the file's kind; a file it cannot read ends as a named problem."""
    name = str(path)
    kind = file_kind(path)
    try:
        if kind == "Parquet":
            return _read_parquet(path)
        if kind == "Excel":
            return _read_excel(path, sheet)
        return _read_csv(path, columns)
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(
            [Problem(name, f"cannot be read: {exc.strerror or exc}")], headline="cannot read"
        ) from None
    except Exception as exc:  # a damaged file: the reader's own words, never a traceback
        raise ExportError(
            [Problem(name, f"is not a readable {kind} file ({type(exc).__name__}: {exc})")],
            headline="cannot read the export",
        ) from None


def check_duplicate_header(header: list[str], name: str) -> None:
    """Refuse a header that names a column twice (also when only the case differs).

    Raises
    ------
    ExportError
        One problem per repeated name.
    """
    seen: dict[str, str] = {}
    problems = []
    for h in header:
        key = h.strip().lower()
        if not key:
            continue  # an unnamed column feeds nothing
        if key in seen:
            first = seen[key]
            reason = (
                f"column name '{h.strip()}' appears more than once in the header"
                if first == h.strip()
                else f"column names '{first}' and '{h.strip()}' differ only in case: "
                "the loader cannot tell them apart"
            )
            if not any(p.reason == reason for p in problems):
                problems.append(Problem(name, reason, column=h.strip()))
        else:
            seen[key] = h.strip()
    if problems:
        raise ExportError(problems, headline="the header repeats column names")


# ---------------------------------------------------------------------------------------------
# Parquet and Excel


def _read_parquet(path: Path) -> Read:
    """Read a Parquet file, its size checked on its metadata and its text size on its distinct
    values before a string is made per cell."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(path)
    parquet = pq.ParquetFile(path)
    check_parquet(parquet.metadata, name)
    schema = parquet.schema_arrow
    text_types = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary)
    strings = [f.name for f in schema if any(is_type(f.type) for is_type in text_types)]
    table = pq.read_table(path, read_dictionary=strings or None)
    check_text_bytes(_text_bytes(table), name)
    frame = table.to_pandas()
    del table
    frame.columns = [str(c).strip() for c in frame.columns]
    text = pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns}, index=frame.index)
    text[ROW] = np.arange(2, len(text) + 2)
    return text, {"format": "parquet"}, []


def _text_bytes(table) -> int:
    """Bytes the table's cells take as text: each string column's distinct values times how often
    they occur, about 20 characters for any other cell."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for column in table.columns:
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                lengths = pc.binary_length(chunk.dictionary)
                total += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
            else:
                total += 20 * len(chunk)
    return total


def _as_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(TEXT)
    return series.astype(TEXT)


def _excel_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed 12345 comes back as 12345.0
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, sheet) -> Read:
    import openpyxl

    name = str(path)
    check_workbook(path)
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet_name = sheet if sheet is not None else workbook.sheetnames[0]
        rows = _sheet_rows(workbook[sheet_name], name)
    finally:
        workbook.close()
    # the header is the first row holding anything; rows keep the numbers Excel shows
    start = next((i for i, r in enumerate(rows) if any(v.strip() for v in r)), None)
    if start is None:
        raise ExportError([Problem(str(path), "the sheet is empty")], headline="empty export")
    header = [h.strip() for h in rows[start]]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows[start + 1 :]]
    frame = pd.DataFrame(body, columns=header, dtype=TEXT)
    frame[ROW] = np.arange(start + 2, start + 2 + len(body))
    return frame, {"format": "excel", "sheet": sheet_name}, []


def _sheet_rows(worksheet, name: str) -> list[list[str]]:
    """The sheet's rows as text, refused at once when its declared size crosses a bound, and
    while reading when it turns out larger than declared."""
    check_sheet_rows(worksheet.max_row, name, declared=True)
    check_width(worksheet.max_column or 0, name)
    rows = []
    for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
        check_sheet_rows(number, name)
        check_width(len(values), name)
        rows.append([_excel_text(v) for v in values])
    return rows


# ---------------------------------------------------------------------------------------------
# CSV


def _delimiter_problems(name: str, delimiter: str) -> list[Problem]:
    if delimiter == ",":
        return []
    return [
        Problem(
            name,
            f"fields are separated by {DELIMITER_NAMES[delimiter]}, not commas: "
            f"read with {delimiter!r} as delimiter",
            severity=WARNING,
        )
    ]


def _read_csv(path: Path, columns: Collection[str] | None = None) -> Read:
    """Read a CSV: a UTF-8 file straight from disk (only ``columns``, when given and no record is
    empty in them), anything else decoded in memory first."""
    head = sniff_csv(path)
    if head is not None:
        read = _read_csv_utf8(path, head, columns)
        if read is not None:
            return read
    return _read_csv_text(path)


def _read_csv_utf8(path: Path, head: CsvHead, columns: Collection[str] | None) -> Read | None:
    """Arrow reads the file as it is on disk; None when it is not the well-formed UTF-8 file it
    seemed (a ragged record, a byte that is not UTF-8, a repeated column name): the caller then
    reads it as text, which names every such problem."""
    import pyarrow as pa

    name = str(path)
    header = list(head.header)
    check_width(len(header), name)
    try:
        check_duplicate_header(header, name)
    except ExportError:
        return None
    positions = None
    if columns is not None:
        wanted = set(columns)
        positions = [i for i, h in enumerate(header) if h in wanted]
        if len(positions) == len(header):
            positions = None
    if positions is not None and head.encoding == "utf-8" and not is_utf8(path):
        return None  # Arrow checks only the columns it reads
    with pa.input_stream(str(path), compression=None) as stream:
        stream.read(head.marks)
        frame = _read_csv_arrow(stream, head.delimiter, len(header), positions)
    if frame is None:
        return None
    if positions is not None and blank_records(frame).any():
        # a record empty in these columns may hold something in the others
        return _read_csv_utf8(path, head, None)
    kept = header if positions is None else [header[i] for i in positions]
    frame.columns = [*kept, *frame.columns[len(kept) :]]
    info = {"format": "csv", "encoding": head.encoding, "delimiter": head.delimiter}
    return frame, info, _delimiter_problems(name, head.delimiter)


def _read_csv_text(path: Path) -> Read:
    """Read a CSV decoded in memory: any encoding, and records that Arrow cannot split."""
    name = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise ExportError([Problem(name, "the file is empty")], headline="empty export")
    encoding, note = sniff_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    del raw
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip(" \t\r\n\x00"):
        raise ExportError([Problem(name, "the file is empty")], headline="empty export")
    problems = [Problem(name, note, severity=WARNING)] if note else []
    delimiter = sniff_delimiter(text)
    problems += _delimiter_problems(name, delimiter)
    header = [
        h.strip() for h in next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    ]
    check_width(len(header), name)
    check_duplicate_header(header, name)
    info = {"format": "csv", "encoding": encoding, "delimiter": delimiter}
    frame = _read_csv_arrow(io.BytesIO(text.encode("utf-8")), delimiter, len(header))
    if frame is None:
        frame = _read_csv_records(text, delimiter, len(header), name)
        info["parser"] = "record by record"
    frame.columns = [*header, *frame.columns[len(header) :]]
    return frame, info, problems


def _read_csv_arrow(
    source, delimiter: str, width: int, positions: list[int] | None = None
) -> pd.DataFrame | None:
    """Parse well-formed UTF-8 CSV with Arrow, keeping the columns at ``positions`` (default:
    all); None when a record is ragged, a cell is not UTF-8, or Arrow gives up."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    ragged = []

    def on_invalid(row) -> str:
        ragged.append(row)
        return "skip"

    names = [f"c{i}" for i in range(width)]
    kept = names if positions is None else [names[i] for i in positions]
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=kept,
                column_types=dict.fromkeys(kept, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if ragged:
        return None
    frame = table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get)
    del table
    frame = frame.iloc[1:]  # the header, read as a record so that it is split the same way
    frame[ROW] = np.arange(2, len(frame) + 2)
    return frame


def _read_csv_records(text: str, delimiter: str, width: int, name: str) -> pd.DataFrame:
    """Split CSV text record by record, keeping records whose field count differs from the header's.

    A short record is padded with empty cells; a long one keeps its extra fields joined into its
    last cell, so the quarantine file holds the record whole.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records, numbers, counts = [], [], []
    number = 1
    try:
        next(reader)
        for number, fields in enumerate(reader, start=2):
            n = len(fields)
            if n == width:
                records.append(fields)
            elif n > width:
                records.append([*fields[: width - 1], delimiter.join(fields[width - 1 :])])
            else:
                records.append(fields + [""] * (width - n))
            numbers.append(number)
            counts.append(n)
    except csv.Error as exc:
        raise ExportError(
            [Problem(name, f"record cannot be split into fields ({exc})", rows=(number + 1,))],
            headline="cannot read the export",
        ) from None
    frame = pd.DataFrame(records, columns=[f"c{i}" for i in range(width)], dtype=TEXT)
    frame[ROW] = numbers
    counts = np.asarray(counts)
    empty = np.asarray([not any(f.strip() for f in r) for r in records], dtype=bool)
    frame[BROKEN] = pd.array(np.where((counts != width) & ~empty, counts, 0), dtype="Int64")
    frame[BROKEN] = frame[BROKEN].mask(frame[BROKEN] == 0)
    return frame
