"""A deal's status (won, lost or open): from a status column, from the stage, or both.

A mapping's ``status:`` names the stages that decide an outcome; with ``open_stages`` it also
names every open stage, and any other stage is an error. When the export has a status column
as well, a stage the mapping names must agree with it.
"""

from __future__ import annotations

import pandas as pd

from .cells import is_blank, map_values, strip
from .collector import Collector, values_of
from .columns import coalesce
from .presets import Mapping

STATUS_VALUES = {"won": "won", "lost": "lost", "open": "open"}
"""Status cells read as they are when the mapping names no others."""


def derive_status(
    raw: pd.DataFrame, out: pd.DataFrame, found: dict, mapping: Mapping, col: Collector
) -> None:
    """Add ``status`` to ``out``, reporting unknown stages, unreadable status cells and a status
    that disagrees with its stage."""
    stage = out.get("stage", pd.Series(pd.NA, index=out.index, dtype="string"))
    from_stage = _status_from_stage(stage, mapping, col)
    if "status" in found:
        out["status"] = _status_column(raw, found, stage, from_stage, mapping, col)
    elif from_stage is not None:
        out["status"] = from_stage
    else:
        out["status"] = pd.NA
        col.add("no status column and no stage-to-status rule in the mapping", "status")


def _status_from_stage(stage: pd.Series, mapping: Mapping, col: Collector) -> pd.Series | None:
    """The status each stage stands for (a stage the mapping does not name is open), or None
    when the mapping has no stage rules."""
    if not (mapping.status or mapping.open_stages):
        return None
    table = {k.strip().lower(): v for k, v in mapping.status.items()}
    for s in mapping.open_stages or ():
        table.setdefault(s.strip().lower(), "open")
    from_stage = map_values(stage.astype("string").str.lower(), table)
    if mapping.open_stages is not None:
        unknown = stage.notna() & from_stage.isna()
        known = sorted({*mapping.status, *mapping.open_stages}, key=str.lower)
        col.add(
            f"unknown stage (the mapping knows: {', '.join(known)})",
            "stage",
            unknown,
            values_of(stage, unknown),
        )
    return from_stage.fillna("open")


def _status_column(
    raw: pd.DataFrame,
    found: dict,
    stage: pd.Series,
    from_stage: pd.Series | None,
    mapping: Mapping,
    col: Collector,
) -> pd.Series:
    """The status column read through the mapping's status values, checked against the stage."""
    source = strip(coalesce(raw, found["status"])).str.lower()
    values = dict(mapping.status_values) or STATUS_VALUES
    status = map_values(source, values)
    blank = is_blank(source)
    bad = status.isna() & ~blank
    col.add(
        f"status must be one of {', '.join(sorted(set(values)))}",
        "status",
        bad | blank,
        values_of(source, bad),
    )
    if from_stage is not None and mapping.status:
        # only stages the mapping names decide; other stages carry no status of their own
        stage_key = stage.astype("string").str.lower()
        named = stage_key.isin([k.strip().lower() for k in mapping.status])
        disagree = named & status.notna() & (status != from_stage)
        col.add(
            "status disagrees with the stage (the stage says one outcome, status another)",
            "status",
            disagree,
            values_of(stage.astype("string") + " / " + source, disagree),
        )
    return status
