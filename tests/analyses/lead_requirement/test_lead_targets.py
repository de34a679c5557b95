"""The target (set or derived from recent wins), costs per lead, and the target in words."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.analyses.lead_requirement.targets import (
    check_target,
    parse_costs,
    resolve_target,
    target_text,
    trailing_wins,
)
from pipeline_models.contract.period import month_end
from pipeline_models.contract.schema import conform_opportunities


@pytest.fixture
def three_wins() -> pd.DataFrame:
    return conform_opportunities(
        pd.DataFrame(
            {
                "opportunity_id": ["a", "b", "c"],
                "created_date": pd.to_datetime(["2026-01-01"] * 3),
                "close_date": pd.to_datetime(["2026-08-15", "2026-09-20", "2026-05-01"]),
                "stage": ["w", "w", "w"],
                "status": ["won", "won", "won"],
                "amount": [1.0, 2.0, 3.0],
            }
        )
    )


def test_parse_costs():
    assert parse_costs({}) == {} and parse_costs("") == {} and parse_costs(None) == {}
    assert parse_costs('{"Web": 12.5}') == {"Web": 12.5}
    with pytest.raises(ValueError):
        parse_costs({"Web": -1})
    with pytest.raises(ValueError):
        parse_costs("[1, 2]")


def test_resolve_target(three_wins):
    value, metric, note = resolve_target(three_wins, month_end("2026-10"), 3)
    assert (value, metric) == (3.0, "count") and "1.2 x the 2 deals" in note
    assert resolve_target(three_wins, month_end("2026-10"), 3, target_revenue=5e5)[:2] == (
        5e5,
        "revenue",
    )
    assert resolve_target(three_wins, month_end("2026-10"), 3, 7, 5e5)[:2] == (7.0, "count")


def test_without_recent_wins_the_default_target_says_so_in_words(three_wins):
    value, metric, note = resolve_target(three_wins, month_end("2027-06"), 3)
    assert (value, metric) == (1.0, "count")
    assert note == "no target set, and no deal was won in the last 3 months: one deal"


def test_trailing_wins_count_the_window_up_to_the_date(three_wins):
    assert trailing_wins(three_wins, month_end("2026-10"), 3) == {"count": 2.0, "revenue": 3.0}
    assert trailing_wins(three_wins, month_end("2026-10"), 6)["count"] == 3.0


def test_target_text_writes_money_with_three_digits():
    assert target_text(1234, "count") == "1,234 deals won"
    assert target_text(12_345_678, "revenue", "EUR") == "12.3M EUR revenue won"


@pytest.mark.parametrize(
    ("target", "metric", "confidence"),
    [(0, "count", 0.8), (10, "deals", 0.8), (10, "count", 1.0)],
)
def test_check_target_refuses_what_cannot_be_planned(target, metric, confidence):
    with pytest.raises(ValueError):
        check_target(target, metric, confidence)
