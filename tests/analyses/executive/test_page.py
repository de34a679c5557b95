"""The executive page's sentences: the forecast against the target, risks, levers."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.executive.page import (
    concentration_item,
    forecast_items,
    lever_items,
    problem_sentence,
)
from pipeline_models.analyses.forecast.ledger import column

OUTLOOK = {
    "month": "2026-11",
    "quarter": "2026Q4",
    "quarter_months": ["2026-10", "2026-11", "2026-12"],
    "revenue": {
        "month": {"expected": 2_123_017.4, "median": 2.09e6, "low": 1.597e6, "high": 2.678e6},
        "quarter": {"expected": 5_812_550.38, "median": 5.8e6, "low": 5.105e6, "high": 6.527e6},
        "won_so_far": 1_462_758.0,
        "target": 5_240_000.0,
        "p_reach_target": 0.853,
    },
}


def test_the_forecast_reads_as_expected_values_with_the_planners_interval_and_the_target():
    texts = [item.text for item in forecast_items(OUTLOOK, "revenue", "USD")]
    assert texts[0] == "Revenue won in 2026-11: 2.09M USD (median; 80%: 1.60M–2.68M USD)."
    assert texts[1].startswith("Revenue won in 2026Q4, with what is already won: 5.80M USD")
    assert texts[2] == "Chance of reaching the target of 5.24M USD in 2026Q4: 85%."
    assert all(item.href == "forecast.html" for item in forecast_items(OUTLOOK, "revenue", "USD"))


def test_an_average_far_from_the_median_is_written_beside_it():
    quarter = {"expected": 74_000.0, "median": 52_800.0, "low": 33_200.0, "high": 143_000.0}
    outlook = {**OUTLOOK, "revenue": {**OUTLOOK["revenue"], "quarter": quarter}}
    text = forecast_items(outlook, "revenue", "USD")[1].text
    assert text.endswith("52.8k USD (median; 80%: 33.2k–143k USD; 74.0k USD on average).")
    assert "on average" not in forecast_items(OUTLOOK, "revenue", "USD")[1].text


def test_without_a_target_no_chance_is_claimed():
    outlook = {**OUTLOOK, "revenue": {**OUTLOOK["revenue"], "target": 0.0, "p_reach_target": None}}
    texts = [item.text for item in forecast_items(outlook, "revenue", "USD")]
    assert len(texts) == 2 and not any("Chance" in t for t in texts)


def test_a_validation_warning_becomes_its_reason_in_one_sentence():
    warning = (
        "warning: data/x.csv, column 'amount', rows 2, 326 and 106 more (116 rows): 116 open "
        "deals have no amount: forecasts draw one from the deal-size model"
    )
    assert problem_sentence(warning) == (
        "116 open deals have no amount: forecasts draw one from the deal-size model."
    )


def test_levers_that_add_the_same_revenue_are_one_line_and_the_largest_come_first():
    levers = pd.DataFrame(
        {
            "product": ["Pro", "Pro", "Ent", "Ent", "Team", "Plat"],
            "lever": ["deal_size", "win_rate", "deal_size", "cycle_time", "win_rate", "win_rate"],
            "scenario": ["percent"] * 5 + ["peer_median"],
            "kind": ["more revenue", "more revenue", "more revenue", "earlier revenue"]
            + ["more revenue"] * 2,
            "mean": [158_641.4, 158_641.4, 143_759.9, 90_000.0, 50_000.0, 1.3e6],
            "lower": [143_139.0, 143_139.0, 120_000.0, 80_000.0, 40_000.0, 1e6],
            "upper": [175_131.2, 175_131.2, 160_000.0, 99_000.0, 60_000.0, 1.5e6],
        }
    )
    texts = [item.text for item in lever_items(levers, 10, 3, "USD")]
    assert len(texts) == 3  # the peer-median scenario is not a small change
    assert texts[0].startswith("Pro: deal size 10% larger or win rate 10% higher — 159k USD added")
    assert texts[1].startswith("Ent: deal size 10% larger")
    assert "won earlier" in texts[2]


def test_concentration_is_the_share_of_what_is_still_to_come_on_the_largest_open_deals():
    months = ["2026-11", "2026-12"]
    rows = [("W", "won", 1000, 0)] + [(f"D{i}", "open", 10 * (i + 1), 0) for i in range(12)]
    rows += [("open leads", "leads", 100, 100), ("deals not yet created", "new", 0, 200)]
    ledger = pd.DataFrame(rows, columns=["item", "kind", *[column("revenue", m) for m in months]])
    outlook = {"quarter": "2026Q4", "quarter_months": months}
    item = concentration_item(ledger, outlook, "revenue")
    open_total = sum(10 * (i + 1) for i in range(12))
    top = sum(10 * (i + 1) for i in range(2, 12))
    share = top / (open_total + 400)
    assert f"{round(100 * share)}%" in item.text and "10 largest open deals" in item.text
