"""Names and units every layer shares, each defined once."""

from __future__ import annotations

NONE_LEVEL = "(none)"
"""Level given to a missing group value: a deal without a region is still a deal, and "no region
recorded" is often a segment of its own."""

ALL_LEVEL = "(all)"
"""Label of the row that sums every level."""

DAYS_PER_MONTH = 365.25 / 12
"""Mean length of a calendar month in days (a month-based rate times this is a daily rate)."""
