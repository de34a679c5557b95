"""The patterns report's words: bullets, intervals, headline figures and thin-data warnings."""

from __future__ import annotations

import pandas as pd
from patterns_cases import deals

from pipeline_models.analyses.patterns.narrative import (
    bullets,
    headline,
    interval_text,
    thin_data_warnings,
)


def test_bullets_keep_values_apart_from_markup():
    template, values = bullets(["a *b*", "c"])
    assert template == "- {item0}\n- {item1}"
    assert values == {"item0": "a *b*", "item1": "c"}


def test_interval_text_of_each_kind():
    one = pd.Series([0.62]), pd.Series([0.55]), pd.Series([0.70])
    assert interval_text(*one).tolist() == ["62% (55-70)"]
    assert interval_text(*one, kind="ratio").tolist() == ["0.62x (0.55-0.70)"]
    money = pd.Series([12345.0]), pd.Series([9800.0]), pd.Series([15149.0])
    assert interval_text(*money, kind="money").tolist() == ["12.3k (9.80k-15.1k)"]
    months = pd.Series([1.4, float("nan")]), pd.Series([1.2, 1.0]), pd.Series([30.0, 2.0])
    assert interval_text(*months, kind="months").tolist() == ["1.4 (1.2 to > 24)", ""]


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
    lines = dict(headline(None, stalled, None, effects, None, "EUR"))
    assert lines["weakest stage"] == "needs last period's export"
    assert lines["stalled deals"] == "2 (1.24M EUR at risk)"
    assert lines["open pipeline change"] == "no previous export"
    assert lines["strongest effect on win rate"] == "product A (1.50x win rate)"  # owners apart


def test_headline_signs_the_change_of_the_open_pipeline():
    bars = pd.DataFrame({"cents": [100_000_00, 5_00, 112_300_00]})
    lines = dict(headline(None, pd.DataFrame(), bars, pd.DataFrame(
        {"term": [], "level": [], "rate_ratio": [], "credible": []}), None))  # fmt: skip
    assert lines["open pipeline change"] == "+12.3k"
    assert lines["strongest effect on win rate"] == "none credible"


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
