"""Charts of the product potential report
(:mod:`pipeline_models.analyses.product_potential.charts`): they return axes, keep CRM text
literal and label the interval they draw."""

from __future__ import annotations

import matplotlib
import pandas as pd
from potential_cases import H, hand_frame, make_draws

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.analyses.product_potential.charts import (
    plot_estimates,
    plot_intervals,
    plot_levers,
    plot_mix,
    plot_rank_probabilities,
)
from pipeline_models.analyses.product_potential.intervals import interval_table
from pipeline_models.analyses.product_potential.levers import lever_table
from pipeline_models.analyses.product_potential.mix import mix_by_month
from pipeline_models.analyses.product_potential.ranking import rank_probabilities

matplotlib.use("Agg")


def test_plots_return_axes_and_keep_crm_text_literal():
    draws = make_draws(levels=("$cheap$", "B", "C"))
    raw = pd.DataFrame(
        {
            "win_rate": [0.2, 0.3, 0.5],
            "mean_won_amount": [1.0, 2.0, 3.0],
            "median_days_won": [9.0, 9.0, 9.0],
            "closed": [5, 6, 7],
            "won": [1, 2, 3],
        },
        index=["$cheap$", "B", "C"],
    )
    axes = plot_estimates(draws, raw)
    fig = axes[0].figure
    fig.canvas.draw()  # mathtext would fail or eat the dollars
    labels = [t.get_text() for t in axes[0].get_yticklabels()]
    assert r"\$cheap\$" in labels
    ax = plot_levers(lever_table(draws, 10.0, H))
    ax.figure.canvas.draw()
    ax = plot_mix(mix_by_month(hand_frame(), "created", "count"))
    ax.figure.canvas.draw()
    ax = plot_rank_probabilities(rank_probabilities(draws["win_rate"], 2), top_k=2)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["among the top 2", "the best"]


def test_interval_legend_says_the_interval_drawn():
    draws = make_draws()
    ax = plot_intervals(interval_table(draws["win_rate"]))
    assert f"{INTERVAL:.0%} interval" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = plot_intervals(interval_table(draws["win_rate"], prob=0.5), prob=0.5)
    assert "50% interval" in [t.get_text() for t in ax.get_legend().get_texts()]
