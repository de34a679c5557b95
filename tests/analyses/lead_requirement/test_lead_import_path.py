"""``pipeline_models.leads`` offers every name the lead requirement notebook uses."""

from __future__ import annotations

import json
import re

from pipeline_models import leads
from pipeline_models.analyses import lead_requirement
from pipeline_models.models import funnel
from pipeline_models.models.pooling import censored_beta_rates


def test_every_name_the_notebook_uses_resolves(root):
    cells = json.loads((root / "notebooks" / "lead_requirement.ipynb").read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    used = set(re.findall(r"\blr\.([A-Za-z_]\w*)", code))
    assert used and used <= set(leads.__all__)
    assert [name for name in leads.__all__ if not hasattr(leads, name)] == []


def test_old_names_are_the_new_objects():
    assert leads.pooled_rates is censored_beta_rates
    assert leads.NONE_LABEL == "(none)" and leads.ALL_LABEL == "(all)" and leads.INTERVAL == 0.90
    for package in (lead_requirement, funnel):
        for name in package.__all__:
            if name in leads.__all__:
                assert getattr(leads, name) is getattr(package, name), name
