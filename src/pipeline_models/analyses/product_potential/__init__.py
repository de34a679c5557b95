"""Product potential: what each product can sell, and where a small change would pay most.

Compute modules: :mod:`.levels` (level labels), :mod:`.raw` (the export's own figures),
:mod:`.cells` and :mod:`.draws` (joint posterior draws per level from the period's fits),
:mod:`.open_pipeline` (expected value of the open deals), :mod:`.intervals`, :mod:`.ranking`,
:mod:`.spread`, :mod:`.levers` (the "small change" arithmetic), :mod:`.simulation` (its deal-by-deal
check), :mod:`.mix` (the product mix per month) and :mod:`.accounts` (the accounts most likely to
buy each product, from the period's account model). Beside them: :mod:`.tables` (reader tables and
captions), :mod:`.charts` and :mod:`.narrative` (headline, warnings, sentences).
"""

from __future__ import annotations

from pipeline_models.analyses.policy import FORECAST_INTERVAL, INTERVAL
from pipeline_models.contract.labels import DAYS_PER_MONTH

from .accounts import TOP_ACCOUNTS, accounts_reader_table, top_accounts
from .cells import cell_mix, rows_or_all, thin_draws
from .charts import (
    ESTIMATE_PANELS,
    plot_estimates,
    plot_intervals,
    plot_levers,
    plot_mix,
    plot_rank_probabilities,
)
from .draws import (
    cycle_draws,
    deal_size_draws,
    derive,
    forecast_draws,
    lead_conversion_draws,
    level_array,
    posterior_draws,
    volume_draws,
    win_rate_draws,
    with_forecast,
)
from .intervals import OUTCOMES, interval_for, interval_table
from .levels import LEVEL_SEPARATOR, level_dim, level_dim_of, level_labels
from .levers import (
    LEVER_VARIABLES,
    LEVERS,
    SCENARIOS,
    added_revenue,
    closing_share,
    lever_table,
    lever_target,
    merge_scaling_levers,
)
from .mix import amount_recorded_share, mix_by_month
from .narrative import (
    LEVER_LABELS,
    READING_NOTE,
    SPREAD_SENTENCE,
    Headline,
    headline,
    lever_label,
    report_warnings,
    spread_values,
    thin_data_warnings,
)
from .open_pipeline import open_pipeline_draws
from .ranking import MEASURES, rank_probabilities
from .raw import raw_figures, volume_windows
from .simulation import simulate_added_revenue
from .spread import spread_table
from .tables import (
    CAPTIONS,
    FORMATS,
    SELLING_PARTS,
    estimate_text,
    lever_reader_table,
    ranking_reader_table,
    selling_reader_table,
    selling_table,
    volume_table,
)

__all__ = [
    "CAPTIONS",
    "DAYS_PER_MONTH",
    "ESTIMATE_PANELS",
    "FORECAST_INTERVAL",
    "FORMATS",
    "INTERVAL",
    "LEVEL_SEPARATOR",
    "LEVERS",
    "LEVER_LABELS",
    "LEVER_VARIABLES",
    "MEASURES",
    "OUTCOMES",
    "READING_NOTE",
    "SCENARIOS",
    "SELLING_PARTS",
    "SPREAD_SENTENCE",
    "TOP_ACCOUNTS",
    "Headline",
    "accounts_reader_table",
    "added_revenue",
    "amount_recorded_share",
    "cell_mix",
    "closing_share",
    "cycle_draws",
    "deal_size_draws",
    "derive",
    "estimate_text",
    "forecast_draws",
    "headline",
    "interval_for",
    "interval_table",
    "lead_conversion_draws",
    "level_array",
    "level_dim",
    "level_dim_of",
    "level_labels",
    "lever_label",
    "lever_reader_table",
    "lever_table",
    "lever_target",
    "merge_scaling_levers",
    "mix_by_month",
    "open_pipeline_draws",
    "plot_estimates",
    "plot_intervals",
    "plot_levers",
    "plot_mix",
    "plot_rank_probabilities",
    "posterior_draws",
    "rank_probabilities",
    "ranking_reader_table",
    "raw_figures",
    "report_warnings",
    "rows_or_all",
    "selling_reader_table",
    "selling_table",
    "simulate_added_revenue",
    "spread_table",
    "spread_values",
    "thin_data_warnings",
    "thin_draws",
    "top_accounts",
    "volume_draws",
    "volume_table",
    "volume_windows",
    "win_rate_draws",
    "with_forecast",
]
