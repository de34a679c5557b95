"""Small exports written for the io tests, and what loading them gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_models.contract.problems import ExportError
from pipeline_models.io import load_export

DATA = Path(__file__).parents[1] / "data"
PRESETS = DATA / "presets"
HEADER = "opportunity_id,created_date,close_date,stage,status,amount,currency,product,owner"
GOOD_ROWS = [
    "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
    "A2,2025-01-07,2025-03-01,Closed Lost,lost,500,USD,Widget,Bob",
    "A3,2025-02-01,2025-06-30,Proposal,open,,USD,Gadget,Ann",
]


def write(
    tmp_path: Path,
    rows: list[str],
    header: str = HEADER,
    name: str = "export.csv",
    encoding: str = "utf-8",
) -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def problems_of(path: Path, **kwargs) -> list:
    with pytest.raises(ExportError) as info:
        load_export(path, as_of="2025-12-31", **kwargs)
    return info.value.problems


def outcome(path: Path, **kwargs) -> tuple:
    """What a load gives, without the file name: table, problems, info and quarantine."""
    try:
        result = load_export(path, as_of="2025-12-31", **kwargs)
    except ExportError as error:
        return (
            "error",
            [(p.severity, p.column, p.rows, p.reason, p.values) for p in error.problems],
        )
    info = {k: v for k, v in result.info.items() if k != "file"}
    problems = [(p.severity, p.column, p.rows, p.reason, p.values) for p in result.problems]
    return ("loaded", result.frame, problems, info, result.quarantine)
