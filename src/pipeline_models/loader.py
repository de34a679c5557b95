"""Read a CRM export (CSV, Parquet or Excel) into the canonical contract, listing every problem.

The loader never changes the file it reads. Every value is read as text first, so that a problem
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

import codecs
import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import presets as presets_module
from .presets import Mapping, get_mapping, guess_preset
from .problems import ERROR, WARNING, ExportError, Problem, errors_of
from .schema import (
    GROUP_COLUMNS,
    LEADS,
    OPPORTUNITIES,
    REQUIRED_LEAD_COLUMNS,
    REQUIRED_OPPORTUNITY_COLUMNS,
    conform_opportunities,
)

ROW = "_row"
"""Internal column: the record's row number in the file (header = 1)."""

BROKEN = "_broken"
"""Internal column, present only when needed: how many fields a record holds when that differs
from the header (its cells are then padded or, for extra fields, joined into the last cell)."""

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_BAD_ROWS_MODES = ("error", "skip")
_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_TEXT = pd.StringDtype("pyarrow")
_SNIFF_BYTES = 1 << 22
"""How much of a CSV is read to detect its encoding, delimiter and header (4 MiB)."""


@dataclass
class LoadResult:
    """A canonical table with what was understood and what was wrong.

    ``frame`` is the canonical opportunities (or leads) table; ``problems`` holds warnings (and,
    with ``on_bad_rows="skip"``, the row errors whose rows went to ``quarantine``); ``info`` says
    what was understood (encoding, delimiter, mapping, column sources, status counts, and
    ``rows``: the data records the file holds).
    """

    frame: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]


# ---------------------------------------------------------------------------------------------
# Reading raw text tables


def sniff_encoding(raw: bytes) -> tuple[str, str | None]:
    """Encoding of ``raw`` (BOM first, then UTF-8, then Windows-1252), and a note when not UTF-8."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    utf16 = "encoded as UTF-16, not UTF-8: read as UTF-16"
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", utf16
    # UTF-16 without BOM: every other byte is zero in ASCII text
    sample = raw[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        return ("utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"), utf16
    try:
        raw.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as exc:
        return "cp1252", f"not valid UTF-8 (byte {exc.start}); read as Windows-1252 / Latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the header and first lines most consistently."""
    head = text[: 1 << 16]
    lines = [line for line in head.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (-1, 0)
    for delim in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([line], delimiter=delim))) for line in lines]
        if counts[0] <= 1:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".parquet": "Parquet", ".xlsx": "Excel", ".xlsm": "Excel", ".xls": "Excel"}.get(
        suffix, "CSV"
    )


def read_header(path: str | Path) -> list[str] | None:
    """The column names of a CSV file, from its first lines only.

    None when the file is not a CSV, cannot be read, or is not one :func:`read_table` can read
    column by column (not UTF-8, or a header that does not fit in its first 4 MiB).
    """
    path = Path(path)
    if _kind(path) != "CSV":
        return None
    try:
        head = _sniff_csv(path)
    except Exception:  # read_table names what is wrong with the file
        return None
    return None if head is None else list(head.header)


