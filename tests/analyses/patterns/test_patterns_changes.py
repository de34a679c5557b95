"""Two exports compared: every kind of change named, and the change waterfall balancing to the
cent on hand-made, random and consecutive simulated exports."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from patterns_cases import ORDER, PREV_DAY, deals, simulated, two_exports

from pipeline_models.analyses.patterns.changes import (
    change_summary,
    compare,
    compare_exports,
    overdue_deals,
    same_stage,
    slipping_deals,
    waterfall,
)
from pipeline_models.analyses.patterns.stages import stage_order
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample


def test_compare_exports_names_every_kind_of_change():
    prev, cur = two_exports()
    changes = compare_exports(prev, cur, ORDER).set_index("opportunity_id")
    expected = {
        "moved": "open in both",
        "pushed": "open in both",
        "won": "won",
        "lost": "lost",
        "removed": "removed",
        "reopened": "reopened",
        "old": "closed before",
        "new": "new open",
        "new-won": "new won",
    }
    for deal, change in expected.items():
        assert changes.loc[deal, "change"] == change, deal
    assert changes.loc["moved", "stage_step"] == 2
    assert changes.loc["back", "stage_step"] == -1
    assert changes.loc["pushed", "close_shift_days"] == 107
    assert changes.loc["cut", "close_shift_days"] == -15
    assert changes.loc["raised", "amount_delta"] == 25025  # a first-recorded amount is a raise
    assert changes.loc["cut", "amount_delta"] == -10020
    assert changes.loc["removed", "owner"] == "bob"  # kept from the previous export


def test_compare_exports_does_not_modify_its_inputs():
    prev, cur = two_exports()
    before = (prev.copy(), cur.copy())
    compare_exports(prev, cur, ORDER)
    pd.testing.assert_frame_equal(prev, before[0])
    pd.testing.assert_frame_equal(cur, before[1])


def test_compare_exports_refuses_duplicate_ids():
    prev, cur = two_exports()
    with pytest.raises(ValueError, match="unique"):
        compare_exports(prev, pd.concat([cur, cur.iloc[:1]]), ORDER)


def test_compare_refuses_a_previous_export_that_is_not_older():
    prev, cur = two_exports()
    assert compare(None, cur, ORDER, "2026-10-31") is None
    with pytest.raises(ValueError, match="not older"):
        compare(prev, cur, ORDER, "2026-01-15")


def test_waterfall_bars_by_hand():
    prev, cur = two_exports()
    bars = waterfall(compare_exports(prev, cur, ORDER)).set_index("bar")["cents"]
    assert bars["open last time"] == 100010 + 50020 + 0 + 30030 + 1000 + 200000 + 70070 + 9009
    assert bars["new open deals"] == 10
    assert bars["reopened"] == 4500
    assert bars["amount raised"] == 25025
    assert bars["amount cut"] == -10020
    assert bars["won"] == -200000  # at last export's amount, not the final 2,100
    assert bars["lost"] == -70070
    assert bars["removed from export"] == -9009
    assert bars["open now"] == 100010 + 50020 + 25025 + 20010 + 1000 + 4500 + 10
    assert bars.iloc[0] + bars.iloc[1:-1].sum() == bars.iloc[-1]


amounts = st.one_of(st.none(), st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["open", "won", "lost", None]),
            st.sampled_from(["open", "won", "lost", None]),
            amounts,
            amounts,
        ),
        min_size=1,
        max_size=40,
    )
)
def test_waterfall_always_balances_exactly(pairs):
    prev_rows, cur_rows = [], []
    for i, (before, after, a, b) in enumerate(pairs):
        for status, amount, rows in ((before, a, prev_rows), (after, b, cur_rows)):
            if status is not None:
                stage = {"open": "Discovery", "won": "Closed Won", "lost": "Closed Lost"}[status]
                value = None if amount is None else float(amount)
                rows.append((f"d{i}", "2026-01-01", "2026-09-01", stage, status, value, "o", "p"))
    prev, cur = deals(prev_rows), deals(cur_rows)
    bars = waterfall(compare_exports(prev, cur, ORDER))
    cents = bars["cents"].tolist()
    assert cents[0] + sum(cents[1:-1]) == cents[-1]
    expect = sum(
        (Decimal(str(b)) for (_, after, _, b) in pairs if after == "open" and b is not None),
        Decimal(0),
    )
    assert cents[-1] == int(expect * 100)


def test_change_summary_counts_moves_and_pushes():
    prev, cur = two_exports()
    summary = change_summary(compare_exports(prev, cur, ORDER))
    assert summary.loc["close date pushed later", "deals"] == 1
    assert summary.loc["close date pulled in", "deals"] == 1
    assert summary.loc["stage forward", "deals"] == 1
    assert summary.loc["stage back", "deals"] == 1
    assert summary.loc["new deals, already won", "amount"] == 60.0


def test_slipping_deals_flags_long_and_overdue_pushes():
    prev, cur = two_exports()
    changes = compare_exports(prev, cur, ORDER)
    slipping = slipping_deals(changes, PREV_DAY)
    assert slipping["deal"].tolist() == ["pushed"]
    assert slipping["why flagged"].iloc[0] == "pushed over a month, already overdue"
    assert slipping["pushed by (days)"].iloc[0] == 107
    # a one-week push of a deal not yet due is not flagged; the same push of an overdue one is
    prev2, cur2 = prev.copy(), cur.copy()
    prev2.loc[prev2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-10-15")
    cur2.loc[cur2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-10-22")
    assert slipping_deals(compare_exports(prev2, cur2, ORDER), PREV_DAY).empty
    prev2.loc[prev2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-09-25")
    late = slipping_deals(compare_exports(prev2, cur2, ORDER), PREV_DAY)
    assert late["why flagged"].tolist() == ["pushed while overdue"]


def test_overdue_deals_need_one_export_only():
    _, cur = two_exports()
    overdue = overdue_deals(cur, pd.Timestamp("2026-11-20"))
    assert set(overdue["deal"]) == {"moved", "cut"}  # expected by 2026-11-15, still open


def test_same_stage_marks_deals_that_did_not_move():
    prev, cur = two_exports()
    same = same_stage(compare_exports(prev, cur, ORDER))
    assert same["pushed"] and same["raised"] and same["cut"]
    assert not same["moved"] and not same["back"]
    assert "won" not in same.index  # only deals open in both exports


def test_waterfall_balances_on_consecutive_sample_snapshots():
    history = simulated(seed=11)
    ends = sample.month_ends(history.config, 4)
    for prev_day, day in zip(ends[:-1], ends[1:], strict=True):
        prev = conform_opportunities(sample.snapshot(history, prev_day)[0])
        cur = conform_opportunities(sample.snapshot(history, day)[0])
        order = stage_order(cur, pd.Timestamp(day), prev)
        comparison = compare(prev, cur, order, pd.Timestamp(day))
        bars = waterfall(comparison.changes)
        cents = bars["cents"].astype(int).tolist()
        assert cents[0] + sum(cents[1:-1]) == cents[-1]

        def exact(frame: pd.DataFrame) -> int:
            amounts = frame.loc[frame["status"] == "open", "amount"].dropna()
            return int(sum((Decimal(str(a)) for a in amounts), Decimal(0)) * 100)

        assert cents[0] == exact(prev) and cents[-1] == exact(cur)
        assert bars.set_index("bar").loc["new open deals", "deals"] > 0
        assert 28 <= comparison.gap_days <= 33
