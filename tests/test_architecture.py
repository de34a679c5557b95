"""The tree is the architecture: every module documented, short, and importing only downward."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pipeline_models"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
LONGER: dict[str, str] = {}
"""Modules allowed over the line limit, each with its reason."""

ALLOWED = {
    "contract": set(),
    "present": {"contract"},
    "io": {"contract"},
    "data": {"contract"},
    "models": {"contract", "data"},
    "analyses": {"contract", "data", "models", "present"},
}
"""The layers each layer may import (``run`` and ``cli`` sit on top and may import any)."""


def _relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


def test_every_module_has_its_row_in_the_architecture_document():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        _relative(p)
        for p in MODULES
        if p.parent != PACKAGE
        and not (p.name == "__init__.py" and p.parent.parent == PACKAGE)
        and f"`{_relative(p)}`" not in text
    ]
    assert not missing, f"docs/architecture.md lacks rows for {missing}"


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_modules_and_functions_stay_short(path):
    source = path.read_text(encoding="utf-8")
    if _relative(path) not in LONGER:
        assert len(source.splitlines()) <= MAX_MODULE_LINES
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_layers_import_only_downward(path):
    layer = _relative(path).split("/")[0]
    if layer not in ALLOWED:
        return
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "pipeline_models" and len(parts) > 1:
                imported.add(parts[1])
    wrong = imported - ALLOWED[layer] - {layer}
    # a type named only for annotations (under TYPE_CHECKING) is not a dependency
    wrong -= {"run"} if "TYPE_CHECKING" in path.read_text(encoding="utf-8") else set()
    assert not wrong, f"{_relative(path)} imports {sorted(wrong)}"
