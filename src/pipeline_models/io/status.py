"""A deal's status (won, lost or open): from won/closed flags, a status column, the stage.

Where the export carries the CRM's own flags (Salesforce ``IsWon`` / ``IsClosed``, HubSpot
``Is Closed Won`` / ``Is closed``), they decide the status and the stage is only a fallback for
rows whose flags are blank: a custom closed-lost stage the mapping does not name is then lost,
never open.

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

FLAG_VALUES = {
    **dict.fromkeys(("true", "1", "1.0", "yes", "y", "t"), True),
    **dict.fromkeys(("false", "0", "0.0", "no", "n", "f"), False),
}
"""How CRMs write a yes/no flag (compared lower-cased)."""


def derive_status(
    raw: pd.DataFrame, out: pd.DataFrame, found: dict, mapping: Mapping, col: Collector
) -> None:
    """Add ``status`` to ``out``, reporting unknown stages, unreadable status cells and a status
    that disagrees with its stage."""
    stage = out.get("stage", pd.Series(pd.NA, index=out.index, dtype="string"))
    from_stage = _status_from_stage(stage, mapping, col)
    if "is_won" in found or "is_closed" in found:
        from_flags = _status_from_flags(raw, found, col)
        fallback = from_stage if from_stage is not None else pd.Series(pd.NA, index=out.index)
        out["status"] = from_flags.fillna(fallback.astype("string"))
        col.add(
            "the won/closed flags are blank and the stage does not say the outcome",
            "status",
            out["status"].isna(),
        )
    elif "status" in found:
        out["status"] = _status_column(raw, found, stage, from_stage, mapping, col)
    elif from_stage is not None:
        out["status"] = from_stage
    else:
        out["status"] = pd.NA
        col.add("no status column and no stage-to-status rule in the mapping", "status")


def _flag(raw: pd.DataFrame, found: dict, name: str, col: Collector) -> pd.Series | None:
    """A yes/no flag column as True/False/NA, reporting cells that are not a flag."""
    if name not in found:
        return None
    source = strip(coalesce(raw, found[name])).str.lower()
    value = map_values(source, FLAG_VALUES)
    bad = value.isna() & ~is_blank(source)
    col.add("not a yes/no flag (write true/false or 1/0)", name, bad, values_of(source, bad))
    return value


def _status_from_flags(raw: pd.DataFrame, found: dict, col: Collector) -> pd.Series:
    """won / lost / open from the won and closed flags (NA where they are blank)."""
    won = _flag(raw, found, "is_won", col)
    closed = _flag(raw, found, "is_closed", col)
    index = raw.index
    status = pd.Series(pd.NA, index=index, dtype="string")
    if closed is not None:
        status = status.mask(closed.eq(False).fillna(False).to_numpy(), "open")
        status = status.mask(closed.eq(True).fillna(False).to_numpy(), "lost")
    if won is not None:
        status = status.mask(won.eq(True).fillna(False).to_numpy(), "won")
        if closed is None:  # a won flag alone cannot tell lost from open
            status = status.mask(won.eq(False).fillna(False).to_numpy(), pd.NA)
    if won is not None and closed is not None:
        contradict = won.eq(True).fillna(False) & closed.eq(False).fillna(False)
        col.add("won flag set on a deal that is not closed", "is_won", contradict)
    return status


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