def read_table(
    path: str | Path,
    sheet: str | int | None = None,
    columns: Collection[str] | None = None,
) -> tuple[pd.DataFrame, dict, list]:
    """Read a CSV, Parquet or Excel file as text cells, with row numbers in ``_row``.

    Empty records are left out (their rows are listed in ``info["blank_rows"]``). A CSV record
    whose field count differs from the header's is kept, padded, with its field count in
    ``_broken``. Returns the frame, what was detected (format, encoding, delimiter) and problems.

    ``columns`` names the header columns to read from a UTF-8 CSV whose records all have the
    header's number of fields; other files are read whole, and so is such a CSV when a record is
    empty in these columns (whether it is empty is decided on every column).
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ExportError([Problem(name, "file not found")], headline="cannot read the export")
    if path.is_dir():
        raise ExportError([Problem(name, "is a folder, not a file")], headline="cannot read")
    kind = _kind(path)
    try:
        if kind == "Parquet":
            frame, info, problems = _read_parquet(path)
        elif kind == "Excel":
            frame, info, problems = _read_excel(path, sheet)
        else:
            frame, info, problems = _read_csv(path, columns)
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
    _check_duplicate_header([str(c) for c in frame.columns if c not in (ROW, BROKEN)], name)
    blank = _blank_records(frame)
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


def _blank_records(frame: pd.DataFrame) -> pd.Series:
    blank = pd.Series(True, index=frame.index)
    for column in frame.columns:
        if column not in (ROW, BROKEN):
            blank &= _blank(frame[column])
    return blank


def _read_parquet(path: Path) -> tuple[pd.DataFrame, dict, list]:
    frame = pd.read_parquet(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    text = pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns}, index=frame.index)
    text[ROW] = np.arange(2, len(text) + 2)
    return text, {"format": "parquet"}, []


def _as_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(_TEXT)
    return series.astype(_TEXT)


def _excel_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed 12345 comes back as 12345.0
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _read_excel(path: Path, sheet) -> tuple[pd.DataFrame, dict, list]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheet_name = sheet if sheet is not None else workbook.sheetnames[0]
        rows = [
            [_excel_text(v) for v in r] for r in workbook[sheet_name].iter_rows(values_only=True)
        ]
    finally:
        workbook.close()
    # the header is the first row holding anything; rows keep the numbers Excel shows
    start = next((i for i, r in enumerate(rows) if any(v.strip() for v in r)), None)
    if start is None:
        raise ExportError([Problem(str(path), "the sheet is empty")], headline="empty export")
    header = [h.strip() for h in rows[start]]
    width = len(header)
    body = [(r + [""] * width)[:width] for r in rows[start + 1 :]]
    frame = pd.DataFrame(body, columns=header, dtype=_TEXT)
    frame[ROW] = np.arange(start + 2, start + 2 + len(body))
    return frame, {"format": "excel", "sheet": sheet_name}, []


def _check_duplicate_header(header: list[str], name: str) -> None:
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


@dataclass(frozen=True)
class _CsvHead:
    """What the first bytes of a UTF-8 CSV say: enough to hand the file to Arrow as it is."""

    encoding: str  # "utf-8" or "utf-8-sig"
    marks: int  # bytes of byte order marks before the header
    delimiter: str
    header: tuple[str, ...]


def _sniff_csv(path: Path) -> _CsvHead | None:
    """Encoding, delimiter and header of a CSV from its first bytes, as :func:`_read_csv_text`
    would find them in the whole file; None unless the file looks like UTF-8 and those bytes hold
    what is needed (text enough to sniff the delimiter, the whole header).

    A file read as plain UTF-8 must also be valid UTF-8 throughout, which is checked later.
    """
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES + 1)
    whole = len(head) <= _SNIFF_BYTES
    if not whole:
        # up to the last line break: a whole number of characters, and enough of them to sniff
        # the delimiter from the same text as the whole file gives
        cut = head.rfind(b"\n", 0, _SNIFF_BYTES) + 1
        if cut < 1 << 20:
            return None
        head = head[:cut]
    if not head.strip():
        return None
    encoding, note = sniff_encoding(head)
    if note or encoding not in ("utf-8", "utf-8-sig"):
        return None
    try:
        text = head.decode(encoding)
    except UnicodeDecodeError:
        return None
    marks = 3 if encoding == "utf-8-sig" else 0
    if text.startswith("\ufeff"):
        text = text[1:]
        marks += 3
    if not text.strip(" \t\r\n\x00"):
        return None
    delimiter = sniff_delimiter(text)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(records)
        if not whole and next(records, None) is None:
            return None  # the header may go on past these bytes
    except csv.Error:
        return None
    return _CsvHead(encoding, marks, delimiter, tuple(h.strip() for h in header))


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8 (read in blocks; ASCII blocks are only scanned)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 24):
                if decoder.getstate()[0] or not block.isascii():
                    decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _delimiter_problems(name: str, delimiter: str) -> list[Problem]:
    if delimiter == ",":
        return []
    return [
        Problem(
            name,
            f"fields are separated by {_DELIMITER_NAMES[delimiter]}, not commas: "
            f"read with {delimiter!r} as delimiter",
            severity=WARNING,
        )
    ]


def _read_csv(
    path: Path, columns: Collection[str] | None = None
) -> tuple[pd.DataFrame, dict, list]:
    """Read a CSV: a UTF-8 file straight from disk (only ``columns``, when given and no record is
    empty in them), anything else decoded in memory first."""
    head = _sniff_csv(path)
    if head is not None:
        read = _read_csv_utf8(path, head, columns)
        if read is not None:
            return read
    return _read_csv_text(path)


def _read_csv_utf8(
    path: Path, head: _CsvHead, columns: Collection[str] | None
) -> tuple[pd.DataFrame, dict, list] | None:
    """Arrow reads the file as it is on disk; None when it is not the well-formed UTF-8 file it
    seemed (a ragged record, a byte that is not UTF-8, a repeated column name): the caller then
    reads it as text, which names every such problem."""
    import pyarrow as pa

    name = str(path)
    header = list(head.header)
    try:
        _check_duplicate_header(header, name)
    except ExportError:
        return None
    positions = None
    if columns is not None:
        wanted = set(columns)
        positions = [i for i, h in enumerate(header) if h in wanted]
        if len(positions) == len(header):
            positions = None
    if positions is not None and head.encoding == "utf-8" and not _is_utf8(path):
        return None  # Arrow checks only the columns it reads
    with pa.input_stream(str(path), compression=None) as stream:
        stream.read(head.marks)
        frame = _read_csv_arrow(stream, head.delimiter, len(header), positions)
    if frame is None:
        return None
    if positions is not None and _blank_records(frame).any():
        # a record empty in these columns may hold something in the others
        return _read_csv_utf8(path, head, None)
    kept = header if positions is None else [header[i] for i in positions]
    frame.columns = [*kept, *frame.columns[len(kept) :]]
    info = {"format": "csv", "encoding": head.encoding, "delimiter": head.delimiter}
    return frame, info, _delimiter_problems(name, head.delimiter)


def _read_csv_text(path: Path) -> tuple[pd.DataFrame, dict, list]:
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
    _check_duplicate_header(header, name)
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
    frame = table.to_pandas(types_mapper={pa.string(): _TEXT, pa.large_string(): _TEXT}.get)
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
    frame = pd.DataFrame(records, columns=[f"c{i}" for i in range(width)], dtype=_TEXT)
    frame[ROW] = numbers
    counts = np.asarray(counts)
    empty = np.asarray([not any(f.strip() for f in r) for r in records], dtype=bool)
    frame[BROKEN] = pd.array(np.where((counts != width) & ~empty, counts, 0), dtype="Int64")
    frame[BROKEN] = frame[BROKEN].mask(frame[BROKEN] == 0)
    return frame


# ---------------------------------------------------------------------------------------------
# Parsing cells


def _blank(series: pd.Series) -> pd.Series:
    """Cells that are missing, empty or nothing but whitespace (a boolean Series)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(series.astype(_TEXT).array)
    # whitespace as str.strip() sees it on Arrow text, without making the stripped copy
    blank = pc.fill_null(
        pc.or_(pc.equal(pc.binary_length(cells), 0), pc.utf8_is_space(cells)), True
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(blank), index=series.index, name=series.name)


def _strip(series: pd.Series) -> pd.Series:
    """``series.str.strip()``; ``series`` itself when no cell has whitespace around it, so that a
    column of a large export is not held twice."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = series.str.strip()
    # stripping only shortens cells: the same number of bytes means nothing was stripped
    before, after = (pc.sum(pc.binary_length(pa.array(s.array))) for s in (series, stripped))
    return series if before == after else stripped


def _text(series: pd.Series) -> pd.Series:
    return _strip(series.astype(_TEXT))


def _map(series: pd.Series, mapper: dict | pd.Series) -> pd.Series:
    """``series.map(mapper)``, looking up each distinct value once (a large column of text is
    not turned into Python strings)."""
    codes, uniques = series.array.factorize()
    looked_up = pd.Series(uniques).map(mapper)
    return pd.Series(
        looked_up.array.take(codes, allow_fill=True), index=series.index, name=series.name
    )


def _distinct(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct cells of ``series`` as text, and where each cell is among them (-1: a
    missing cell). A column of a large export repeats most of its values, so each distinct value
    is parsed once."""
    codes, cells = series.astype(_TEXT).array.factorize()
    return codes, pd.Series(cells)


def _spread(values: pd.Series, codes: np.ndarray, index: pd.Index, fill=None) -> pd.Series:
    """Per cell, the value found for its distinct cell (``fill`` for a missing cell)."""
    return pd.Series(values.array.take(codes, allow_fill=True, fill_value=fill), index=index)


def _extract(series: pd.Series, pattern: str) -> pd.DataFrame:
    """Named groups of ``pattern`` for cells that match it (Arrow's regex engine: fast)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    plain = re.sub(r"\(\?P<\w+>", "(?:", pattern)  # the same pattern without its groups
    matched = _flag(series.astype(_TEXT).str.contains(plain, regex=True))
    subset = series[matched].astype(_TEXT)
    if subset.empty:
        return pd.DataFrame(index=subset.index)
    struct = pc.extract_regex(pa.array(subset.array), pattern=pattern)
    return pd.DataFrame(
        {
            struct.type.field(i).name: pd.Series(struct.field(i), index=subset.index, dtype=_TEXT)
            for i in range(struct.type.num_fields)
        }
    )


_SLASHED = r"^(?P<first>\d{1,2})[/.\-](?P<second>\d{1,2})[/.\-](?P<year>\d{4}|\d{2})(?:$|[ T])"
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_TIME_ZONE = r"^(.*\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) *(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_NS_MIN, _NS_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


@dataclass
class _DateOrder:
    """How the slashed dates of an export's date columns are ordered."""

    dayfirst: bool | None  # None: no slashed dates, or both orders seen
    mixed: bool = False
    ambiguous: bool = False  # slashed dates seen, none with a part above 12
    slashed: list[bool] = field(default_factory=list)  # per column: holds slashed dates
    evidence: list[pd.Series] = field(default_factory=list)  # per column: a part above 12
    dayfirst_example: str = ""
    monthfirst_example: str = ""


