"""Stage moves, time in stage and slippage from a stage history, against the simulated truth.

Each shape of pipeline is simulated at a fixed seed; its stage history is what the CRM would have
logged (:func:`~pipeline_models.data.synthetic.history_snapshot`). Counts must equal those read
straight from the simulation; estimates must lie within four standard errors of the truth (a
correct estimator fails such a check with probability about 6e-5).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from patterns_cases import ORDER, STAGES, deals

from pipeline_models.analyses.patterns.changes import compare
from pipeline_models.analyses.patterns.history import (
    PUSH_COUNTS,
    history_moves,
    history_time_in_stage,
    slippage,
    slippage_summary,
    stage_visits,
)
from pipeline_models.analyses.patterns.stages import stage_conversion
from pipeline_models.contract.schema import (
    HISTORY_COLUMNS,
    conform_opportunities,
    empty_opportunities,
)
from pipeline_models.data import synthetic as sample

SHAPES = {
    "small": {"n_opportunities": 2_000},
    "large": {"n_opportunities": 20_000},
    "bottleneck": {"bottleneck_stage": "Discovery", "bottleneck_weight": 6.0},
    "many stalls": {"stalled_fraction": 0.25, "stalled_segment": None},
    "no stalls": {"stalled_fraction": 0.0},
}
"""Pipelines of 5,000 deals unless said otherwise."""

WINDOW_MONTHS = 12
"""A year of moves: a few thousand exits per stage, a standard error of about 0.01."""


class Case:
    """One simulated pipeline, its last export, the export before and the logged history."""

    def __init__(self, shape: str, seed: int = 7):
        knobs = {"n_opportunities": 5_000, **SHAPES[shape]}
        config = replace(sample.SampleConfig(), with_leads=False, **knobs)
        self.history = sample.simulate_history(config, seed)
        previous_day, day = sample.month_ends(config, 2)
        self.as_of, self.previous_day = pd.Timestamp(day), pd.Timestamp(previous_day)
        self.since = self.as_of - pd.DateOffset(months=WINDOW_MONTHS)
        self.frame = conform_opportunities(sample.snapshot(self.history, day)[0])
        self.previous = conform_opportunities(sample.snapshot(self.history, previous_day)[0])
        self.log = sample.history_snapshot(self.history, day)


@pytest.fixture(scope="module", params=list(SHAPES))
def case(request) -> Case:
    return Case(request.param)


@pytest.fixture(scope="module")
def no_stalls() -> Case:
    return Case("no stalls")


def true_conversion(truth: dict) -> pd.Series:
    """Share of deals leaving each stage forward (:func:`~pipeline_models.data.synthetic.
    stage_conversion_truth`)."""
    return pd.Series(sample.stage_conversion_truth(truth))


def simulated_exits(case: Case) -> pd.DataFrame:
    """Per open stage: passes, losses and deals still there, read from the simulated stages."""
    st = case.history.stages
    following = st.groupby("opportunity_id", sort=False)["stage"].shift(-1).astype(str)
    open_ = st["stage"].isin(STAGES) & (st["entered_date"] <= case.as_of)
    st, following = st[open_], following[open_]
    left = st["exited_date"]
    inside = (left > case.since) & (left <= case.as_of)
    stage = st["stage"].astype(str)
    lost = inside & (following == case.history.config.lost_stage)
    return pd.DataFrame(
        {
            "passed": (inside & ~lost).groupby(stage).sum(),
            "lost": lost.groupby(stage).sum(),
            "stayed": (left.isna() | (left > case.as_of)).groupby(stage).sum(),
        }
    ).reindex(list(STAGES))


def test_moves_count_exactly_the_simulated_passes_losses_and_stays(case):
    moves = history_moves(case.log, case.frame, ORDER, case.as_of, case.since)
    table = stage_conversion(moves, ORDER, (case.as_of - case.since).days).set_index("stage")
    expected = simulated_exits(case)
    for column in ("passed", "lost", "stayed"):
        assert table[column].tolist() == expected[column].tolist(), column


def test_conversion_from_the_history_recovers_the_true_conversion(case):
    moves = history_moves(case.log, case.frame, ORDER, case.as_of, case.since)
    table = stage_conversion(moves, ORDER, (case.as_of - case.since).days).set_index("stage")
    truth = true_conversion(case.history.truth)
    left = table["passed"] + table["lost"]
    se = np.sqrt(truth * (1 - truth) / left)
    assert (abs(table["conversion"] - truth) <= 4 * se).all(), (table["conversion"], truth)
    loss = pd.Series(case.history.truth["stages"]["loss_stage_probability"])
    share = table["lost"] / table["lost"].sum()
    se_loss = np.sqrt(loss * (1 - loss) / table["lost"].sum())
    assert (abs(share - loss) <= 4 * se_loss).all(), (share, loss)


def test_the_history_does_at_least_as_well_as_two_exports(case):
    """Over the same month, two exports attribute a loss to the stage the deal was in a month
    earlier and miss the stages passed before it; the history sees where it really happened."""
    moves = history_moves(case.log, case.frame, ORDER, case.as_of, case.previous_day)
    from_history = stage_conversion(moves, ORDER, 31).set_index("stage")
    comparison = compare(case.previous, case.frame, ORDER, case.as_of)
    from_exports = stage_conversion(comparison.moves, ORDER, comparison.gap_days).set_index("stage")
    truth = true_conversion(case.history.truth)
    loss = pd.Series(case.history.truth["stages"]["loss_stage_probability"])

    def errors(table: pd.DataFrame) -> tuple[float, float]:
        share = table["lost"] / table["lost"].sum()
        return float(abs(table["conversion"] - truth).max()), float(abs(share - loss).sum() / 2)

    history_error, exports_error = errors(from_history), errors(from_exports)
    assert history_error[0] <= exports_error[0]
    assert history_error[1] <= exports_error[1]


def test_time_in_stage_recovers_the_simulated_mean_and_median_dwell(no_stalls):
    case = no_stalls
    table = history_time_in_stage(case.log, case.frame, ORDER, case.as_of, case.since)
    table = table.set_index("stage")
    st = case.history.stages
    entered = st[st["stage"].isin(STAGES) & (st["entered_date"] > case.since)]
    entered = entered[entered["entered_date"] <= case.as_of]
    dwell = (entered["exited_date"] - entered["entered_date"]).dt.days
    truth = dwell.groupby(entered["stage"].astype(str)).agg(["mean", "median", "std", "size"])
    truth = truth.reindex(list(STAGES))
    se = truth["std"] / np.sqrt(truth["size"])
    assert (abs(table["days_in_stage"] - truth["mean"]) <= 4 * se).all()
    assert (abs(table["median_days"] - truth["median"]) <= 1).all()
    assert (table["days_lower"] < table["days_in_stage"]).all()
    assert (table["days_in_stage"] < table["days_upper"]).all()


def test_time_in_stage_counts_every_visit_and_keeps_stalled_deals_in_the_exposure(case):
    table = history_time_in_stage(case.log, case.frame, ORDER, case.as_of).set_index("stage")
    st = case.history.stages
    st = st[st["stage"].isin(STAGES) & (st["entered_date"] <= case.as_of)]
    running = st["exited_date"].isna() | (st["exited_date"] > case.as_of)
    stage = st["stage"].astype(str)
    assert table["visits"].tolist() == stage.value_counts().reindex(list(STAGES)).tolist()
    assert table["ongoing"].tolist() == running.groupby(stage).sum().reindex(list(STAGES)).tolist()
    assert (table["visits"] == table["completed"] + table["ongoing"]).all()
    end = st["exited_date"].where(~running, case.as_of)
    exposure = (end - st["entered_date"]).dt.days.groupby(stage).sum().reindex(list(STAGES))
    assert table["exposure_days"].tolist() == exposure.astype(float).tolist()
    # ongoing visits weigh in: the mean counts their time, completed visits alone run short
    assert (table["days_in_stage"] >= table["mean_completed_days"]).all()


def simulated_slips(history: sample.SimulatedHistory, as_of: pd.Timestamp) -> pd.DataFrame:
    """Pushes, pull-ins and amount changes read from the simulated revisions."""
    d = history.deals.set_index("opportunity_id")
    d = d[d["created_date"] <= as_of]
    pushes = pulls = pushed = 0
    for k in range(1, 4):
        shift = (d[f"expected_close_{k}"] - d[f"expected_close_{k - 1}"]).dt.days
        made = d[f"revised_{k}"] <= as_of
        pushes = pushes + (made & (shift > 0))
        pulls = pulls + (made & (shift < 0))
        pushed = pushed + shift.where(made & (shift > 0), 0)
    before = np.rint(d["amount"] * d["open_amount_factor"])
    revised = d["amount_revised_date"]
    # a revision on the close day is the close itself: the final amount shows on its row
    while_open = d["close_date"].isna() | (revised < d["close_date"])
    changed = (
        (revised <= as_of) & while_open & ~d["amount_missing_while_open"] & (before != d["amount"])
    )
    return pd.DataFrame(
        {
            "pushes": pushes.astype(int),
            "pull_ins": pulls.astype(int),
            "days_pushed": pushed.astype(float),
            "amount_changes": changed.astype(int),
            "amount_change": (d["amount"] - before).where(changed, 0.0),
        }
    )


def test_slippage_counts_equal_the_simulated_revisions(case):
    slips = slippage(case.log, case.frame, case.as_of).set_index("opportunity_id")
    truth = simulated_slips(case.history, case.as_of).loc[slips.index]
    assert len(slips) == len(case.frame)
    for column in ("pushes", "pull_ins", "days_pushed", "amount_changes"):
        assert (slips[column] == truth[column]).all(), column
    changed = truth["amount_changes"] > 0
    assert (slips.loc[changed, "amount_change"] == truth.loc[changed, "amount_change"]).all()
    summary = slippage_summary(slips.reset_index())
    open_ = slips["status"] == "open"
    for n in PUSH_COUNTS:
        share = float((truth.loc[open_, "pushes"] >= n).mean())
        assert summary[f"share_pushed_{n}"].iloc[0] == pytest.approx(share)
    assert summary["open_deals"].iloc[0] == int(open_.sum())
    assert summary["share_pushed_1"].iloc[0] > summary["share_pushed_2"].iloc[0] > 0


def test_slippage_summary_by_group_adds_up(case):
    slips = slippage(case.log, case.frame, case.as_of)
    by_product = slippage_summary(slips, by="product")
    overall = slippage_summary(slips)
    assert by_product["open_deals"].sum() == overall["open_deals"].iloc[0]
    assert by_product["pushed_2"].sum() == overall["pushed_2"].iloc[0]


def test_no_function_changes_its_inputs():
    case = Case("small")
    log, frame = case.log.copy(deep=True), case.frame.copy(deep=True)
    moves = history_moves(case.log, case.frame, ORDER, case.as_of, case.since)
    history_time_in_stage(case.log, case.frame, ORDER, case.as_of, case.since, by="product")
    slips = slippage(case.log, case.frame, case.as_of)
    kept = slips.copy(deep=True)
    slippage_summary(slips, by="owner")
    stage_conversion(moves, ORDER, 365, by="product")
    pd.testing.assert_frame_equal(case.log, log)
    pd.testing.assert_frame_equal(case.frame, frame)
    pd.testing.assert_frame_equal(slips, kept)


# --- hand-made histories ---------------------------------------------------------------------

AS_OF = pd.Timestamp("2026-03-31")


def log_of(rows: list[tuple]) -> pd.DataFrame:
    """A canonical history from (id, changed, stage, amount, close date) rows."""
    return pd.DataFrame([(*r, None) for r in rows], columns=list(HISTORY_COLUMNS))


def hand_frame() -> pd.DataFrame:
    c = "2026-01-01"
    return deals(
        [
            ("jump", c, "2026-03-01", "Closed Won", "won", 100.0, "ann", "A"),
            ("lost", c, "2026-02-10", "Closed Lost", "lost", 50.0, "bob", "B"),
            ("open", c, "2026-05-01", "Proposal", "open", None, "bob", "B"),
            ("single", c, "2026-05-01", "Discovery", "open", 20.0, "ann", "A"),
        ]
    )


def hand_log() -> pd.DataFrame:
    return log_of(
        [
            ("jump", "2026-01-01", "Qualification", 80.0, "2026-02-01"),
            ("jump", "2026-01-10", "Proposal", None, None),  # skips Discovery
            ("jump", "2026-01-20", "Discovery", None, None),  # back
            ("jump", "2026-01-25", None, None, "2026-02-20"),  # a push of 19 days
            ("jump", "2026-01-25", None, 90.0, None),
            ("jump", "2026-02-01", "Proposal", None, None),
            ("jump", "2026-03-01", "Closed Won", 100.0, "2026-03-01"),  # won from Proposal
            ("jump", "2026-03-05", "Qualification", None, None),  # after the close: ignored
            ("lost", "2026-01-01", "Qualification", 50.0, "2026-01-31"),
            ("lost", "2026-01-15", "On hold", None, None),  # outside the order
            ("lost", "2026-02-10", "Closed Lost", None, None),
            ("open", "2026-01-05", None, None, "2026-03-01"),  # before any stage
            ("open", "2026-01-06", "Proposal", None, None),
            ("open", "2026-02-06", None, None, "2026-02-15"),  # a pull-in of 14 days
            ("single", "2026-01-01", "Discovery", 20.0, "2026-05-01"),
            ("ghost", "2026-01-06", "Proposal", None, None),  # not in the export
        ]
    )


def test_visits_follow_the_real_path_of_each_deal():
    visits = stage_visits(hand_log(), hand_frame(), ORDER, AS_OF)
    path = {
        d: list(zip(g["stage"], g["outcome"], g["skipped"], strict=True))
        for d, g in visits.groupby("opportunity_id")
    }
    assert path["jump"] == [
        ("Qualification", "passed", 1),
        ("Proposal", "back", 0),
        ("Discovery", "passed", 0),
        ("Proposal", "passed", 1),
    ]
    assert path["lost"] == [("Qualification", "lost", 0)]
    assert path["open"] == [("Proposal", "stayed", 0)]
    assert path["single"] == [("Discovery", "stayed", 0)]
    assert "ghost" not in path
    lost = visits[visits["opportunity_id"] == "lost"].iloc[0]
    assert lost["left"] == pd.Timestamp("2026-02-10")  # time "On hold" counts to Qualification
    jump = visits[visits["opportunity_id"] == "jump"]
    assert jump["amount"].tolist() == [80.0, 80.0, 90.0, 100.0]


def test_moves_in_a_window_count_skipped_stages_as_passed():
    moves = history_moves(hand_log(), hand_frame(), ORDER, AS_OF, "2026-01-15")
    jump = moves[moves["opportunity_id"] == "jump"]
    assert list(zip(jump["stage"], jump["outcome"], jump["start"], strict=True)) == [
        ("Proposal", "back", True),
        ("Discovery", "passed", False),
        ("Proposal", "passed", False),
        ("Negotiation", "passed", False),
    ]
    table = stage_conversion(moves, ORDER, 75).set_index("stage")
    assert (
        table.loc["Qualification", "lost"] == 1 and table.loc["Qualification", "value_lost"] == 50
    )
    assert table.loc["Discovery", "stayed"] == 1  # "single" is still there


def test_time_in_stage_by_hand():
    table = history_time_in_stage(hand_log(), hand_frame(), ORDER, AS_OF).set_index("stage")
    # Proposal: 10 and 28 days completed, "open" running 84 days: median 28
    assert table.loc["Proposal", ["visits", "completed", "ongoing"]].tolist() == [3, 2, 1]
    assert table.loc["Proposal", "exposure_days"] == 10 + 28 + 84
    assert table.loc["Proposal", "median_days"] == 28
    assert table.loc["Qualification", "mean_completed_days"] == (9 + 40) / 2
    assert table.loc["Negotiation", "visits"] == 0
    assert np.isnan(table.loc["Negotiation", "days_in_stage"])


def test_slippage_by_hand():
    slips = slippage(hand_log(), hand_frame(), AS_OF).set_index("opportunity_id")
    assert set(slips.index) == {"jump", "lost", "open", "single"}
    # the close row (actual date, final amount) is not a slip
    assert slips.loc["jump", ["pushes", "days_pushed", "pull_ins"]].tolist() == [1, 19, 0]
    assert slips.loc["jump", ["amount_changes", "amount_change"]].tolist() == [1, 10.0]
    assert slips.loc["open", ["pushes", "pull_ins", "days_pulled_in"]].tolist() == [0, 1, 14]
    assert slips.loc["single", ["rows", "pushes", "amount_changes"]].tolist() == [1, 0, 0]


@pytest.mark.parametrize(
    "log",
    [
        pd.DataFrame(columns=list(HISTORY_COLUMNS)),
        log_of([("ghost", "2026-01-01", "Proposal", 1.0, "2026-02-01")]),
        log_of([("open", "2026-01-01", "Signed", 1.0, "2026-02-01")]),
        log_of([("open", "2026-01-01", None, None, "2026-02-01")]),
        log_of([("open", "2027-01-01", "Proposal", 1.0, "2027-02-01")]),  # after as_of
    ],
    ids=["empty", "deal not in the export", "stage outside the order", "no stage", "later"],
)
def test_degenerate_histories_give_empty_tables(log):
    frame = hand_frame()
    assert stage_visits(log, frame, ORDER, AS_OF).empty
    moves = history_moves(log, frame, ORDER, AS_OF, "2026-01-01")
    assert moves.empty and {"stage", "outcome", "start", "amount"} <= set(moves.columns)
    table = stage_conversion(moves, ORDER, 90)
    assert table["passed"].sum() == 0 and len(table) == len(STAGES)
    times = history_time_in_stage(log, frame, ORDER, AS_OF, by="owner")
    assert times["visits"].sum() == 0
    summary = slippage_summary(slippage(log, frame, AS_OF))
    assert summary["open_deals"].sum() <= 1


def test_an_empty_export_and_missing_columns_are_handled():
    empty = empty_opportunities()
    assert stage_visits(hand_log(), empty, ORDER, AS_OF).empty
    assert slippage(hand_log(), empty, AS_OF).empty
    bare = hand_log()[["opportunity_id", "changed_date", "stage"]]
    visits = stage_visits(bare, hand_frame(), ORDER, AS_OF)
    assert len(visits) == 7
    slips = slippage(bare, hand_frame(), AS_OF)
    assert (slips["pushes"] == 0).all() and slips["first_close_date"].isna().all()
