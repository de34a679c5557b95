"""Words of the product potential report
(:mod:`pipeline_models.analyses.product_potential.narrative`): lever names, warnings, the
headline, and sentences that state the interval from the policy constant."""

from __future__ import annotations

import pandas as pd
from potential_cases import H, hand_frame, make_draws

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.analyses.product_potential.levers import lever_table
from pipeline_models.analyses.product_potential.narrative import (
    READING_NOTE,
    SPREAD_SENTENCE,
    headline,
    lever_label,
    report_warnings,
    spread_values,
    thin_data_warnings,
)
from pipeline_models.analyses.product_potential.ranking import rank_probabilities
from pipeline_models.analyses.product_potential.raw import raw_figures


def test_sentences_state_the_estimates_interval():
    shown = f"{INTERVAL:.0%}"
    assert READING_NOTE.count(shown) == 3
    assert f"{FORECAST_INTERVAL:.0%}" not in READING_NOTE
    spread = pd.DataFrame(
        {
            "typical factor": [1.05, 3.2],
            "factor lower": [1.01, 2.5],
            "factor upper": [1.2, 4.75],
        },
        index=pd.Index(["win odds", "deal size"], name="quantity"),
    )
    sentence = SPREAD_SENTENCE.format(**spread_values(spread))
    assert f"({shown} intervals 1.01–1.20 and 2.50–4.75)" in sentence
    assert "by a factor 1.05, their deal sizes by a factor 3.20" in sentence


def test_lever_label_names_merged_levers():
    assert lever_label("cycle_time") == "cycle time"
    assert lever_label("win_rate|deal_size") == "win rate or deal size"


def test_warnings_name_thin_products_and_missing_dates():
    frame = hand_frame()
    raw = raw_figures(frame, "2026-09-30")
    thin = thin_data_warnings(raw)
    assert len(thin) == 3 and thin[0].startswith("(none): only 1 closed and 0 won")
    assert thin_data_warnings(raw, min_closed=1, min_won=0) == []
    warnings = report_warnings(frame, raw)
    assert warnings[:3] == thin
    assert warnings[3].startswith("1 open deals have no creation date")
    no_product = report_warnings(frame.assign(product=pd.NA), raw)
    assert no_product[0].startswith("The export has no product column")


def test_headline_names_the_likely_best_and_the_largest_lever():
    draws = make_draws(n=2000)
    ranking = rank_probabilities(draws["revenue_per_opportunity"])
    levers = lever_table(draws, 10.0, H, scenarios=("percent",))
    head = headline(draws, ranking, levers, "revenue_per_opportunity", H, currency="EUR")
    items = dict(head.items)
    assert not [v for v in items.values() if v in ("n/a", "nan", "") or "P = " in v]
    assert items[f"largest lever ({H} months)"].endswith(" EUR")
    assert items["products"] == "3"
    assert items["most likely best on expected revenue per opportunity"].endswith("% chance)")
    assert items["most likely best on expected revenue per opportunity"].startswith("A (")
    assert items[f"largest lever ({H} months)"].startswith("C, win rate or deal size: +")
    assert head.figures["top_lever"]["lever"] == "win_rate|deal_size"
    assert head.figures["top_lever"]["lower"] < head.figures["top_lever"]["mean"]
