"""The colours of every chart, by what they mean (one palette for all reports)."""

from __future__ import annotations

ESTIMATE = "#1d4ed8"
"""The estimate itself: a median, a pooled rate, a forecast line."""
INTERVAL = "#93c5fd"
"""The band or bar of an interval around an estimate."""
OBSERVED = "#111827"
"""What actually happened: observed outcomes, raw figures."""
REFERENCE = "#6b7280"
"""Reference lines: the average, a target, the team's rate."""
GAIN = "#16a34a"
"""Money or deals gained (a waterfall's rises, a lever's added revenue)."""
LOSS = "#dc2626"
"""Money or deals lost (a waterfall's falls, stalled value at risk)."""
WARNING = "#f59e0b"
"""The border of a warning box."""
SERIES = ("#1d4ed8", "#f59e0b", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#6b7280")
"""Colours of categories in order (products in a mix chart, sources)."""
