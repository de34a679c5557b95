"""Reader tables, charts and narrative of the lead requirement report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from lead_cases import planned_case

from pipeline_models.analyses.lead_requirement import (
    coverage_display,
    funnel_display,
    funnel_warnings,
    headline,
    lag_display,
    mix_display,
    outlook_display,
    plot_backtest,
    plot_lags,
    plot_outlook,
    plot_rates,
    plot_requirement_curve,
    product_display,
    requirement_display,
    sensitivity_display,
    split_display,
    unit_note,
)


@pytest.fixture(scope="module")
def fitted():
    return planned_case()


@pytest.fixture(scope="module")
def req(fitted):
    return fitted[4].requirement(250, "count", 0.8)


def test_funnel_tables_show_rates_with_intervals(fitted):
    _, _, _, model, _ = fitted
    table = funnel_display(model)
    assert list(table.index) == model.funnel_table()["source"].tolist()
    assert table["lead -> opportunity"].str.fullmatch(r"\d+% \(\d+-\d+%\)").all()
    assert table["share of new leads"].str.endswith("%").all()
    assert product_display(model)["opportunity -> won"].str.contains("%").all()
    assert lag_display(model).columns.tolist() == [
        "lead -> opportunity (days)",
        "opportunity -> won (days)",
        "lead -> won (days)",
    ]


def test_money_is_written_with_three_significant_digits(fitted, req):
    _, _, _, model, planner = fitted
    plan = planner.cheapest_mix(250, {"Ads": 12_345.0, "Partner": 30.0})
    shown = mix_display(plan, "EUR")
    assert shown.loc["Ads", "cost per lead"] == "12.3k EUR"
    assert shown.loc["Partner", "cost per lead"] == "30 EUR"
    revenue = outlook_display(planner.in_hand, "revenue")
    assert revenue["total (median)"].str.fullmatch(r"\d{1,3}(\.\d+)?[kM]?").all()
    assert "." not in "".join(outlook_display(planner.in_hand, "count")["total (median)"])


def test_requirement_rows_and_headline_agree(fitted, req):
    _, _, _, model, planner = fitted
    rows = requirement_display(req, float(model.monthly_leads_.sum()))
    said = dict(headline(req))
    needed = "new leads for a 80% chance"
    assert said[needed] == f"{req.leads_needed:,}"
    assert rows.loc[needed, "value"].startswith(f"{req.leads_needed:,} (")
    split = split_display(req, planner)
    assert split["new leads"].str.replace(",", "").astype(int).sum() == req.leads_needed
    table = planner.sensitivity(250, "count", 0.8)
    assert sensitivity_display(table).shape == (len(model.sources_), 4)


def test_narrative_names_the_unit_and_thin_data(fitted):
    _, frame, leads, model, _ = fitted
    assert unit_note(model).startswith("Leads come from the leads file")
    assert funnel_warnings(model) == []  # thousands of deals over two sources
    assert any("amount" in w for w in funnel_warnings(model, "revenue")) == (not model.has_amounts_)


def test_charts_draw_on_the_axes_given(fitted, req):
    _, _, _, model, planner = fitted
    fig, axes = plt.subplots(1, 5)
    outlook = planner.new_leads(req.by_source, random_seed=1)
    track = pd.DataFrame(
        {
            "origin": ["2025-10-31", "2025-11-30"],
            "target": "count",
            "horizon_months": 3,
            **{q: [10.0, 12.0] for q in ("point", "q10", "q25", "q75", "q90", "actual")},
        }
    )
    drawn = [
        plot_requirement_curve(req, ax=axes[0]),
        plot_rates(model, ax=axes[1]),
        plot_lags(model, ax=axes[2], horizon_days=planner.x[-1]),
        plot_outlook(outlook, "revenue", ax=axes[3]),
        plot_backtest(track, "count", 3, ax=axes[4]),
    ]
    assert drawn == list(axes)
    assert axes[1].get_xlabel().endswith("mean and 90% interval")
    plt.close(fig)


def test_coverage_display_writes_shares_and_bias():
    coverage = pd.DataFrame(
        {
            "target": ["count"],
            "horizon_months": [3],
            "origins": [6],
            "inside_50": [0.5],
            "inside_80": [0.8333],
            "bias": [-0.031],
        }
    )
    row = coverage_display(coverage).iloc[0]
    assert (row["what"], row["inside 80% interval"], row["bias of the median"]) == (
        "deals won",
        "83%",
        "-3.1%",
    )