def _date_order(columns: list[pd.Series]) -> _DateOrder:
    """Decide day-first or month-first from every slashed date of the export at once.

    A part above 12 in first place proves day-first, in second place month-first; an export that
    shows both is mixed, and one that shows neither is ambiguous (read month-first, with a warning).
    """
    order = _DateOrder(None)
    day_examples, month_examples = [], []
    for series in columns:
        codes, cells = _distinct(series)
        parts = _extract(_text(cells), _SLASHED)
        evidence = pd.Series(False, index=cells.index)
        order.slashed.append(not parts.empty)
        if not parts.empty:
            first, second = parts["first"].astype(int), parts["second"].astype(int)
            day_examples += cells[first[first > 12].index].head(1).tolist()
            month_examples += cells[second[second > 12].index].head(1).tolist()
            evidence[parts.index] = ((first > 12) | (second > 12)).to_numpy()
        order.evidence.append(_spread(evidence, codes, series.index, False))
    if day_examples and month_examples:
        order.mixed = True
        order.dayfirst_example, order.monthfirst_example = day_examples[0], month_examples[0]
    elif day_examples:
        order.dayfirst = True
    elif month_examples or any(order.slashed):
        order.dayfirst = False
        order.ambiguous = not month_examples
    return order


def parse_dates(
    series: pd.Series, date_format: str | None = None, dayfirst: bool | None = None
) -> tuple[pd.Series, pd.Series, str]:
    """Parse text dates; return (dates, unparseable mask, how they were read).

    Handles ISO dates (a time and a UTC offset are allowed; the date is the one written),
    day-first and month-first slashed dates (decided from values whose first or second part
    exceeds 12 unless ``dayfirst`` says), Excel serial numbers and an explicit ``date_format``.
    """
    codes, cells = _distinct(series)
    dates, bad, how = _parse_distinct_dates(cells, date_format, dayfirst)
    return _spread(dates, codes, series.index), _spread(bad, codes, series.index, False), how


def _parse_distinct_dates(
    series: pd.Series, date_format: str | None, dayfirst: bool | None
) -> tuple[pd.Series, pd.Series, str]:
    text = _text(series)
    blank = _blank(series)
    values = text[~blank]
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if date_format:
        found = pd.to_datetime(values, format=date_format, errors="coerce")
        _put(parsed, found)
        how = f"format {date_format}"
    else:
        serial = values.str.fullmatch(_SERIAL).fillna(False).astype(bool)
        if serial.any():
            days = values[serial].astype("float64")
            days = days[days.between(10_000, 80_000)]
            parsed[days.index] = EXCEL_EPOCH + pd.to_timedelta(days.round(), unit="D")
        parts = _extract(values[~serial], _SLASHED)
        slashed = pd.Series(False, index=values.index)
        slashed[parts.index] = True
        how = "ISO (YYYY-MM-DD)"
        if len(parts):
            first, second = parts["first"].astype(int), parts["second"].astype(int)
            if dayfirst is None:
                if (first > 12).any() and (second > 12).any():
                    how = "mixed day-first and month-first"
                dayfirst = bool((first > 12).any()) and not bool((second > 12).any())
            if not how.startswith("mixed"):
                how = "day-first (DD/MM/YYYY)" if dayfirst else "month-first (MM/DD/YYYY)"
            year = parts["year"].astype(int)
            year = year.where(year >= 100, year + 2000)
            found = pd.to_datetime(
                pd.DataFrame(
                    {
                        "year": year,
                        "month": second if dayfirst else first,
                        "day": first if dayfirst else second,
                    }
                ),
                errors="coerce",
            )
            _put(parsed, found)
        iso = values[~serial & ~slashed]
        if len(iso):
            # the date a CRM user saw is the one written: drop a UTC offset rather than convert
            zoned = _flag(iso.str.contains(_TIME_ZONE.replace("(.*", "(?:.*", 1)))
            if zoned.any():
                iso = iso.where(~zoned, iso[zoned].str.replace(_TIME_ZONE, r"\1", regex=True))
            _put(parsed, pd.to_datetime(iso, errors="coerce", format="ISO8601"))
            if len(parts):
                how = how + " and ISO"
        if serial.any():
            how = "Excel serial numbers" if serial.all() else how + " and Excel serial numbers"
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    out[parsed.index] = parsed
    bad = ~blank & out.isna()
    return out, bad, how


def _put(target: pd.Series, found: pd.Series) -> None:
    """Copy parsed dates into ``target`` (nanosecond dates; out-of-range dates stay NaT)."""
    if found.empty:
        return
    if getattr(found.dt, "tz", None) is not None:
        found = found.dt.tz_localize(None)
    inside = found.notna() & (found >= _NS_MIN) & (found <= _NS_MAX)
    target[found.index[inside.to_numpy()]] = found[inside].astype("datetime64[ns]")


def infer_dayfirst(series: pd.Series) -> bool | None:
    """Whether slashed dates are day-first: True when some first part exceeds 12 and no second
    part does, False otherwise; None when there are no slashed dates or both orders occur."""
    order = _date_order([series])
    return None if order.mixed else order.dayfirst


@dataclass
class _Amounts:
    amounts: pd.Series
    bad: pd.Series
    negative: pd.Series
    currency: pd.Series
    ambiguous: pd.Series  # could be read two ways and the column does not say which
    notes: list[tuple[str, tuple[str, ...]]]  # warnings: (reason, example cells)


_GROUP_MARKS = "[ \t\u00a0\u202f'\u2019]"
"""Marks that group thousands and never end a number: spaces, no-break spaces, apostrophes.
(Literal characters, not escapes, keep the pattern inside Arrow's fast regex engine.)"""
_PLAIN_NUMBER = r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_GROUPED = {
    ".": r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)",
    ",": r"(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)",
}


def _read_amounts(series: pd.Series, decimal: str | None = None) -> _Amounts:
    """Parse amounts written plainly or with currency signs, thousands separators, decimal commas.

    Which mark is the decimal one is decided for the whole column (or by ``decimal``): a cell
    such as '1.234,50', '99,5' or '1.234.567' shows a decimal comma; '1,234.50', '99.5' or
    '1,234,567' a decimal point. A cell like '1,234' or '1.234' is read by the column's
    convention: a decimal point when the column gives no sign (with a warning), and no reading
    at all when the column shows both (``ambiguous``).
    """
    codes, cells = _distinct(series)
    read = _read_distinct_amounts(cells, decimal)
    index = series.index
    return _Amounts(
        _spread(read.amounts, codes, index),
        _spread(read.bad, codes, index, False),
        _spread(read.negative, codes, index, False),
        _spread(read.currency, codes, index),
        _spread(read.ambiguous, codes, index, False),
        read.notes,
    )


