"""Tests of the simulated lead funnels: canonical exports, the cut at the export date, known truth.

Statistical checks compare an observed figure with the truth within four standard errors (a
correct simulation fails one with probability about 6e-5).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

from pipeline_models.contract.schema import LEADS, OPPORTUNITIES
from pipeline_models.data.synthetic.funnels import (
    CONVENTIONS,
    DAYS_PER_MONTH,
    SHAPES,
    FunnelShape,
    SourceSpec,
    funnel_truth_table,
    simulate_funnel,
    written_as,
)

SEED = 7


@pytest.fixture(scope="module")
def funnels() -> dict:
    return {name: simulate_funnel(name, SEED) for name in SHAPES}


@pytest.fixture(scope="module")
def long_steady():
    """Five years of the steady funnel: old cohorts whose conversions and closes are all seen."""
    return simulate_funnel("steady", SEED, months=60)


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def test_same_seed_same_funnel_other_seed_other_funnel(funnels):
    again = simulate_funnel("steady", SEED)
    pdt.assert_frame_equal(again.opportunities, funnels["steady"].opportunities)
    pdt.assert_frame_equal(again.leads, funnels["steady"].leads)
    pdt.assert_frame_equal(again.truth["full"], funnels["steady"].truth["full"])
    other = simulate_funnel("steady", SEED + 1)
    assert not other.leads["created_date"].equals(again.leads["created_date"])
    assert not other.opportunities["amount"].equals(again.opportunities["amount"])


def test_shapes_are_what_they_say():
    assert {
        "steady",
        "conversion_only",
        "long_lags",
        "level_shift",
        "cohort_drift",
        "quarter_rhythm",
        "sparse_sources",
    } <= set(SHAPES)
    for shape in SHAPES.values():
        for source in shape.sources:
            assert 0.04 <= source.conversion <= 0.25, (shape.name, source.name)
            assert 0.2 <= source.win_rate <= 0.45, (shape.name, source.name)
    assert not SHAPES["conversion_only"].records_losses
    assert all(60 <= s.lag_median_days <= 120 for s in SHAPES["long_lags"].sources)
    sparse = SHAPES["sparse_sources"].sources
    assert len(sparse) == 5 and sum(2 <= s.leads_per_month <= 5 for s in sparse) == 2


@pytest.mark.parametrize("name", list(SHAPES))
def test_exports_are_canonical_and_linked(funnels, name):
    funnel = funnels[name]
    opportunities, leads = funnel.opportunities, funnel.leads
    OPPORTUNITIES.validate(opportunities)
    LEADS.validate(leads)
    assert opportunities["opportunity_id"].is_unique and leads["lead_id"].is_unique
    assert opportunities["lead_id"].notna().all()
    assert opportunities["lead_id"].isin(leads["lead_id"]).all()
    converted = leads.dropna(subset=["opportunity_id"])
    assert converted["opportunity_id"].isin(opportunities["opportunity_id"]).all()
    assert len(converted) == len(opportunities)
    joined = opportunities.merge(leads, on="lead_id", suffixes=("", "_lead"))
    assert (joined["opportunity_id"] == joined["opportunity_id_lead"]).all()
    assert (joined["lead_source"] == joined["source"]).all()


@pytest.mark.parametrize("name", list(SHAPES))
def test_export_shows_nothing_after_its_date(funnels, name):
    funnel = funnels[name]
    opportunities, leads, full = funnel.opportunities, funnel.leads, funnel.truth["full"]
    as_of = funnel.as_of
    assert as_of == pd.Timestamp(funnel.shape.start) + pd.DateOffset(months=30) - pd.Timedelta(
        days=1
    )
    assert (opportunities["created_date"] <= as_of).all()
    assert (leads["created_date"] <= as_of).all()
    closed = opportunities["status"] != "open"
    assert (opportunities.loc[closed, "close_date"] <= as_of).all()
    later = (full["converted_date"] > as_of).to_numpy()
    assert later.any()
    assert leads.loc[later, "opportunity_id"].isna().all()
    assert leads.loc[later, "converted_date"].isna().all()
    # a deal created by the export date but closing after it is open on that date
    pending = full[(full["converted_date"] <= as_of) & (full["close_date"] > as_of)]
    assert len(pending)
    status = opportunities.set_index("opportunity_id")["status"]
    assert (status[pending["opportunity_id"]] == "open").all()
    joined = opportunities.merge(leads, on="lead_id", suffixes=("", "_lead"))
    assert (joined["created_date"] == joined["converted_date"]).all()


@pytest.mark.parametrize("name", list(SHAPES))
def test_lead_volume_matches_truth(funnels, name):
    funnel = funnels[name]
    shape = funnel.shape
    days = pd.date_range(shape.start, funnel.as_of)
    month = (days.year - days[0].year) * 12 + days.month - days[0].month
    shifted = month >= shape.shift_month if shape.shift_month is not None else month < 0
    volume = np.where(shifted, shape.volume_shift, 1.0).sum()
    counts = funnel.leads["source"].value_counts()
    for source in shape.sources:
        expected = source.leads_per_month / DAYS_PER_MONTH * volume
        assert abs(counts.get(source.name, 0) - expected) <= 4 * np.sqrt(expected), source.name


@pytest.mark.parametrize("name", list(SHAPES))
def test_full_fates_convert_at_the_stated_probability(funnels, name):
    full = funnels[name].truth["full"]
    for source, group in full.groupby("source"):
        p = group["conversion_probability"].to_numpy()
        sd = np.sqrt((p * (1 - p)).sum())
        assert abs(group["converts"].sum() - p.sum()) <= 4 * sd, source


def test_old_cohorts_recover_conversion_and_win_rate(long_steady):
    funnel = long_steady
    shape, truth, as_of = funnel.shape, funnel.truth, funnel.as_of
    # four sigmas of the lag: a conversion later than that has probability 3e-5
    for source in shape.sources:
        cut = as_of - pd.Timedelta(days=source.lag_median_days * np.exp(4 * source.lag_sigma))
        leads = funnel.leads[
            (funnel.leads["source"] == source.name) & (funnel.leads["created_date"] <= cut)
        ]
        c = truth["conversion"][source.name]
        observed = leads["opportunity_id"].notna().mean()
        assert abs(observed - c) <= 4 * _se(c, len(leads)), source.name
    longest = max(shape.won_cycle_median_days, shape.lost_cycle_median_days)
    cut = as_of - pd.Timedelta(days=longest * np.exp(4 * shape.cycle_sigma))
    old = funnel.opportunities[
        (funnel.opportunities["created_date"] <= cut) & (funnel.opportunities["status"] != "open")
    ]
    for source, deals in old.groupby("lead_source"):
        w = truth["win_rate"][source]
        observed = (deals["status"] == "won").mean()
        assert abs(observed - w) <= 4 * _se(w, len(deals)), source


def test_conversion_only_never_shows_a_loss(funnels):
    funnel = funnels["conversion_only"]
    assert not funnel.truth["records_losses"]
    assert (funnel.opportunities["status"] != "lost").all()
    assert (funnel.opportunities["stage"] != "Lost").all()
    lost = funnel.truth["full"]
    lost = lost[(lost["outcome"] == "lost") & (lost["converted_date"] <= funnel.as_of)]
    assert len(lost) > 1000
    status = funnel.opportunities.set_index("opportunity_id")["status"]
    assert (status[lost["opportunity_id"]] == "open").all()
    assert (funnels["steady"].opportunities["status"] == "lost").any()


def test_level_shift_raises_volume_and_conversion(funnels):
    funnel = funnels["level_shift"]
    shape, full = funnel.shape, funnel.truth["full"]
    shift_day = pd.Timestamp(shape.start) + pd.DateOffset(months=shape.shift_month)
    after = full["created_date"] >= shift_day
    days_before = (shift_day - pd.Timestamp(shape.start)).days
    days_after = (funnel.as_of - shift_day).days + 1
    n_before, n_after = int((~after).sum()), int(after.sum())
    ratio = np.log((n_after / days_after) / (n_before / days_before))
    assert abs(ratio - np.log(shape.volume_shift)) <= 4 * np.sqrt(1 / n_before + 1 / n_after)
    for source, group in full.groupby("source"):
        late = after[group.index]
        p0, p1 = group["converts"][~late].mean(), group["converts"][late].mean()
        se = np.sqrt((1 - p0) / (p0 * (~late).sum()) + (1 - p1) / (p1 * late.sum()))
        assert abs(np.log(p1 / p0) - np.log(shape.conversion_shift)) <= 4 * se, source
        start = funnel.truth["conversion_start"][source]
        assert funnel.truth["conversion"][source] == pytest.approx(start * shape.conversion_shift)
    leads_per_month = funnel_truth_table(funnel).set_index("source")["leads_per_month"]
    for source in shape.sources:
        assert leads_per_month[source.name] == pytest.approx(1.6 * source.leads_per_month)


def test_cohort_drift_lowers_conversion_of_later_cohorts(funnels):
    funnel = funnels["cohort_drift"]
    shape, truth = funnel.shape, funnel.truth
    for source in shape.sources:
        logit = np.log(source.conversion / (1 - source.conversion))
        drifted = 1 / (1 + np.exp(-(logit + shape.conversion_drift * (shape.months - 1))))
        assert truth["conversion"][source.name] == pytest.approx(drifted)
        assert truth["conversion_start"][source.name] == pytest.approx(source.conversion)
    full = truth["full"]
    first_months = full["created_date"] < pd.Timestamp(shape.start) + pd.DateOffset(months=6)
    last_months = full["created_date"] > funnel.as_of - pd.DateOffset(months=6)
    early, late = full.loc[first_months, "converts"], full.loc[last_months, "converts"]
    se = np.sqrt(_se(early.mean(), len(early)) ** 2 + _se(late.mean(), len(late)) ** 2)
    assert early.mean() - late.mean() > 4 * se


def _third_month_share(funnel) -> tuple[float, int]:
    """Share of wins closed in a quarter's last month, closes after the first half-year."""
    won = funnel.opportunities
    won = won[(won["status"] == "won") & (won["close_date"] >= pd.Timestamp("2024-07-01"))]
    return float((won["close_date"].dt.month % 3 == 0).mean()), len(won)


