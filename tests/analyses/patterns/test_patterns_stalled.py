"""Stalled deals: limits from won cycles, flags, their chance of being won within two years, and
planted stall-prone groups found."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from forecaster_cases import FAST
from patterns_cases import AS_OF, consecutive_snapshots, deals, simulated

from pipeline_models.analyses.patterns.stalled import (
    STALLED_HORIZON_MONTHS,
    flag_stalled,
    old_deals,
    stalled_hotspots,
    stalled_outlook,
    stalled_ratios,
    won_cycle_limits,
)
from pipeline_models.models.forecaster import PipelineForecaster


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
    limits = won_cycle_limits(cycle_frame(), q=0.9, min_won=20)
    assert limits["A"] == pytest.approx(np.quantile(np.arange(10, 40), 0.9))
    assert limits["B"] == limits.attrs["overall"]


def test_flag_stalled_compares_age_with_the_product_limit():
    frame = cycle_frame()
    flagged = flag_stalled(frame, AS_OF, won_cycle_limits(frame)).set_index("opportunity_id")
    assert not flagged.loc["open-young", "stalled"]
    assert flagged.loc["open-old", "stalled"]
    assert flagged.loc["open-b", "stalled"]  # 46 days against the overall limit of about 36
    assert not flagged.loc["open-no-date", "stalled"] and np.isnan(
        flagged.loc["open-no-date", "age_days"]
    )


def test_old_deals_hold_every_status_past_the_limit():
    frame = cycle_frame()
    old = old_deals(frame, AS_OF, won_cycle_limits(frame)).set_index("opportunity_id")
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
    ratios = stalled_ratios(frame, by=("segment", "product")).set_index(["attribute", "level"])
    # truth: Ent stalls at 0.30 against 0.15 for the average deal, SMB at 0.05
    assert ratios.loc[("segment", "Ent"), "ratio"] == pytest.approx(2.0, abs=0.2)
    assert ratios.loc[("segment", "Ent"), "lower"] > 1.5
    assert ratios.loc[("segment", "SMB"), "ratio"] == pytest.approx(1 / 3, abs=0.1)
    assert ratios.loc[("product", "X"), "lower"] < 1 < ratios.loc[("product", "X"), "upper"]
    raw_x = frame.loc[frame["product"] == "X", "stalled"].mean() / frame["stalled"].mean()
    assert raw_x > 1.3  # the raw share would have blamed product X


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
    limits = won_cycle_limits(cur)
    hotspots = stalled_hotspots(old_deals(cur, as_of, limits))
    mine = hotspots[hotspots["attribute"] == attribute]
    assert mine["level"].iloc[0] == level  # the planted level stalls most within its attribute
    assert mine["lower"].iloc[0] > 1.3
    if top_overall:
        assert (hotspots["attribute"].iloc[0], hotspots["level"].iloc[0]) == (attribute, level)
    # and the stalled deals an owner sees are old open deals of that group, mostly
    flagged = flag_stalled(cur, as_of, limits)
    stalled = flagged[flagged["stalled"]]
    truly = history.deals.set_index("opportunity_id").loc[stalled["opportunity_id"], "stalled"]
    assert truly.mean() > 0.6


@pytest.fixture(scope="module")
def stalled_case():
    """A simulated pipeline at its last month-end, its forecaster, and its flagged open deals."""
    history = simulated()
    _, cur, as_of = consecutive_snapshots(history)
    forecaster = PipelineForecaster(FAST).fit(cur, as_of)
    return cur, forecaster, flag_stalled(cur, as_of, won_cycle_limits(cur))


def test_a_deal_older_than_every_won_cycle_has_little_chance_of_being_won(stalled_case):
    cur, forecaster, flagged = stalled_case
    outlook = stalled_outlook(flagged, forecaster)
    won = cur[cur["status"] == "won"]
    longest = (won["close_date"] - won["created_date"]).dt.days.max()
    older = outlook[outlook["age_days"] > longest]
    assert len(older) >= 5
    assert (older["p_won_ever"] < 0.10).all()
    # the chance is the forecaster's over two years, and the value at risk what it leaves
    deals = flagged[flagged["stalled"]].set_index("opportunity_id").loc[outlook["opportunity_id"]]
    np.testing.assert_allclose(
        outlook["p_won_ever"], forecaster.chance_won_within(deals, STALLED_HORIZON_MONTHS)
    )
    known = outlook["amount"].notna()
    np.testing.assert_allclose(
        outlook.loc[known, "value_at_risk"],
        outlook.loc[known, "amount"] * (1 - outlook.loc[known, "p_won_ever"]),
    )
    assert outlook["value_at_risk"].dropna().is_monotonic_decreasing


def test_a_stalled_deals_chance_moves_with_its_score(stalled_case):
    _, forecaster, flagged = stalled_case
    plain = stalled_outlook(flagged, forecaster).set_index("opportunity_id")
    strong = stalled_outlook(flagged.assign(score_odds=4.0), forecaster)
    strong = strong.set_index("opportunity_id").loc[plain.index]
    chance = plain["p_won_ever"] > 1e-4
    assert chance.sum() >= 10
    assert (strong.loc[chance, "p_won_ever"] > 1.5 * plain.loc[chance, "p_won_ever"]).all()
