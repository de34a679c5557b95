"""Reader tables: business column names, the row label a first column, money and counts in the
shared formats, intervals written one way, and no raw figure a reader would have to decode."""

from __future__ import annotations

import numpy as np
import pandas as pd
from patterns_cases import reader_faults

from pipeline_models.analyses.patterns.tables import (
    chance_text,
    change_display,
    cohort_display,
    conversion_display,
    conversion_grid,
    deal_list,
    effects_display,
    hotspots_display,
    open_stages_display,
    owner_display,
    stalled_display,
    waterfall_display,
    with_money,
)


def test_waterfall_display_rounds_amounts_and_signs_the_steps():
    bars = pd.DataFrame(
        {
            "bar": ["open last time", "won", "reopened", "open now"],
            "kind": ["total", "step", "step", "total"],
            "deals": [2_000, 1, 0, 1_999],
            "cents": [123456789, -100001, 0, 123356788],
        }  # fmt: skip
    )
    shown = waterfall_display(bars, "EUR")
    assert reader_faults(shown) == []
    assert list(shown.columns) == ["Step", "Deals", "Amount"]
    assert shown["Step"].tolist() == ["Open last time", "Won", "Reopened", "Open now"]
    assert shown["Deals"].tolist() == ["2,000", "1", "0", "1,999"]
    assert shown["Amount"].tolist() == ["1.23M EUR", "-1.00k EUR", "0 EUR", "1.23M EUR"]


def test_with_money_leaves_missing_amounts_empty():
    table = pd.DataFrame({"deal": ["a", "b"], "amount": [12_345_678.0, None]})
    shown = with_money(table, currency="EUR")
    assert shown["amount"].tolist() == ["12.3M EUR", ""]
    assert table["amount"].iloc[0] == 12_345_678.0  # the input keeps its numbers


def test_deal_lists_say_when_a_deal_has_no_amount():
    table = pd.DataFrame(
        {
            "deal": ["a", "b"],
            "amount": [1_500.0, None],
            "days overdue": [3, 1_200],
            "expected close": [pd.Timestamp("2026-10-01").date()] * 2,
        }
    )
    shown = deal_list(table, "EUR")
    assert reader_faults(shown) == []
    assert list(shown.columns) == ["Deal", "Amount", "Days overdue", "Expected close"]
    assert shown["Amount"].tolist() == ["1.50k EUR", "no amount"]
    assert shown["Days overdue"].tolist() == ["3", "1,200"]


def test_stalled_display_marks_estimated_amounts_and_small_chances():
    outlook = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "age_days": [120.0, 90.0, 1_500.0],
            "amount": [5000.0, 1500.0, 2000.0],
            "amount estimated": [False, True, False],
            "p_won_ever": [0.25, 0.044, 0.0001],
            "value_at_risk": [3750.0, 1434.0, 1999.8],
        }
    )
    shown = stalled_display(outlook)
    assert reader_faults(shown) == []
    assert shown["Amount"].tolist() == ["5.00k", "1.50k (est.)", "2.00k"]
    assert shown["Chance of being won within two years"].tolist() == ["25%", "4.4%", "under 0.1%"]
    assert shown["Value at risk"].tolist() == ["3.75k", "1.43k", "2.00k"]
    assert shown["Age (days)"].tolist() == ["120", "90", "1,500"]
    assert chance_text(0.05) == "5%"  # never "5.0%"


def _conversion() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stage": pd.Categorical(["Qualification", "Proposal"]),
            "passed": [4_845, 0],
            "lost": [510, 0],
            "stayed": [472, 3],
            "mean": [0.904, np.nan],
            "lower": [0.897, np.nan],
            "upper": [0.911, np.nan],
            "value_lost": [9.4e6, 0.0],
            "months_in_stage": [0.86, np.nan],
            "months_lower": [0.81, np.nan],
            "months_upper": [0.91, np.nan],
        }
    )


def test_conversion_table_reads_as_a_report():
    shown = conversion_display(_conversion(), "USD")
    assert reader_faults(shown) == []
    assert list(shown.columns) == [
        "Stage",
        "Moved on",
        "Lost here",
        "Still here",
        "Conversion (90% interval)",
        "Value lost here",
        "Months in stage (90% interval)",
    ]
    assert shown.iloc[0].tolist() == [
        "Qualification",
        "4,845",
        "510",
        "472",
        "90% (90%–91%)",
        "9.40M USD",
        "0.9 (0.8–0.9)",
    ]
    assert shown.iloc[1]["Conversion (90% interval)"] == "no deal left"
    # with a stage history, time in stage has its own table
    assert "Months in stage (90% interval)" not in conversion_display(
        _conversion(), with_months=False
    )


