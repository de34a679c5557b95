"""``pipeline_models.potential`` still offers every name the report notebook uses, as the very
objects of :mod:`pipeline_models.analyses.product_potential`."""

from __future__ import annotations

import json
import re

from pipeline_models import potential
from pipeline_models.analyses import product_potential


def test_every_name_the_notebook_uses_resolves(root):
    notebook = json.loads((root / "notebooks" / "product_potential.ipynb").read_text())
    source = "".join("".join(cell["source"]) for cell in notebook["cells"])
    used = set(re.findall(r"\bpp\.([A-Za-z_]\w*)", source))
    assert "selling_table" in used  # the notebook still calls the module "pp"
    assert sorted(name for name in used if not hasattr(potential, name)) == []


def test_old_names_are_the_new_objects():
    assert sorted(name for name in potential.__all__ if not hasattr(potential, name)) == []
    for name in potential.__all__:
        assert getattr(potential, name) is getattr(product_potential, name), name
    assert sorted(n for n in product_potential.__all__ if not hasattr(product_potential, n)) == []