def _read_distinct_amounts(series: pd.Series, decimal: str | None) -> _Amounts:
    text = _text(series)
    blank = _blank(series)
    index = series.index
    amounts = pd.Series(np.nan, index=index, dtype="float64")
    negative = pd.Series(False, index=index)
    currency = pd.Series(pd.NA, index=index, dtype="string")
    ambiguous = pd.Series(False, index=index)
    notes: list[tuple[str, tuple[str, ...]]] = []

    # the bulk of most exports: plain numbers, parsed in one cast
    fast = pd.Series(False, index=index)
    if decimal != ",":
        fast = _flag(text.str.fullmatch(_PLAIN_NUMBER)) & ~_flag(
            text.str.fullmatch(r"[+-]?\d{1,3}\.\d{3}")
        )
        if fast.any():
            amounts[fast[fast].index] = text[fast].astype("float64")
    point_seen = bool((fast & _flag(text.str.contains(".", regex=False))).any())
    rest = text[~blank & ~fast]
    if len(rest):
        cleaned = rest
        for symbol, code in _CURRENCY_SYMBOLS.items():
            has = _flag(cleaned.str.contains(symbol, regex=False))
            if has.any():
                currency[has[has].index] = code
                cleaned = cleaned.str.replace(symbol, "", regex=False)
        codes = _extract(cleaned, r"(?:^|[^A-Za-z])(?P<code>[A-Z]{3})(?:$|[^A-Za-z])")
        if len(codes):
            currency[codes.index] = currency[codes.index].fillna(codes["code"])
            cleaned = cleaned.str.replace(
                r"(^|[^A-Za-z])[A-Z]{3}($|[^A-Za-z])", r"\1\2", regex=True
            )
        signed = currency[rest.index].notna()
        if signed.any():
            found = ", ".join(sorted(set(currency[rest.index].dropna())))
            notes.append(
                (
                    f"amounts carry a currency sign or code: read as numbers in {found}",
                    tuple(rest[signed].unique()[:3]),
                )
            )
        spaced = _flag(cleaned.str.contains(r"\d" + _GROUP_MARKS + r"+\d", regex=True))
        cleaned = cleaned.str.replace(_GROUP_MARKS, "", regex=True)
        paren = _flag(cleaned.str.fullmatch(r"\(.*\)"))
        cleaned = cleaned.str.replace(r"^\((.*)\)$", r"\1", regex=True)
        minus = _flag(cleaned.str.startswith("-"))
        cleaned = cleaned.str.replace(r"^[+-]", "", regex=True)

        has_c = _flag(cleaned.str.contains(",", regex=False))
        has_d = _flag(cleaned.str.contains(".", regex=False))
        n_c, n_d = cleaned.str.count(","), cleaned.str.count(r"\.")
        amb_c = has_c & ~has_d & _flag(cleaned.str.fullmatch(r"\d{1,3},\d{3}"))
        amb_d = has_d & ~has_c & _flag(cleaned.str.fullmatch(r"\d{1,3}\.\d{3}"))
        point = (
            (has_c & has_d & _flag(cleaned.str.contains(r"\.\d*$")))
            | (has_c & ~has_d & (n_c >= 2))
            | (has_d & ~has_c & (n_d == 1) & ~amb_d)
        )
        comma = (
            (has_c & has_d & _flag(cleaned.str.contains(r",\d*$")))
            | (has_d & ~has_c & (n_d >= 2))
            | (has_c & ~has_d & (n_c == 1) & ~amb_c)
        )
        point_seen = point_seen or bool(point.any())
        comma_seen = bool(comma.any())
        if decimal is not None:
            mark = pd.Series(decimal, index=rest.index)
        else:
            mark = pd.Series(".", index=rest.index).mask(comma, ",")
            undecided = amb_c | amb_d
            if point_seen and comma_seen:
                ambiguous[undecided[undecided].index] = True
            elif comma_seen:
                mark = mark.mask(undecided, ",")
            elif not point_seen:
                for cells, reading in (
                    (amb_c, "',' as thousands separator"),
                    (amb_d, "'.' as decimal point"),
                ):
                    if cells.any():
                        notes.append(
                            (
                                f"amounts such as these can be read two ways: read with {reading}; "
                                "set decimal: ',' or decimal: '.' in a mapping file to be sure",
                                tuple(rest[cells].unique()[:3]),
                            )
                        )
        by_point = mark.eq(".")
        grouped = (by_point & _flag(cleaned.str.fullmatch(_GROUPED["."]))) | (
            ~by_point & _flag(cleaned.str.fullmatch(_GROUPED[","]))
        )
        good = grouped & ~ambiguous[rest.index]
        numeric = cleaned.where(~by_point, cleaned.str.replace(",", "", regex=False)).where(
            by_point, cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        )
        values = numeric[good].astype("float64")
        sign = (minus | paren)[good]
        values = values.where(~sign, -values)
        amounts[values.index] = values
        negative[rest.index] = (minus | paren) & good
        separated = good & (spaced | (by_point & has_c) | (~by_point & has_d))
        if separated.any():
            notes.append(
                (
                    "amounts are written with thousands separators: read as numbers",
                    tuple(rest[separated].unique()[:3]),
                )
            )
        decimal_comma = good & ~by_point & has_c
        if decimal_comma.any():
            notes.append(
                (
                    "amounts are written with a decimal comma: read as numbers",
                    tuple(rest[decimal_comma].unique()[:3]),
                )
            )
    amounts = amounts.where(np.isfinite(amounts))
    negative = (negative | amounts.lt(0).fillna(False)).astype(bool)
    bad = ~blank & amounts.isna() & ~ambiguous
    return _Amounts(amounts, bad, negative & ~bad, currency, ambiguous, notes)


def _flag(mask: pd.Series) -> pd.Series:
    """A nullable boolean result of a string method as plain bool (NA is False)."""
    return mask.fillna(False).astype(bool)


