"""``make lab``: JupyterLab on the analyst's working copies (never overwritten), with options passed
to ``jupyter lab``; the scheduled run keeps executing ``notebooks/`` as committed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))

if shutil.which("make") is None:
    pytest.skip("make is not installed", allow_module_level=True)


def _make(*args: str) -> subprocess.CompletedProcess:
    # a make that runs the tests passes its own flags down: this one starts afresh
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_working_copies_are_made_once_and_never_overwritten(tmp_path):
    copies = tmp_path / "work" / "notebooks"
    first = _make("lab-copies", f"LAB_DIR={copies}")
    assert first.returncode == 0, first.stderr
    assert sorted(p.name for p in copies.glob("*.ipynb")) == NOTEBOOKS
    for name in NOTEBOOKS:
        assert (copies / name).read_bytes() == (ROOT / "notebooks" / name).read_bytes()
    assert f"working copies of the notebooks are in {copies}/" in first.stdout
    assert "executes notebooks/ as committed" in first.stdout

    edited = copies / NOTEBOOKS[0]
    edited.write_text("the analyst's own version")
    (copies / NOTEBOOKS[1]).unlink()
    again = _make("lab-copies", f"LAB_DIR={copies}")
    assert again.returncode == 0, again.stderr
    assert edited.read_text() == "the analyst's own version"
    assert (copies / NOTEBOOKS[1]).read_bytes() == (ROOT / "notebooks" / NOTEBOOKS[1]).read_bytes()
    assert f"copied notebooks/{NOTEBOOKS[1]}" in again.stdout
    assert f"copied notebooks/{NOTEBOOKS[0]}" not in again.stdout


def test_lab_opens_the_working_copies_with_the_options_given():
    planned = _make("-n", "lab", "LAB_ARGS=--no-browser --ip 127.0.0.1")
    assert planned.returncode == 0, planned.stderr
    line = next(x for x in planned.stdout.splitlines() if "jupyter lab" in x)
    words = shlex.split(line)
    assert words[:3] == [".venv/bin/jupyter", "lab", "data/work/notebooks"]
    assert words[-3:] == ["--no-browser", "--ip", "127.0.0.1"]
    # JupyterLab refuses root without --allow-root, and nobody else needs it
    assert ("--allow-root" in words) == (os.geteuid() == 0)
