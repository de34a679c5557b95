"""Dates as CRM exports write them: ISO, day-first or month-first slashed, Excel serial numbers.

One export writes all its dates one way, so the order of day and month is decided across every
date column at once (:func:`date_order`): a part above 12 in first place proves day-first, in
second place month-first. A date written with a time and a UTC offset keeps the date written
(the day the CRM user saw), not the date in UTC; an opportunity's dates are days, so a time of
day is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from pipeline_models.contract.problems import WARNING

from .cells import distinct, extract, flag, is_blank, spread, stripped_text
from .collector import Collector, values_of
from .columns import coalesce
from .presets import Mapping

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
"""Day 0 of Excel's serial dates (1900 date system; right for every date after February 1900)."""

DATE_COLUMNS = ("created_date", "close_date")
"""The canonical date columns of an opportunities export."""

_SLASHED = r"^(?P<first>\d{1,2})[/.\-](?P<second>\d{1,2})[/.\-](?P<year>\d{4}|\d{2})(?:$|[ T])"
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_SERIAL_DAYS = (10_000, 80_000)  # May 1927 to January 2119: other five-digit numbers are no dates
_TIME_ZONE = r"^(.*\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) *(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
_NS_MIN, _NS_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")

_ISO = "ISO (YYYY-MM-DD)"
_MIXED = "mixed day-first and month-first"


@dataclass
class DateOrder:
    """How the slashed dates of an export's date columns are ordered."""

    dayfirst: bool | None  # None: no slashed dates, or both orders seen
    mixed: bool = False
    ambiguous: bool = False  # slashed dates seen, none with a part above 12
    slashed: list[bool] = field(default_factory=list)  # per column: holds slashed dates
    evidence: list[pd.Series] = field(default_factory=list)  # per column: a part above 12
    dayfirst_example: str = ""
    monthfirst_example: str = ""


def date_order(columns: list[pd.Series]) -> DateOrder:
    """Decide day-first or month-first from every slashed date of the export at once.

    A part above 12 in first place proves day-first, in second place month-first; an export that
    shows both is mixed, and one that shows neither is ambiguous (read month-first, with a warning).
    """
    order = DateOrder(None)
    day_examples, month_examples = [], []
    for series in columns:
        codes, cells = distinct(series)
        parts = extract(stripped_text(cells), _SLASHED)
        evidence = pd.Series(False, index=cells.index)
        order.slashed.append(not parts.empty)
        if not parts.empty:
            first, second = parts["first"].astype(int), parts["second"].astype(int)
            day_examples += cells[first[first > 12].index].head(1).tolist()
            month_examples += cells[second[second > 12].index].head(1).tolist()
            evidence[parts.index] = ((first > 12) | (second > 12)).to_numpy()
        order.evidence.append(spread(evidence, codes, series.index, False))
    if day_examples and month_examples:
        order.mixed = True
        order.dayfirst_example, order.monthfirst_example = day_examples[0], month_examples[0]
    elif day_examples:
        order.dayfirst = True
    elif month_examples or any(order.slashed):
        order.dayfirst = False
        order.ambiguous = not month_examples
    return order


def infer_dayfirst(series: pd.Series) -> bool | None:
    """Whether slashed dates are day-first: True when some first part exceeds 12 and no second
    part does, False otherwise; None when there are no slashed dates or both orders occur."""
    order = date_order([series])
    return None if order.mixed else order.dayfirst


def parse_dates(
    series: pd.Series, date_format: str | None = None, dayfirst: bool | None = None
) -> tuple[pd.Series, pd.Series, str]:
    """Parse text dates; return (dates, unparseable mask, how they were read).

    Handles ISO dates (a time and a UTC offset are allowed; the date is the one written),
    day-first and month-first slashed dates (decided from values whose first or second part
    exceeds 12 unless ``dayfirst`` says), Excel serial numbers and an explicit ``date_format``.
    """
    codes, cells = distinct(series)
    dates, bad, how = _parse_distinct_dates(cells, date_format, dayfirst)
    return spread(dates, codes, series.index), spread(bad, codes, series.index, False), how


def _parse_distinct_dates(
    series: pd.Series, date_format: str | None, dayfirst: bool | None
) -> tuple[pd.Series, pd.Series, str]:
    text = stripped_text(series)
    blank = is_blank(series)
    values = text[~blank]
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if date_format:
        _put(parsed, pd.to_datetime(values, format=date_format, errors="coerce"))
        how = f"format {date_format}"
    else:
        how = _parse_written_dates(values, parsed, dayfirst)
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    out[parsed.index] = parsed
    bad = ~blank & out.isna()
    return out, bad, how


