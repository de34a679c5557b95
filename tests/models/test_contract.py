"""The estimator contract's identity: the digest of the package's code that every fit carries."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline_models.models.contract import code_digest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pipeline_models"


def test_the_code_digest_follows_every_source_file_and_nothing_else(tmp_path):
    copy = tmp_path / "a" / "pipeline_models"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_digest(copy) == code_digest(PACKAGE) == code_digest()

    (copy / "templates" / "extra.txt").write_text("not code")
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-313.pyc").write_bytes(b"compiled")
    assert code_digest.__wrapped__(copy) == code_digest(PACKAGE)

    module = copy / "models" / "forecaster" / "estimator.py"
    module.write_text(module.read_text() + "# a comment\n")
    assert code_digest.__wrapped__(copy) != code_digest(PACKAGE)

    moved = tmp_path / "b" / "pipeline_models"  # a file renamed with the same content
    shutil.copytree(PACKAGE, moved, ignore=shutil.ignore_patterns("__pycache__"))
    (moved / "cli.py").rename(moved / "cli2.py")
    assert code_digest.__wrapped__(moved) != code_digest(PACKAGE)
