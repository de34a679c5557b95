"""Reader tables, charts and narrative of the lead requirement report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from lead_cases import planned_case
from report_reading import assert_reader_table

from pipeline_models.analyses.lead_requirement import (
    coverage_display,
    funnel_display,
    funnel_file,
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
from pipeline_models.analyses.lead_requirement.narrative import (
    curve_alt,
    lags_alt,
    rates_alt,
    wins_alt,
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
    assert_reader_table(table)
    assert table["Source"].tolist() == model.funnel_table()["source"].tolist()
    assert table["Lead → opportunity"].str.fullmatch(r"\d+% \(\d+–\d+%\)").all()
    assert table["Share of new leads"].str.endswith("%").all()
    assert table["Leads"].str.fullmatch(r"[\d,]+").all()
    products = product_display(model)
    assert_reader_table(products)
    assert products["Opportunity → won"].str.contains("%").all()
    lags = lag_display(model)
    assert_reader_table(lags)
    assert lags.columns.tolist() == [
        "Source",
        "Lead → opportunity (days)",
        "Opportunity → won (days)",
        "Lead → won (days)",
    ]


def test_the_funnel_file_keeps_its_columns_and_texts(fitted):
    """The CSV beside the report is not the reader table: machine names, rates as texts."""
    _, _, _, model, _ = fitted
    file = funnel_file(model)
    assert list(file.columns)[:3] == ["source", "share of new leads", "leads"]
    assert file["lead -> opportunity"].str.fullmatch(r"\d+% \(\d+-\d+%\)").all()
    assert file["leads"].dtype.kind == "i"


def test_money_is_written_with_three_significant_digits(fitted, req):
    _, _, _, model, planner = fitted
    plan = planner.cheapest_mix(250, {"Ads": 12_345.0, "Partner": 30.0})
    shown = mix_display(plan, "EUR").set_index("Source")
    assert shown.loc["Ads", "Cost per lead"] == "12.3k EUR"
    assert shown.loc["Partner", "Cost per lead"] == "30 EUR"
    assert_reader_table(mix_display(plan, "EUR"))
    revenue = outlook_display(planner.in_hand, "revenue", "EUR")
    assert_reader_table(revenue)
    assert revenue["Total (median)"].str.fullmatch(r"\d{1,3}(\.\d+)?[kM]? EUR").all()
    # one interval, written once with its unit at the end
    assert revenue["80% interval"].str.fullmatch(r"[\d.]+[kM]?–[\d.]+[kM]? EUR").all()
    count = outlook_display(planner.in_hand, "count")
    assert_reader_table(count)
    assert "." not in "".join(count["Total (median)"])
    assert count["Month"].iloc[-1].startswith("whole window (")


def test_requirement_rows_and_headline_agree(fitted, req):
    _, _, _, model, planner = fitted
    rows = requirement_display(req, float(model.monthly_leads_.sum()))
    assert_reader_table(rows)
    said = dict(headline(req))
    needed = "new leads for an 80% chance"
    assert said[needed] == f"{req.leads_needed:,}"
    value = rows.set_index("Figure")["Value"]
    assert value["New leads for an 80% chance"].startswith(f"{req.leads_needed:,} (")
    low, high = req.in_hand_interval
    assert said["what is in hand, 80% interval"] == f"{low:,.0f}–{high:,.0f} deals"
    assert value["Expected from what is already in hand"].endswith(
        f"(80% interval {low:,.0f}–{high:,.0f})"
    )
    split = split_display(req, planner)
    assert_reader_table(split)
    assert split["New leads"].str.replace(",", "").astype(int).sum() == req.leads_needed
    table = planner.sensitivity(250, "count", 0.8)
    shown = sensitivity_display(table)
    assert_reader_table(shown)
    assert shown.shape == (len(model.sources_), 5)


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
    # outcomes still to come carry the planner's interval alone
    assert axes[4].get_legend_handles_labels()[1] == [
        "80% interval",
        "predicted (median)",
        "actual",
    ]
    fig.canvas.draw()
    money = [t.get_text() for t in axes[3].get_yticklabels() if t.get_text()]
    assert money and not any("e" in t for t in money)
    plt.close(fig)


def test_every_chart_has_words_for_a_reader_who_cannot_see_it(fitted, req):
    _, _, _, model, planner = fitted
    outlook = planner.new_leads(req.by_source, random_seed=1)
    curve = curve_alt(req)
    assert f"{req.leads_needed:,} new leads give an 80% chance" in curve
    wins = wins_alt(outlook, ("count",))
    assert "80% interval" in wins and "open deals, open leads and new leads" in wins
    assert "90% interval" in rates_alt(model, "lead_to_won")
    assert "dashed line" in lags_alt(model, planner.x[-1])


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
    shown = coverage_display(coverage)
    assert_reader_table(shown)
    row = shown.iloc[0]
    assert (row["Forecast of"], row["Inside the 80% interval"], row["Bias of the median"]) == (
        "Deals won",
        "83%",
        "-3.1%",
    )
    even = coverage_display(coverage.assign(bias=[0.02]))
    assert even["Bias of the median"].iloc[0] == "+2%"  # never a trailing .0


def test_a_ratio_to_the_recent_pace_never_ends_in_dot_zero():
    from pipeline_models.analyses.lead_requirement.tables import _vs

    assert _vs(300.0, 100.0) == "; 3x the recent 100 a month"
    assert _vs(130.0, 100.0) == "; 1.3x the recent 100 a month"
    assert _vs(10.0, 0.0) == ""