def _parse_written_dates(values: pd.Series, parsed: pd.Series, dayfirst: bool | None) -> str:
    """Fill ``parsed`` from Excel serials, slashed and ISO dates; return how they were read."""
    serial = flag(values.str.fullmatch(_SERIAL))
    if serial.any():
        days = values[serial].astype("float64")
        days = days[days.between(*_SERIAL_DAYS)]
        parsed[days.index] = EXCEL_EPOCH + pd.to_timedelta(days.round(), unit="D")
    parts = extract(values[~serial], _SLASHED)
    slashed = pd.Series(False, index=values.index)
    slashed[parts.index] = True
    how = _ISO
    if len(parts):
        found, how = _slashed_dates(parts, dayfirst)
        _put(parsed, found)
    iso = values[~serial & ~slashed]
    if len(iso):
        _put(parsed, _iso_dates(iso))
        if len(parts):
            how = how + " and ISO"
    if serial.any():
        how = "Excel serial numbers" if serial.all() else how + " and Excel serial numbers"
    return how


def _slashed_dates(parts: pd.DataFrame, dayfirst: bool | None) -> tuple[pd.Series, str]:
    """Dates from the first, second and year parts of slashed dates, and how they were read.

    With ``dayfirst`` None, a first part above 12 (and no second part above 12) reads them
    day-first.
    """
    first, second = parts["first"].astype(int), parts["second"].astype(int)
    mixed = False
    if dayfirst is None:
        mixed = bool((first > 12).any()) and bool((second > 12).any())
        dayfirst = bool((first > 12).any()) and not bool((second > 12).any())
    if mixed:
        how = _MIXED
    else:
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
    return found, how


def _iso_dates(iso: pd.Series) -> pd.Series:
    """ISO dates, a time allowed; a UTC offset is dropped: the date a CRM user saw is the one
    written, so it is not converted."""
    zoned = flag(iso.str.contains(_TIME_ZONE.replace("(.*", "(?:.*", 1)))
    if zoned.any():
        iso = iso.where(~zoned, iso[zoned].str.replace(_TIME_ZONE, r"\1", regex=True))
    return pd.to_datetime(iso, errors="coerce", format="ISO8601")


def _put(target: pd.Series, found: pd.Series) -> None:
    """Copy parsed dates into ``target`` (nanosecond dates; out-of-range dates stay NaT)."""
    if found.empty:
        return
    if getattr(found.dt, "tz", None) is not None:
        found = found.dt.tz_localize(None)
    inside = found.notna() & (found >= _NS_MIN) & (found <= _NS_MAX)
    target[found.index[inside.to_numpy()]] = found[inside].astype("datetime64[ns]")


def read_date_columns(
    parse: pd.DataFrame, out: pd.DataFrame, found: dict, mapping: Mapping, col: Collector, info
) -> dict[str, pd.Series] | None:
    """Parse created and close dates into ``out``; one export writes all its dates one way, so
    the order of day and month is decided across both columns.

    Returns, per date column, the cells that hold something other than a date (already
    reported), or None when the dates cannot be trusted at all (two orders in one export).
    """
    sources = {c: coalesce(parse, found[c]) for c in DATE_COLUMNS if c in found}
    dayfirst = mapping.dayfirst
    order = None
    if dayfirst is None and not mapping.date_format and sources:
        order = date_order(list(sources.values()))
        dayfirst = order.dayfirst
    unreadable: dict[str, pd.Series] = {}
    for canonical in DATE_COLUMNS:
        if canonical not in sources:
            out[canonical] = pd.NaT
            continue
        source = sources[canonical]
        dates, bad, how = parse_dates(source, mapping.date_format, dayfirst)
        # the contract holds days: a creation timestamp (Salesforce's CreatedDate) beside a close
        # date of the same day must not read as a close before the creation
        out[canonical] = dates.dt.normalize()
        unreadable[canonical] = bad
        info.setdefault("dates", {})[canonical] = how
        col.add("not a date", canonical, bad, values_of(source, bad))
        if order is not None:
            _report_order(order, list(sources).index(canonical), canonical, col, info)
        if "Excel serial" in how:
            col.add(f"dates read as {how}", canonical, severity=WARNING)
    return None if order is not None and order.mixed else unreadable


def _report_order(order: DateOrder, position: int, canonical: str, col: Collector, info) -> None:
    """An export with both orders is an error on the cells that show one; one whose slashed
    dates never show their order is read month-first, with a warning."""
    if order.mixed:
        col.add(
            f"dates are written both day-first (e.g. '{order.dayfirst_example}') and "
            f"month-first (e.g. '{order.monthfirst_example}'): set date_format in a "
            "mapping file",
            canonical,
            order.evidence[position],
            skippable=False,
        )
        info["dates"][canonical] = _MIXED
    elif order.ambiguous and order.slashed[position]:
        col.add(
            "slashed dates are ambiguous (no part above 12): read as month-first "
            "(MM/DD/YYYY); set date_format or dayfirst in a mapping file to be sure",
            canonical,
            severity=WARNING,
        )
