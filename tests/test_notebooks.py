"""Every report notebook runs end to end through the runner on a small export.

The runner executes each notebook with Papermill, renders it without code and publishes the set;
this checks each report wrote its headline and that the HTML holds no code and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import sample_run_options

from pipeline_models.run.runner import list_notebooks, run

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [p.stem for p in list_notebooks(ROOT / "notebooks")]


@pytest.fixture(scope="module")
def published(small_sample, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    options = sample_run_options(small_sample, out)
    result = run(options, progress=None)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_report_renders_with_headline_and_no_code(published, name):
    report = published.manifest["reports"][name]
    assert report["status"] == "ok"
    assert report["headline"], f"{name} wrote no headline figures"
    html = (published.published / f"{name}.html").read_text()
    assert "Traceback" not in html
    assert "import " not in html.split("</head>")[1], "code leaked into the report"
    assert "<script" not in html


@pytest.mark.slow
def test_index_links_every_report(published):
    index = (published.published / "index.html").read_text()
    for name in NOTEBOOKS:
        assert f'href="{name}.html"' in index
    manifest = json.loads((published.published / "manifest.json").read_text())
    assert set(manifest["reports"]) == set(NOTEBOOKS)


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.slow
def test_each_model_is_fitted_once_per_period(published):
    """The runner fits the models before the reports; every report loads those same fits."""
    cache = Path(published.manifest["parameters"]["cache_dir"])
    entries = sorted(
        p.name.split("-")[0]
        for p in cache.iterdir()
        if not p.name.startswith(".") and p.name != "tables"
    )
    assert entries == ["cycle_time", "revenue", "win_rate"]
    # the reports find them by the digest of the canonical table, without aggregating it again
    pointers = sorted(p.name.split("-")[0] for p in (cache / "tables").iterdir())
    assert pointers == ["cycle_time", "revenue", "win_rate"]
