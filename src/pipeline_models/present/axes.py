"""Chart axes a reader reads: money in k/M, shares in percent, never a ``1e6`` offset.

Each tick is written as short as its value allows and the same way on every chart: ``0``,
``500k``, ``1M``, ``1.5M``, ``2M`` (never ``1.00M``); ``10%``, ``12.5%`` (never ``12.50%``).
"""

from __future__ import annotations

import math
from typing import Any

TICK_DIGITS = 4
"""Significant digits a tick keeps (ticks are round numbers: 1.25M, 12.5k; this only drops the
float noise of a locator's arithmetic)."""

_SUFFIXES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _trimmed(value: float, decimals: int) -> str:
    """``value`` with at most ``decimals`` decimals and no trailing zero: 1.50 -> ``"1.5"``."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money_tick(value: float) -> str:
    """A money tick as short as it reads: 0 -> ``"0"``, 5e5 -> ``"500k"``, 1.5e6 -> ``"1.5M"``."""
    if not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    rounded = float(f"{value:.{TICK_DIGITS}g}")
    size = abs(rounded)
    sign = "-" if rounded < 0 else ""
    for limit, suffix in _SUFFIXES:
        if size >= limit:
            return f"{sign}{_trimmed(size / limit, TICK_DIGITS)}{suffix}"
    return f"{sign}{_trimmed(size, TICK_DIGITS)}"


def share_tick(value: float) -> str:
    """A share tick in percent, as short as it reads: 0.25 -> ``"25%"``, 0.125 -> ``"12.5%"``."""
    if not math.isfinite(value):
        return ""
    return f"{_trimmed(100 * value, 2)}%"


def _target(ax: Any, axis: str) -> Any:
    if axis not in ("x", "y"):
        raise ValueError(f'axis must be "x" or "y", not {axis!r}')
    return ax.yaxis if axis == "y" else ax.xaxis


def money_axis(ax: Any, axis: str = "y", currency: str = "") -> Any:
    """Write the ticks of ``axis`` ("x" or "y") as money (``250k``, ``1.5M``); returns ``ax``.

    The currency, when given, goes into the axis label rather than onto every tick.
    """
    from matplotlib.ticker import FuncFormatter

    target = _target(ax, axis)
    target.set_major_formatter(FuncFormatter(lambda value, _pos: money_tick(value)))
    if currency:
        label = target.get_label_text()
        if currency not in label:
            target.set_label_text(f"{label} ({currency})" if label else currency)
    return ax


def share_axis(ax: Any, axis: str = "y") -> Any:
    """Write the ticks of ``axis`` as percentages (``0.25`` -> ``25%``); returns ``ax``."""
    from matplotlib.ticker import FuncFormatter

    _target(ax, axis).set_major_formatter(FuncFormatter(lambda value, _pos: share_tick(value)))
    return ax
