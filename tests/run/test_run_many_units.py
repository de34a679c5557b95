"""run-many end to end: three small units on a local Dask cluster, one of them broken, give two
published sets, one listed failure and a company roll-up whose expected figures are the sums of
the units' own; a rerun skips the two unchanged units and runs the broken one again."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from reader_checks import page_faults

from pipeline_models.cli import main
from pipeline_models.run.many import EXIT_SOME_FAILED

pytestmark = pytest.mark.slow

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def second_sample(tmp_path_factory):
    """Another small sample (other seed, fewer deals, no leads used): a second unit."""
    from pipeline_models.data import synthetic as sample

    out = tmp_path_factory.mktemp("second_sample")
    config = replace(sample.SampleConfig(), n_opportunities=1_200)
    sample.write_sample(out, config=config, random_seed=11, months=3)
    return out


def test_three_units_one_broken(small_sample, second_sample, tmp_path, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_text("opportunity_id,stage\nX1,Won\n")  # no dates, no status: refused
    units = tmp_path / "units.yml"
    units.write_text(
        f"""
units:
  - name: north
    export: {small_sample}/exports/opportunities_{PERIOD}.csv
    leads: {small_sample}/exports/leads_{PERIOD}.csv
  - name: south
    export: {second_sample}/exports/opportunities_{PERIOD}.csv
    seed: 7
  - name: broken
    export: broken.csv
"""
    )
    reports, data = tmp_path / "reports", tmp_path / "data"
    argv = ["run-many", "--units", str(units), "--period", PERIOD]
    argv += ["--out", str(reports), "--data", str(data), "--workers", "2"]
    assert main(argv) == EXIT_SOME_FAILED
    said = capsys.readouterr().out
    assert "broken: FAILED" in said and "2 published, 0 unchanged, 1 failed" in said

    for unit in ("north", "south"):
        assert (reports / unit / PERIOD / "index.html").exists()
    assert not (reports / "broken" / PERIOD).exists()
    company = reports / "company" / PERIOD
    manifest = json.loads((company / "manifest.json").read_text())
    statuses = {u["unit"]: u["status"] for u in manifest["units"]}
    assert statuses == {"north": "published", "south": "published", "broken": "failed"}
    broken_row = next(u for u in manifest["units"] if u["unit"] == "broken")
    assert "broken.csv" in broken_row["reason"]
    assert manifest["rollup"]["units"] == ["north", "south"]

    # the company's expected figures are the sums of the units' own, window by window
    rollup = pd.read_csv(company / "files" / "rollup.csv").set_index("window")
    draws = {
        u: pd.read_csv(reports / u / PERIOD / "files" / "forecast" / "draws.csv")
        for u in ("north", "south")
    }
    for metric in ("count", "revenue"):
        total = sum(d.groupby("window", sort=False)[metric].mean() for d in draws.values())
        np.testing.assert_allclose(rollup[f"{metric}_expected"], total.loc[rollup.index], rtol=1e-9)
    # and each unit's draws are its forecast's: its table's median of the first window
    for unit, frame in draws.items():
        table = pd.read_csv(reports / unit / PERIOD / "files" / "forecast" / "forecast_table.csv")
        first = frame[frame["window"] == table["window"].iloc[0]]
        assert np.median(first["revenue"]) == pytest.approx(table["revenue_median"].iloc[0])
    page = (company / "index.html").read_text()
    assert "Company pipeline for 2026-10" in page and "broken.csv" in page
    assert 'href="../../north/2026-10/index.html"' in page
    assert page_faults(page) == []
    track = manifest["rollup"]["dependence"]
    assert track["source"] in ("estimated", "assumed")

    # a rerun redoes only what failed: the unchanged units are skipped
    assert main(argv) == EXIT_SOME_FAILED
    said = capsys.readouterr().out
    assert "north: unchanged since its published set: skipped" in said
    assert "0 published, 2 unchanged, 1 failed" in said
