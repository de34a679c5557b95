"""Report notebooks read ``run_dir`` and ``output_dir`` from the project's ``notebooks/`` folder,
whatever the working folder, and so does an analyst's working copy elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from pipeline_models.run.layout import notebook_path, notebooks_dir

ROOT = Path(__file__).resolve().parents[2]
RESOLVING = "run_dir, output_dir = notebook_path(run_dir), notebook_path(output_dir)"


def _code_cells(path: Path) -> list:
    return [c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]


def test_a_relative_path_is_read_from_the_notebooks_folder_whatever_the_working_folder(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("PIPELINE_NOTEBOOKS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert notebooks_dir() == ROOT / "notebooks"
    assert notebook_path("../data/work/2026-10") == ROOT / "data" / "work" / "2026-10"
    assert notebook_path(tmp_path / "run") == tmp_path / "run"  # absolute: as given
    assert notebook_path("~/run") == Path.home() / "run"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_report_resolves_its_folders_before_reading_them(path):
    cells = _code_cells(path)
    assert "parameters" in cells[0].metadata.get("tags", [])
    first = cells[1].source
    assert "from pipeline_models.run.layout import notebook_path" in first
    assert RESOLVING in first
    assert first.index(RESOLVING) < first.index("Catalog.open(run_dir)")


def test_papermill_from_another_folder_finds_the_run_folder(tmp_path):
    """The forecast's own parameters cell and resolving line, executed by the papermill command
    in a folder outside the project, from the committed notebook's place and from a working copy."""
    cells = _code_cells(ROOT / "notebooks" / "forecast.ipynb")
    resolving = next(line for line in cells[1].source.splitlines() if line.startswith(RESOLVING))
    probe = (
        "import json\n"
        "from pipeline_models.run.layout import notebook_path\n"
        f"{resolving}\n"
        "print(json.dumps([str(run_dir), str(output_dir)]))"
    )
    nb = nbformat.v4.new_notebook(
        metadata=nbformat.read(str(ROOT / "notebooks/forecast.ipynb"), 4).metadata
    )
    nb.cells = [cells[0], nbformat.v4.new_code_cell(probe)]
    elsewhere = tmp_path / "elsewhere"
    copy = tmp_path / "work" / "notebooks" / "forecast.ipynb"
    copy.parent.mkdir(parents=True)
    elsewhere.mkdir()
    nbformat.write(nb, str(copy))
    done = subprocess.run(
        [sys.executable, "-m", "papermill", str(copy), str(tmp_path / "out.ipynb")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    executed = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    printed = executed.cells[-1].outputs[0]["text"]
    run_dir, output_dir = json.loads(printed)
    assert run_dir == str(ROOT / "data" / "work" / "2026-10")
    assert output_dir == str(ROOT / "reports" / "_interactive" / "forecast")
