"""The patterns report's functions: pure transforms on hand-made frames, planted patterns found on
simulated pipelines, and the change waterfall balancing to the cent on consecutive snapshots."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_models import patterns as pt
from pipeline_models import sample
from pipeline_models.schema import conform_opportunities

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation")
ORDER = pt.StageOrder(STAGES, "crm")
PREV_DAY = pd.Timestamp("2026-09-30")
AS_OF = pd.Timestamp("2026-10-31")


def deals(rows: list[tuple]) -> pd.DataFrame:
    """Canonical frame from (id, created, close, stage, status, amount, owner, product) rows."""
    cols = ["opportunity_id", "created_date", "close_date", "stage", "status", "amount", "owner",
            "product"]  # fmt: skip
    return conform_opportunities(pd.DataFrame(rows, columns=cols))


# ------------------------------------------------------------------------------------------------
# pooling


def test_pooled_rates_pull_a_small_lucky_group_toward_the_rest():
    table = pooled_rates_example()
    lucky = table.loc["lucky"]
    assert lucky["observed"] == 1.0
    assert lucky["mean"] < 0.6  # 5 of 5 won does not make a 100% rate
    assert lucky["lower"] < 0.3 < lucky["upper"]  # and is not credibly above the others
    big = table.loc["a"]
    assert abs(big["mean"] - 0.3) < 0.01  # a large group keeps its own rate


def pooled_rates_example() -> pd.DataFrame:
    return pt.pooled_rates(
        [300, 290, 310, 5], [1000, 1000, 1000, 5], index=["a", "b", "c", "lucky"]
    )


def test_pooled_rates_keep_groups_that_really_differ():
    table = pt.pooled_rates([100, 900], [1000, 1000])
    assert table["mean"].iloc[0] == pytest.approx(0.1, abs=0.01)
    assert table["mean"].iloc[1] == pytest.approx(0.9, abs=0.01)
    assert table["upper"].iloc[0] < table["lower"].iloc[1]


def test_pooled_rates_interval_never_narrower_than_the_common_rate():
    # identical groups pool completely, but each interval keeps the common rate's uncertainty
    table = pt.pooled_rates([50] * 10, [100] * 10)
    common = pt.pooled_rates([500], [1000])
    width = (table["upper"] - table["lower"]).min()
    assert width >= 0.9 * float(common["upper"].iloc[0] - common["lower"].iloc[0])


def test_pooled_rates_one_group_is_its_jeffreys_posterior():
    table = pt.pooled_rates([3], [10])
    assert table["mean"].iloc[0] == pytest.approx(3.5 / 11)


def test_pooled_rates_reject_impossible_counts():
    with pytest.raises(ValueError):
        pt.pooled_rates([5], [3])


def test_pooled_event_rates_shrink_short_exposure():
    table = pt.pooled_event_rates([100, 110, 90, 3], [100.0, 100.0, 100.0, 1.0])
    assert table["observed"].iloc[3] == 3.0
    assert table["mean"].iloc[3] < 2.0
    assert table["mean"].iloc[0] == pytest.approx(1.0, abs=0.1)


def test_pooled_means_shrink_toward_the_grand_mean():
    rng = np.random.default_rng(1)
    values = pd.Series(np.r_[rng.normal(0, 1, 300), rng.normal(1.0, 1, 300), [3.0, 3.2]])
    groups = pd.Series(["a"] * 300 + ["b"] * 300 + ["tiny"] * 2)
    table = pt.pooled_means(values, groups, ["a", "b", "tiny", "absent"])
    assert table.loc["tiny", "observed"] > 3
    assert table.loc["tiny", "mean"] < 2.5
    assert table.loc["a", "mean"] == pytest.approx(table.loc["a", "observed"], abs=0.05)
    assert table.loc["absent", "n"] == 0


# ------------------------------------------------------------------------------------------------
# stage order and comparison of exports


def open_deals_at(stages_and_ages: list[tuple[str, float | None]]) -> pd.DataFrame:
    rows = []
    for i, (stage, age) in enumerate(stages_and_ages):
        created = None if age is None else AS_OF - pd.Timedelta(days=age)
        rows.append((f"o{i}", created, None, stage, "open", 100.0, "x", "p"))
    return deals(rows)


def test_stage_order_uses_the_crm_order_when_names_are_known():
    frame = open_deals_at([("negotiation", 5), ("Qualification", 50), ("Proposal", 1)])
    order = pt.stage_order(frame, AS_OF)
    assert order.stages == ("Qualification", "Proposal", "negotiation")
    assert order.method == "crm"


def test_stage_order_falls_back_to_median_age():
    frame = open_deals_at(
        [("Signed intent", 80), ("Signed intent", 90), ("Demo", 20), ("Intro", None), ("Pitch", 40)]
    )
    order = pt.stage_order(frame, AS_OF)
    assert order.stages == ("Intro", "Demo", "Pitch", "Signed intent")
    assert order.method == "median age"
    assert np.isnan(order.index("Closed Won"))


def test_stage_order_includes_stages_seen_only_last_time():
    now = open_deals_at([("Qualification", 5)])
    before = open_deals_at([("Negotiation", 5)])
    assert pt.stage_order(now, AS_OF, before).stages == ("Qualification", "Negotiation")


def two_exports() -> tuple[pd.DataFrame, pd.DataFrame]:
    c = "2026-01-15"
    prev = deals(
        [
            ("moved", c, "2026-10-31", "Qualification", "open", 1000.10, "ann", "A"),
            ("pushed", c, "2026-09-15", "Proposal", "open", 500.20, "ann", "A"),
            ("raised", c, "2026-11-30", "Discovery", "open", None, "bob", "B"),
            ("cut", c, "2026-11-30", "Negotiation", "open", 300.30, "bob", "B"),
            ("back", c, "2026-11-30", "Proposal", "open", 10.0, "bob", "B"),
            ("won", c, "2026-10-31", "Negotiation", "open", 2000.0, "ann", "A"),
            ("lost", c, "2026-10-31", "Proposal", "open", 700.70, "bob", "B"),
            ("removed", c, "2026-10-31", "Discovery", "open", 90.09, "bob", "B"),
            ("reopened", c, "2026-08-01", "Closed Lost", "lost", 40.0, "ann", "A"),
            ("old", c, "2026-03-01", "Closed Won", "won", 5.0, "ann", "A"),
        ]
    )
    cur = deals(
        [
            ("moved", c, "2026-10-31", "Proposal", "open", 1000.10, "ann", "A"),
            ("pushed", c, "2026-12-31", "Proposal", "open", 500.20, "ann", "A"),
            ("raised", c, "2026-11-30", "Discovery", "open", 250.25, "bob", "B"),
            ("cut", c, "2026-11-15", "Negotiation", "open", 200.10, "bob", "B"),
            ("back", c, "2026-11-30", "Discovery", "open", 10.0, "bob", "B"),
            ("won", c, "2026-10-20", "Closed Won", "won", 2100.0, "ann", "A"),
            ("lost", c, "2026-10-10", "Closed Lost", "lost", 700.70, "bob", "B"),
            ("reopened", c, "2026-12-31", "Qualification", "open", 45.0, "ann", "A"),
            ("old", c, "2026-03-01", "Closed Won", "won", 5.0, "ann", "A"),
            ("new", "2026-10-05", "2026-12-31", "Qualification", "open", 0.1, "ann", "A"),
            ("new-won", "2026-10-05", "2026-10-25", "Closed Won", "won", 60.0, "ann", "A"),
        ]
    )
    return prev, cur


def test_compare_exports_names_every_kind_of_change():
    prev, cur = two_exports()
    changes = pt.compare_exports(prev, cur, ORDER).set_index("opportunity_id")
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
    pt.compare_exports(prev, cur, ORDER)
    pd.testing.assert_frame_equal(prev, before[0])
    pd.testing.assert_frame_equal(cur, before[1])


def test_compare_exports_refuses_duplicate_ids():
    prev, cur = two_exports()
    with pytest.raises(ValueError, match="unique"):
        pt.compare_exports(prev, pd.concat([cur, cur.iloc[:1]]), ORDER)


def test_waterfall_bars_by_hand():
    prev, cur = two_exports()
    bars = pt.waterfall(pt.compare_exports(prev, cur, ORDER)).set_index("bar")["cents"]
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
    bars = pt.waterfall(pt.compare_exports(prev, cur, ORDER))
    cents = bars["cents"].tolist()
    assert cents[0] + sum(cents[1:-1]) == cents[-1]
    expect = sum(
        (Decimal(str(b)) for (_, after, _, b) in pairs if after == "open" and b is not None),
        Decimal(0),
    )
    assert cents[-1] == int(expect * 100)


def test_change_summary_counts_moves_and_pushes():
    prev, cur = two_exports()
    summary = pt.change_summary(pt.compare_exports(prev, cur, ORDER))
    assert summary.loc["close date pushed later", "deals"] == 1
    assert summary.loc["close date pulled in", "deals"] == 1
    assert summary.loc["stage forward", "deals"] == 1
    assert summary.loc["stage back", "deals"] == 1
    assert summary.loc["new deals, already won", "amount"] == 60.0


def test_slipping_deals_flags_long_and_overdue_pushes():
    prev, cur = two_exports()
    changes = pt.compare_exports(prev, cur, ORDER)
    slipping = pt.slipping_deals(changes, PREV_DAY)
    assert slipping["deal"].tolist() == ["pushed"]
    assert slipping["why flagged"].iloc[0] == "pushed over a month, already overdue"
    assert slipping["pushed by (days)"].iloc[0] == 107
    # a one-week push of a deal not yet due is not flagged; the same push of an overdue one is
    prev2, cur2 = prev.copy(), cur.copy()
    prev2.loc[prev2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-10-15")
    cur2.loc[cur2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-10-22")
    assert pt.slipping_deals(pt.compare_exports(prev2, cur2, ORDER), PREV_DAY).empty
    prev2.loc[prev2["opportunity_id"] == "pushed", "close_date"] = pd.Timestamp("2026-09-25")
    late = pt.slipping_deals(pt.compare_exports(prev2, cur2, ORDER), PREV_DAY)
    assert late["why flagged"].tolist() == ["pushed while overdue"]


def test_overdue_deals_need_one_export_only():
    _, cur = two_exports()
    overdue = pt.overdue_deals(cur, pd.Timestamp("2026-11-20"))
    assert set(overdue["deal"]) == {"moved", "cut"}  # expected by 2026-11-15, still open


# ------------------------------------------------------------------------------------------------
# stage moves and conversion


def test_stage_moves_follow_each_deal_through_the_stages():
    prev, cur = two_exports()
    moves = pt.stage_moves(pt.compare_exports(prev, cur, ORDER), ORDER)
    by_deal = {
        d: list(zip(g["stage"], g["outcome"], strict=True))
        for d, g in moves.groupby("opportunity_id")
    }
    assert by_deal["moved"] == [
        ("Qualification", "passed"),
        ("Discovery", "passed"),
        ("Proposal", "stayed"),
    ]
    assert by_deal["won"] == [("Negotiation", "passed")]
    assert by_deal["lost"] == [("Proposal", "lost")]
    assert by_deal["back"] == [("Proposal", "back")]
    assert by_deal["pushed"] == [("Proposal", "stayed")]
    assert "removed" not in by_deal and "new" not in by_deal
    assert moves.loc[moves["opportunity_id"] == "moved", "start"].tolist() == [True, False, False]


def test_stage_conversion_counts_and_time_in_stage():
    moves = pd.DataFrame(
        {
            "opportunity_id": [f"d{i}" for i in range(10)],
            "owner": ["a"] * 10,
            "product": ["p"] * 10,
            "stage": ["Discovery"] * 10,
            "outcome": ["passed"] * 3 + ["lost"] * 3 + ["stayed"] * 4,
            "start": [True] * 10,
            "amount": [100.0] * 10,
        }
    )
    table = pt.stage_conversion(moves, ORDER, gap_days=pt.MONTH_DAYS).set_index("stage")
    row = table.loc["Discovery"]
    assert (row["passed"], row["lost"], row["stayed"]) == (3, 3, 4)
    assert row["conversion"] == 0.5
    assert row["value_lost"] == 300.0
    # 6 of 10 left within one month: exposure 10 - 6 / 2 = 7 deal-months, about 1.2 months each
    assert 0.8 < row["months_in_stage"] < 1.6
    assert table.loc["Proposal", "passed"] == 0 and np.isnan(table.loc["Proposal", "conversion"])


def test_bottleneck_names_the_lowest_and_the_costliest_stage():
    conv = pd.DataFrame(
        {
            "stage": list(STAGES),
            "passed": [90, 80, 40, 50],
            "lost": [10, 20, 60, 5],
            "mean": [0.9, 0.8, 0.4, 0.9],
            "lower": [0.85, 0.75, 0.33, 0.8],
            "upper": [0.95, 0.85, 0.47, 0.95],
            "value_lost": [100.0, 5000.0, 3000.0, 10.0],
        }
    )
    b = pt.bottleneck(conv)
    assert b["lowest_stage"] == "Proposal" and b["credible"]
    assert b["most_value_lost_stage"] == "Discovery"


# ------------------------------------------------------------------------------------------------
# stalled deals and cohorts


def cycle_frame() -> pd.DataFrame:
    rows = []
    for i in range(30):  # product A: won deals take 10..39 days
        rows.append((f"a{i}", "2026-01-01", pd.Timestamp("2026-01-01") + pd.Timedelta(days=10 + i),
                     "Closed Won", "won", 100.0, "ann", "A"))  # fmt: skip
    for i in range(3):  # product B: too few wins for its own limit
        rows.append((f"b{i}", "2026-01-01", "2026-01-05", "Closed Won", "won", 100.0, "bob", "B"))
    rows += [
        ("open-young", "2026-10-20", None, "Discovery", "open", 50.0, "ann", "A"),
        ("open-old", "2026-08-01", None, "Discovery", "open", 50.0, "ann", "A"),
        ("open-b", "2026-09-15", None, "Discovery", "open", 50.0, "bob", "B"),
        ("open-no-date", None, None, "Discovery", "open", 50.0, "bob", "B"),
    ]
    return deals(rows)


def test_won_cycle_limits_fall_back_to_all_wins_for_thin_products():
    limits = pt.won_cycle_limits(cycle_frame(), q=0.9, min_won=20)
    assert limits["A"] == pytest.approx(np.quantile(np.arange(10, 40), 0.9))
    assert limits["B"] == limits.attrs["overall"]


def test_flag_stalled_compares_age_with_the_product_limit():
    frame = cycle_frame()
    flagged = pt.flag_stalled(frame, AS_OF, pt.won_cycle_limits(frame)).set_index("opportunity_id")
    assert not flagged.loc["open-young", "stalled"]
    assert flagged.loc["open-old", "stalled"]
    assert flagged.loc["open-b", "stalled"]  # 46 days against the overall limit of about 36
    assert not flagged.loc["open-no-date", "stalled"] and np.isnan(
        flagged.loc["open-no-date", "age_days"]
    )


def test_old_deals_hold_every_status_past_the_limit():
    frame = cycle_frame()
    old = pt.old_deals(frame, AS_OF, pt.won_cycle_limits(frame)).set_index("opportunity_id")
    assert "open-young" not in old.index and "open-no-date" not in old.index
    assert old.loc["a0", "stalled"] == False  # noqa: E712 - closed deals count, not stalled
    assert old.loc["open-old", "stalled"]


def test_stalled_ratios_separate_a_segment_from_the_product_that_sells_into_it():
    rng = np.random.default_rng(3)
    n = 4000
    segment = rng.choice(["SMB", "Ent"], n, p=[0.6, 0.4])
    # product X sells mostly into Ent; only Ent deals stall more
    product = np.where(segment == "Ent", rng.choice(["X", "Y"], n, p=[0.8, 0.2]),
                       rng.choice(["X", "Y"], n, p=[0.2, 0.8]))  # fmt: skip
    stalled = rng.random(n) < np.where(segment == "Ent", 0.30, 0.05)
    frame = pd.DataFrame({"segment": segment, "product": product, "stalled": stalled})
    ratios = pt.stalled_ratios(frame, by=("segment", "product")).set_index(["attribute", "level"])
    # truth: Ent stalls at 0.30 against 0.15 for the average deal, SMB at 0.05
    assert ratios.loc[("segment", "Ent"), "ratio"] == pytest.approx(2.0, abs=0.2)
    assert ratios.loc[("segment", "Ent"), "lower"] > 1.5
    assert ratios.loc[("segment", "SMB"), "ratio"] == pytest.approx(1 / 3, abs=0.1)
    assert ratios.loc[("product", "X"), "lower"] < 1 < ratios.loc[("product", "X"), "upper"]
    raw_x = frame.loc[frame["product"] == "X", "stalled"].mean() / frame["stalled"].mean()
    assert raw_x > 1.3  # the raw share would have blamed product X


def test_cohort_table_judges_only_old_enough_cohorts():
    rows = []
    for month, won_days in (("2026-01", [10, 20, 200]), ("2026-02", [15]), ("2026-09", [5])):
        for i, d in enumerate(won_days):
            created = pd.Timestamp(f"{month}-10")
            rows.append((f"{month}-{i}", created, created + pd.Timedelta(days=d), "Closed Won",
                         "won", 1.0, "a", "p"))  # fmt: skip
        rows.append((f"{month}-open", pd.Timestamp(f"{month}-11"), None, "Discovery", "open", 1.0,
                     "a", "p"))  # fmt: skip
    table = pt.cohort_table(deals(rows), AS_OF, horizon_days=90)
    assert [str(c) for c in table.index] == ["2026-01", "2026-02"]
    assert table.loc[pd.Period("2026-01"), "won_within"] == 2  # the 200-day win is outside
    assert table.loc[pd.Period("2026-01"), "created"] == 4
    assert table.loc[pd.Period("2026-01"), "median_days_to_win"] == 15
    assert table.attrs["too_young"] == 1


def test_cohort_trend_sees_a_planted_improvement():
    idx = pd.period_range("2025-01", "2025-12", freq="M")
    rate = np.r_[[0.2] * 9, [0.4] * 3]
    cohorts = pd.DataFrame(
        {"created": 500, "won_within": (rate * 500).astype(int), "median_days_to_win": 30.0},
        index=idx,
    )
    trend = pt.cohort_trend(cohorts, recent=3, random_seed=1)
    assert trend["lower"] > 0.1 and trend["p_improved"] > 0.99


# ------------------------------------------------------------------------------------------------
# drivers and presentation


def test_band_effects_and_sentences_on_a_hand_made_frame():
    rows = [(f"s{i}", "2026-01-01", "2026-02-01", "Closed Won" if i % 10 < 6 else "Closed Lost",
             "won" if i % 10 < 6 else "lost", 1000.0, "a", "p") for i in range(200)]  # fmt: skip
    rows += [(f"l{i}", "2026-01-01", "2026-02-01", "Closed Won" if i % 10 < 2 else "Closed Lost",
              "won" if i % 10 < 2 else "lost", 90000.0, "a", "p") for i in range(200)]  # fmt: skip
    frame = deals(rows)
    band = pt.deal_size_band(frame, n_bands=2)
    effects = pt.band_effects(frame, band, "deal size")
    small = effects[effects["level"].str.startswith("under")].iloc[0]
    assert small["rate_ratio"] == pytest.approx(0.6 / 0.4, rel=0.05) and small["credible"]
    sentences = pt.effect_sentences(effects)["finding"]
    # strongest first on the log scale: 0.5x (large deals) before 1.5x (small ones)
    assert sentences.iloc[0].startswith("Deals of size 46k or more win 0.5")
    assert sentences.iloc[1].startswith("Deals of size under 46k win 1.")
    assert "as often as the average deal (90% interval" in sentences.iloc[0]


def test_deal_size_band_needs_amounts_on_lost_deals():
    rows = [(f"w{i}", "2026-01-01", "2026-02-01", "Closed Won", "won", 100.0, "a", "p")
            for i in range(10)]  # fmt: skip
    rows += [(f"l{i}", "2026-01-01", "2026-02-01", "Closed Lost", "lost", None, "a", "p")
             for i in range(10)]  # fmt: skip
    assert pt.deal_size_band(deals(rows)) is None


def test_bullets_keep_values_apart_from_markup():
    template, values = pt.bullets(["a *b*", "c"])
    assert template == "- {item0}\n- {item1}"
    assert values == {"item0": "a *b*", "item1": "c"}


def test_waterfall_display_shows_exact_cents():
    bars = pd.DataFrame(
        {
            "bar": ["open last time", "won", "open now"],
            "kind": ["total", "step", "total"],
            "deals": [2, 1, 1],
            "cents": [123456789, -100001, 123356788],
        }  # fmt: skip
    )
    shown = pt.waterfall_display(bars, "EUR")["amount"].tolist()
    assert shown == ["1,234,567.89 EUR", "-1,000.01 EUR", "1,233,567.88 EUR"]


# ------------------------------------------------------------------------------------------------
# planted patterns on simulated pipelines


def simulated(seed: int = 7, **knobs) -> sample.SimulatedHistory:
    config = replace(sample.SampleConfig(), n_opportunities=5000, with_leads=False, **knobs)
    return sample.simulate_history(config, seed)


def consecutive_snapshots(history: sample.SimulatedHistory):
    prev_day, day = sample.month_ends(history.config, 2)
    prev, cur = (conform_opportunities(sample.snapshot(history, d)[0]) for d in (prev_day, day))
    return prev, cur, pd.Timestamp(day)


@pytest.mark.parametrize("planted", ["Proposal", "Discovery"])
def test_planted_bottleneck_stage_is_found(planted):
    prev, cur, as_of = consecutive_snapshots(simulated(bottleneck_stage=planted))
    order = pt.stage_order(cur, as_of, prev)
    assert order.stages == STAGES and order.method == "crm"
    comparison = pt.compare(prev, cur, order, as_of)
    found = pt.bottleneck(pt.stage_conversion(comparison.moves, order, comparison.gap_days))
    assert found["lowest_stage"] == planted
    assert found["credible"]
    assert found["most_value_lost_stage"] == planted


@pytest.mark.parametrize(
    ("knobs", "attribute", "level", "top_overall"),
    [
        ({}, "segment", "Enterprise", True),
        ({"stalled_segment": "SMB"}, "segment", "SMB", False),
        ({"stalled_segment": None, "stalled_product": "Team"}, "product", "Team", True),
    ],
)
def test_planted_stalled_segment_is_found(knobs, attribute, level, top_overall):
    history = simulated(**knobs)
    _, cur, as_of = consecutive_snapshots(history)
    limits = pt.won_cycle_limits(cur)
    hotspots = pt.stalled_hotspots(pt.old_deals(cur, as_of, limits))
    mine = hotspots[hotspots["attribute"] == attribute]
    assert mine["level"].iloc[0] == level  # the planted level stalls most within its attribute
    assert mine["lower"].iloc[0] > 1.3
    if top_overall:
        assert (hotspots["attribute"].iloc[0], hotspots["level"].iloc[0]) == (attribute, level)
    # and the stalled deals an owner sees are old open deals of that group, mostly
    flagged = pt.flag_stalled(cur, as_of, limits)
    stalled = flagged[flagged["stalled"]]
    truly = history.deals.set_index("opportunity_id").loc[stalled["opportunity_id"], "stalled"]
    assert truly.mean() > 0.6


@pytest.mark.parametrize("strong", ["Referral", "Event"])
def test_planted_strong_lead_source_found_by_pooled_counts(strong):
    _, cur, _ = consecutive_snapshots(simulated(strong_source=strong))
    closed = cur[cur["status"].isin(["won", "lost"])]
    effects = pt.band_effects(cur, closed["lead_source"], "lead_source")
    top = effects.sort_values("rate_ratio").iloc[-1]
    assert top["level"] == strong and top["lower"] > 1.2


@pytest.mark.slow
def test_planted_strong_lead_source_and_fair_owners_from_the_win_rate_model():
    from pipeline_models.models import WinRateModel

    _, cur, _ = consecutive_snapshots(simulated(strong_source="Partner"))
    lucky = (
        cur[cur["status"] == "won"]
        .head(5)
        .assign(opportunity_id=lambda d: "lucky-" + d["opportunity_id"], owner="Lucky Newcomer")
    )
    frame = pd.concat([cur, lucky], ignore_index=True)
    model = WinRateModel(groups=["product", "lead_source", "owner"], draws=500, tune=500)
    model.fit(frame, random_seed=3)
    effects = pt.driver_effects(model)
    sources = effects[effects["term"] == "lead_source"].sort_values("rate_ratio")
    assert sources["level"].iloc[-1] == "Partner" and sources["credible"].iloc[-1]
    assert pt.effect_sentences(effects)["finding"].str.contains("lead source Partner win").any()
    owners = pt.owner_table(frame, model, random_seed=3)
    assert owners.loc["Lucky Newcomer", "observed rate"] == 1.0
    assert owners.loc["Lucky Newcomer", "win rate vs team"] == "in line"  # 5 of 5 is luck
    assert owners.loc["Lucky Newcomer", "win rate"] < 0.6


def test_waterfall_balances_on_consecutive_sample_snapshots():
    history = simulated(seed=11)
    ends = sample.month_ends(history.config, 4)
    for prev_day, day in zip(ends[:-1], ends[1:], strict=True):
        prev = conform_opportunities(sample.snapshot(history, prev_day)[0])
        cur = conform_opportunities(sample.snapshot(history, day)[0])
        order = pt.stage_order(cur, pd.Timestamp(day), prev)
        comparison = pt.compare(prev, cur, order, pd.Timestamp(day))
        bars = pt.waterfall(comparison.changes)
        cents = bars["cents"].astype(int).tolist()
        assert cents[0] + sum(cents[1:-1]) == cents[-1]

        def exact(frame: pd.DataFrame) -> int:
            amounts = frame.loc[frame["status"] == "open", "amount"].dropna()
            return int(sum((Decimal(str(a)) for a in amounts), Decimal(0)) * 100)

        assert cents[0] == exact(prev) and cents[-1] == exact(cur)
        assert bars.set_index("bar").loc["new open deals", "deals"] > 0
        assert 28 <= comparison.gap_days <= 33
