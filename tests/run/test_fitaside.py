"""Fits made side by side: a second process fits the deal score and the lead track record and draws
the period's forecast into the cache, and the fit step then finds them there; the figures are those
of fits made in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipeline_models.run.fitaside as fitaside
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.fitstep import fit_all
from pipeline_models.run.inputs import Sources, prepare


def _prepared(sample: Path, out: Path) -> Catalog:
    exports = sample / "exports"
    sources = Sources(
        export=exports / "opportunities_2026-10.csv",
        leads=exports / "leads_2026-10.csv",
        period="2026-10",
        cache_dir=out / "fits",
        random_seed=3,
    )
    # the lead requirement's settings: its track record and the period's forecast are made too
    settings = {"lead_requirement": {"horizon_months": 3, "backtest_months": 6}}
    return Catalog.open(prepare(sources, out / "run", settings).catalog.folder, say=None)


@pytest.mark.slow
def test_fits_made_side_by_side_are_the_fits_made_in_one_process(
    small_sample, tmp_path, monkeypatch
):
    if fitaside.usable_cores() < 2:
        pytest.skip("one core: the fit step never starts a second process")
    monkeypatch.setattr(fitaside, "MIN_DEALS", 0)
    alone_timings: dict[str, float] = {}
    monkeypatch.setattr(fitaside, "usable_cores", lambda: 1)
    alone = _prepared(small_sample, tmp_path / "alone")
    fit_all(alone, None, alone_timings)
    monkeypatch.setattr(fitaside, "usable_cores", lambda: 2)
    side = _prepared(small_sample, tmp_path / "side")
    side_timings: dict[str, float] = {}
    fit_all(side, None, side_timings)
    assert "fits side by side" in side_timings and "fits side by side" not in alone_timings
    assert not (side.folder / fitaside.CLAIMS).exists()  # cleared after the fit step
    # the second process made the deal score: the fit step found it in the cache
    assert side.loaded["fits.deal_score"]["cache_hit"]
    assert not alone.loaded["fits.deal_score"]["cache_hit"]
    a, b = alone.deal_score(), side.deal_score()
    assert (a.fit_.beta == b.fit_.beta).all() and (a.fit_.cov == b.fit_.cov).all()
    assert alone.lead_track(3, 6).equals(side.lead_track(3, 6))
    # the second process drew the period's forecast too: the same draws as one process's, and
    # the reports read them (neither fit cache gains an entry when a report asks)
    kept = [sorted(c.cache_dir.glob("outlook-*")) for c in (alone, side)]
    assert [len(files) for files in kept] == [1, 1]
    a_draws, a_deals = Catalog.open(alone.folder, say=None).period_outlook(3)
    b_draws, b_deals = Catalog.open(side.folder, say=None).period_outlook(3)
    assert a_draws.to_frame().equals(b_draws.to_frame()) and a_deals.equals(b_deals)
    assert [sorted(c.cache_dir.glob("outlook-*")) for c in (alone, side)] == kept
    # a rerun of the period finds its forecaster in the cache and starts no second process
    again_timings: dict[str, float] = {}
    fit_all(Catalog.open(side.folder, say=None), None, again_timings)
    assert "fits side by side" not in again_timings


def test_a_shared_step_goes_to_the_first_process_that_claims_it(tmp_path):
    (tmp_path / fitaside.CLAIMS).mkdir()
    assert fitaside.claim(tmp_path, "lead_track")
    assert not fitaside.claim(tmp_path, "lead_track")
    assert fitaside.claim(tmp_path, "account_products")
