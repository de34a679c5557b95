"""What a file's first bytes say: its kind, encoding, delimiter and header.

A UTF-8 CSV whose header fits in its first :data:`SNIFF_BYTES` can go to Arrow as it is on
disk (:func:`sniff_csv` says how); any other file is decoded whole first.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

SNIFF_BYTES = 1 << 22
"""How much of a CSV is read to detect its encoding, delimiter and header (4 MiB)."""

DELIMITERS = (",", ";", "\t", "|")
"""The delimiters a CSV may use, in the order they are tried."""

DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}

_KINDS = {".parquet": "Parquet", ".xlsx": "Excel", ".xlsm": "Excel", ".xls": "Excel"}


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
    for delim in DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delim))) for line in lines]
        if counts[0] <= 1:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delim, score
    return best


def file_kind(path: Path) -> str:
    """``"Parquet"``, ``"Excel"`` or ``"CSV"``, from the file name (any other suffix is CSV)."""
    return _KINDS.get(path.suffix.lower(), "CSV")


@dataclass(frozen=True)
class CsvHead:
    """What the first bytes of a UTF-8 CSV say: enough to hand the file to Arrow as it is."""

    encoding: str  # "utf-8" or "utf-8-sig"
    marks: int  # bytes of byte order marks before the header
    delimiter: str
    header: tuple[str, ...]


def sniff_csv(path: Path) -> CsvHead | None:
    """Encoding, delimiter and header of a CSV from its first bytes, as reading the whole file
    decoded would find them; None unless the file looks like UTF-8 and those bytes hold what is
    needed (text enough to sniff the delimiter, the whole header).

    A file read as plain UTF-8 must also be valid UTF-8 throughout, which is checked later.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES + 1)
    whole = len(head) <= SNIFF_BYTES
    if not whole:
        # up to the last line break: a whole number of characters, and enough of them to sniff
        # the delimiter from the same text as the whole file gives
        cut = head.rfind(b"\n", 0, SNIFF_BYTES) + 1
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
    return CsvHead(encoding, marks, delimiter, tuple(h.strip() for h in header))


def is_utf8(path: Path) -> bool:
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


def read_header(path: str | Path) -> list[str] | None:
    """The column names of a CSV file, from its first lines only.

    None when the file is not a CSV, cannot be read, or is not one
    :func:`~pipeline_models.io.readers.read_table` can read column by column (not UTF-8, or a
    header that does not fit in its first 4 MiB).
    """
    path = Path(path)
    if file_kind(path) != "CSV" or not path.is_file():
        return None  # a named pipe would block here: read_table refuses it at once
    try:
        head = sniff_csv(path)
    except Exception:  # read_table names what is wrong with the file
        return None
    return None if head is None else list(head.header)
