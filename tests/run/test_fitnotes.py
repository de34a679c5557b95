"""A first fit shows in the notebook: a catalog announces each fit its run folder has not made yet
and says how long it took; a fit the folder made (the run's fit step makes them all) is silent."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from tiny_runs import HEADER, ROWS

import pipeline_models.models.period as period
from pipeline_models.models.cache import CachedFit
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.fitnotes import made_fits
from pipeline_models.run.inputs import Sources, prepare

ANNOUNCED = "Fitting the forecaster (first time for this run folder; a few seconds) ..."


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A prepared run folder whose forecaster fit is a stand-in: a cache entry made on a miss."""
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")
    sources = Sources(export=export, period="2025-03", cache_dir=tmp_path / "fits")
    run_dir = prepare(sources, tmp_path / "run").catalog.folder
    entry = tmp_path / "fits" / "forecaster-0123"

    def fit_forecaster(frame, as_of, cache_dir, table_digest):
        hit = entry.exists()
        entry.mkdir(parents=True, exist_ok=True)
        return CachedFit("fitted forecaster", entry, hit)

    monkeypatch.setattr(period, "fit_forecaster", fit_forecaster)
    return run_dir, entry


def _said(run_dir: Path, say=True) -> tuple[list[str], object]:
    lines: list[str] = []
    catalog = Catalog.open(run_dir, say=lines.append if say else None)
    return lines, catalog.forecaster()


def test_a_first_fit_is_announced_with_its_time_and_later_ones_are_silent(folder):
    run_dir, entry = folder
    lines, model = _said(run_dir)
    assert model == "fitted forecaster"
    assert lines[0] == ANNOUNCED
    assert re.fullmatch(r"  done in \d+(\.\d)? s", lines[1]) and len(lines) == 2
    assert made_fits(run_dir)["fits.forecaster"] == {"path": str(entry)}
    assert _said(run_dir)[0] == []  # the folder made it: loading says nothing
    shutil.rmtree(entry)  # the cache was emptied: the next fit is a first fit again
    assert _said(run_dir)[0][0] == ANNOUNCED


def test_a_fit_found_in_the_cache_says_so(folder):
    run_dir, entry = folder
    entry.mkdir(parents=True)  # another folder of the same data made it
    lines, _ = _said(run_dir)
    assert lines[0] == ANNOUNCED
    assert re.fullmatch(r"  found in the fit cache \(\d+\.\d s\)", lines[1])


def test_the_fit_step_is_silent_but_notes_each_fit_for_the_reports(folder):
    run_dir, entry = folder
    lines, _ = _said(run_dir, say=False)
    assert lines == [] and "fits.forecaster" in made_fits(run_dir)
    assert _said(run_dir)[0] == []


def test_notes_of_another_package_version_are_not_trusted(folder):
    run_dir, entry = folder
    _said(run_dir)
    notes = json.loads((run_dir / "fits.json").read_text())
    (run_dir / "fits.json").write_text(json.dumps({**notes, "package_version": "0.0.0"}))
    assert _said(run_dir)[0][0] == ANNOUNCED


def test_a_fit_the_export_cannot_support_is_not_announced(folder):
    run_dir, _ = folder
    lines: list[str] = []
    assert Catalog.open(run_dir, say=lines.append).deal_score() is None  # 2 closed deals
    assert lines == []