def test_conversion_grid_puts_the_group_first_and_stars_the_odd_ones():
    table = pd.DataFrame(
        {
            "stage": ["Qualification", "Qualification", "Proposal", "Proposal"],
            "product": ["A", "B", "A", "B"],
            "passed": [40, 3, 0, 0],
            "lost": [10, 1, 0, 0],
            "mean": [0.6, 0.9, np.nan, np.nan],
            "lower": [0.5, 0.85, np.nan, np.nan],
            "upper": [0.7, 0.95, np.nan, np.nan],
        }
    )
    overall = pd.DataFrame({"stage": ["Qualification", "Proposal"], "mean": [0.8, np.nan]})
    grid = conversion_grid(table, "product", overall)
    assert reader_faults(grid) == []
    assert list(grid.columns) == ["Product", "Deals that left a stage", "Proposal", "Qualification"]
    assert grid["Product"].tolist() == ["A", "B"]
    assert grid["Qualification"].tolist() == ["60% (50%–70%) *", "90% (85%–95%) *"]


def test_effects_hotspots_and_owners_read_as_reports():
    effects = pd.DataFrame(
        {
            "term": ["lead_source", "region"],
            "level": ["Referral", "EMEA"],
            "deals": [1_339, 20],
            "rate_ratio": [1.51, 0.98],
            "lower": [1.44, 0.85],
            "upper": [1.59, 1.06],
            "credible": [True, False],
        }
    )
    shown = effects_display(effects)
    assert reader_faults(shown) == []
    assert shown.iloc[0].tolist() == [
        "Lead source",
        "Referral",
        "1,339",
        "1.51x (1.44–1.59)",
        "yes",
    ]
    hotspots = effects.rename(columns={"term": "attribute", "rate_ratio": "ratio"}).assign(
        stalled=[324, 2], share=[0.186, 0.1]
    )
    assert reader_faults(hotspots_display(hotspots)) == []
    owners = pd.DataFrame(
        {
            "closed": [363, 0],
            "observed rate": [0.55, np.nan],
            "win rate": [0.48, 0.3],
            "lower": [0.42, 0.2],
            "upper": [0.54, 0.4],
            "win rate vs team": ["higher", "in line"],
            "revenue won": [2.92e6, 0.0],
            "revenue per closed deal": [6140.0, 3000.0],
            "rev lower": [5270.0, 2000.0],
            "rev upper": [6980.0, 4000.0],
            "revenue vs team": ["higher", "in line"],
        },
        index=pd.Index(["Ada", "Bo"], name="owner"),
    )
    shown = owner_display(owners, "USD")
    assert reader_faults(shown) == []
    assert shown.columns[0] == "Owner" and shown["Owner"].tolist() == ["Ada", "Bo"]
    assert shown.iloc[0]["Revenue per closed deal, pooled (90% interval)"] == (
        "6.14k USD (5.27k–6.98k)"
    )
    assert shown.iloc[1]["Win rate (raw)"] == "no closed deal"


def test_cohorts_changes_and_open_stages_read_as_reports():
    cohorts = pd.DataFrame(
        {
            "created": [362, 1_332],
            "won_within": [125, 103],
            "lost_within": [175, 164],
            "rate": [0.345, 0.077],
            "lower": [0.31, 0.066],
            "upper": [0.39, 0.09],
            "median_days_to_win": [28.5, np.nan],
        },
        index=pd.PeriodIndex(["2024-11", "2024-12"], freq="M", name="cohort"),
    )
    cohorts.attrs = {"horizon_days": 90}
    shown = cohort_display(cohorts)
    assert reader_faults(shown) == []
    assert shown.iloc[1].tolist() == ["Dec 2024", "1,332", "103", "164", "8% (7%–9%)", "no win"]
    summary = pd.DataFrame(
        {"deals": [445, 0], "amount": [7.97e6, 0.0]},
        index=pd.Index(["new deals, still open", "stage back"], name="change"),
    )
    shown = change_display(summary, "USD")
    assert reader_faults(shown) == []
    assert shown.iloc[0].tolist() == ["New deals, still open", "445", "7.97M USD"]
    stages = pd.DataFrame(
        {"open deals": [472, 3], "open amount": [1.39e7, np.nan], "median age (days)": [47.0, 8.5]},
        index=pd.Index(["Qualification", "Proposal"], name="stage"),
    )
    shown = open_stages_display(stages, "USD")
    assert reader_faults(shown) == []
    assert shown.iloc[0].tolist() == ["Qualification", "472", "13.9M USD", "47"]
    assert shown.iloc[1]["Amount"] == "none recorded"
