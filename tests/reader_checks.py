"""What a reader's table must never show, checked the same way for every report."""

from __future__ import annotations

import datetime
import re

import pandas as pd

NOT_SHOWN = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|(?<![\w/])n/a\b")
TRAILING_ZERO = re.compile(r"\d\.0(?![\dkMBT])")
RAW_FLOAT = re.compile(r"\d\.\d{4,}")


def reader_faults(frame: pd.DataFrame) -> list[str]:
    """What a reader's table must not show: a row index a page would print, a cell that is
    neither text nor a date (a raw number), ``nan``/``None``/``n/a``, a raw float or a number
    ending in ``.0``."""
    faults = [] if isinstance(frame.index, pd.RangeIndex) else [f"index {frame.index.name!r}"]
    for column in frame.columns:
        for value in [column, *frame[column].tolist()]:
            text = str(value)
            if isinstance(value, datetime.date):
                continue
            if not isinstance(value, str):
                faults.append(f"{column}: raw value {value!r}")
            elif NOT_SHOWN.search(text) or TRAILING_ZERO.search(text) or RAW_FLOAT.search(text):
                faults.append(f"{column}: {text!r}")
    return faults


def page_faults(page: str) -> list[str]:
    """What a reader must not see in a page's text before its appendix: ``nan``/``None``/
    ``n/a``, a raw float or a number ending in ``.0`` (tags and styles left out)."""
    shown = page.split('<section class="appendix">')[0]
    shown = re.sub(r"<style.*?</style>", "", shown, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", shown)
    return [
        match.group(0)
        for pattern in (NOT_SHOWN, TRAILING_ZERO, RAW_FLOAT)
        for match in pattern.finditer(text)
    ]
