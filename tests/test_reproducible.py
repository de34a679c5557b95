"""Two runs of the same export and parameters give identical numbers in every table.

The first run is the session's sample run, made in a fresh process with an empty compile folder;
the second runs here, in a process that has compiled and fitted other models before, from an
empty fit cache. Equal numbers mean the seeds reach every stochastic step and that nothing a
machine compiled or cached before changes a figure.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import sample_run_options

from pipeline_models.run.runner import run


@pytest.mark.slow
def test_two_runs_give_identical_tables_and_figures(sample_run, small_sample, tmp_path):
    first = sample_run
    second = run(sample_run_options(small_sample, tmp_path / "second"), progress=None)
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
