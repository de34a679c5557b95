"""The runner's trusted tables: canonical opportunities, leads and history as marked Parquet.

A table the runner has validated is written with a mark in its Parquet metadata; a marked file
is read back as it is, typed, without parsing text again. An unmarked file is never trusted:
:func:`~pipeline_models.io.opportunities.load_export`,
:func:`~pipeline_models.io.leads.load_leads` and :func:`~pipeline_models.io.history.load_history`
read it as any export.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_models.contract.problems import ExportError, Problem
from pipeline_models.contract.schema import HISTORY, conform_opportunities

MARK_KEY = b"pipeline_models"
"""Parquet metadata key of the mark."""

MARKS = {
    "opportunities": b"canonical",
    "leads": b"canonical-leads",
    "history": b"canonical-history",
}
"""The mark of each trusted table (one mark per table: a leads file is never read as deals)."""

_LEAD_DATES = ("created_date", "converted_date")


def is_runner_table(path: str | Path, table: str = "opportunities") -> bool:
    """Whether ``path`` is a canonical ``table`` (``"opportunities"``, ``"leads"`` or
    ``"history"``) written by :func:`write_canonical`, :func:`write_canonical_leads` or
    :func:`write_canonical_history` (marked Parquet)."""
    path = Path(path)
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return False
    return metadata.get(MARK_KEY) == MARKS[table]


def write_canonical(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a validated canonical table to Parquet, marked so the loader trusts it as is."""
    return _write_marked(frame, path, MARKS["opportunities"])


def write_canonical_leads(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a validated leads table to Parquet, marked so the leads loader trusts it as is."""
    return _write_marked(frame, path, MARKS["leads"])


def write_canonical_history(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a validated stage-history table to Parquet, marked so the history loader trusts it
    as is."""
    return _write_marked(frame, path, MARKS["history"])


def read_canonical(path: str | Path) -> pd.DataFrame:
    """The canonical opportunities table of a file :func:`write_canonical` wrote.

    Raises
    ------
    ExportError
        When ``path`` is not such a file.
    """
    _check_marked(path, "opportunities")
    return conform_opportunities(pd.read_parquet(path))


def read_canonical_leads(path: str | Path) -> pd.DataFrame:
    """The leads table of a file :func:`write_canonical_leads` wrote, typed as loaded.

    Raises
    ------
    ExportError
        When ``path`` is not such a file.
    """
    _check_marked(path, "leads")
    frame = pd.read_parquet(path)
    for column in _LEAD_DATES:
        if column in frame and frame[column].dtype != "datetime64[ns]":
            frame[column] = frame[column].astype("datetime64[ns]")
    return frame


def read_canonical_history(path: str | Path) -> pd.DataFrame:
    """The stage-history table of a file :func:`write_canonical_history` wrote, typed as loaded.

    Raises
    ------
    ExportError
        When ``path`` is not such a file.
    """
    _check_marked(path, "history")
    return HISTORY.validate(pd.read_parquet(path))


def _write_marked(frame: pd.DataFrame, path: str | Path, mark: bytes) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), MARK_KEY: mark})
    pq.write_table(table, path)
    return Path(path)


def _check_marked(path: str | Path, table: str) -> None:
    if not is_runner_table(path, table):
        raise ExportError(
            [Problem(str(path), f"is not a canonical {table} table written by the runner")],
            headline="cannot read the canonical table",
        )
