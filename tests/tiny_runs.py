"""A three-deal export and tiny report notebooks: what run tests need to make a run cheap."""

from __future__ import annotations

from pathlib import Path

import nbformat

HEADER = "opportunity_id,created_date,close_date,stage,status,amount,currency,product,owner"
ROWS = [
    "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
    "A2,2025-01-07,2025-03-01,Closed Lost,lost,500,USD,Widget,Bob",
    "A3,2025-02-01,2025-06-30,Proposal,open,,USD,Gadget,Ann",
]
"""One won, one lost and one open deal of period 2025-03."""


def write_report_notebook(folder: Path, name: str, params: str, *cells: str) -> Path:
    """``folder/name.ipynb``: a parameters cell holding ``params``, then one code cell per
    ``cells``, on the project's kernel. Returns ``folder`` (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(cell) for cell in cells),
    ]
    nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return folder
