"""The lead requirement report: how many new leads reach a target of deals or revenue, and with
what chance.

A CRM answers "how many leads do we need?" with one funnel ratio (target / conversion). This
report answers with a probability: the number of new leads that reaches the target in a coming
window with a chosen chance, counting what the pipeline already holds and the time leads take to
close. The funnel is :class:`~pipeline_models.models.funnel.LeadFunnelModel`; here:

* ``planner`` (:class:`LeadPlanner`) and its parts: the window (``outlook``), won paths, what is
  in hand (``simulation``), what new leads bring (``kernels``), revenue draws (``revenue``), the
  fewest leads per draw (``search``), the answer (``requirement``), the cheapest mix (``mix``);
* ``targets`` (target, costs), ``track`` (the back-test);
* ``tables``, ``charts``, ``narrative`` for readers.
"""

from pipeline_models.analyses.lead_requirement.charts import (
    plot_backtest,
    plot_lags,
    plot_outlook,
    plot_rates,
    plot_requirement_curve,
)
from pipeline_models.analyses.lead_requirement.mix import MixPlan, cheapest_mix
from pipeline_models.analyses.lead_requirement.narrative import (
    funnel_warnings,
    headline,
    mix_warnings,
    unit_note,
)
from pipeline_models.analyses.lead_requirement.outlook import (
    WindowOutlook,
    window_days,
    window_months,
)
from pipeline_models.analyses.lead_requirement.planner import LeadPlanner
from pipeline_models.analyses.lead_requirement.requirement import (
    LeadRequirement,
    funnel_ratio_leads,
)
from pipeline_models.analyses.lead_requirement.revenue import EXACT_WINS
from pipeline_models.analyses.lead_requirement.tables import (
    coverage_display,
    funnel_display,
    funnel_file,
    lag_display,
    mix_display,
    outlook_display,
    product_display,
    requirement_display,
    sensitivity_display,
    split_display,
    win_rate_comparison,
)
from pipeline_models.analyses.lead_requirement.targets import (
    parse_costs,
    resolve_target,
    target_text,
    trailing_wins,
)
from pipeline_models.analyses.lead_requirement.track import (
    backtest_origins,
    backtest_requirement,
    coverage_table,
)

__all__ = [
    "EXACT_WINS",
    "LeadPlanner",
    "LeadRequirement",
    "MixPlan",
    "WindowOutlook",
    "backtest_origins",
    "backtest_requirement",
    "cheapest_mix",
    "coverage_display",
    "coverage_table",
    "funnel_display",
    "funnel_file",
    "funnel_ratio_leads",
    "funnel_warnings",
    "headline",
    "lag_display",
    "mix_display",
    "mix_warnings",
    "outlook_display",
    "parse_costs",
    "plot_backtest",
    "plot_lags",
    "plot_outlook",
    "plot_rates",
    "plot_requirement_curve",
    "product_display",
    "requirement_display",
    "resolve_target",
    "sensitivity_display",
    "split_display",
    "target_text",
    "trailing_wins",
    "unit_note",
    "win_rate_comparison",
    "window_days",
    "window_months",
]