def test_quarter_rhythm_gathers_wins_in_quarter_end_months(funnels):
    # two whole years, 244 of their 730 days in a quarter's last month
    uniform = 244 / 730
    share, n = _third_month_share(funnels["quarter_rhythm"])
    assert share > uniform + 4 * _se(uniform, n)
    steady, n_steady = _third_month_share(funnels["steady"])
    assert abs(steady - uniform) <= 4 * _se(uniform, n_steady)


def test_written_as_dates_deals_by_convention(funnels):
    funnel = funnels["long_lags"]
    before = funnel.opportunities.copy()
    at_conversion = written_as(funnel, "conversion")
    pdt.assert_frame_equal(at_conversion, funnel.opportunities)
    assert at_conversion is not funnel.opportunities
    at_contact = written_as(funnel, "first_contact")
    pdt.assert_frame_equal(funnel.opportunities, before)
    others = [c for c in at_contact.columns if c != "created_date"]
    pdt.assert_frame_equal(at_contact[others], at_conversion[others])
    first_contact = funnel.leads.set_index("lead_id")["created_date"]
    expected = at_contact["lead_id"].map(first_contact)
    assert (at_contact["created_date"] == expected).all()
    assert (at_contact["created_date"] < at_conversion["created_date"]).mean() > 0.9
    OPPORTUNITIES.validate(at_contact)
    with pytest.raises(ValueError, match="conversion, first_contact"):
        written_as(funnel, "close")
    assert CONVENTIONS == ("conversion", "first_contact")


def test_truth_table_has_one_row_per_source(funnels):
    funnel = funnels["sparse_sources"]
    table = funnel_truth_table(funnel)
    assert list(table["source"]) == [s.name for s in funnel.shape.sources]
    row = table.set_index("source").loc["Analyst"]
    assert row["leads_per_month"] == 2.5 and row["win_rate"] == 0.35
    assert row["conversion"] == pytest.approx(0.20) and row["lag_median_days"] == 45


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="steady"):
        simulate_funnel("no_such_shape", SEED)
    too_high = FunnelShape(
        "too_high", (SourceSpec("Web", 100, 0.6, 20),), shift_month=3, conversion_shift=1.8
    )
    with pytest.raises(ValueError, match="Web"):
        simulate_funnel(too_high, SEED)
    with pytest.raises(ValueError, match="quarter_push"):
        simulate_funnel(replace(SHAPES["steady"], quarter_push=1.5), SEED)
