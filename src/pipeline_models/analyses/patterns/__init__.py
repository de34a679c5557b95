"""The patterns report: where deals leak, which ones stall, what changed, what wins.

Compute modules: :mod:`.stages` (stage order, moves, conversion and time in stage),
:mod:`.changes` (two exports compared, the open pipeline's waterfall, slipping deals),
:mod:`.stalled` (stalled deals, their value at risk and where they gather), :mod:`.effects`
(attributes' effects on the win rate), :mod:`.owners` and :mod:`.cohorts`; beside them
:mod:`.tables`, :mod:`.charts` and :mod:`.narrative` for readers. Every interval is equal-tailed
with probability :data:`~pipeline_models.analyses.policy.INTERVAL`.
"""

from pipeline_models.analyses.patterns.changes import (
    CHANGE_ORDER,
    ExportComparison,
    change_summary,
    compare,
    compare_exports,
    overdue_deals,
    same_stage,
    slipping_deals,
    waterfall,
)
from pipeline_models.analyses.patterns.charts import (
    plot_cohorts,
    plot_ranked_intervals,
    plot_stage_conversion,
    plot_waterfall,
)
from pipeline_models.analyses.patterns.cohorts import cohort_horizon, cohort_table, cohort_trend
from pipeline_models.analyses.patterns.effects import (
    all_effects,
    band_effects,
    cycle_band,
    deal_size_band,
    driver_effects,
)
from pipeline_models.analyses.patterns.narrative import (
    TERM_WORDS,
    bullets,
    effect_sentences,
    headline,
    interval_text,
    thin_data_warnings,
)
from pipeline_models.analyses.patterns.owners import owner_table
from pipeline_models.analyses.patterns.stages import (
    KNOWN_STAGE_ORDERS,
    StageOrder,
    bottleneck,
    open_stage_table,
    stage_conversion,
    stage_moves,
    stage_order,
)
from pipeline_models.analyses.patterns.stalled import (
    flag_stalled,
    old_deals,
    stalled_hotspots,
    stalled_outlook,
    stalled_ratios,
    won_cycle_limits,
)
from pipeline_models.analyses.patterns.tables import (
    change_display,
    cohort_display,
    conversion_display,
    conversion_grid,
    effects_display,
    hotspots_display,
    owner_display,
    stalled_display,
    waterfall_display,
    with_money,
)

__all__ = [
    "CHANGE_ORDER",
    "KNOWN_STAGE_ORDERS",
    "TERM_WORDS",
    "ExportComparison",
    "StageOrder",
    "all_effects",
    "band_effects",
    "bottleneck",
    "bullets",
    "change_display",
    "change_summary",
    "cohort_display",
    "cohort_horizon",
    "cohort_table",
    "cohort_trend",
    "compare",
    "compare_exports",
    "conversion_display",
    "conversion_grid",
    "cycle_band",
    "deal_size_band",
    "driver_effects",
    "effect_sentences",
    "effects_display",
    "flag_stalled",
    "headline",
    "hotspots_display",
    "interval_text",
    "old_deals",
    "open_stage_table",
    "overdue_deals",
    "owner_display",
    "owner_table",
    "plot_cohorts",
    "plot_ranked_intervals",
    "plot_stage_conversion",
    "plot_waterfall",
    "same_stage",
    "slipping_deals",
    "stage_conversion",
    "stage_moves",
    "stage_order",
    "stalled_display",
    "stalled_hotspots",
    "stalled_outlook",
    "stalled_ratios",
    "thin_data_warnings",
    "waterfall",
    "waterfall_display",
    "with_money",
    "won_cycle_limits",
]
