"""Read a CRM export (CSV, Parquet or Excel) into the canonical contract, listing every problem.

The loader never changes the file it reads. Every value is read as text first, so that a problem
can quote the cell as the user sees it, and every row keeps its line number in the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
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
"""Internal column: the record's line number in the file (header = 1)."""

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
_BAD_ROWS_MODES = ("error", "skip")


@dataclass
class LoadResult:
    """A canonical table with what was understood and what was wrong.

    ``frame`` is the canonical opportunities (or leads) table; ``problems`` holds warnings (and,
    with ``on_bad_rows="skip"``, the row errors whose rows went to ``quarantine``); ``info`` says
    what was understood (encoding, delimiter, mapping, column sources, status counts).
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
    """Encoding of ``raw`` (BOM first, then UTF-8, then Windows-1252), and a note when guessed."""
    if raw.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", None
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        return "utf-16", None
    # UTF-16 without BOM: every other byte is zero in ASCII text
    sample = raw[:4096]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        return ("utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"), None
    try:
        raw.decode("utf-8")
        return "utf-8", None
    except UnicodeDecodeError as exc:
        return "cp1252", f"not valid UTF-8 (byte {exc.start}); read as Windows-1252 / Latin-1"


def sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that splits the header and first lines most consistently."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
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


def read_table(path: str | Path, sheet: str | int | None = None) -> tuple[pd.DataFrame, dict, list]:
    """Read a CSV, Parquet or Excel file as text cells, with line numbers in ``_row``.

    Returns the frame, what was detected (format, encoding, delimiter) and problems.
    """
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise ExportError([Problem(name, "file not found")], headline="cannot read the export")
    if path.is_dir():
        raise ExportError([Problem(name, "is a folder, not a file")], headline="cannot read")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        info = {"format": "parquet"}
        problems: list[Problem] = []
    elif suffix in (".xlsx", ".xlsm", ".xls"):
        frame, info, problems = _read_excel(path, sheet)
    else:
        frame, info, problems = _read_csv(path)
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ExportError(
            [
                Problem(name, f"column name '{c}' appears more than once in the header", column=c)
                for c in dup
            ],
            headline="the header repeats column names",
        )
    frame = frame.copy()
    frame[ROW] = np.arange(2, len(frame) + 2)
    return frame, info, problems


def _read_excel(path: Path, sheet) -> tuple[pd.DataFrame, dict, list]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheet_name = sheet if sheet is not None else workbook.sheetnames[0]
    rows = list(workbook[sheet_name].iter_rows(values_only=True))
    workbook.close()
    if not rows:
        raise ExportError([Problem(str(path), "the sheet is empty")], headline="empty export")
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    body = [
        ["" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in r]
        for r in rows[1:]
    ]
    frame = pd.DataFrame(body, columns=header, dtype="object")
    _check_duplicate_header(header, str(path))
    return frame, {"format": "excel", "sheet": sheet_name}, []


def _check_duplicate_header(header: list[str], name: str) -> None:
    seen, dup = set(), []
    for h in header:
        key = h.strip()
        if key in seen and key not in dup:
            dup.append(key)
        seen.add(key)
    if dup:
        raise ExportError(
            [
                Problem(name, f"column name '{c}' appears more than once in the header", column=c)
                for c in dup
            ],
            headline="the header repeats column names",
        )


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict, list]:
    name = str(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise ExportError([Problem(name, "the file is empty")], headline="empty export")
    encoding, note = sniff_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    problems = [Problem(name, note, severity=WARNING)] if note else []
    delimiter = sniff_delimiter(text)
    header_line = text.splitlines()[0] if text.splitlines() else ""
    header = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter), [])]
    _check_duplicate_header(header, name)
    frame = pd.read_csv(
        io.StringIO(text),
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        skipinitialspace=False,
        on_bad_lines="skip",  # reported below as ragged lines, with their line numbers
    )
    frame.columns = [str(c).strip() for c in frame.columns]
    info = {"format": "csv", "encoding": encoding, "delimiter": delimiter}
    # Records with too few fields come back padded with empty cells, too many are skipped: both
    # are reported as errors here, so no row is lost in silence.
    ragged = _ragged_lines(text, delimiter, len(header))
    if ragged:
        problems.append(
            Problem(
                name,
                f"line has a different number of fields than the header ({len(header)}): "
                "a truncated or broken record",
                rows=tuple(ragged),
            )
        )
    if frame.empty:
        raise ExportError(
            [Problem(name, "the file has a header but no data rows")], headline="empty export"
        )
    return frame, info, problems


def _ragged_lines(text: str, delimiter: str, width: int) -> list[int]:
    """Line numbers (header = 1) of records whose field count differs from the header's."""
    bad = []
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for number, fields in enumerate(reader, start=1):
        if number == 1 or not fields or fields == [""]:
            continue
        if len(fields) != width:
            bad.append(reader.line_num)
    return bad


