"""Files readers open: CSV and Excel tables a spreadsheet reads safely, and JSON summaries.

Every writer is atomic (a temporary file renamed into place), so a reader never sees half a file.
Text that a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

NEUTRALISE = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:[.,]\d+)*(?:[eE][+-]?\d+)?")


def _is_formula(value: object) -> bool:
    """Text a spreadsheet would read as a formula. A number written as text ('-5', '-1,234.50')
    starts with a sign but can only ever be a number, so it is left as it is."""
    return (
        isinstance(value, str)
        and value.startswith(NEUTRALISE)
        and _NUMBER_TEXT.fullmatch(value) is None
    )


def safe_cell(value: object) -> object:
    """Neutralise a spreadsheet formula: text starting with = + - @ (or tab, CR) gets a leading
    quote; numbers, and text that is just a number, stay as they are."""
    return "'" + value if _is_formula(value) else value


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a CSV a spreadsheet can open safely (formula cells neutralised), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    tmp = path.with_name(path.name + ".tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def write_excel(frame: pd.DataFrame, path: str | Path, sheet: str = "data") -> Path:
    """Write an .xlsx a spreadsheet can open safely, atomically.

    A text cell is always stored as text: one that looks like a formula is kept as written,
    marked with Excel's quote prefix so that not even editing the cell turns it into a formula.
    Numbers and dates stay numbers and dates.
    """
    import openpyxl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for c, name in enumerate(frame.columns, start=1):
        _excel_cell(worksheet.cell(row=1, column=c), str(name))
    for r, record in enumerate(frame.itertuples(index=False), start=2):
        for c, value in enumerate(record, start=1):
            _excel_cell(worksheet.cell(row=r, column=c), value)
    tmp = path.with_name(path.name + ".tmp")
    workbook.save(tmp)
    tmp.replace(path)
    return path


def _excel_cell(cell, value: object) -> None:
    if value is None or value is pd.NA or value is pd.NaT:
        return
    if isinstance(value, float) and value != value:  # NaN
        return
    if isinstance(value, pd.Timestamp):
        value = value.tz_localize(None) if value.tzinfo else value
        value = value.to_pydatetime()
    elif hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalars
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would store '=...' as a formula
        if _is_formula(value):
            cell.quotePrefix = True


def json_default(value: Any) -> Any:
    """JSON for numpy scalars and timestamps; anything else as text."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def write_json(payload: Any, path: str | Path) -> Path:
    """Write JSON atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=json_default))
    tmp.replace(path)
    return path
