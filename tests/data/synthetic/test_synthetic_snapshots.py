"""Tests of snapshots: an export on a date shows only what had happened by then."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_cases import SMALL, all_month_ends, month_end_snapshots, small_history

from pipeline_models.contract import schema
from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


@pytest.fixture(scope="module")
def month_ends() -> list[date]:
    return all_month_ends()


@pytest.fixture(scope="module")
def snapshots(history, month_ends) -> dict[date, pd.DataFrame]:
    return month_end_snapshots(history, month_ends)


def test_snapshot_shows_nothing_after_as_of(snapshots):
    for as_of, frame in snapshots.items():
        created = pd.to_datetime(frame["created_date"])
        close = pd.to_datetime(frame["close_date"])
        closed = frame["status"] != "open"
        assert (created <= pd.Timestamp(as_of)).all()
        assert (close[closed] <= pd.Timestamp(as_of)).all()
        assert (close[closed] >= created[closed]).all()


def test_snapshot_holds_every_deal_created_by_as_of(history, snapshots):
    for as_of, frame in snapshots.items():
        expected = (history.deals["created_date"] <= pd.Timestamp(as_of)).sum()
        assert len(frame) == expected
        assert frame["opportunity_id"].is_unique


def test_closed_deals_stay_closed(snapshots, month_ends):
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        a = snapshots[earlier].set_index("opportunity_id")
        b = snapshots[later].set_index("opportunity_id")
        closed = a[a["status"] != "open"]
        after = b.loc[closed.index]
        assert (after["status"] == closed["status"]).all()
        assert (after["close_date"] == closed["close_date"]).all()
        assert (after["amount"] == closed["amount"]).all()
        assert (after["stage"] == closed["stage"]).all()


def test_counts_are_consistent_across_months(history, snapshots, month_ends):
    deals = history.deals
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        a, b = snapshots[earlier], snapshots[later]
        lo, hi = pd.Timestamp(earlier), pd.Timestamp(later)
        created = deals["created_date"].between(lo, hi, inclusive="right").sum()
        assert len(b) == len(a) + created
        for status in ("won", "lost"):
            closed = (
                (deals["outcome"] == status)
                & deals["close_date"].between(lo, hi, inclusive="right")
            ).sum()
            assert (b["status"] == status).sum() == (a["status"] == status).sum() + closed
        counts = b["status"].value_counts()
        assert counts.sum() == len(b)


def test_stalled_deals_are_always_open(history, snapshots):
    stalled = set(history.deals.loc[history.deals["stalled"], "opportunity_id"])
    assert stalled
    last_stage = history.deals.set_index("opportunity_id")["last_open_stage"].astype(str)
    for frame in snapshots.values():
        rows = frame[frame["opportunity_id"].isin(stalled)]
        assert (rows["status"] == "open").all()
        assert rows["stage"].isin(SMALL.stages).all()
    final = snapshots[max(snapshots)].set_index("opportunity_id").loc[sorted(stalled)]
    entered = history.deals.set_index("opportunity_id").loc[sorted(stalled)]
    column = {s: f"entered_{s.lower()}" for s in SMALL.stages}
    settled = np.array(
        [entered.at[i, column[last_stage[i]]] <= pd.Timestamp(SMALL.end) for i in final.index]
    )
    assert (final["stage"][settled] == last_stage[final.index][settled]).all()


def test_stages_only_move_forward(snapshots, month_ends):
    order = {s: i for i, s in enumerate(SMALL.stages)}
    for earlier, later in zip(month_ends, month_ends[1:], strict=False):
        a = snapshots[earlier].set_index("opportunity_id")
        b = snapshots[later].set_index("opportunity_id").loc[a.index]
        both_open = (a["status"] == "open") & (b["status"] == "open")
        assert (b.loc[both_open, "stage"].map(order) >= a.loc[both_open, "stage"].map(order)).all()


def test_snapshot_validates_against_the_contract(history, month_ends):
    opportunities, leads = synthetic.snapshot(history, month_ends[-1])
    assert list(opportunities.columns) == [
        c for c in schema.OPPORTUNITY_COLUMNS if c not in schema.CRM_VIEW_COLUMNS
    ]
    assert list(leads.columns) == list(schema.LEAD_COLUMNS)
    schema.OPPORTUNITIES.validate(schema.conform_opportunities(opportunities), lazy=True)
    typed = leads.assign(
        created_date=pd.to_datetime(leads["created_date"]),
        converted_date=pd.to_datetime(leads["converted_date"]),
    )
    schema.LEADS.validate(typed, lazy=True)
    assert set(opportunities["status"]) == {"won", "lost", "open"}
    assert opportunities["created_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_leads_snapshot_respects_as_of(history, month_ends):
    as_of = month_ends[12]
    opportunities, leads = synthetic.snapshot(history, as_of)
    created = pd.to_datetime(leads["created_date"])
    converted = pd.to_datetime(leads["converted_date"])
    assert (created <= pd.Timestamp(as_of)).all()
    assert (converted.dropna() <= pd.Timestamp(as_of)).all()
    assert leads["opportunity_id"].notna().equals(converted.notna())
    shown = leads.dropna(subset=["opportunity_id"])
    assert set(shown["opportunity_id"]) == set(opportunities["opportunity_id"])


def test_snapshot_does_not_change_the_history(history):
    before = history.deals.copy()
    synthetic.snapshot(history, "2025-06-30")
    pd.testing.assert_frame_equal(history.deals, before)


@settings(max_examples=25, deadline=None)
@given(day=st.dates(min_value=date(2024, 10, 1), max_value=date(2026, 12, 31)))
def test_any_date_gives_a_consistent_snapshot(history, day):
    frame, _ = synthetic.snapshot(history, day)
    truth = history.deals.set_index("opportunity_id").loc[frame["opportunity_id"]]
    closed_by_then = truth["close_date"] <= pd.Timestamp(day)
    status = frame["status"].to_numpy()
    expected = np.where(closed_by_then, truth["outcome"].astype(str), "open")
    assert (status == expected).all()


def test_month_selection():
    assert synthetic.month_ends(SMALL) == [
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 10, 31),
    ]
    assert len(synthetic.month_ends(SMALL, "all")) == 24
    assert synthetic.month_ends(SMALL, 1) == [date(2026, 10, 31)]
    assert synthetic.month_ends(SMALL, "2025-02, 2024-11") == [
        date(2024, 11, 30),
        date(2025, 2, 28),
    ]
    with pytest.raises(ValueError, match="not within the history"):
        synthetic.month_ends(SMALL, ["2030-01"])