# ---------------------------------------------------------------------------------------------
# Parsing cells


def _blank(series: pd.Series) -> pd.Series:
    return series.isna() | (series.astype("string").str.strip().fillna("") == "")


def parse_dates(
    series: pd.Series, date_format: str | None = None, dayfirst: bool | None = None
) -> tuple[pd.Series, pd.Series, str]:
    """Parse text dates; return (dates, unparseable mask, how they were read).

    Handles ISO dates, day-first and month-first slashed dates (decided from values whose first
    or second part exceeds 12), Excel serial numbers and an explicit ``date_format``.
    """
    text = series.astype("string").str.strip()
    blank = _blank(series)
    values = text[~blank]
    if date_format:
        parsed = pd.to_datetime(values, format=date_format, errors="coerce")
        how = f"format {date_format}"
    else:
        numeric = pd.to_numeric(values, errors="coerce")
        serial = numeric.notna() & numeric.between(10_000, 80_000)
        parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
        if serial.any():
            parsed[serial] = EXCEL_EPOCH + pd.to_timedelta(numeric[serial].round(), unit="D")
        rest = values[~serial]
        how = "ISO (YYYY-MM-DD)"
        if len(rest):
            slashed = rest.str.match(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")
            iso = pd.to_datetime(rest[~slashed], errors="coerce", format="ISO8601")
            parsed[iso.index] = iso
            if slashed.any():
                parts = rest[slashed].str.extract(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")
                first, second = parts[0].astype(int), parts[1].astype(int)
                if dayfirst is None:
                    dayfirst = bool((first > 12).any()) and not bool((second > 12).any())
                    how = "day-first (DD/MM/YYYY)" if dayfirst else "month-first (MM/DD/YYYY)"
                    if (first > 12).any() and (second > 12).any():
                        how = "mixed day-first and month-first"
                else:
                    how = "day-first (DD/MM/YYYY)" if dayfirst else "month-first (MM/DD/YYYY)"
                day = first if dayfirst else second
                month = second if dayfirst else first
                year = parts[2].astype(int)
                year = year.where(year >= 100, year + 2000)
                slashed_dates = pd.to_datetime(
                    pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce"
                )
                parsed[slashed_dates.index] = slashed_dates
            if serial.any():
                how += " and Excel serial numbers"
        elif serial.any():
            how = "Excel serial numbers"
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    out[parsed.index] = parsed.astype("datetime64[ns]")
    bad = ~blank & out.isna()
    return out, bad, how


def infer_dayfirst(series: pd.Series) -> bool | None:
    """Whether slashed dates are day-first: True when some first part exceeds 12 and no second
    part does, False otherwise; None when there are no slashed dates. Mixed orders (both parts
    above 12 somewhere) are left to :func:`parse_dates`, which reports them."""
    text = series.astype("string").str.strip()
    parts = text.str.extract(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}").dropna()
    if parts.empty:
        return None
    first, second = parts[0].astype(int), parts[1].astype(int)
    if (first > 12).any() and (second > 12).any():
        return None
    return bool((first > 12).any())


_AMOUNT_CLEAN = re.compile(r"[\s\u00a0'’]")


def parse_amounts(series: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Parse amounts written with currency symbols, thousands separators or decimal commas.

    Returns (amounts, unparseable mask, negative mask, currency found in the cell or NA).
    """
    text = series.astype("string").str.strip()
    blank = _blank(series)
    currency = pd.Series(pd.NA, index=series.index, dtype="string")
    cleaned = text.fillna("")
    for symbol, code in _CURRENCY_SYMBOLS.items():
        has = cleaned.str.contains(symbol, regex=False)
        currency = currency.mask(has, code)
        cleaned = cleaned.str.replace(symbol, "", regex=False)
    codes = cleaned.str.extract(r"\b([A-Z]{3})\b")[0]
    currency = currency.fillna(codes)
    cleaned = cleaned.str.replace(r"\b[A-Z]{3}\b", "", regex=True)
    cleaned = cleaned.str.replace(_AMOUNT_CLEAN, "", regex=True)
    negative_paren = cleaned.str.match(r"^\(.*\)$")
    cleaned = cleaned.str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    # 1.234,56 or 1234,56 -> decimal comma; 1,234.56 or 1,234 -> thousands comma
    decimal_comma = cleaned.str.match(r"^-?\d{1,3}(\.\d{3})*,\d{1,2}$") | cleaned.str.match(
        r"^-?\d+,\d{1,2}$"
    )
    cleaned = cleaned.where(
        ~decimal_comma, cleaned.str.replace(".", "", regex=False).str.replace(",", ".")
    )
    cleaned = cleaned.where(decimal_comma, cleaned.str.replace(",", "", regex=False))
    amounts = pd.to_numeric(cleaned.where(~blank), errors="coerce").astype("float64")
    bad = ~blank & amounts.isna()
    negative = (amounts < 0) | (negative_paren & ~bad & ~blank)
    return amounts, bad, negative.fillna(False), currency


# ---------------------------------------------------------------------------------------------
# The export


def _rows(frame: pd.DataFrame, mask: pd.Series) -> tuple[int, ...]:
    """Line numbers of the rows ``mask`` selects (by index label, so a shorter frame works)."""
    selected = mask.index[mask.fillna(False).to_numpy(bool)]
    return tuple(int(r) for r in frame.loc[selected, ROW])


def _values(series: pd.Series, mask: pd.Series) -> tuple[str, ...]:
    return tuple(str(v) for v in series[mask.fillna(False).to_numpy(bool)].unique()[:5])


class _Collector:
    """Collects problems; row-level errors also mark their rows for quarantine."""

    def __init__(self, name: str, frame: pd.DataFrame):
        self.name = name
        self.problems: list[Problem] = []
        self.bad_rows: dict[int, list[str]] = {}
        self.frame = frame

    def add(self, reason, column=None, mask=None, values=(), severity=ERROR):
        rows = _rows(self.frame, mask) if mask is not None else ()
        if mask is not None and not rows:
            return
        self.problems.append(Problem(self.name, reason, column, rows, severity, tuple(values)))
        if severity == ERROR and rows:
            for r in rows:
                self.bad_rows.setdefault(r, []).append(f"{column}: {reason}" if column else reason)


def _resolve_columns(frame, mapping: Mapping, name: str, required) -> tuple[dict, list[Problem]]:
    """canonical -> list of present source columns; problems for missing required ones."""
    lookup = {c.strip().lower(): c for c in frame.columns if c != ROW}
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
                    f"the header has: {', '.join(c for c in frame.columns if c != ROW)}",
                    column=canonical,
                )
            )
    return found, problems


def _coalesce(frame: pd.DataFrame, sources: list[str]) -> pd.Series:
    out = frame[sources[0]].astype("string")
    for other in sources[1:]:
        out = out.mask(_blank(out), frame[other].astype("string"))
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
        if lookup.key not in side or lookup.key not in frame:
            continue
        side = side.drop_duplicates(lookup.key).set_index(lookup.key)
        for source, canonical in lookup.columns.items():
            if source in side:
                frame[f"__lookup_{canonical}"] = frame[lookup.key].map(side[source])
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
        ``LoadResult.quarantine`` with their reasons and the rest loads.
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

    raw, info, problems = read_table(path)
    info.update(file=name, rows=len(raw), mapping=mapping_obj.name)
    found, missing = _resolve_columns(raw, mapping_obj, name, REQUIRED_OPPORTUNITY_COLUMNS)
    if missing:
        guessed = guess_preset(list(raw.columns))
        if guessed and guessed != mapping_obj.name:
            missing.append(
                Problem(name, f"the header looks like a '{guessed}' export: try --preset {guessed}")
            )
        raise ExportError(
            problems + missing, headline=f"{name} does not fit the '{mapping_obj.name}' mapping"
        )
    info["columns"] = {c: " / ".join(s) for c, s in found.items()}
    raw = _apply_lookups(raw, mapping_obj, path, info, problems)
    out = pd.DataFrame({ROW: raw[ROW]})
    col = _Collector(name, raw)
    col.problems.extend(problems)
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().normalize()

    # identifiers
    ids = _coalesce(raw, found["opportunity_id"]).str.strip()
    out["opportunity_id"] = ids
    col.add("empty opportunity id", "opportunity_id", _blank(ids))

    # text columns
    for canonical in ("stage", "currency", *GROUP_COLUMNS, "lead_id"):
        if canonical in found:
            out[canonical] = _coalesce(raw, found[canonical]).str.strip()
        elif f"__lookup_{canonical}" in raw:
            out[canonical] = raw[f"__lookup_{canonical}"].astype("string").str.strip()
        elif canonical in mapping_obj.defaults:
            out[canonical] = mapping_obj.defaults[canonical]
        else:
            continue
        out[canonical] = out[canonical].mask(_blank(out[canonical]), pd.NA)
    if "stage" in out:
        col.add("empty stage", "stage", out["stage"].isna())

    # dates: one export writes all its dates one way, so day-first is decided across columns
    date_sources = {
        c: _coalesce(raw, found[c]) for c in ("created_date", "close_date") if c in found
    }
    dayfirst = mapping_obj.dayfirst
    if dayfirst is None and not mapping_obj.date_format and date_sources:
        dayfirst = infer_dayfirst(pd.concat(list(date_sources.values()), ignore_index=True))
    for canonical in ("created_date", "close_date"):
        if canonical not in found:
            out[canonical] = pd.NaT
            continue
        source = date_sources[canonical]
        dates, bad, how = parse_dates(source, mapping_obj.date_format, dayfirst)
        out[canonical] = dates
        info.setdefault("dates", {})[canonical] = how
        col.add("not a date", canonical, bad, _values(source, bad))
        if how.startswith("mixed"):
            col.add(
                "dates are written both day-first and month-first; set date_format in a mapping file",
                canonical,
                severity=ERROR,
            )
        elif dayfirst is False and not mapping_obj.date_format and mapping_obj.dayfirst is None:
            every = pd.concat(list(date_sources.values()), ignore_index=True).astype("string")
            slashed = every.str.match(r"^\d{1,2}[/.\-]\d{1,2}[/.\-]").fillna(False)
            parts = every[slashed].str.extract(r"^(\d{1,2})[/.\-](\d{1,2})")
            if len(parts) and not (parts[1].astype(int) > 12).any():
                col.add(
                    "slashed dates are ambiguous (no day above 12): read as month-first; "
                    "set date_format or dayfirst in a mapping file to be sure",
                    canonical,
                    severity=WARNING,
                )
        if "Excel serial" in how:
            col.add(f"dates read as {how}", canonical, severity=WARNING)

    # amounts
    if "amount" in found:
        source = _coalesce(raw, found["amount"])
        amounts, bad, negative, cell_currency = parse_amounts(source)
        col.add("amount is not a number", "amount", bad, _values(source, bad))
        col.add("amount is negative", "amount", negative, _values(source, negative))
        out["amount"] = amounts.where(~negative)
        if cell_currency.notna().any():
            existing = out["currency"] if "currency" in out else pd.Series(pd.NA, index=out.index)
            out["currency"] = existing.astype("string").fillna(cell_currency)
    else:
        out["amount"] = np.nan

    # status
    _derive_status(raw, out, found, mapping_obj, col)

    # rules across columns
    _check_rows(out, col, as_of_ts)

    # duplicates
    out = _check_duplicates(out, col)

    frame = out
    errors = errors_of(col.problems)
    quarantine = pd.DataFrame()
    if errors:
        row_errors = [p for p in errors if p.rows]
        file_errors = [p for p in errors if not p.rows]
        if on_bad_rows == "error" or file_errors:
            raise ExportError(col.problems)
        bad = frame[ROW].isin(col.bad_rows)
        quarantine = (
            raw.loc[bad.to_numpy()]
            .drop(columns=[c for c in raw if c.startswith("__lookup_")])
            .copy()
        )
        quarantine.insert(0, "reason", ["; ".join(col.bad_rows[int(r)]) for r in quarantine[ROW]])
        quarantine = quarantine.rename(columns={ROW: "row"})
        frame = frame.loc[~bad.to_numpy()]
        col.problems = (
            [p for p in col.problems if p not in row_errors]
            + [
                Problem(
                    name,
                    f"{len(quarantine)} rows skipped (--on-bad-rows skip); see the quarantine file",
                    severity=WARNING,
                )
            ]
            + [Problem(p.file, p.reason, p.column, p.rows, WARNING, p.values) for p in row_errors]
        )

    _data_warnings(frame, col, mapping_obj)
    canonical = conform_opportunities(frame)
    canonical = OPPORTUNITIES.validate(canonical, lazy=False)
    canonical = conform_opportunities(canonical)
    info["status_counts"] = canonical["status"].value_counts().to_dict()
    info["opportunities"] = len(canonical)
    info["stages"] = (
        canonical.groupby("stage", dropna=False)["status"].first().sort_index().to_dict()
    )
    return LoadResult(canonical, col.problems, info, quarantine)


def _derive_status(raw, out, found, mapping: Mapping, col: _Collector) -> None:
    stage = out.get("stage", pd.Series(pd.NA, index=out.index, dtype="string"))
    stage_key = stage.astype("string").str.lower()
    from_stage = None
    if mapping.status or mapping.open_stages:
        table = dict(mapping.status)
        for s in mapping.open_stages or ():
            table.setdefault(s.lower(), "open")
        from_stage = stage_key.map(table)
        if mapping.open_stages is not None:
            unknown = stage.notna() & from_stage.isna()
            known = sorted(set(mapping.status) | {s for s in mapping.open_stages})
            col.add(
                f"unknown stage (the mapping knows: {', '.join(known)})",
                "stage",
                unknown,
                _values(stage, unknown),
            )
        from_stage = from_stage.fillna("open")
    if "status" in found:
        source = _coalesce(raw, found["status"]).str.strip().str.lower()
        values = dict(mapping.status_values) or {"won": "won", "lost": "lost", "open": "open"}
        status = source.map(values)
        bad = status.isna() & ~_blank(source)
        col.add(
            f"status must be one of {', '.join(sorted(set(values)))}",
            "status",
            bad | _blank(source),
            _values(source, bad),
        )
        if from_stage is not None and mapping.status:
            # only stages the mapping names decide; other stages carry no status of their own
            named = stage_key.isin(list(mapping.status))
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


def _check_rows(out: pd.DataFrame, col: _Collector, as_of: pd.Timestamp) -> None:
    closed = out["status"].isin(["won", "lost"]).fillna(False)
    created, close = out["created_date"], out["close_date"]
    col.add("closed deal without created_date", "created_date", closed & created.isna())
    col.add("closed deal without close_date", "close_date", closed & close.isna())
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
    dup_any = ids.duplicated(keep=False) & ids.notna()
    if not dup_any.any():
        return out
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
    key = _label_key
    seen: dict[str, str] = {}
    pairs = []
    for label in sorted(map(str, labels)):
        k = key(label)
        if k in seen and seen[k] != label:
            pairs.append((seen[k], label))
        else:
            seen[k] = label
    return pairs


def _load_canonical_parquet(path: Path) -> LoadResult | None:
    """Fast path for the runner's own canonical Parquet: already validated, read as is."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    if (schema.metadata or {}).get(b"pipeline_models") != b"canonical":
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
