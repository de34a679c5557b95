"""Amounts as CRM exports write them: currency signs and codes, thousands separators, decimal
commas, minus signs and parentheses.

Which mark is the decimal one is decided for the whole column (or by the mapping's ``decimal``):
a cell such as '1.234,50', '99,5' or '1.234.567' shows a decimal comma; '1,234.50', '99.5' or
'1,234,567' a decimal point. A cell like '1,234' or '1.234' is read by the column's convention:
a decimal point when the column gives no sign (with a warning), and no reading at all when the
column shows both (``ambiguous``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import WARNING

from .cells import distinct, extract, flag, is_blank, spread, stripped_text
from .collector import Collector, values_of
from .columns import coalesce
from .presets import Mapping

CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}
"""Currency signs an amount cell may carry, and the currency each stands for."""

_GROUP_MARKS = "[ \t\u00a0\u202f'\u2019]"
"""Marks that group thousands and never end a number: spaces, no-break spaces, apostrophes.
(Literal characters, not escapes, keep the pattern inside Arrow's fast regex engine.)"""
_PLAIN_NUMBER = r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_GROUPED = {
    ".": r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)",
    ",": r"(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?)",
}
_CODE = r"(?:^|[^A-Za-z])(?P<code>[A-Z]{3})(?:$|[^A-Za-z])"

Notes = list[tuple[str, tuple[str, ...]]]
"""Warnings about how amounts were read: (reason, example cells)."""


@dataclass
class Amounts:
    """What was read from a column of amounts, per cell."""

    amounts: pd.Series
    bad: pd.Series
    negative: pd.Series
    currency: pd.Series
    ambiguous: pd.Series  # could be read two ways and the column does not say which
    notes: Notes  # warnings: (reason, example cells)


@dataclass
class _Marks:
    """Per cell of the written amounts: which mark is the decimal one."""

    by_point: pd.Series  # the decimal mark is '.'
    ambiguous: pd.Series
    has_comma: pd.Series
    has_point: pd.Series
    notes: Notes


