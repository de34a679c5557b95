"""The patterns report's words: bullets, intervals, headline figures and thin-data warnings."""

from __future__ import annotations

import pandas as pd
from patterns_cases import deals

from pipeline_models.analyses.patterns.narrative import (
    bounds_text,
    bullets,
    headline,
    interval_text,
    thin_data_warnings,
)
from pipeline_models.analyses.patterns.report import READING_NOTE
from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL


def test_bullets_keep_values_apart_from_markup():
    template, values = bullets(["a *b*", "c"])
    assert template == "- {item0}\n- {item1}"
    assert values == {"item0": "a *b*", "item1": "c"}


def test_interval_text_of_each_kind_is_written_one_way():
    one = pd.Series([0.62]), pd.Series([0.55]), pd.Series([0.70])
    assert interval_text(*one).tolist() == ["62% (55%–70%)"]
    assert interval_text(*one, kind="ratio").tolist() == ["0.62x (0.55–0.70)"]
    money = pd.Series([12345.0]), pd.Series([9800.0]), pd.Series([15149.0])
    assert interval_text(*money, kind="money").tolist() == ["12.3k (9.80k–15.1k)"]
    assert interval_text(*money, kind="money", currency="EUR").tolist() == [
        "12.3k EUR (9.80k–15.1k)"
    ]
    days = pd.Series([23.4]), pd.Series([21.0]), pd.Series([25.2])
    assert interval_text(*days, kind="days").tolist() == ["23 (21–25)"]
    months = (
        pd.Series([1.4, float("nan"), 1.0]),
        pd.Series([1.2, 1.0, 0.9]),
        pd.Series([30.0, 2.0, 1.1]),
    )
    assert interval_text(*months, kind="months").tolist() == ["1.4 (1.2–24+)", "", "1 (0.9–1.1)"]
    assert bounds_text(0.52, 0.55) == "52%–55%"


def test_headline_without_a_previous_export():
    stalled = pd.DataFrame({"value_at_risk": [1_234_567.0, 10_000.0]})
    effects = pd.DataFrame(
        {
            "term": ["owner", "product"],
            "level": ["ann", "A"],
            "rate_ratio": [3.0, 1.5],
            "credible": [True, True],
        }  # fmt: skip
    )
    items, gaps = headline(None, stalled, None, effects, None, "EUR")
    lines = dict(items)
    # what this export cannot give is left out, and a sentence says why
    assert "weakest stage" not in lines and "open pipeline change" not in lines
    assert gaps[0].startswith("The weakest stage is not shown: stage moves need last period's")
    assert gaps[1].startswith("The change in open pipeline is not shown")
    assert lines["stalled deals"] == "2 (1.24M EUR at risk)"
    assert lines["strongest effect on win rate"] == "product A: 1.50x the average"  # owners apart


def test_headline_signs_the_change_of_the_open_pipeline():
    bars = pd.DataFrame({"cents": [100_000_00, 5_00, 112_300_00]})
    items, _ = headline(None, pd.DataFrame(), bars, pd.DataFrame(
        {"term": [], "level": [], "rate_ratio": [], "credible": []}), None)  # fmt: skip
    lines = dict(items)
    assert lines["open pipeline change"] == "+12.3k"
    assert lines["strongest effect on win rate"] == "no attribute stands out"
    assert lines["stalled deals"] == "0"


def test_headline_says_why_stalled_deals_and_effects_cannot_be_given():
    stalled = pd.DataFrame(columns=["value_at_risk"])
    stalled.attrs["unavailable"] = "no won deal has both dates"
    effects = pd.DataFrame(columns=["term", "level", "rate_ratio", "credible"])
    effects.attrs["unavailable"] = "the export holds no closed deal"
    items, gaps = headline(None, stalled, None, effects, None)
    assert items == []
    assert "Stalled deals are not counted: no won deal has both dates." in gaps
    assert "What wins is not shown: the export holds no closed deal." in gaps
    assert not [g for g in gaps if "n/a" in g or "nan" in g]


def test_the_reading_note_states_the_policy_interval():
    assert f"{INTERVAL:.0%} interval" in READING_NOTE
    assert f"{FORECAST_INTERVAL:.0%}" not in READING_NOTE


def test_thin_data_warnings_name_what_is_rough():
    frame = deals(
        [
            ("a", None, None, "Discovery", "open", 1.0, "x", "p"),
            ("b", "2026-01-01", "2026-02-01", "Closed Won", "won", 1.0, "x", "p"),
        ]  # fmt: skip
    )
    moves = pd.DataFrame({"outcome": ["passed", "stayed"]})
    warnings = thin_data_warnings(frame, moves)
    assert warnings[0].startswith("Only 1 closed deals")
    assert warnings[1].startswith("Only 1 stage exits")
    assert warnings[2].startswith("1 open deals have no creation date")
    assert thin_data_warnings(frame, None, min_closed=1) == [warnings[2]]
