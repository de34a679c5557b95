"""Why the forecast moved: ledgers that add up to the forecast's own figures, and an attribution
whose parts add up to the change to the cent."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from pipeline_models.analyses.executive.attribution import PARTS, attribute, read_ledger
from pipeline_models.analyses.forecast.ledger import (
    UNITS,
    build_ledger,
    column,
    ledger_months,
    outlook_figures,
    window_total,
)
from pipeline_models.analyses.forecast.window import quarter_window
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample
from pipeline_models.models.forecaster import ForecastConfig, PipelineForecaster
from pipeline_models.present.files import write_csv

FAST = ForecastConfig(draws=400, calibration_origins=0)
HORIZONS = (1, 2, 3, 4)


@lru_cache(maxsize=1)
def _history():
    config = replace(sample.SampleConfig(), n_opportunities=3_000, with_leads=False)
    return sample.simulate_history(config, random_seed=11)


def _run(period: str, seed: int = 3):
    """One run's forecast and ledger on the export taken at the end of ``period``."""
    history = _history()
    day = pd.Period(period, "M").end_time.normalize()
    frame = conform_opportunities(sample.snapshot(history, day.date())[0])
    forecaster = PipelineForecaster(FAST).fit(frame, day)
    open_deals = frame[frame["status"] == "open"]
    result = forecaster.predict(open_deals, horizons=HORIZONS, random_seed=seed)
    ledger = build_ledger(result, forecaster, open_deals, frame, period)
    return frame, result, ledger


def _last_periods(n: int) -> list[str]:
    end = pd.Period(_history().config.end, "M")
    if pd.Timestamp(_history().config.end) < end.end_time.normalize():
        end -= 1
    return [str(end - k) for k in range(n - 1, -1, -1)]


def test_ledger_months_add_up_to_the_forecast_windows():
    period = _last_periods(1)[0]
    frame, result, ledger = _run(period)
    origin = pd.Period(period, "M")
    for metric, unit in UNITS.items():
        for h in HORIZONS:
            months = [origin + k for k in range(1, h + 1)]
            expected = round(unit * float(np.mean(result.draws[(h, metric, "total")])))
            assert window_total(ledger, metric, months) == expected
    # the quarter with its wins so far: the forecast's quarter figure, to the cent
    quarter, remaining, start = quarter_window(period)
    close = frame["close_date"]
    won = frame[(frame["status"] == "won") & (close >= start) & (close <= result.origin)]
    months = [m for m in ledger_months(result, period) if m <= origin + remaining]
    cents = round(100 * won["amount"].sum()) + round(
        100 * float(np.mean(result.draws[(remaining, "revenue", "total")]))
    )
    assert abs(window_total(ledger, "revenue", months) - cents) <= 1  # two roundings
    figures = outlook_figures(result, ledger, frame, period, target=1.0)
    assert figures["revenue"]["quarter"]["expected"] * 100 == pytest.approx(
        window_total(ledger, "revenue", months), abs=1e-6
    )


def test_an_open_deal_takes_its_share_of_the_open_deals_mean():
    period = _last_periods(1)[0]
    _, result, ledger = _run(period)
    month = pd.Period(period, "M") + 1
    open_rows = ledger[ledger["kind"] == "open"]
    expected = round(100 * float(np.mean(result.draws[(1, "revenue", "open")])))
    assert int(open_rows[column("revenue", month)].sum()) == expected
    # deals with a larger amount at the same chance get more; none gets a negative share
    assert (open_rows[column("revenue", month)] >= 0).all()


def test_the_parts_add_up_to_the_change_of_the_quarter_to_the_cent(tmp_path):
    before_period, period = _last_periods(2)
    _, before_result, before_ledger = _run(before_period, seed=5)
    frame, result, ledger = _run(period, seed=6)
    # the ledgers as the runs publish them: spreadsheet-safe CSV, read back
    write_csv(before_ledger, tmp_path / "before.csv")
    write_csv(ledger, tmp_path / "after.csv")
    before, after = read_ledger(tmp_path / "before.csv"), read_ledger(tmp_path / "after.csv")
    figures = outlook_figures(result, ledger, frame, period, target=1.0)
    window = [pd.Period(m, "M") for m in figures["quarter_months"]]
    for metric in UNITS:
        split = attribute(before, after, frame, window, metric)
        assert split.before == window_total(before_ledger, metric, window)
        assert split.after == window_total(ledger, metric, window)
        assert sum(split.parts.values()) == split.after - split.before
        assert set(split.parts) == set(PARTS)
    revenue = attribute(before, after, frame, window, "revenue")
    assert revenue.after == round(100 * figures["revenue"]["quarter"]["expected"])
    # a month of history: some deals were won, some lost, some created since
    assert revenue.deals["won"] > 0 and revenue.deals["lost"] > 0 and revenue.deals["created"] > 0
    assert revenue.parts["lost"] <= 0


def _ledger(rows, months=("2026-11", "2026-12")):
    frame = pd.DataFrame(rows, columns=["item", "kind", "close_date", *months])
    frame = frame.rename(columns={m: column("revenue", m) for m in months})
    frame["close_date"] = pd.to_datetime(frame["close_date"])
    return frame


def test_each_deal_goes_to_the_part_that_says_what_became_of_it():
    before = _ledger(
        [
            ("A", "open", "2026-11-20", 500, 100),  # won since
            ("B", "open", "2026-11-20", 300, 0),  # lost since
            ("C", "open", "2026-12-10", 200, 200),  # close date pushed into next year
            ("D", "open", "2026-12-10", 100, 100),  # still open, re-weighed
            ("E", "open", "2026-12-10", 50, 50),  # gone from the export
            ("open leads", "leads", None, 1000, 1000),
            ("deals not yet created", "new", None, 400, 900),
        ]
    )
    after = _ledger(
        [
            ("A", "won", "2026-11-15", 1200, 0),
            ("C", "open", "2027-02-01", 0, 20),
            ("D", "open", "2026-12-10", 0, 150),
            ("F", "open", "2026-12-20", 0, 70),  # created since
            ("open leads", "leads", None, 0, 800),
            ("deals not yet created", "new", None, 0, 1100),
        ]
    )
    frame = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D", "F"],
            "status": ["won", "lost", "open", "open", "open"],
            "close_date": pd.to_datetime(
                ["2026-11-15", "2026-11-25", "2027-02-01", "2026-12-10", "2026-12-20"]
            ),
        }
    )
    window = [pd.Period("2026-11", "M"), pd.Period("2026-12", "M")]
    split = attribute(before, after, frame, window)
    assert split.parts == {
        "won": 1200 - 600,
        "lost": -300,
        "removed": -100,
        "slipped": 20 - 400,
        "reweighed": 150 - 200,
        "created": 70,
        "to_come": (800 + 1100) - (2000 + 1300),
    }
    assert split.deals == {
        "won": 1, "lost": 1, "removed": 1, "slipped": 1, "reweighed": 1, "created": 1, "to_come": 0,
    }  # fmt: skip
    assert sum(split.parts.values()) == split.after - split.before
