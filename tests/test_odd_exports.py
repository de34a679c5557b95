"""Valid but odd exports (tests/odd_exports.py) through validation and every analysis that needs no
PyMC fit: each loads, says what it holds, and is answered, never crashed on."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from odd_exports import KINDS, PERIOD, PERIOD_END, odd_exports

from pipeline_models.analyses.overview import figures
from pipeline_models.analyses.overview import report as overview
from pipeline_models.analyses.patterns import cohorts, stages
from pipeline_models.analyses.patterns.stalled import (
    flag_stalled,
    has_won_cycle,
    old_deals,
    stalled_hotspots,
    won_cycle_limits,
)
from pipeline_models.analyses.unavailable import count_headline, status_counts
from pipeline_models.cli import main
from pipeline_models.data.asof import period_end_view
from pipeline_models.io import load_export
from pipeline_models.models.period import refusal
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.inputs import Sources, prepare

SETTINGS = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _validate(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", "--export", str(path)])
    return code, out.getvalue() + err.getvalue()


@pytest.mark.parametrize("kind", KINDS)
def test_validate_command_accepts_each_odd_kind(kind):
    """The command itself, in process, on one export of each kind."""

    @settings(max_examples=1, deadline=None, derandomize=True, database=None)
    @given(odd_exports((kind,)))
    def check(export):
        with tempfile.TemporaryDirectory() as tmp:
            code, said = _validate(export.write(Path(tmp) / "export.csv"))
        assert code == 0, f"{kind}: validate said\n{said}"
        assert f"{len(export.rows)} opportunities" in said
        assert "Traceback" not in said

    check()


@SETTINGS
@given(odd_exports())
def test_odd_export_validates_and_is_analysed(export):
    with tempfile.TemporaryDirectory() as tmp:
        frame = load_export(export.write(Path(tmp) / "export.csv")).frame
    counts = frame["status"].value_counts()
    assert {s: int(counts.get(s, 0)) for s in export.statuses} == export.statuses
    at_end, later = period_end_view(frame, PERIOD_END)
    assert len(at_end) == len(frame) - later["created_after"]
    assert not (at_end["created_date"] > PERIOD_END).any()
    closed = at_end[at_end["status"].isin(["won", "lost"])]
    assert not (closed["close_date"] > PERIOD_END).any()
    _analyses(at_end, export.kind)


def _analyses(frame: pd.DataFrame, kind: str) -> None:
    status = figures.status_table(frame)
    assert int(status["deals"].sum()) == len(frame)
    by_product = status_counts(frame, "product")
    assert int(by_product["all"].sum()) == len(frame)
    headline = dict(count_headline(frame))
    assert headline["opportunities"] == f"{len(frame):,}"
    closed = frame["status"].isin(["won", "lost"]).any()
    assert (refusal("win_rate", frame) is None) == bool(closed)
    if has_won_cycle(frame):
        limits = won_cycle_limits(frame)
        flagged = flag_stalled(frame, PERIOD_END, limits)
        assert len(flagged) == int((frame["status"] == "open").sum())
    else:
        assert (
            kind in ("only_open", "no_closed_won", "one_deal", "shared_created", "mixed")
            or not (frame["status"] == "won").any()
        )


REPORT_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@REPORT_SETTINGS
@given(odd_exports())
def test_odd_export_overview_says_what_it_cannot_show(export):
    """The overview report on a prepared run folder: no bare n/a, and every table without a row
    has a sentence instead."""
    with tempfile.TemporaryDirectory() as tmp:
        path = export.write(Path(tmp) / "export.csv")
        prepare(Sources(export=path, period=PERIOD, cache_dir=Path(tmp) / "fits"), Path(tmp) / "r")
        catalog = Catalog.open(Path(tmp) / "r")
        content = overview.build(catalog)
        frame = catalog.opportunities()
    order = stages.stage_order(frame, PERIOD_END, None)
    stages.open_stage_table(frame, order, PERIOD_END)
    table = cohorts.cohort_table(frame, PERIOD_END, cohorts.cohort_horizon(frame))
    cohorts.cohort_trend(table, recent=3, random_seed=1)
    if has_won_cycle(frame):
        # the hotspots of an export whose deals all closed, or none stalled, are an empty table
        hotspots = stalled_hotspots(old_deals(frame, PERIOD_END, won_cycle_limits(frame)))
        assert list(hotspots.columns)[:2] == ["attribute", "level"]
    values = dict(content.headline)
    assert values["opportunities"] == f"{len(export.rows) - _created_after(export):,}"
    assert not [k for k, v in content.headline if v in ("n/a", "", "nan")], content.headline
    for name, table in content.tables.items():
        if table.frame.empty:
            assert table.empty_sentence(), name


def _created_after(export) -> int:
    return sum(pd.Timestamp(r["created_date"]) > PERIOD_END for r in export.rows)


LOST_STAGES = ("Closed Lost", "Closed - Lost to Competitor", "Closed - No Decision")
"""Closed-lost stages a Salesforce org may define; only the flags say they are lost."""


def _salesforce_api(export, draw_stage) -> pd.DataFrame:
    """The export as Data Loader writes it: API names in upper case, IsWon / IsClosed flags,
    custom closed-lost stages, Probability in percent."""
    frame = export.frame()
    status = frame["status"]
    stage = frame["stage"].where(status != "lost", [draw_stage(i) for i in range(len(frame))])
    return pd.DataFrame(
        {
            "ID": frame["opportunity_id"],
            "CREATEDDATE": frame["created_date"] + "T09:30:00.000+0000",
            "CLOSEDATE": frame["close_date"],
            "STAGENAME": stage,
            "ISWON": (status == "won").map({True: "true", False: "false"}),
            "ISCLOSED": (status != "open").map({True: "1", False: "0"}),
            "AMOUNT": frame["amount"],
            "CURRENCYISOCODE": frame["currency"],
            "TYPE": frame["segment"],
            "OWNER.NAME": frame["owner"],
            "PROBABILITY": status.map({"won": "100", "lost": "0", "open": "40"}),
        }
    )


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(odd_exports(), st.data())
def test_odd_export_written_as_a_salesforce_api_export_loads_the_same_deals(export, data):
    """Whatever its stage names, a deal's status comes from the flags; nothing else changes."""
    api = _salesforce_api(export, lambda i: data.draw(st.sampled_from(LOST_STAGES)))
    with tempfile.TemporaryDirectory() as tmp:
        canonical = load_export(export.write(Path(tmp) / "export.csv")).frame
        path = Path(tmp) / "opportunities.csv"
        api.to_csv(path, index=False)
        result = load_export(path, preset="salesforce")
    frame = result.frame
    assert result.info["layout"] == "salesforce, API field names"
    assert frame["opportunity_id"].tolist() == canonical["opportunity_id"].tolist()
    assert frame["status"].tolist() == canonical["status"].tolist()
    assert frame["created_date"].tolist() == canonical["created_date"].tolist()
    assert frame["amount"].fillna(-1).tolist() == canonical["amount"].fillna(-1).tolist()
    assert frame["segment"].fillna("").tolist() == canonical["segment"].fillna("").tolist()
    expected = canonical["status"].map({"won": 1.0, "lost": 0.0, "open": 0.4})
    assert frame["probability"].tolist() == expected.tolist()
