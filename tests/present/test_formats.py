"""The one way each kind of number is written for a reader."""

from __future__ import annotations

import math

import pytest

from pipeline_models.present.formats import format_count, format_money, format_pct, format_points


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.031, "+3.1"),
        (-0.046, "-4.6"),
        (0.11, "+11"),  # a whole number of points: no trailing ".0"
        (-0.179, "-17.9"),
        (0.0004, "0"),  # rounds to zero: no sign
        (-0.0004, "0"),
    ],
)
def test_points_are_signed_and_never_end_in_dot_zero(value, text):
    assert format_points(value) == text


def test_money_shares_and_counts():
    assert format_money(1_234_567, "USD") == "1.23M USD"
    assert format_money(999_999) == "1.00M"
    assert format_money(950) == "950"
    assert format_pct(0.234) == "23%"
    assert format_count(12345) == "12,345"
    for missing in (None, math.nan, math.inf):
        assert format_points(missing) == format_count(missing) == "n/a"
