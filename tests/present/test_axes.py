"""Chart axes read short and alike: ``0``, ``500k``, ``1M``, ``1.5M``, ``2M``; never ``1e6``."""

from __future__ import annotations

import math
import re

import matplotlib
import pytest

from pipeline_models.present.axes import money_axis, money_tick, share_axis, share_tick

matplotlib.use("Agg")


@pytest.mark.parametrize(
    ("value", "tick"),
    [
        (0, "0"),
        (-0.0, "0"),
        (250, "250"),
        (950, "950"),
        (0.5, "0.5"),
        (1_000, "1k"),
        (12_500, "12.5k"),
        (250_000, "250k"),
        (500_000, "500k"),
        (1_000_000, "1M"),
        (1_250_000, "1.25M"),
        (1_500_000, "1.5M"),
        (1.5000000000000002e6, "1.5M"),  # a locator's float noise
        (2_000_000, "2M"),
        (999_999.9999, "1M"),  # rounded before the suffix is chosen: never "1000k"
        (25_000_000, "25M"),
        (3_000_000_000, "3B"),
        (-500_000, "-500k"),
        (-1_500_000, "-1.5M"),
    ],
)
def test_a_money_tick_reads_as_short_as_it_can(value, tick):
    assert money_tick(value) == tick


@pytest.mark.parametrize(
    ("value", "tick"),
    [(0, "0%"), (0.25, "25%"), (1, "100%"), (0.125, "12.5%"), (0.005, "0.5%"), (0.15, "15%")],
)
def test_a_share_tick_reads_as_short_as_it_can(value, tick):
    assert share_tick(value) == tick


def test_a_tick_that_is_no_number_is_blank():
    assert money_tick(math.nan) == "" and share_tick(math.inf) == ""


def _ticks(ax, axis: str = "y") -> list[str]:
    """The labels of the ticks a reader sees (those inside the axis's view)."""
    ax.figure.canvas.draw()
    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = sorted(target.get_view_interval())
    return [
        tick.label1.get_text()
        for tick in target.get_major_ticks()
        if low <= tick.get_loc() <= high and tick.label1.get_text()
    ]


@pytest.fixture
def ax():
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    yield axes
    plt.close(figure)


SHORT = re.compile(r"-?\d+(\.\d*[1-9])?[kMBT]?")
"""A tick as short as it reads: no trailing zero, no exponent."""


def test_a_money_axis_reads_0_500k_1m_15m_2m_without_an_offset(ax):
    from matplotlib.ticker import MultipleLocator

    ax.plot([0, 1], [0, 2_000_000])
    ax.set_ylim(0, 2_000_000)
    money_axis(ax)
    assert all(SHORT.fullmatch(t) for t in _ticks(ax)), _ticks(ax)  # matplotlib's own ticks
    ax.yaxis.set_major_locator(MultipleLocator(500_000))
    assert _ticks(ax) == ["0", "500k", "1M", "1.5M", "2M"]
    assert ax.yaxis.get_offset_text().get_text() == ""


def test_a_money_axis_near_a_large_amount_shows_no_offset(ax):
    ax.plot([0, 1], [10_000_000, 10_400_000])
    money_axis(ax)
    ticks = _ticks(ax)
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert all(t.endswith("M") for t in ticks) and "10.2M" in ticks


def test_the_currency_goes_into_the_axis_label_once(ax):
    ax.plot([0, 1_000_000], [0, 1])
    ax.set_xlabel("revenue won")
    money_axis(ax, "x", currency="USD")
    money_axis(ax, "x", currency="USD")
    assert ax.get_xlabel() == "revenue won (USD)"
    assert "1M" in _ticks(ax, "x")
    bare = money_axis(ax, "y", currency="EUR")
    assert bare is ax and ax.get_ylabel() == "EUR"


def test_a_share_axis_reads_in_percent(ax):
    ax.plot([0, 1], [0, 0.05])
    ax.set_ylim(0, 0.05)
    share_axis(ax)
    ticks = _ticks(ax)
    assert "0%" in ticks and "5%" in ticks
    assert len(ticks) == len(set(ticks)), "two ticks read alike"


def test_an_axis_is_x_or_y(ax):
    with pytest.raises(ValueError, match='"x" or "y"'):
        money_axis(ax, "z")
