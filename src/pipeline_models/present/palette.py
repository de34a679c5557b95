"""The colours of every chart, by what they mean: one colour-blind-safe palette for all reports.

The colours are those of Okabe and Ito ("Color Universal Design"), which stay apart for readers
with any common colour-vision deficiency; gain and loss are bluish green and vermillion, never
green and red.
"""

from __future__ import annotations

ESTIMATE = "#0072B2"
"""The estimate itself: a median, a pooled rate, a forecast line (Okabe-Ito blue)."""
INTERVAL = "#A6CEE8"
"""The band or bar of an interval around an estimate (a light tint of the estimate's blue)."""
OBSERVED = "#1A1A1A"
"""What actually happened: observed outcomes, raw figures (near-black)."""
REFERENCE = "#8C8C8C"
"""Reference lines: the average, a target, the team's rate (mid grey)."""
GAIN = "#009E73"
"""Money or deals gained: a waterfall's rises, a lever's added revenue (Okabe-Ito bluish green)."""
LOSS = "#D55E00"
"""Money or deals lost: a waterfall's falls, stalled value at risk (Okabe-Ito vermillion)."""
WARNING = "#E69F00"
"""The border of a warning box (Okabe-Ito orange)."""
SERIES = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#1A1A1A",  # near-black
)
"""Colours of categories in order (products in a mix chart, sources): the Okabe-Ito order,
strongest first, yellow late (it is faint on white)."""
