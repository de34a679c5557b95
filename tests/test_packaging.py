"""The two dependency lists (pyproject.toml for pip, environment.yml for conda) stay in step."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# PyPI name -> conda-forge name where they differ; extras become their own conda packages
CONDA_NAMES = {"pyyaml": "pyyaml"}
EXTRAS = {"arviz": {"h5netcdf": "h5netcdf", "matplotlib": "matplotlib"}}


def _name(requirement: str) -> tuple[str, set[str]]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[([^\]]+)\])?", requirement)
    assert match, requirement
    extras = {e.strip() for e in (match.group(3) or "").split(",") if e.strip()}
    return match.group(1).lower(), extras


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set()
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name, extras = _name(requirement)
        wanted.add(CONDA_NAMES.get(name, name))
        for extra in extras:
            wanted.add(EXTRAS.get(name, {}).get(extra, extra))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = set()
    for item in env["dependencies"]:
        if isinstance(item, str):
            name, _ = _name(item)
            if name not in ("python", "pip"):
                listed.add(name)
    assert listed == wanted, {
        "only in pyproject": wanted - listed,
        "only in environment.yml": listed - wanted,
    }


def test_python_floor_is_the_same():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert project["requires-python"] == ">=3.12"
    assert "python>=3.12" in env["dependencies"]