def parse_amounts(
    series: pd.Series, decimal: str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """Parse amounts written with currency symbols, thousands separators or decimal commas.

    Returns (amounts, unparseable mask, negative mask, currency found in the cell or NA); a cell
    that the column leaves ambiguous counts as unparseable here.
    """
    parsed = read_amounts(series, decimal)
    return parsed.amounts, parsed.bad | parsed.ambiguous, parsed.negative, parsed.currency


def read_amounts(series: pd.Series, decimal: str | None = None) -> Amounts:
    """Parse amounts written plainly or with currency signs, thousands separators, decimal commas
    (the column's convention decides, as this module's docstring says; ``decimal`` overrides it).
    """
    codes, cells = distinct(series)
    read = _read_distinct_amounts(cells, decimal)
    index = series.index
    return Amounts(
        spread(read.amounts, codes, index),
        spread(read.bad, codes, index, False),
        spread(read.negative, codes, index, False),
        spread(read.currency, codes, index),
        spread(read.ambiguous, codes, index, False),
        read.notes,
    )


def _read_distinct_amounts(series: pd.Series, decimal: str | None) -> Amounts:
    text = stripped_text(series)
    blank = is_blank(series)
    index = series.index
    amounts = pd.Series(np.nan, index=index, dtype="float64")
    negative = pd.Series(False, index=index)
    currency = pd.Series(pd.NA, index=index, dtype="string")
    ambiguous = pd.Series(False, index=index)
    notes: Notes = []

    # the bulk of most exports: plain numbers, parsed in one cast
    fast = pd.Series(False, index=index)
    if decimal != ",":
        fast = flag(text.str.fullmatch(_PLAIN_NUMBER)) & ~flag(
            text.str.fullmatch(r"[+-]?\d{1,3}\.\d{3}")
        )
        if fast.any():
            amounts[fast[fast].index] = text[fast].astype("float64")
    point_seen = bool((fast & flag(text.str.contains(".", regex=False))).any())
    rest = text[~blank & ~fast]
    if len(rest):
        written = _read_written_amounts(rest, decimal, point_seen)
        amounts[rest.index] = written.amounts
        negative[rest.index] = written.negative
        currency[rest.index] = written.currency
        ambiguous[rest.index] = written.ambiguous
        notes += written.notes
    amounts = amounts.where(np.isfinite(amounts))
    negative = (negative | amounts.lt(0).fillna(False)).astype(bool)
    bad = ~blank & amounts.isna() & ~ambiguous
    return Amounts(amounts, bad, negative & ~bad, currency, ambiguous, notes)


def _read_written_amounts(rest: pd.Series, decimal: str | None, point_seen: bool) -> Amounts:
    """Amounts that are not plain numbers: signs, separators and marks taken off, then read by
    the column's decimal mark (``bad`` is left to the caller)."""
    cleaned, currency, notes = _strip_currency(rest)
    cleaned, spaced, sign = _strip_grouping_and_sign(cleaned)
    marks = _decimal_marks(cleaned, rest, decimal, point_seen)
    notes += marks.notes
    by_point = marks.by_point
    grouped = (by_point & flag(cleaned.str.fullmatch(_GROUPED["."]))) | (
        ~by_point & flag(cleaned.str.fullmatch(_GROUPED[","]))
    )
    good = grouped & ~marks.ambiguous
    numeric = cleaned.where(~by_point, cleaned.str.replace(",", "", regex=False)).where(
        by_point, cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    )
    values = numeric[good].astype("float64")
    values = values.where(~sign[good], -values)
    amounts = pd.Series(np.nan, index=rest.index, dtype="float64")
    amounts[values.index] = values
    separated = good & (spaced | (by_point & marks.has_comma) | (~by_point & marks.has_point))
    if separated.any():
        notes.append(
            (
                "amounts are written with thousands separators: read as numbers",
                tuple(rest[separated].unique()[:3]),
            )
        )
    decimal_comma = good & ~by_point & marks.has_comma
    if decimal_comma.any():
        notes.append(
            (
                "amounts are written with a decimal comma: read as numbers",
                tuple(rest[decimal_comma].unique()[:3]),
            )
        )
    bad = pd.Series(False, index=rest.index)
    return Amounts(amounts, bad, sign & good, currency, marks.ambiguous, notes)


def _strip_currency(rest: pd.Series) -> tuple[pd.Series, pd.Series, Notes]:
    """The cells without currency signs and codes, the currency each names, and a note."""
    currency = pd.Series(pd.NA, index=rest.index, dtype="string")
    cleaned = rest
    for symbol, code in CURRENCY_SYMBOLS.items():
        has = flag(cleaned.str.contains(symbol, regex=False))
        if has.any():
            currency[has[has].index] = code
            cleaned = cleaned.str.replace(symbol, "", regex=False)
    codes = extract(cleaned, _CODE)
    if len(codes):
        currency[codes.index] = currency[codes.index].fillna(codes["code"])
        cleaned = cleaned.str.replace(r"(^|[^A-Za-z])[A-Z]{3}($|[^A-Za-z])", r"\1\2", regex=True)
    notes: Notes = []
    signed = currency.notna()
    if signed.any():
        found = ", ".join(sorted(set(currency.dropna())))
        notes.append(
            (
                f"amounts carry a currency sign or code: read as numbers in {found}",
                tuple(rest[signed].unique()[:3]),
            )
        )
    return cleaned, currency, notes


def _strip_grouping_and_sign(cleaned: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The cells without grouping marks, parentheses and sign; which were grouped by a space or
    apostrophe; and which are negative (a minus sign or accounting parentheses)."""
    spaced = flag(cleaned.str.contains(r"\d" + _GROUP_MARKS + r"+\d", regex=True))
    cleaned = cleaned.str.replace(_GROUP_MARKS, "", regex=True)
    paren = flag(cleaned.str.fullmatch(r"\(.*\)"))
    cleaned = cleaned.str.replace(r"^\((.*)\)$", r"\1", regex=True)
    minus = flag(cleaned.str.startswith("-"))
    cleaned = cleaned.str.replace(r"^[+-]", "", regex=True)
    return cleaned, spaced, minus | paren


def _decimal_marks(
    cleaned: pd.Series, rest: pd.Series, decimal: str | None, point_seen: bool
) -> _Marks:
    """Decide each cell's decimal mark: by ``decimal`` when given, else from what the cell
    shows, and for a cell that shows nothing ('1,234') from what the column shows."""
    has_c = flag(cleaned.str.contains(",", regex=False))
    has_d = flag(cleaned.str.contains(".", regex=False))
    n_c, n_d = cleaned.str.count(","), cleaned.str.count(r"\.")
    amb_c = has_c & ~has_d & flag(cleaned.str.fullmatch(r"\d{1,3},\d{3}"))
    amb_d = has_d & ~has_c & flag(cleaned.str.fullmatch(r"\d{1,3}\.\d{3}"))
    point = (
        (has_c & has_d & flag(cleaned.str.contains(r"\.\d*$")))
        | (has_c & ~has_d & (n_c >= 2))
        | (has_d & ~has_c & (n_d == 1) & ~amb_d)
    )
    comma = (
        (has_c & has_d & flag(cleaned.str.contains(r",\d*$")))
        | (has_d & ~has_c & (n_d >= 2))
        | (has_c & ~has_d & (n_c == 1) & ~amb_c)
    )
    point_seen = point_seen or bool(point.any())
    comma_seen = bool(comma.any())
    ambiguous = pd.Series(False, index=rest.index)
    notes: Notes = []
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
    return _Marks(mark.eq("."), ambiguous, has_c, has_d, notes)


def read_amount_column(
    parse: pd.DataFrame, out: pd.DataFrame, found: dict, mapping: Mapping, col: Collector
) -> None:
    """Add ``amount`` (and a currency read from the cells) to ``out``, reporting cells that are
    not a number, that can be read two ways, or that are negative."""
    if "amount" not in found:
        out["amount"] = np.nan
        return
    source = coalesce(parse, found["amount"])
    parsed = read_amounts(source, mapping.decimal)
    col.add("amount is not a number", "amount", parsed.bad, values_of(source, parsed.bad))
    col.add(
        "amount can be read two ways: this export writes decimals both with a point and "
        "with a comma; set decimal in a mapping file",
        "amount",
        parsed.ambiguous,
        values_of(source, parsed.ambiguous),
    )
    col.add("amount is negative", "amount", parsed.negative, values_of(source, parsed.negative))
    for reason, examples in parsed.notes:
        col.add(reason, "amount", values=examples, severity=WARNING)
    out["amount"] = parsed.amounts.where(~parsed.negative)
    if not parsed.currency.notna().any():
        return
    if "currency" in out:
        stated = out["currency"].astype("string").str.upper()
        conflict = flag(parsed.currency.notna() & stated.notna() & (parsed.currency != stated))
        col.add(
            "the amount's currency sign disagrees with the currency column",
            "amount",
            conflict,
            values_of(source + " / " + stated, conflict),
        )
    existing = out["currency"] if "currency" in out else pd.Series(pd.NA, index=out.index)
    out["currency"] = existing.astype("string").fillna(parsed.currency)
