"""Stage order, stage moves, conversion and the bottleneck, by hand and on simulated pipelines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from patterns_cases import (
    AS_OF,
    ORDER,
    STAGES,
    consecutive_snapshots,
    deals,
    simulated,
    two_exports,
)

from pipeline_models.analyses.patterns.changes import compare, compare_exports
from pipeline_models.analyses.patterns.stages import (
    bottleneck,
    stage_conversion,
    stage_moves,
    stage_order,
)
from pipeline_models.contract.labels import DAYS_PER_MONTH


def open_deals_at(stages_and_ages: list[tuple[str, float | None]]) -> pd.DataFrame:
    rows = []
    for i, (stage, age) in enumerate(stages_and_ages):
        created = None if age is None else AS_OF - pd.Timedelta(days=age)
        rows.append((f"o{i}", created, None, stage, "open", 100.0, "x", "p"))
    return deals(rows)


def test_stage_order_uses_the_crm_order_when_names_are_known():
    frame = open_deals_at([("negotiation", 5), ("Qualification", 50), ("Proposal", 1)])
    order = stage_order(frame, AS_OF)
    assert order.stages == ("Qualification", "Proposal", "negotiation")
    assert order.method == "crm"


def test_stage_order_falls_back_to_median_age():
    frame = open_deals_at(
        [("Signed intent", 80), ("Signed intent", 90), ("Demo", 20), ("Intro", None), ("Pitch", 40)]
    )
    order = stage_order(frame, AS_OF)
    assert order.stages == ("Intro", "Demo", "Pitch", "Signed intent")
    assert order.method == "median age"
    assert np.isnan(order.index("Closed Won"))


def test_stage_order_includes_stages_seen_only_last_time():
    now = open_deals_at([("Qualification", 5)])
    before = open_deals_at([("Negotiation", 5)])
    assert stage_order(now, AS_OF, before).stages == ("Qualification", "Negotiation")


def test_stage_moves_follow_each_deal_through_the_stages():
    prev, cur = two_exports()
    moves = stage_moves(compare_exports(prev, cur, ORDER), ORDER)
    by_deal = {
        d: list(zip(g["stage"], g["outcome"], strict=True))
        for d, g in moves.groupby("opportunity_id")
    }
    assert by_deal["moved"] == [
        ("Qualification", "passed"),
        ("Discovery", "passed"),
        ("Proposal", "stayed"),
    ]
    assert by_deal["won"] == [("Negotiation", "passed")]
    assert by_deal["lost"] == [("Proposal", "lost")]
    assert by_deal["back"] == [("Proposal", "back")]
    assert by_deal["pushed"] == [("Proposal", "stayed")]
    assert "removed" not in by_deal and "new" not in by_deal
    assert moves.loc[moves["opportunity_id"] == "moved", "start"].tolist() == [True, False, False]


def test_stage_conversion_counts_and_time_in_stage():
    moves = pd.DataFrame(
        {
            "opportunity_id": [f"d{i}" for i in range(10)],
            "owner": ["a"] * 10,
            "product": ["p"] * 10,
            "stage": ["Discovery"] * 10,
            "outcome": ["passed"] * 3 + ["lost"] * 3 + ["stayed"] * 4,
            "start": [True] * 10,
            "amount": [100.0] * 10,
        }
    )
    table = stage_conversion(moves, ORDER, gap_days=DAYS_PER_MONTH).set_index("stage")
    row = table.loc["Discovery"]
    assert (row["passed"], row["lost"], row["stayed"]) == (3, 3, 4)
    assert row["conversion"] == 0.5
    assert row["value_lost"] == 300.0
    # 6 of 10 left within one month: exposure 10 - 6 / 2 = 7 deal-months, about 1.2 months each
    assert 0.8 < row["months_in_stage"] < 1.6
    assert table.loc["Proposal", "passed"] == 0 and np.isnan(table.loc["Proposal", "conversion"])


def test_bottleneck_names_the_lowest_and_the_costliest_stage():
    conv = pd.DataFrame(
        {
            "stage": list(STAGES),
            "passed": [90, 80, 40, 50],
            "lost": [10, 20, 60, 5],
            "mean": [0.9, 0.8, 0.4, 0.9],
            "lower": [0.85, 0.75, 0.33, 0.8],
            "upper": [0.95, 0.85, 0.47, 0.95],
            "value_lost": [100.0, 5000.0, 3000.0, 10.0],
        }
    )
    b = bottleneck(conv)
    assert b["lowest_stage"] == "Proposal" and b["credible"]
    assert b["most_value_lost_stage"] == "Discovery"


@pytest.mark.parametrize("planted", ["Proposal", "Discovery"])
def test_planted_bottleneck_stage_is_found(planted):
    prev, cur, as_of = consecutive_snapshots(simulated(bottleneck_stage=planted))
    order = stage_order(cur, as_of, prev)
    assert order.stages == STAGES and order.method == "crm"
    comparison = compare(prev, cur, order, as_of)
    found = bottleneck(stage_conversion(comparison.moves, order, comparison.gap_days))
    assert found["lowest_stage"] == planted
    assert found["credible"]
    assert found["most_value_lost_stage"] == planted
