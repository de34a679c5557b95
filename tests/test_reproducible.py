"""Two runs of the same export and parameters give identical numbers in every table.

The second run starts from an empty fit cache, so the models are fitted again: equal numbers then
mean the seeds reach every stochastic step, not that a cached fit was reused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import sample_run_options

from pipeline_models.run.runner import run


def _run(small_sample: Path, out: Path):
    return run(sample_run_options(small_sample, out), progress=None)


@pytest.mark.slow
def test_two_runs_give_identical_tables_and_figures(small_sample, tmp_path):
    first = _run(small_sample, tmp_path / "first")
    second = _run(small_sample, tmp_path / "second")
    tables = sorted(p.relative_to(first.published) for p in first.published.rglob("*.csv"))
    assert tables, "the reports wrote no tables"
    for relative in tables:
        a = pd.read_csv(first.published / relative)
        b = pd.read_csv(second.published / relative)
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=str(relative))
    for name, report in first.manifest["reports"].items():
        assert report["headline"] == second.manifest["reports"][name]["headline"], name
        figures = json.loads((first.published / "files" / name / "summary.json").read_text())
        again = json.loads((second.published / "files" / name / "summary.json").read_text())
        assert figures["figures"] == again["figures"], name
