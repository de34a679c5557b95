"""Notebooks stay clean in git: the clone's nbstripout filter strips what executing and saving add,
leaves the committed notebooks as they are, and a clone without the filter still works."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

pytest.importorskip("nbstripout")
if shutil.which("git") is None:
    pytest.skip("git is not installed", allow_module_level=True)


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture
def repo(tmp_path):
    """A new clone-like repository with the project's .gitattributes and filter script."""
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git(repo, "init", "-q").returncode == 0
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    return repo


def _install_filter(repo: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "notebook_filter.sh"), sys.executable],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _as_saved_after_a_run(source: Path) -> str:
    """``source`` as JupyterLab saves it after running every cell on the project's kernel."""
    nb = json.loads(source.read_text())
    for count, cell in enumerate((c for c in nb["cells"] if c["cell_type"] == "code"), start=1):
        cell["execution_count"] = count
        cell["outputs"] = [
            {"output_type": "stream", "name": "stdout", "text": ["Fitting ...\n"]},
            {
                "output_type": "execute_result",
                "execution_count": count,
                "data": {"text/plain": ["42"]},
                "metadata": {},
            },
        ]
        cell["metadata"]["execution"] = {"iopub.execute_input": "2026-11-02T06:00:00Z"}
    nb["cells"][0]["id"] = "f3b1c2d4-0a1b-4c5d-9e8f-001122334455"
    nb["metadata"]["kernelspec"] = {
        "display_name": _kernel_display_name(),
        "language": "python",
        "name": "python3",
    }
    nb["metadata"]["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.13.5",
    }
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def _kernel_display_name() -> str:
    """The display name the Makefile installs the project's kernel with."""
    found = re.search(
        r'ipykernel install .*--display-name "([^"]+)"', (ROOT / "Makefile").read_text()
    )
    assert found, "the Makefile installs no kernel"
    return found.group(1)


def test_gitattributes_names_the_filter_and_the_diff_driver():
    lines = (ROOT / ".gitattributes").read_text().splitlines()
    assert "*.ipynb filter=nbstripout" in lines
    assert "*.ipynb diff=ipynb" in lines


def test_the_project_kernel_shows_as_the_committed_notebooks_name_it():
    """Opening a notebook on the project's kernel writes its name and display name into the
    notebook: they must be what is committed (python3: a custom name fails elsewhere)."""
    assert re.search(r"ipykernel install .*--name python3\b", (ROOT / "Makefile").read_text())
    for path in NOTEBOOKS:
        spec = nbformat.read(str(path), as_version=4).metadata["kernelspec"]
        assert spec["name"] == "python3", path.name
        assert spec["display_name"] == _kernel_display_name(), path.name


def test_a_notebook_run_and_saved_is_staged_clean(repo):
    _install_filter(repo)
    assert _git(repo, "config", "filter.nbstripout.required").stdout.strip() == "true"
    source = ROOT / "notebooks" / "overview.ipynb"
    (repo / "overview.ipynb").write_text(_as_saved_after_a_run(source))
    assert _git(repo, "add", "overview.ipynb").returncode == 0
    staged = _git(repo, "show", ":overview.ipynb").stdout
    nb = nbformat.reads(staged, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert "execution" not in cell.metadata
    assert nb.metadata["language_info"] == {"name": "python"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # what was run and saved is staged as committed: opening a notebook leaves no change
    assert staged == source.read_text()


def test_the_committed_notebooks_pass_the_filter_unchanged(repo):
    _install_filter(repo)
    for path in NOTEBOOKS:
        shutil.copy(path, repo / path.name)
    assert _git(repo, "add", ".").returncode == 0
    for path in NOTEBOOKS:
        assert _git(repo, "show", f":{path.name}").stdout == path.read_text(), path.name


def test_a_clone_without_the_filter_configured_still_stages_notebooks(repo):
    """The committed .gitattributes names a filter a fresh clone has not configured: git then
    stages the file as it is, without an error."""
    text = _as_saved_after_a_run(ROOT / "notebooks" / "overview.ipynb")
    (repo / "overview.ipynb").write_text(text)
    done = _git(repo, "add", "overview.ipynb")
    assert done.returncode == 0 and done.stderr == ""
    assert _git(repo, "show", ":overview.ipynb").stdout == text
