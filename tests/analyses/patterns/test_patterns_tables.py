"""Reader tables: exact cents in the waterfall, money text, chances as percentages."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.patterns.tables import (
    stalled_display,
    waterfall_display,
    with_money,
)


def test_waterfall_display_shows_exact_cents():
    bars = pd.DataFrame(
        {
            "bar": ["open last time", "won", "open now"],
            "kind": ["total", "step", "total"],
            "deals": [2, 1, 1],
            "cents": [123456789, -100001, 123356788],
        }  # fmt: skip
    )
    shown = waterfall_display(bars, "EUR")["amount"].tolist()
    assert shown == ["1,234,567.89 EUR", "-1,000.01 EUR", "1,233,567.88 EUR"]


def test_with_money_leaves_missing_amounts_empty():
    table = pd.DataFrame({"deal": ["a", "b"], "amount": [12_345_678.0, None]})
    shown = with_money(table, currency="EUR")
    assert shown["amount"].tolist() == ["12.3M EUR", ""]
    assert table["amount"].iloc[0] == 12_345_678.0  # the input keeps its numbers


def test_stalled_display_marks_estimated_amounts():
    outlook = pd.DataFrame(
        {
            "opportunity_id": ["a", "b"],
            "age_days": [120.0, 90.0],
            "amount": [5000.0, 1500.0],
            "amount estimated": [False, True],
            "p_won_ever": [0.25, 0.044],
            "value_at_risk": [3750.0, 1434.0],
        }
    )
    shown = stalled_display(outlook)
    assert shown["amount"].tolist() == ["5.00k", "1.50k (est.)"]
    assert shown["chance of being won within two years"].tolist() == ["25%", "4.4%"]
    assert shown["value at risk"].tolist() == ["3.75k", "1.43k"]
    assert shown["age (days)"].tolist() == [120, 90]
