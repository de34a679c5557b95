"""Every report notebook runs end to end through the runner on a small export.

The runner executes each notebook with Papermill, renders it without code and publishes the set;
this checks each report wrote its headline and that the HTML holds no code and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_models.run.runner import list_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [p.stem for p in list_notebooks(ROOT / "notebooks")]


@pytest.fixture(scope="module")
def published(sample_run):
    return sample_run


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_report_renders_with_headline_and_no_code(published, name):
    report = published.manifest["reports"][name]
    assert report["status"] == "ok"
    assert report["headline"], f"{name} wrote no headline figures"
    html = (published.published / f"{name}.html").read_text()
    assert "Traceback" not in html
    # the run's fit step made every fit first: no report announces one
    assert "first time for this run folder" not in html
    assert "import " not in html.split("</head>")[1], "code leaked into the report"
    assert "<script" not in html


@pytest.mark.slow
def test_index_links_every_report(published):
    index = (published.published / "index.html").read_text()
    for name in NOTEBOOKS:
        assert f'href="{name}.html"' in index
    manifest = json.loads((published.published / "manifest.json").read_text())
    assert set(manifest["reports"]) == set(NOTEBOOKS)


def _not_json(constant: str):
    raise AssertionError(f"manifest.json holds {constant}, which is not JSON")


@pytest.mark.slow
def test_the_manifest_is_strict_json(published):
    """A fit without chains has no R-hat: the manifest says null, never NaN."""
    text = (published.published / "manifest.json").read_text()
    manifest = json.loads(text, parse_constant=_not_json)
    assert manifest["models"]["diagnostics"]


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        assert nb.metadata["kernelspec"]["name"] == "python3", path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.slow
def test_a_run_fits_each_estimator_once_and_every_report_loads_those_fits(published):
    """The fit step fits every estimator and track record before the reports, and draws the
    period's forecast from the fits (``outlook``, with the open deals' ``score_odds``); no report
    fits, draws or scores again."""
    cache = Path(published.manifest["parameters"]["cache_dir"])
    entries = sorted(
        p.name.split("-")[0]
        for p in cache.iterdir()
        if not p.name.startswith(".") and p.name != "tables"
    )
    assert entries == [
        "account_products",
        "cycle_time",
        "deal_score",
        "forecast_track",
        "forecaster",
        "lead_funnel",
        "lead_track",
        "outlook",
        "revenue",
        "score_odds",
        "win_rate",
    ]
    # the reports find the hierarchical fits by the digest of the canonical table
    pointers = sorted(p.name.split("-")[0] for p in (cache / "tables").iterdir())
    assert pointers == ["cycle_time", "revenue", "win_rate"]
    fitted = published.manifest["models"]["cache_hits"]
    assert set(fitted) >= {
        "fits.win_rate",
        "fits.forecaster",
        "fits.lead_funnel",
        "fits.deal_score",
        "fits.account_products",
    }
    for name in NOTEBOOKS:
        summary = json.loads((published.published / "files" / name / "summary.json").read_text())
        assert all(entry["cache_hit"] for entry in summary["fits"].values()), name
        assert set(summary["fits"]) <= set(fitted), name
    used = {
        k
        for n in NOTEBOOKS
        for k in json.loads((published.published / "files" / n / "summary.json").read_text())[
            "fits"
        ]
    }
    assert used == set(fitted)  # the fit step fits nothing no report uses


CODE_BUDGET = 250
"""Lines of code the five report notebooks may hold together: narrative and one call per cell."""


def _code_cells(path: Path) -> list[str]:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_report_notebooks_are_thin():
    """Rules, loops and definitions live in the package: a notebook shows what a report built."""
    import ast

    total = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for source in _code_cells(path):
            total += len(source.splitlines())
            for node in ast.walk(ast.parse(source)):
                assert not isinstance(
                    node, ast.FunctionDef | ast.ClassDef | ast.For | ast.While | ast.If | ast.Lambda
                ), f"{path.name}: {ast.unparse(node)[:60]}"
    assert total <= CODE_BUDGET


def test_notebooks_take_the_run_folder_not_file_paths():
    from pipeline_models.run.notebooks import notebook_parameters
    from pipeline_models.run.options import STANDARD_PARAMETERS

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        declared = notebook_parameters(path)
        assert set(STANDARD_PARAMETERS) <= set(declared), path.name
        assert not [p for p in declared if p.endswith("_path") or p == "cache_dir"], path.name