def parse_amounts(
    series: pd.Series, decimal: str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Parse amounts written with currency symbols, thousands separators or decimal commas.

    Returns (amounts, unparseable mask, negative mask, currency found in the cell or NA); a cell
    that the column leaves ambiguous counts as unparseable here.
    """
    parsed = _read_amounts(series, decimal)
    return parsed.amounts, parsed.bad | parsed.ambiguous, parsed.negative, parsed.currency


# ---------------------------------------------------------------------------------------------
# The export


def _rows(frame: pd.DataFrame, mask: pd.Series) -> tuple[int, ...]:
    """Line numbers of the rows ``mask`` selects (by index label, so a shorter frame works)."""
    selected = mask.index[mask.fillna(False).to_numpy(bool)]
    return tuple(int(r) for r in frame.loc[selected, ROW])


def _values(series: pd.Series, mask: pd.Series) -> tuple[str, ...]:
    return tuple(str(v) for v in series[mask.fillna(False).to_numpy(bool)].unique()[:5])


class _Collector:
    """Collects problems; row-level errors also mark their rows for quarantine.

    An error is *skippable* when leaving its rows out fixes it; an error without rows, or one
    added with ``skippable=False`` (say, dates written in two orders), fails the load in any mode.
    """

    def __init__(self, name: str, frame: pd.DataFrame):
        self.name = name
        self.problems: list[Problem] = []
        self.bad_rows: dict[int, list[str]] = {}
        self.skippable: list[Problem] = []
        self.frame = frame

    def add(self, reason, column=None, mask=None, values=(), severity=ERROR, skippable=True):
        rows = _rows(self.frame, mask) if mask is not None else ()
        if mask is not None and not rows:
            return
        problem = Problem(self.name, reason, column, rows, severity, tuple(values))
        self.problems.append(problem)
        if severity == ERROR and rows and skippable:
            self.skippable.append(problem)
            for r in rows:
                self.bad_rows.setdefault(r, []).append(f"{column}: {reason}" if column else reason)


def _resolve_columns(
    header: list[str], mapping: Mapping, name: str, required
) -> tuple[dict, list[Problem]]:
    """canonical -> list of present source columns; problems for missing required ones."""
    lookup = {c.strip().lower(): c for c in header}
    found: dict[str, list[str]] = {}
    for canonical in mapping.columns:
        present = [lookup[s.lower()] for s in mapping.sources(canonical) if s.lower() in lookup]
        if present:
            found[canonical] = present
    problems = []
    for canonical in required:
        if canonical == "status" and (mapping.status or mapping.open_stages):
            continue  # derived from the stage
        if canonical not in found:
            wanted = " or ".join(f"'{s}'" for s in mapping.sources(canonical)) or f"'{canonical}'"
            problems.append(
                Problem(
                    name,
                    f"required column {wanted} (canonical '{canonical}') is missing; "
                    f"the header has: {', '.join(header)}",
                    column=canonical,
                )
            )
    return found, problems


def _columns_to_read(path: Path, mapping: Mapping) -> list[str] | None:
    """The CSV header columns the mapping and its lookups use, or None to read every column
    (not a CSV that can be read column by column, a header the mapping does not fit, or no
    column left out)."""
    header = read_header(path)
    if header is None:
        return None
    found, missing = _resolve_columns(header, mapping, str(path), REQUIRED_OPPORTUNITY_COLUMNS)
    if missing:
        return None
    used = {s for sources in found.values() for s in sources}
    used.update(lookup.key for lookup in mapping.lookups)
    columns = [h for h in header if h in used]
    return columns if len(columns) < len(header) else None


def _coalesce(frame: pd.DataFrame, sources: list[str]) -> pd.Series:
    out = frame[sources[0]].astype("string")
    for other in sources[1:]:
        blank = _blank(out)
        if blank.any():
            out = out.mask(blank, frame[other].astype("string"))
    return out


def _apply_lookups(
    frame: pd.DataFrame, mapping: Mapping, path: Path, info: dict, problems: list
) -> pd.DataFrame:
    for lookup in mapping.lookups:
        side_path = path.parent / lookup.file
        if not side_path.exists():
            if not lookup.optional:
                problems.append(Problem(str(side_path), "side table not found"))
            continue
        side, _, side_problems = read_table(side_path)
        problems.extend(p for p in side_problems if p.severity == WARNING)
        if BROKEN in side:
            problems.append(
                Problem(
                    str(side_path),
                    "records with a different number of fields than the header are not used",
                    rows=_rows(side, side[BROKEN].notna()),
                    severity=WARNING,
                )
            )
            side = side.loc[side[BROKEN].isna().to_numpy()].drop(columns=[BROKEN])
        if lookup.key not in side or lookup.key not in frame:
            continue
        side = side.drop_duplicates(lookup.key).set_index(lookup.key)
        for source, canonical in lookup.columns.items():
            if source in side:
                frame[f"__lookup_{canonical}"] = _map(frame[lookup.key], side[source])
        keys = frame[lookup.key].astype("string")
        unmatched = ~_blank(keys) & ~keys.isin(side.index)
        if unmatched.any():
            spelled = {_label_key(k): k for k in side.index.astype(str)}
            hints = [
                f"'{v}' is spelled '{spelled[_label_key(v)]}' there"
                for v in keys[unmatched].unique()[:5]
                if _label_key(v) in spelled
            ]
            problems.append(
                Problem(
                    str(path),
                    f"{int(unmatched.sum())} rows have a {lookup.key} that {lookup.file} does "
                    "not list" + (f" ({'; '.join(hints)})" if hints else ""),
                    column=lookup.key,
                    rows=_rows(frame, unmatched),
                    severity=WARNING,
                    values=_values(keys, unmatched),
                )
            )
        info.setdefault("lookups", []).append(f"{lookup.file} by {lookup.key}")
    return frame


def load_export(
    path: str | Path,
    preset: str | None = None,
    mapping: Mapping | str | Path | None = None,
    on_bad_rows: str = "error",
    as_of: pd.Timestamp | str | None = None,
) -> LoadResult:
    """Load an opportunities export into the canonical table.

    Parameters
    ----------
    path
        CSV (any common delimiter and encoding), Parquet or Excel file.
    preset
        Built-in mapping name (``canonical``, ``salesforce``, ``hubspot``, ``pipedrive``, ``maven``).
    mapping
        A :class:`~pipeline_models.presets.Mapping` or the path of a mapping YAML file.
    on_bad_rows
        ``"error"`` (default): any row error fails the load. ``"skip"``: rows with errors move to
        ``LoadResult.quarantine`` with their reasons and the rest loads. So that the quarantine
        holds whole records, ``"skip"`` reads every column of a CSV; ``"error"`` reads only the
        columns the mapping uses from a well-formed UTF-8 CSV.
    as_of
        Dates after this instant are "in the future" (default: now).

    Raises
    ------
    ExportError
        Listing every problem found, each naming file, column, rows and reason.
    """
    if on_bad_rows not in _BAD_ROWS_MODES:
        raise ValueError(f"on_bad_rows must be one of {_BAD_ROWS_MODES}, not {on_bad_rows!r}")
    path = Path(path)
    name = str(path)
    if isinstance(mapping, Mapping):
        mapping_obj = mapping
    else:
        mapping_obj = get_mapping(preset, mapping)

    if mapping_obj.name == "canonical" and path.suffix.lower() == ".parquet":
        fast = _load_canonical_parquet(path)
        if fast is not None:
            return fast

    columns = _columns_to_read(path, mapping_obj) if on_bad_rows == "error" else None
    raw, info, problems = read_table(path, columns=columns)
    info.update(file=name, rows=len(raw), mapping=mapping_obj.name)
    header = [c for c in raw.columns if c not in (ROW, BROKEN)]
    found, missing = _resolve_columns(header, mapping_obj, name, REQUIRED_OPPORTUNITY_COLUMNS)
    if missing:
        guessed = guess_preset(header)
        if guessed and guessed != mapping_obj.name:
            missing.append(
                Problem(name, f"the header looks like a '{guessed}' export: try --preset {guessed}")
            )
        raise ExportError(
            problems + missing, headline=f"{name} does not fit the '{mapping_obj.name}' mapping"
        )
    info["columns"] = {c: " / ".join(s) for c, s in found.items()}
    raw = _apply_lookups(raw, mapping_obj, path, info, problems)
    col = _Collector(name, raw)
    col.problems.extend(problems)
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().normalize()

    # records that do not split into the header's fields are reported, never parsed
    parse = raw
    if BROKEN in raw:
        broken = raw[BROKEN].notna()
        width = len([c for c in raw.columns if c not in (ROW, BROKEN)]) - sum(
            c.startswith("__lookup_") for c in raw.columns
        )
        counts = raw[BROKEN].fillna(width).astype(int)
        delimiter = info.get("delimiter", ",")
        cells = [c for c in raw.columns if c not in (ROW, BROKEN) and not c.startswith("__")]

        def records(mask: pd.Series) -> tuple[str, ...]:
            shown = raw.loc[mask.to_numpy(), cells].head(3).astype(object).fillna("")
            return tuple(delimiter.join(r).rstrip(delimiter)[:80] for r in shown.values.tolist())

        fewer, more = broken & (counts < width), broken & (counts > width)
        multiline = pd.Series(False, index=raw.index)
        for c in cells:
            multiline |= _flag(raw[c].astype(_TEXT).str.contains("\n", regex=False))
        col.add(
            f"record has a different number of fields than the header (fewer than {width}): "
            "truncated or broken",
            None,
            fewer & ~multiline,
            records(fewer & ~multiline),
        )
        col.add(
            f"record has a different number of fields than the header (fewer than {width}) "
            "and runs over several lines: a quote that is never closed?",
            None,
            fewer & multiline,
            records(fewer & multiline),
        )
        col.add(
            f"record has a different number of fields than the header (more than {width}): "
            f"a value holding an unquoted {_DELIMITER_NAMES.get(delimiter, 'delimiter')[:-1]}?",
            None,
            more,
            records(more),
        )
        parse = raw.loc[~broken.to_numpy()]
    out = pd.DataFrame({ROW: parse[ROW]})

    # identifiers
    ids = _strip(_coalesce(parse, found["opportunity_id"]))
    out["opportunity_id"] = ids
    col.add("empty opportunity id", "opportunity_id", _blank(ids))

    # text columns
    for canonical in ("stage", "currency", *GROUP_COLUMNS, "lead_id"):
        if canonical in found:
            out[canonical] = _strip(_coalesce(parse, found[canonical]))
        elif f"__lookup_{canonical}" in parse:
            out[canonical] = _strip(parse[f"__lookup_{canonical}"].astype("string"))
        elif canonical in mapping_obj.defaults:
            out[canonical] = mapping_obj.defaults[canonical]
        else:
            continue
        blank = _blank(out[canonical])
        if blank.any():
            out[canonical] = out[canonical].mask(blank, pd.NA)
    if "stage" in out:
        col.add("empty stage", "stage", out["stage"].isna())

    unreadable = _parse_date_columns(parse, out, found, mapping_obj, col, info)

    # amounts
    if "amount" in found:
        source = _coalesce(parse, found["amount"])
        parsed = _read_amounts(source, mapping_obj.decimal)
        col.add("amount is not a number", "amount", parsed.bad, _values(source, parsed.bad))
        col.add(
            "amount can be read two ways: this export writes decimals both with a point and "
            "with a comma; set decimal in a mapping file",
            "amount",
            parsed.ambiguous,
            _values(source, parsed.ambiguous),
        )
        col.add("amount is negative", "amount", parsed.negative, _values(source, parsed.negative))
        for reason, examples in parsed.notes:
            col.add(reason, "amount", values=examples, severity=WARNING)
        out["amount"] = parsed.amounts.where(~parsed.negative)
        if parsed.currency.notna().any() and "currency" in out:
            stated = out["currency"].astype("string").str.upper()
            conflict = _flag(parsed.currency.notna() & stated.notna() & (parsed.currency != stated))
            col.add(
                "the amount's currency sign disagrees with the currency column",
                "amount",
                conflict,
                _values(source + " / " + stated, conflict),
            )
        if parsed.currency.notna().any():
            existing = out["currency"] if "currency" in out else pd.Series(pd.NA, index=out.index)
            out["currency"] = existing.astype("string").fillna(parsed.currency)
    else:
        out["amount"] = np.nan

    # status
    _derive_status(parse, out, found, mapping_obj, col)
    if on_bad_rows == "error":
        # no quarantine to fill: only the row numbers of the export are looked up from here on
        col.frame = raw[[ROW]]
        del raw, parse

    # rules across columns
    _check_rows(out, col, as_of_ts, unreadable)

    # duplicates
    before = len(out)
    out = _check_duplicates(out, col)
    info["duplicates_dropped"] = before - len(out)

    frame = out
    errors = errors_of(col.problems)
    quarantine = pd.DataFrame()
    if errors:
        skippable = {id(p) for p in col.skippable}
        if on_bad_rows == "error" or any(id(p) not in skippable for p in errors):
            raise ExportError(col.problems)
        # a bad row repeated exactly is reported once as a duplicate, not quarantined twice
        bad_rows = np.fromiter(col.bad_rows, dtype=np.int64, count=len(col.bad_rows))
        kept = np.concatenate(
            [out[ROW].to_numpy(), raw.loc[~raw.index.isin(parse.index), ROW].to_numpy()]
        )
        bad = raw[ROW].isin(bad_rows) & raw[ROW].isin(kept)
        quarantine = (
            raw.loc[bad.to_numpy()]
            .drop(columns=[c for c in raw if c.startswith("__lookup_") or c == BROKEN])
            .copy()
        )
        quarantine.insert(0, "reason", ["; ".join(col.bad_rows[int(r)]) for r in quarantine[ROW]])
        quarantine = quarantine.rename(columns={ROW: "row"}).reset_index(drop=True)
        frame = out.loc[~out[ROW].isin(bad_rows).to_numpy()]
        col.problems = (
            [p for p in col.problems if id(p) not in skippable]
            + [
                Problem(
                    name,
                    f"{len(quarantine)} rows skipped (--on-bad-rows skip); see the quarantine file",
                    severity=WARNING,
                )
            ]
            + [
                Problem(p.file, p.reason, p.column, p.rows, WARNING, p.values)
                for p in col.skippable
            ]
        )

    _data_warnings(frame, col, mapping_obj)
    canonical = conform_opportunities(frame)
    try:
        canonical = OPPORTUNITIES.validate(canonical, lazy=False)
    except Exception as exc:  # a gap in the checks above must still end as a named problem
        raise ExportError(
            [*col.problems, Problem(name, f"the loaded table breaks the contract: {exc}")]
        ) from None
    canonical = conform_opportunities(canonical)
    info["status_counts"] = canonical["status"].value_counts().to_dict()
    info["opportunities"] = len(canonical)
    info["quarantined"] = len(quarantine)
    info["stages"] = (
        canonical.groupby("stage", dropna=False)["status"].first().sort_index().to_dict()
    )
    return LoadResult(canonical, col.problems, info, quarantine)


def _parse_date_columns(
    parse, out, found, mapping: Mapping, col: _Collector, info
) -> dict[str, pd.Series] | None:
    """Parse created and close dates; one export writes all its dates one way, so the order of
    day and month is decided across both columns.

    Returns, per date column, the cells that hold something other than a date (already
    reported), or None when the dates cannot be trusted at all (two orders in one export).
    """
    sources = {c: _coalesce(parse, found[c]) for c in ("created_date", "close_date") if c in found}
    dayfirst = mapping.dayfirst
    order = None
    if dayfirst is None and not mapping.date_format and sources:
        order = _date_order(list(sources.values()))
        dayfirst = order.dayfirst
    unreadable: dict[str, pd.Series] = {}
    for canonical in ("created_date", "close_date"):
        if canonical not in sources:
            out[canonical] = pd.NaT
            continue
        source = sources[canonical]
        dates, bad, how = parse_dates(source, mapping.date_format, dayfirst)
        out[canonical] = dates
        unreadable[canonical] = bad
        info.setdefault("dates", {})[canonical] = how
        col.add("not a date", canonical, bad, _values(source, bad))
        if order is not None and order.mixed:
            evidence = order.evidence[list(sources).index(canonical)]
            col.add(
                f"dates are written both day-first (e.g. '{order.dayfirst_example}') and "
                f"month-first (e.g. '{order.monthfirst_example}'): set date_format in a "
                "mapping file",
                canonical,
                evidence,
                skippable=False,
            )
            info["dates"][canonical] = "mixed day-first and month-first"
        elif (
            order is not None and order.ambiguous and order.slashed[list(sources).index(canonical)]
        ):
            col.add(
                "slashed dates are ambiguous (no part above 12): read as month-first "
                "(MM/DD/YYYY); set date_format or dayfirst in a mapping file to be sure",
                canonical,
                severity=WARNING,
            )
        if "Excel serial" in how:
            col.add(f"dates read as {how}", canonical, severity=WARNING)
    return None if order is not None and order.mixed else unreadable


def _derive_status(raw, out, found, mapping: Mapping, col: _Collector) -> None:
    stage = out.get("stage", pd.Series(pd.NA, index=out.index, dtype="string"))
    from_stage = None
    if mapping.status or mapping.open_stages:
        stage_key = stage.astype("string").str.lower()
        table = {k.strip().lower(): v for k, v in mapping.status.items()}
        for s in mapping.open_stages or ():
            table.setdefault(s.strip().lower(), "open")
        from_stage = _map(stage_key, table)
        if mapping.open_stages is not None:
            unknown = stage.notna() & from_stage.isna()
            known = sorted({*mapping.status, *mapping.open_stages}, key=str.lower)
            col.add(
                f"unknown stage (the mapping knows: {', '.join(known)})",
                "stage",
                unknown,
                _values(stage, unknown),
            )
        from_stage = from_stage.fillna("open")
    if "status" in found:
        source = _strip(_coalesce(raw, found["status"])).str.lower()
        values = dict(mapping.status_values) or {"won": "won", "lost": "lost", "open": "open"}
        status = _map(source, values)
        blank = _blank(source)
        bad = status.isna() & ~blank
        col.add(
            f"status must be one of {', '.join(sorted(set(values)))}",
            "status",
            bad | blank,
            _values(source, bad),
        )
        if from_stage is not None and mapping.status:
            # only stages the mapping names decide; other stages carry no status of their own
            named = stage_key.isin([k.strip().lower() for k in mapping.status])
            disagree = named & status.notna() & (status != from_stage)
            col.add(
                "status disagrees with the stage (the stage says one outcome, status another)",
                "status",
                disagree,
                _values(stage.astype("string") + " / " + source, disagree),
            )
        out["status"] = status
    elif from_stage is not None:
        out["status"] = from_stage
    else:
        out["status"] = pd.NA
        col.add("no status column and no stage-to-status rule in the mapping", "status")


def _check_rows(
    out: pd.DataFrame, col: _Collector, as_of: pd.Timestamp, unreadable: dict | None = None
) -> None:
    """Rules across columns. ``unreadable``: date cells already reported as not a date (None:
    the dates cannot be trusted, so no rule compares them)."""
    closed = out["status"].isin(["won", "lost"]).fillna(False)
    created, close = out["created_date"], out["close_date"]
    if unreadable is None:
        created = close = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    else:
        no_created = ~unreadable.get("created_date", pd.Series(False, index=out.index))
        no_close = ~unreadable.get("close_date", pd.Series(False, index=out.index))
        col.add(
            "closed deal without created_date", "created_date", closed & created.isna() & no_created
        )
        col.add("closed deal without close_date", "close_date", closed & close.isna() & no_close)
    col.add(
        "close_date is before created_date",
        "close_date",
        closed & (close < created),
    )
    col.add(
        "expected close_date of an open deal is before its created_date",
        "close_date",
        ~closed & (close < created),
        severity=WARNING,
    )
    tomorrow = as_of + pd.Timedelta(days=1)
    col.add(
        f"created_date is in the future (after {as_of.date()})", "created_date", created > tomorrow
    )
    col.add(
        f"closed deal with a close_date in the future (after {as_of.date()})",
        "close_date",
        closed & (close > tomorrow),
    )
    if "currency" in out:
        currencies = out["currency"].dropna().unique()
        if len(currencies) > 1:
            counts = out["currency"].value_counts()
            minority = out["currency"].ne(counts.index[0]) & out["currency"].notna()
            col.add(
                "amounts are in more than one currency ("
                + ", ".join(f"{k}: {v}" for k, v in counts.items())
                + "); convert them to one currency before loading",
                "currency",
                minority,
            )


def _check_duplicates(out: pd.DataFrame, col: _Collector) -> pd.DataFrame:
    """Report repeated ids; return ``out`` without rows that repeat an earlier row exactly."""
    ids = out["opportunity_id"]
    # with the ids numbered by distinct value, an id repeats when its number does
    codes, distinct = ids.array.factorize()
    if len(distinct) == np.count_nonzero(codes >= 0):
        return out
    counts = np.bincount(codes + 1)
    dup_any = pd.Series((codes >= 0) & (counts[codes + 1] > 1), index=ids.index)
    compare = out.drop(columns=[ROW])
    exact_later = compare.duplicated(keep="first") & dup_any
    conflicting_ids = set(ids[dup_any & ~compare.duplicated(keep=False)])
    conflicting = ids.isin(conflicting_ids)
    col.add(
        "opportunity_id repeats with different values in other columns",
        "opportunity_id",
        conflicting,
        _values(ids, conflicting),
    )
    exact = exact_later & ~conflicting
    if exact.any():
        col.add(
            "row repeats an earlier row exactly; kept once",
            "opportunity_id",
            exact,
            _values(ids, exact),
            severity=WARNING,
        )
        return out.loc[~exact.to_numpy()]
    return out


def _data_warnings(frame: pd.DataFrame, col: _Collector, mapping: Mapping) -> None:
    """Facts about the data that a model must cope with, reported but not fatal."""
    status = frame["status"]
    open_ = status.eq("open").fillna(False)
    closed = status.isin(["won", "lost"]).fillna(False)
    col.add(
        f"{int((open_ & frame['created_date'].isna()).sum())} open deals have no created_date: "
        "they count in the pipeline but not in age or cycle-time figures",
        "created_date",
        open_ & frame["created_date"].isna(),
        severity=WARNING,
    )
    for status_name in mapping.zero_amount_missing_for:
        zero = status.eq(status_name).fillna(False) & frame["amount"].eq(0).fillna(False)
        if zero.any():
            col.add(
                f"{int(zero.sum())} {status_name} deals carry amount 0: read as 'not recorded'",
                "amount",
                zero,
                severity=WARNING,
            )
            frame.loc[zero, "amount"] = np.nan
    no_amount = open_ & frame["amount"].isna()
    col.add(
        f"{int(no_amount.sum())} open deals have no amount: forecasts draw one from the deal-size model",
        "amount",
        no_amount,
        severity=WARNING,
    )
    won_no_amount = status.eq("won").fillna(False) & frame["amount"].isna()
    col.add(
        f"{int(won_no_amount.sum())} won deals have no amount",
        "amount",
        won_no_amount,
        severity=WARNING,
    )
    for group in GROUP_COLUMNS:
        if group not in frame or frame[group].isna().all():
            continue
        missing = frame[group].isna()
        col.add(
            f"{int(missing.sum())} deals have no {group}: grouped as '(none)'",
            group,
            missing,
            severity=WARNING,
        )
        for a, b in _near_duplicate_labels(frame[group].dropna().unique()):
            col.add(
                f"'{a}' and '{b}' look like the same {group} written two ways",
                group,
                severity=WARNING,
            )
    if closed.any() and frame["created_date"].notna().any():
        first_created = frame["created_date"].min()
        first_close = frame.loc[closed, "close_date"].min()
        if pd.notna(first_close) and (first_close - first_created).days > 90:
            early = closed & (frame["created_date"] < first_close)
            col.add(
                f"no deal closes before {first_close.date()} although deals were created from "
                f"{first_created.date()}: closes before then seem missing from the export, so early "
                "cohorts and as-of views before that date are biased",
                "close_date",
                severity=WARNING,
            )
            del early
        longest = (frame.loc[closed, "close_date"] - frame.loc[closed, "created_date"]).max()
        end = frame[["created_date", "close_date"]].max().max()
        if pd.notna(longest) and pd.notna(end):
            open_end = frame.loc[closed, "close_date"].max()
            age = open_end - frame["created_date"]
            stale = open_ & (age > longest)
            col.add(
                f"{int(stale.sum())} open deals are older on {open_end.date()} than the longest cycle "
                f"of any closed deal ({longest.days} days): likely stalled",
                "created_date",
                stale,
                severity=WARNING,
            )


def _label_key(label) -> str:
    """A label with case, spaces and punctuation removed: 'GTX Pro' and 'GTXPro' share one."""
    return re.sub(r"[\W_]+", "", str(label)).lower()


def _near_duplicate_labels(labels) -> list[tuple[str, str]]:
    """Pairs of labels that share a :func:`_label_key`: in sorted order, each label with the
    first label of its key."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(labels, pd.arrays.ArrowStringArray):
        text = pa.array(labels)
    else:
        text = pa.array([str(label) for label in labels], pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # an ASCII label's key is its letters and digits, lower-cased; other labels go through Python
    keys = pc.utf8_lower(pc.replace_substring_regex(text, "[^A-Za-z0-9]+", ""))
    other = pc.invert(pc.string_is_ascii(text))
    if pc.any(other).as_py():
        spelled = [_label_key(label) for label in pc.filter(text, other).to_pylist()]
        keys = pc.replace_with_mask(keys, other, pa.array(spelled, keys.type))
    shared = pd.Series(pd.arrays.ArrowStringArray(keys)).duplicated(keep=False).to_numpy()
    key = _label_key
    seen: dict[str, str] = {}
    pairs = []
    for label in sorted(pc.filter(text, shared).to_pylist()):
        k = key(label)
        if k in seen and seen[k] != label:
            pairs.append((seen[k], label))
        else:
            seen[k] = label
    return pairs


def is_runner_table(path: str | Path) -> bool:
    """Whether ``path`` is a canonical table written by :func:`write_canonical` (marked Parquet)."""
    path = Path(path)
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return False
    return metadata.get(b"pipeline_models") == b"canonical"


def _load_canonical_parquet(path: Path) -> LoadResult | None:
    """Fast path for the runner's own canonical Parquet: already validated, read as is."""
    if not is_runner_table(path):
        return None
    frame = conform_opportunities(pd.read_parquet(path))
    return LoadResult(
        frame,
        [],
        {
            "file": str(path),
            "format": "parquet",
            "mapping": "canonical",
            "opportunities": len(frame),
        },
    )


def write_canonical(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a validated canonical table to Parquet, marked so the loader trusts it as is."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"pipeline_models": b"canonical"}
    )
    pq.write_table(table, path)
    return Path(path)


def load_leads(path: str | Path) -> LoadResult:
    """Load a leads file (canonical names or a Salesforce lead report) into the leads table."""
    path = Path(path)
    name = str(path)
    raw, info, problems = read_table(path)
    rename = {}
    for column in raw.columns:
        if column in (ROW, BROKEN):
            continue
        target = presets_module.LEAD_MAPPING.get(column) or presets_module.LEAD_MAPPING.get(
            column.strip().lower()
        )
        if target:
            rename[column] = target
    frame = raw.rename(columns=rename)
    missing = [c for c in REQUIRED_LEAD_COLUMNS if c not in frame]
    if missing:
        raise ExportError(
            [Problem(name, f"required leads column '{c}' is missing", column=c) for c in missing]
        )
    col = _Collector(name, frame)
    col.problems.extend(problems)
    if BROKEN in frame:
        col.add(
            "record has a different number of fields than the header: truncated or broken",
            None,
            frame[BROKEN].notna(),
        )
    out = pd.DataFrame(index=frame.index)
    out["lead_id"] = frame["lead_id"].astype("string").str.strip()
    col.add("empty lead_id", "lead_id", _blank(out["lead_id"]))
    col.add("lead_id repeats", "lead_id", out["lead_id"].duplicated(keep=False))
    for c in ("created_date", "converted_date"):
        if c in frame:
            out[c], bad, _ = parse_dates(frame[c])
            col.add("not a date", c, bad, _values(frame[c], bad))
        else:
            out[c] = pd.NaT
    col.add(
        "empty created_date", "created_date", out["created_date"].isna() & ~_blank(out["lead_id"])
    )
    for c in ("source", "opportunity_id"):
        out[c] = frame[c].astype("string").str.strip() if c in frame else pd.NA
        out[c] = out[c].mask(_blank(out[c]), pd.NA)
    if errors_of(col.problems):
        raise ExportError(col.problems)
    out = LEADS.validate(out.reset_index(drop=True))
    info.update(file=name, leads=len(out), converted=int(out["opportunity_id"].notna().sum()))
    return LoadResult(out, col.problems, info)
