"""Tests of how the CRM showed open deals: pushed close dates, revised and missing amounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_cases import SMALL, all_month_ends, month_end_snapshots, small_history

from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


@pytest.fixture(scope="module")
def month_ends():
    return all_month_ends()


@pytest.fixture(scope="module")
def snapshots(history, month_ends):
    return month_end_snapshots(history, month_ends)


def test_expected_close_dates_get_pushed(history, snapshots, month_ends):
    later_moves = earlier_moves = 0
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        a = snapshots[earlier].set_index("opportunity_id")
        b = snapshots[later].set_index("opportunity_id").loc[a.index]
        both_open = (a["status"] == "open") & (b["status"] == "open")
        before = pd.to_datetime(a.loc[both_open, "close_date"])
        after = pd.to_datetime(b.loc[both_open, "close_date"])
        later_moves += int((after > before).sum())
        earlier_moves += int((after < before).sum())
    assert later_moves > 50
    assert 0 < earlier_moves < later_moves / 3
    assert history.deals["revised_2"].notna().sum() > 0  # some deals pushed more than once


def test_revisions_happen_while_the_deal_is_open(history):
    deals = history.deals
    previous = deals["created_date"]
    for k in range(1, 4):
        revised = deals[f"revised_{k}"]
        done = revised.notna()
        assert (revised[done] > previous[done]).all(), k
        closes = deals["close_date"].notna() & done
        assert (revised[closes] < deals.loc[closes, "close_date"]).all(), k
        previous = revised.where(done, previous)


def test_open_amounts_change_and_some_are_missing(snapshots, month_ends):
    frame = snapshots[month_ends[-1]]
    open_rows = frame[frame["status"] == "open"]
    missing = open_rows["amount"].isna().mean()
    assert abs(missing - SMALL.open_amount_missing) <= 4 * np.sqrt(0.1 * 0.9 / len(open_rows))
    assert frame.loc[frame["status"] != "open", "amount"].notna().all()
    changed = 0
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        a = snapshots[earlier].set_index("opportunity_id")
        b = snapshots[later].set_index("opportunity_id").loc[a.index]
        both = (a["status"] == "open") & a["amount"].notna() & b["amount"].notna()
        changed += int((a.loc[both, "amount"] != b.loc[both, "amount"]).sum())
    assert changed > 0
