"""What readers are shown and when data is too thin to say something: each rule once, with why.

Analyses compute with these constants; notebooks never hold a literal threshold.
"""

from __future__ import annotations

from pipeline_models.models.contract import TABLE_INTERVAL
from pipeline_models.models.forecaster.config import THIN_DEALS as FORECAST_THIN_DEALS

INTERVAL = TABLE_INTERVAL
"""Interval shown with every estimate of a rate, size or effect (equal-tailed). A difference is
called credible when this interval excludes the reference: with tens of levels compared in one
report, a 90% interval keeps most chance findings out of a leader's headline."""

FORECAST_INTERVAL = 0.80
"""Interval shown with every outcome still to come (deals and revenue won, leads needed): the
planner's P10 to P90, one period in ten below it and one above."""

FORECAST_QUANTILES = ((1 - FORECAST_INTERVAL) / 2, 0.5, 1 - (1 - FORECAST_INTERVAL) / 2)
"""Low, median and high quantile of a forecast."""

THIN_DEALS = FORECAST_THIN_DEALS
"""Fewer deals with a creation date than this, and a forecast says that it is uncertain (the
forecaster's own diagnostics use the same threshold)."""

REASON_MIN_EFFECT = 0.1
"""Smallest move of a deal's log-odds named as a reason for its score: 0.1 moves a 30% chance by
about two points, less than a reader could act on."""

TOP_REASONS = 3
"""Reasons given per deal: the strongest few say why; a longer list reads as noise."""

RELIABILITY_BINS = 10
"""Bins of predicted chance a reliability chart compares with what happened: tenths are read at a
glance, and a few hundred closed deals still put tens of deals in the busy bins."""
