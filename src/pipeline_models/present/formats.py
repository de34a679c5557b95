"""The one way each kind of number is written for a reader.

Every report writes money, shares and counts through these functions, so "12.3M" in one report is
"12.3M" in every other. Missing or non-finite values print as ``"n/a"``.
"""

from __future__ import annotations

import math

MONEY_DIGITS = 3
"""Significant digits of an abbreviated amount: 1.23M, 12.3M, 123M (finer digits are noise in a
figure read at a glance; the CSV files beside a report hold exact amounts)."""

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))  # NaN, inf, pd.NA (raises TypeError)
    except (TypeError, ValueError):
        return True


def format_money(value: float | None, currency: str = "") -> str:
    """An amount to three significant digits with k/M/B/T: 1234567 -> ``"1.23M"``.

    Amounts under a thousand print whole (``"950"``). Rounding happens before the suffix is
    chosen, so 999,999 prints ``"1.00M"``, never ``"1000k"``.
    """
    if _missing(value):
        return "n/a"
    value = float(value)
    sign = "-" if value < 0 else ""
    size = abs(value)
    text = f"{size:,.0f}"
    if size >= 1e3:
        rounded = float(f"{size:.{MONEY_DIGITS}g}")
        for limit, suffix in _SUFFIXES:
            if rounded >= limit:
                scaled = rounded / limit
                decimals = max(MONEY_DIGITS - 1 - int(math.floor(math.log10(scaled))), 0)
                text = f"{scaled:.{decimals}f}{suffix}"
                break
    if text.strip("0.,kMBT") == "":  # -0.4 rounds to 0: no sign on a zero
        sign = ""
    return f"{sign}{text}" + (f" {currency}" if currency else "")


def format_pct(value: float | None, digits: int = 0) -> str:
    """A share as a percentage: 0.234 -> ``"23%"``."""
    if _missing(value):
        return "n/a"
    return f"{100 * float(value):.{digits}f}%"


def format_count(value: float | None) -> str:
    """A count with thousands separators: 12345 -> ``"12,345"``."""
    if _missing(value):
        return "n/a"
    return f"{float(value):,.0f}"


def format_points(value: float | None, digits: int = 1) -> str:
    """A difference of two shares in percentage points, signed: 0.031 -> ``"+3.1"``; a whole
    number of points without decimals (0.11 -> ``"+11"``, never ``"+11.0"``), and no sign on a
    difference that rounds to zero."""
    if _missing(value):
        return "n/a"
    text = f"{100 * float(value):+.{digits}f}"
    if "." in text and set(text.split(".")[1]) == {"0"}:
        text = text.split(".")[0]
    return "0" if text.strip("+-") == "0" else text
