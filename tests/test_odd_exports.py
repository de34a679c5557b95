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
