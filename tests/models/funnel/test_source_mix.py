"""The current source mix and lead volume: only recent leads count as recent."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.models.funnel.source_mix import source_mix

AS_OF = pd.Timestamp("2026-06-30")


def _leads(created: list[str], sources: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"source": sources, "created": pd.to_datetime(created)})


def test_recent_leads_a_month_counts_the_last_months_only():
    leads = _leads(
        ["2025-01-10", "2025-02-10", "2026-05-01", "2026-06-01", "2026-06-20", "2026-04-15"],
        ["Web", "Web", "Web", "Events", "Events", "Web"],
    )
    mix, monthly = source_mix(leads, AS_OF, ["Events", "Web"], 3)
    assert monthly.to_dict() == pytest.approx({"Events": 2 / 3, "Web": 2 / 3})
    assert mix.to_dict() == pytest.approx({"Events": 0.5, "Web": 0.5})


def test_old_leads_are_never_counted_as_recent():
    leads = _leads(["2025-01-10", "2025-02-10", "2025-12-01"], ["Web", "Web", "Events"])
    mix, monthly = source_mix(leads, AS_OF, ["Events", "Web"], 3)
    assert monthly.sum() == 0  # nothing created in the last three months
    assert mix.to_dict() == pytest.approx({"Events": 1 / 3, "Web": 2 / 3})
