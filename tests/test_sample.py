"""Tests of the synthetic export generator: determinism, snapshot rules and recovery of its truth.

A small history (about 2,000 deals) keeps the suite fast. Statistical checks compare an empirical
figure with the ground truth within four standard errors: a correct generator fails such a check
with probability about 6e-5 per comparison, a wrong parameter of the size that matters fails it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_models import sample, schema

SEED = 11
SMALL = replace(sample.SampleConfig(), n_opportunities=2_000)


@pytest.fixture(scope="module")
def history() -> sample.SimulatedHistory:
    return sample.simulate_history(SMALL, random_seed=SEED)


@pytest.fixture(scope="module")
def month_ends() -> list[date]:
    return sample.month_ends(SMALL, "all")


@pytest.fixture(scope="module")
def snapshots(history, month_ends) -> dict[date, pd.DataFrame]:
    return {as_of: sample.snapshot(history, as_of)[0] for as_of in month_ends}


def _closed_by_product(history: sample.SimulatedHistory) -> pd.core.groupby.DataFrameGroupBy:
    deals = history.deals
    return deals[deals["outcome"] != "stalled"].groupby("product", observed=True)


# determinism ---------------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables(history):
    again = sample.simulate_history(SMALL, random_seed=SEED)
    pd.testing.assert_frame_equal(history.deals, again.deals)
    pd.testing.assert_frame_equal(history.stages, again.stages)
    pd.testing.assert_frame_equal(history.leads, again.leads)
    assert history.truth == again.truth


def test_different_seed_gives_different_tables(history):
    other = sample.simulate_history(SMALL, random_seed=SEED + 1)
    assert not history.deals["amount"].equals(other.deals["amount"])
    assert not history.deals["created_date"].equals(other.deals["created_date"])
    assert history.truth["win"]["owner_effect"] != other.truth["win"]["owner_effect"]


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = sample.write_sample(tmp_path / "a", SMALL, random_seed=SEED, months=2)
    second = sample.write_sample(tmp_path / "b", SMALL, random_seed=SEED, months=2)
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_history_does_not_depend_on_today(history):
    assert history.deals["created_date"].min() >= pd.Timestamp(SMALL.start)
    assert history.deals["created_date"].max() <= pd.Timestamp(SMALL.end)
    assert history.truth["history"]["months"][0] == "2024-11"
    assert len(history.truth["history"]["months"]) == 24


# recovery of the ground truth ---------------------------------------------------------------------


def test_win_rate_per_product_matches_truth(history):
    truth = history.truth["win"]["marginal_win_rate"]
    for product, group in _closed_by_product(history):
        p = truth[product]
        n = len(group)
        observed = (group["outcome"] == "won").mean()
        assert abs(observed - p) <= 4 * np.sqrt(p * (1 - p) / n), product


def test_products_have_clearly_different_win_rates(history):
    rates = sorted(history.truth["win"]["marginal_win_rate"].values())
    assert rates[-1] - rates[0] > 0.2
    assert min(np.diff(rates)) > 0.03


def test_mean_log_amount_of_won_deals_matches_mu(history):
    truth = history.truth["amount"]
    sd = truth["sd_log_amount"]
    for product, group in _closed_by_product(history):
        won = group[group["outcome"] == "won"]
        mean = np.log(won["amount"]).mean()
        assert abs(mean - truth["mean_log_amount"][product]) <= 4 * sd / np.sqrt(len(won)), product


def test_mean_log_cycle_matches_mu(history):
    # rounding to whole days and the quarter-end pull move the mean log cycle by < 0.01
    truth = history.truth["cycle"]
    for product, group in _closed_by_product(history):
        for outcome in ("won", "lost"):
            rows = group[group["outcome"] == outcome]
            mean = np.log(rows["cycle_days"].astype(float)).mean()
            mu = truth["by_product"][product][outcome]["mu"]
            se = truth["sigma"][outcome] / np.sqrt(len(rows))
            assert abs(mean - mu) <= 4 * se + 0.01, (product, outcome)


def test_strong_source_wins_most(history):
    deals = history.deals[history.deals["outcome"] != "stalled"]
    rates = deals.groupby("lead_source", observed=True)["outcome"].apply(
        lambda s: (s == "won").mean()
    )
    assert rates.idxmax() == SMALL.strong_source
    truth = history.truth["win"]["lead_source_effect"]
    assert max(truth, key=truth.get) == SMALL.strong_source


def test_bottleneck_stage_loses_most(history):
    lost = history.deals[history.deals["outcome"] == "lost"]
    shares = lost["last_open_stage"].value_counts(normalize=True)
    assert shares.idxmax() == SMALL.bottleneck_stage
    expected = history.truth["stages"]["loss_stage_probability"][SMALL.bottleneck_stage]
    assert abs(shares[SMALL.bottleneck_stage] - expected) <= 4 * np.sqrt(
        expected * (1 - expected) / len(lost)
    )


def test_stalled_deals_concentrate_in_the_stalled_segment(history):
    deals = history.deals
    inside = deals["segment"] == SMALL.stalled_segment
    assert deals.loc[inside, "stalled"].mean() > 5 * deals.loc[~inside, "stalled"].mean()
    assert deals.loc[deals["stalled"], "close_date"].isna().all()
    share = deals["stalled"].mean()
    assert abs(share - SMALL.stalled_fraction) <= 4 * np.sqrt(
        SMALL.stalled_fraction * (1 - SMALL.stalled_fraction) / len(deals)
    )


def test_arrivals_match_expected_total(history):
    expected = history.truth["arrivals"]["expected_total"]
    assert abs(len(history.deals) - expected) <= 4 * np.sqrt(expected)
    assert expected == pytest.approx(SMALL.n_opportunities)


def test_lead_conversion_matches_truth(history):
    leads = history.leads
    # leads old enough that their conversion (lag quantile 99.99% < 200 days) is observed
    window = (leads["created_date"] >= pd.Timestamp(SMALL.start)) & (
        leads["created_date"] <= pd.Timestamp(SMALL.end) - pd.Timedelta(days=200)
    )
    rates = history.truth["leads"]["conversion_rate"]
    for source, group in leads[window].groupby("source", observed=True):
        c = rates[source]
        observed = group["converted_date"].notna().mean()
        assert abs(observed - c) <= 4 * np.sqrt(c * (1 - c) / len(group)), source


def test_every_deal_has_its_lead(history):
    deals, leads = history.deals, history.leads
    linked = leads.dropna(subset=["opportunity_id"]).set_index("opportunity_id")
    assert deals["lead_id"].notna().all()
    assert set(linked.index) == set(deals["opportunity_id"])
    joined = deals.merge(
        linked.reset_index(), on="opportunity_id", how="left", suffixes=("", "_lead")
    )
    assert (joined["lead_id"] == joined["lead_id_lead"]).all()
    assert (joined["lead_source"].astype(str) == joined["source"].astype(str)).all()
    assert (joined["created_date_lead"] <= joined["created_date"]).all()
    assert (joined["converted_date"] == joined["created_date"]).all()


def test_stage_history_moves_forward_and_ends_at_the_close(history):
    stages = history.stages
    assert (stages["exited_date"].isna() | (stages["exited_date"] >= stages["entered_date"])).all()
    steps = stages.groupby("opportunity_id", sort=False)["stage_index"].diff().dropna()
    assert (steps > 0).all()
    last = stages.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    deals = history.deals.set_index("opportunity_id").loc[last.index]
    for outcome, stage in (("won", SMALL.won_stage), ("lost", SMALL.lost_stage)):
        rows = deals["outcome"] == outcome
        assert (last.loc[rows, "stage"] == stage).all()
        assert (last.loc[rows, "entered_date"] == deals.loc[rows, "close_date"]).all()
    stalled = deals["stalled"]
    assert (
        last.loc[stalled, "stage"].astype(str) == deals.loc[stalled, "last_open_stage"].astype(str)
    ).all()
    assert last["exited_date"].isna().all()


# snapshots ----------------------------------------------------------------------------------------


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


def test_snapshot_validates_against_the_contract(history, month_ends):
    opportunities, leads = sample.snapshot(history, month_ends[-1])
    assert list(opportunities.columns) == list(schema.OPPORTUNITY_COLUMNS)
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
    opportunities, leads = sample.snapshot(history, as_of)
    created = pd.to_datetime(leads["created_date"])
    converted = pd.to_datetime(leads["converted_date"])
    assert (created <= pd.Timestamp(as_of)).all()
    assert (converted.dropna() <= pd.Timestamp(as_of)).all()
    assert leads["opportunity_id"].notna().equals(converted.notna())
    shown = leads.dropna(subset=["opportunity_id"])
    assert set(shown["opportunity_id"]) == set(opportunities["opportunity_id"])


def test_snapshot_does_not_change_the_history(history):
    before = history.deals.copy()
    sample.snapshot(history, "2025-06-30")
    pd.testing.assert_frame_equal(history.deals, before)


@settings(max_examples=25, deadline=None)
@given(day=st.dates(min_value=date(2024, 10, 1), max_value=date(2026, 12, 31)))
def test_any_date_gives_a_consistent_snapshot(history, day):
    frame, _ = sample.snapshot(history, day)
    truth = history.deals.set_index("opportunity_id").loc[frame["opportunity_id"]]
    closed_by_then = truth["close_date"] <= pd.Timestamp(day)
    status = frame["status"].to_numpy()
    expected = np.where(closed_by_then, truth["outcome"].astype(str), "open")
    assert (status == expected).all()


# files and the command ----------------------------------------------------------------------------


def test_write_sample_writes_the_documented_files(tmp_path):
    messages: list[str] = []
    paths = sample.write_sample(tmp_path, SMALL, random_seed=SEED, progress=messages.append)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == [
        "exports/leads_2026-08.csv",
        "exports/leads_2026-09.csv",
        "exports/leads_2026-10.csv",
        "exports/opportunities_2026-08.csv",
        "exports/opportunities_2026-09.csv",
        "exports/opportunities_2026-10.csv",
        "ground_truth.json",
        "history.parquet",
    ]
    assert messages
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    for key in ("config", "win", "amount", "cycle", "stages", "stall", "arrivals", "leads"):
        assert key in truth
    assert truth["config"]["n_opportunities"] == SMALL.n_opportunities
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert {"outcome", "close_date", "stalled", "entered_proposal"} <= set(history.columns)
    export = pd.read_csv(tmp_path / "exports/opportunities_2026-10.csv")
    assert list(export.columns) == list(schema.OPPORTUNITY_COLUMNS)
    assert len(export) == len(history)


def test_write_sample_all_months(tmp_path):
    paths = sample.write_sample(tmp_path, SMALL, random_seed=SEED, months="all")
    csvs = [p for p in paths if p.suffix == ".csv"]
    assert len(csvs) == 2 * 24


def test_sample_command_prints_nothing(tmp_path, capsys):
    messages: list[str] = []
    status = sample.sample_command(tmp_path, 5, "2025-03", progress=messages.append)
    assert status == 0
    assert (tmp_path / "exports" / "opportunities_2025-03.csv").exists()
    assert any("ground_truth.json" in m for m in messages)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_month_selection():
    assert sample.month_ends(SMALL) == [date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]
    assert len(sample.month_ends(SMALL, "all")) == 24
    assert sample.month_ends(SMALL, 1) == [date(2026, 10, 31)]
    assert sample.month_ends(SMALL, "2025-02, 2024-11") == [date(2024, 11, 30), date(2025, 2, 28)]
    with pytest.raises(ValueError, match="not within the history"):
        sample.month_ends(SMALL, ["2030-01"])


def test_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="bottleneck_stage"):
        replace(SMALL, bottleneck_stage="Demo")
    with pytest.raises(ValueError, match="strong_source"):
        replace(SMALL, strong_source="Billboard")
    with pytest.raises(ValueError, match="probability outside"):
        replace(SMALL, stalled_fraction=0.5, stalled_share=1.0)


def test_without_leads_and_with_a_product_stall(tmp_path):
    config = replace(
        SMALL,
        n_opportunities=500,
        with_leads=False,
        stalled_segment=None,
        stalled_product="Platform",
    )
    history = sample.simulate_history(config, random_seed=3)
    assert history.leads.empty
    assert history.deals["lead_id"].isna().all()
    stalled = history.deals[history.deals["stalled"]]
    assert (stalled["product"] == "Platform").mean() > 0.5
    paths = sample.write_sample(tmp_path, config, random_seed=3, months=1)
    assert not any(p.name.startswith("leads_") for p in paths)
