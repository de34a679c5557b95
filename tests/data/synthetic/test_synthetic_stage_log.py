"""Tests of the simulated stage history: it agrees with every snapshot and adds no randomness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_cases import SEED, SMALL, small_history

from pipeline_models.contract import schema
from pipeline_models.data import synthetic


@pytest.fixture(scope="module")
def history() -> synthetic.SimulatedHistory:
    return small_history()


def carried_forward(log: pd.DataFrame) -> pd.DataFrame:
    """Each deal's last recorded stage, amount and close date (blank cells record nothing)."""
    return log.groupby("opportunity_id", sort=False)[["stage", "amount", "close_date"]].last()


@pytest.mark.parametrize("months_back", [0, 5, 14])
def test_the_log_carried_forward_is_the_export_of_its_day(history, months_back):
    as_of = synthetic.month_ends(SMALL, "all")[-1 - months_back]
    log = synthetic.history_snapshot(history, as_of)
    export = synthetic.snapshot(history, as_of)[0].set_index("opportunity_id")
    last = carried_forward(log).loc[export.index]
    assert (last["stage"].to_numpy() == export["stage"].to_numpy()).all()
    shown_close = pd.to_datetime(export["close_date"])
    assert (last["close_date"].to_numpy() == shown_close.to_numpy()).all()
    # a deal whose amount is missing while open keeps no amount in the log
    same_amount = (last["amount"] == export["amount"]) | (
        last["amount"].isna() & export["amount"].isna()
    )
    assert same_amount.all()


def test_the_log_holds_nothing_after_its_day_and_keeps_the_contract(history):
    as_of = pd.Timestamp(synthetic.month_ends(SMALL)[0])
    log = synthetic.history_snapshot(history, as_of)
    assert list(log.columns) == list(schema.HISTORY_COLUMNS)
    assert log["changed_date"].max() <= as_of
    created = history.deals.set_index("opportunity_id")["created_date"]
    assert set(log["opportunity_id"]) == set(created[created <= as_of].index)
    schema.HISTORY.validate(log)
    assert log["probability"].isna().all()
    # field rows carry one field; every stage row carries the stage
    field_rows = log["stage"].isna()
    assert (log.loc[field_rows, "amount"].isna() ^ log.loc[field_rows, "close_date"].isna()).all()
    assert field_rows.any() and (~field_rows).any()


def test_one_stage_row_per_stage_entered_and_one_row_per_visible_revision(history):
    as_of = pd.Timestamp(SMALL.end)
    log = synthetic.history_snapshot(history, as_of)
    stages = history.stages[history.stages["entered_date"] <= as_of]
    assert int(log["stage"].notna().sum()) == len(stages)
    deals = history.deals
    expected = [deals[f"expected_close_{k}"] for k in range(4)]
    revisions = sum(
        int(((deals[f"revised_{k}"] <= as_of) & (expected[k] != expected[k - 1])).sum())
        for k in range(1, 4)
    )
    assert int((log["stage"].isna() & log["close_date"].notna()).sum()) == revisions
    open_amount = np.rint(deals["amount"] * deals["open_amount_factor"])
    revised = deals["amount_revised_date"]
    amount_revisions = (
        (revised <= as_of)
        & (deals["close_date"].isna() | (revised < deals["close_date"]))
        & ~deals["amount_missing_while_open"]
        & (open_amount != deals["amount"])
    )
    assert int((log["stage"].isna() & log["amount"].notna()).sum()) == int(amount_revisions.sum())


def test_rows_are_in_deal_and_date_order(history):
    log = synthetic.history_snapshot(history, SMALL.end)
    steps = log.groupby("opportunity_id", sort=False)["changed_date"].diff().dropna()
    assert (steps >= pd.Timedelta(0)).all()


def test_writing_the_stage_history_changes_no_other_file(tmp_path):
    plain = synthetic.write_sample(
        tmp_path / "a", SMALL, random_seed=SEED, months=2, stage_history=False
    )
    logged = synthetic.write_sample(
        tmp_path / "b", SMALL, random_seed=SEED, months=2, stage_history=True
    )
    extra = sorted(
        p.relative_to(tmp_path / "b").as_posix()
        for p in set(logged) - {tmp_path / "b" / p.relative_to(tmp_path / "a") for p in plain}
    )
    assert extra == ["exports/stage_history_2026-09.csv", "exports/stage_history_2026-10.csv"]
    for path in plain:
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes(), path.name
    written = pd.read_csv(tmp_path / "b" / extra[-1])
    assert list(written.columns) == list(schema.HISTORY_COLUMNS)
    in_memory = synthetic.history_snapshot(synthetic.simulate_history(SMALL, SEED), SMALL.end)
    assert len(written) == len(in_memory)
    assert written["changed_date"].iloc[0] == in_memory["changed_date"].iloc[0].strftime("%Y-%m-%d")
