"""The back-test with leads: each origin sees the leads open then, a window past the end of the
data is never scored, a funnel that leaves its failed deals open is scored, and the figures do not
depend on the date convention the export follows."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.analyses.forecast.honesty import NO_LOST
from pipeline_models.analyses.forecast.track import backtest, data_end
from pipeline_models.cli import main
from pipeline_models.data.synthetic.funnels import simulate_funnel, written_as
from pipeline_models.io.lead_dates import reconcile_lead_dates
from pipeline_models.models.forecaster import ForecastConfig

FAST = ForecastConfig(draws=300, calibration_origins=2)

NOT_SCORED = {
    "workbench": NO_LOST,
    "weighted_pipeline": NO_LOST,
    "cure_weighted_pipeline": NO_LOST,
}


@pytest.fixture(scope="module")
def funnel():
    return simulate_funnel("long_lags", random_seed=11, months=20)


def _origins(funnel, count: int) -> list[pd.Timestamp]:
    last = pd.Period(funnel.as_of, "M") - 1
    return [(last - k).end_time.normalize() for k in range(count - 1, -1, -1)]


def test_the_same_funnel_written_both_ways_gives_the_same_backtest(funnel):
    tables = []
    for convention in ("conversion", "first_contact"):
        frame = written_as(funnel, convention)
        frame, leads, found, _ = reconcile_lead_dates(frame, funnel.leads, "leads.csv")
        assert found.convention == convention
        tables.append(backtest(frame, _origins(funnel, 2), (1,), config=FAST, leads=leads))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_read_as_written_at_first_contact_the_forecast_would_move(funnel):
    """Without the reconciling, a back-dated deal is open at an origin while its lead is still
    unconverted, and its age counts its time as a lead: the forecast then moves far from the one
    on the same funnel dated at conversion."""
    origins = _origins(funnel, 1)
    right = backtest(funnel.opportunities, origins, (1,), config=FAST, leads=funnel.leads)
    raw = written_as(funnel, "first_contact")
    wrong = backtest(raw, origins, (1,), config=FAST, leads=funnel.leads)
    ours = [t[t["model"] == "workbench"]["point"].to_numpy() for t in (right, wrong)]
    assert (abs(ours[1] / ours[0] - 1) > 0.1).all()


def test_leads_change_the_forecast_and_nothing_is_scored_past_the_end(funnel):
    origins = _origins(funnel, 2)  # the last one's two-month window runs past the data
    with_leads = backtest(funnel.opportunities, origins, (1, 2), config=FAST, leads=funnel.leads)
    without = backtest(funnel.opportunities, origins, (1, 2), config=FAST)
    assert with_leads.attrs["past_end"] == [(origins[-1].date().isoformat(), 2)]
    assert (
        with_leads.attrs["data_end"]
        == data_end(funnel.opportunities, funnel.leads).date().isoformat()
    )
    scored = set(zip(with_leads["origin"], with_leads["horizon_months"], strict=True))
    assert (origins[-1].date().isoformat(), 2) not in scored
    assert (origins[0].date().isoformat(), 2) in scored
    ours = [t[t["model"] == "workbench"]["q50"].to_numpy() for t in (with_leads, without)]
    assert not (ours[0] == ours[1]).all()


def test_a_funnel_that_leaves_failed_deals_open_is_scored_with_its_leads():
    funnel = simulate_funnel("conversion_only", random_seed=2, months=18)
    origins = _origins(funnel, 1)
    assert not funnel.opportunities["status"].eq("lost").any()
    without = backtest(funnel.opportunities, origins, (1,), config=FAST)
    assert without.attrs["not_scored"] == NOT_SCORED
    with_leads = backtest(funnel.opportunities, origins, (1,), config=FAST, leads=funnel.leads)
    assert with_leads.attrs["not_scored"] == {}
    assert "workbench" in set(with_leads["model"])
    # a CRM that deleted some failed deals leaves leads naming deals it no longer has
    kept = funnel.opportunities.iloc[50:]
    deleted = backtest(kept, origins, (1,), config=FAST, leads=funnel.leads)
    assert "workbench" in deleted.attrs["not_scored"]
    # an export of won deals alone, whose leads name only those, keeps no failure at all
    won = funnel.opportunities[funnel.opportunities["status"] == "won"]
    leads = funnel.leads.copy()
    gone = leads["opportunity_id"].notna() & ~leads["opportunity_id"].isin(won["opportunity_id"])
    leads.loc[gone, "opportunity_id"] = pd.NA
    leads.loc[gone, "converted_date"] = pd.NaT
    only_won = backtest(won, origins, (1,), config=FAST, leads=leads)
    assert "workbench" in only_won.attrs["not_scored"]


def test_backtest_command_with_leads_scores_the_requirement_too(funnel, tmp_path, capsys):
    export, leads = tmp_path / "opportunities.csv", tmp_path / "leads.csv"
    written_as(funnel, "first_contact").to_csv(export, index=False)
    funnel.leads.to_csv(leads, index=False)
    out = tmp_path / "forecasts.csv"
    last = pd.Period(funnel.as_of, "M")
    argv = ["backtest", "--export", str(export), "--leads", str(leads), "--seed", "3"]
    argv += ["--origins", f"{last - 3}..{last - 1}", "--horizons", "1,2", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "dated at first contact" in printed
    assert "Not scored, as they end after the export's last recorded day" in printed
    assert "Lead requirement over 2 months at 2 origins" in printed
    requirement = pd.read_csv(tmp_path / "forecasts_leads.csv")
    assert set(requirement["origin"]) == {
        str((last - 3).end_time.date()),
        str((last - 2).end_time.date()),
    }
    assert requirement["leads_for_actual"].notna().sum() == 2
