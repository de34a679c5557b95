"""Stage-history layouts: how each CRM writes a deal's changes, and the text cells each gives.

A layout is told from the header (:func:`resolve_layout`); its records become one row of text
cells per change, one cell per history column (:func:`history_cells`), which
:mod:`~pipeline_models.io.history` then parses and checks. The header spellings of stage
histories live here; those of opportunities and leads exports live in
:mod:`~pipeline_models.io.presets`.

The layouts, by the name a load gives in ``info["layout"]``:

``canonical``
    ``opportunity_id, changed_date, stage, amount, close_date, probability`` (``entered_date`` or
    ``date`` also name ``changed_date``).
``salesforce_opportunity_history``
    Salesforce's ``OpportunityHistory`` object by API field names (Data Export, Data Loader): each
    row is the deal's stage, amount, close date and probability from ``CreatedDate`` on.
    ``Probability`` is documented in percent; rows with ``IsDeleted`` true are left out.
``salesforce_history_report``
    Salesforce's "Opportunity History" report: ``Opportunity ID``, ``Stage``, ``Amount``,
    ``Close Date``, ``Probability (%)`` and when the change was made, ``Last Modified`` (the
    report type's name for it) or ``Edit Date``.
``salesforce_field_history``
    Salesforce's ``OpportunityFieldHistory`` object: one row per changed field. A ``StageName``,
    ``Amount``, ``CloseDate`` or ``Probability`` row gives that value (``NewValue``) and leaves the
    others blank. Other fields (Owner, Name, ...) are counted and left out, and so is a change to
    an empty value, which the history table cannot tell from no change. A ``created`` or
    ``opportunityCreatedFromLead`` row gives the moment the deal was created, with the stage it
    was created in: the ``OldValue`` of its first stage change. A deal whose stage never changed
    has no such stage: its creation row would carry no value, and is left out (counted).
``hubspot_stage_dates``
    A HubSpot deals export with a ``Date entered "<stage> (<pipeline>)"`` column per stage
    (quotes optional; the pipeline is dropped from the stage name) and ``Record ID`` or
    ``Deal ID``: one row per deal and stage entered, blank cells skipped. HubSpot keeps one entry
    date per stage, so a stage entered twice shows its latest entry only. ``Date exited`` columns,
    and the deal's current amount and close date, are not history and are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from pipeline_models.contract.problems import WARNING, ExportError, Problem
from pipeline_models.contract.schema import HISTORY_COLUMNS, REQUIRED_HISTORY_COLUMNS

from .cells import RECORD_COLUMNS, ROW, TEXT, flag, is_blank, strip
from .collector import Collector, values_of
from .dates import parse_dates

VALUE_COLUMNS = ("stage", "amount", "close_date", "probability")
"""The history columns that hold a deal's values; a row must carry at least one of them."""

# ---------------------------------------------------------------------------------------------
# Header spellings of the stage-history layouts


@dataclass(frozen=True)
class HistoryLayout:
    """How one CRM writes a stage history: per role (a history column, or a column of the
    CRM's own such as ``is_deleted``), the header names it goes by."""

    name: str
    title: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...] = REQUIRED_HISTORY_COLUMNS
    percent: bool = False  # probability documented in percent, whatever the values look like


CANONICAL = HistoryLayout(
    "canonical",
    "canonical history table",
    {
        "opportunity_id": ("opportunity_id",),
        "changed_date": ("changed_date", "entered_date", "date"),
        **{c: (c,) for c in VALUE_COLUMNS},
    },
)
SALESFORCE_HISTORY = HistoryLayout(
    "salesforce_opportunity_history",
    "Salesforce OpportunityHistory (API field names)",
    {
        "opportunity_id": ("OpportunityId",),
        "changed_date": ("CreatedDate",),
        "stage": ("StageName",),
        "amount": ("Amount",),
        "close_date": ("CloseDate",),
        "probability": ("Probability",),
        "is_deleted": ("IsDeleted",),
    },
    percent=True,
)
SALESFORCE_REPORT = HistoryLayout(
    "salesforce_history_report",
    "Salesforce 'Opportunity History' report",
    {
        "opportunity_id": ("Opportunity ID",),
        "changed_date": ("Last Modified", "Edit Date"),
        "stage": ("Stage",),
        "amount": ("Amount",),
        "close_date": ("Close Date",),
        "probability": ("Probability (%)",),
    },
    percent=True,
)
SALESFORCE_FIELDS = HistoryLayout(
    "salesforce_field_history",
    "Salesforce OpportunityFieldHistory (API field names)",
    {
        "opportunity_id": ("OpportunityId",),
        "changed_date": ("CreatedDate",),
        "field": ("Field",),
        "old_value": ("OldValue",),
        "new_value": ("NewValue",),
        "is_deleted": ("IsDeleted",),
    },
    required=("opportunity_id", "changed_date", "field", "new_value"),
    percent=True,
)
HUBSPOT_STAGES = HistoryLayout(
    "hubspot_stage_dates",
    "HubSpot deals with 'Date entered \"<stage> (<pipeline>)\"' columns",
    {"opportunity_id": ("Record ID", "Deal ID")},
    required=("opportunity_id",),
)
LAYOUTS = (SALESFORCE_FIELDS, SALESFORCE_HISTORY, SALESFORCE_REPORT, CANONICAL, HUBSPOT_STAGES)
"""Every layout understood; a tie between two is settled by this order."""

FIELD_TARGETS = {
    "StageName": "stage",
    "Amount": "amount",
    "CloseDate": "close_date",
    "Probability": "probability",
}
"""Salesforce field-history ``Field`` values (matched in any case) and the column each fills."""

CREATION_FIELDS = ("created", "opportunitycreatedfromlead")
"""Field-history ``Field`` values (lower case) that mark the moment a deal was created."""

TRUE_CELLS = ("true", "1", "yes", "y", "t")
"""Cells of a yes/no column (``IsDeleted``) read as yes."""

_ENTERED = re.compile(r"^date entered\s*(?P<label>.*?)\s*$", re.IGNORECASE)
_EXITED = re.compile(r"^date exited\b", re.IGNORECASE)
_QUOTES = "\"'“”"
_PIPELINE = re.compile(r"\s*\([^()]*\)$")  # HubSpot's " (<pipeline>)" after a stage name
SOURCE = "_source"
"""Internal column: the file's column a row's ``changed_date`` comes from, where that varies."""
FIRST = "_first"
"""Internal column: a creation row, sorted before a change made at the same moment."""


# ---------------------------------------------------------------------------------------------
# Which layout, and which of its columns the header holds


def _layout_of(header: list[str]) -> HistoryLayout | None:
    """The layout ``header`` is written in: a HubSpot stage-date column decides at once; else the
    layout with most of its columns present, if its id column is one of them or two are."""
    if any(_ENTERED.match(h) for h in header):
        return HUBSPOT_STAGES
    lowered = {h.strip().lower() for h in header}

    def hits(layout: HistoryLayout) -> list[str]:
        return [
            role
            for role, spellings in layout.columns.items()
            if any(s.lower() in lowered for s in spellings)
        ]

    tables = [layout for layout in LAYOUTS if layout is not HUBSPOT_STAGES]
    best = max(tables, key=lambda layout: len(hits(layout)))  # max keeps the first of ties
    found = hits(best)
    return best if "opportunity_id" in found or len(found) >= 2 else None


def _understood() -> str:
    return "; ".join(
        f"{layout.title} ({', '.join(' or '.join(s) for s in layout.columns.values())})"
        for layout in LAYOUTS
    )


def resolve_layout(
    header: list[str], name: str, problems: list[Problem]
) -> tuple[HistoryLayout, dict[str, str]]:
    """The layout of ``header`` and, per role, the header column that holds it.

    Raises
    ------
    ExportError
        When no layout fits the header, or one of its required columns is missing.
    """
    layout = _layout_of(header)
    shown = ", ".join(header)
    if layout is None:
        reason = f"the header fits no stage-history layout; the header has: {shown}"
        raise ExportError(
            [
                *problems,
                Problem(name, reason),
                Problem(name, f"layouts understood: {_understood()}"),
            ],
            headline=f"{name} is not a stage history this loader knows",
        )
    lookup = {h.strip().lower(): h for h in header}
    found = {}
    for role, spellings in layout.columns.items():
        present = [lookup[s.lower()] for s in spellings if s.lower() in lookup]
        if present:
            found[role] = present[0]
    missing = [
        Problem(
            name,
            f"required column {' or '.join(repr(s) for s in layout.columns[role])} of the "
            f"{layout.title} layout is missing; the header has: {shown}",
            column=layout.columns[role][0],
        )
        for role in layout.required
        if role not in found
    ]
    if missing:
        missing.append(Problem(name, f"layouts understood: {_understood()}"))
        raise ExportError([*problems, *missing], headline=f"{name} lacks a required column")
    return layout, found


# ---------------------------------------------------------------------------------------------
# From the file's records to text cells, one per history column


@dataclass
class HistoryCells:
    """Text cells per history column (blank where a row does not record it), with each row's
    number; ``columns`` names the file's column each history column is read from."""

    frame: pd.DataFrame
    columns: dict[str, str]
    percent: bool
    notes: dict = field(default_factory=dict)


def history_cells(
    raw: pd.DataFrame, layout: HistoryLayout, found: dict, col: Collector, info: dict
) -> HistoryCells:
    """The text cells of ``raw``'s changes in ``layout`` (``found``: the header column of each
    role), leaving out deleted records; what was understood goes to ``info``, problems to
    ``col`` (whose frame is ``raw``)."""
    if "is_deleted" in found:
        deleted = flag(strip(raw[found["is_deleted"]].astype(TEXT)).str.lower().isin(TRUE_CELLS))
        info["deleted_rows"] = int(deleted.sum())
        raw = raw.loc[~deleted.to_numpy()]
    else:
        info["deleted_rows"] = 0
    if layout is SALESFORCE_FIELDS:
        cells = _field_history_cells(raw, found, col, info)
    elif layout is HUBSPOT_STAGES:
        cells = _hubspot_cells(raw, found, col, info)
    else:
        frame = pd.DataFrame({ROW: raw[ROW]}, index=raw.index)
        for column in HISTORY_COLUMNS:
            source = found.get(column)
            frame[column] = raw[source].astype(TEXT) if source else pd.NA
        frame[FIRST] = False
        columns = {c: found[c] for c in HISTORY_COLUMNS if c in found}
        cells = HistoryCells(
            frame.astype({c: TEXT for c in HISTORY_COLUMNS}), columns, layout.percent
        )
    info["columns"] = {c: cells.notes.get(c, s) for c, s in cells.columns.items()}
    return cells


def _field_history_cells(
    raw: pd.DataFrame, found: dict, col: Collector, info: dict
) -> HistoryCells:
    """One row per tracked change of stage, amount, close date or probability, and per deal
    created with a known stage (see this module's docstring)."""
    fields = strip(raw[found["field"]].astype(TEXT)).fillna("")
    key = fields.str.lower()
    target = key.map({f.lower(): c for f, c in FIELD_TARGETS.items()})
    creation = key.isin(CREATION_FIELDS).to_numpy()
    changes = target.notna().to_numpy()
    info["ignored_fields"] = {
        str(k) or "(blank)": int(v)
        for k, v in fields[~changes & ~creation].value_counts().sort_index().items()
    }
    new = found["new_value"]
    cleared = changes & is_blank(raw[new]).to_numpy()
    col.add(
        "the field was changed to an empty value, which the history table cannot tell from no "
        "change: left out",
        new,
        pd.Series(cleared, index=raw.index),
        values_of(fields, pd.Series(cleared, index=raw.index)),
        severity=WARNING,
    )
    info["cleared_values"] = int(cleared.sum())
    kept = raw.loc[changes & ~cleared]
    info["fields"] = {str(k): int(v) for k, v in fields[kept.index].value_counts().items()}
    frame = pd.DataFrame(
        {
            ROW: kept[ROW],
            "opportunity_id": kept[found["opportunity_id"]],
            "changed_date": kept[found["changed_date"]],
            FIRST: False,
        },
        index=kept.index,
    )
    for column in VALUE_COLUMNS:
        frame[column] = kept[new].where(target[kept.index] == column)
    frame = pd.concat([_creation_rows(raw, found, key, info), frame])
    columns = {"opportunity_id": found["opportunity_id"], "changed_date": found["changed_date"]}
    columns |= dict.fromkeys(VALUE_COLUMNS, new)
    notes = {c: f"{new} where Field is {f}" for f, c in FIELD_TARGETS.items()}
    if "old_value" in found:
        notes["stage"] += f"; on a creation row, {found['old_value']} of the first stage change"
    frame = frame.astype({c: TEXT for c in HISTORY_COLUMNS})
    return HistoryCells(frame, columns, True, notes)


def _creation_rows(raw: pd.DataFrame, found: dict, key: pd.Series, info: dict) -> pd.DataFrame:
    """One row per deal with a creation record (the first in the file), carrying the stage the
    deal was created in: the ``OldValue`` of its earliest stage change."""
    ids = strip(raw[found["opportunity_id"]].astype(TEXT))
    creations = ids[key.isin(CREATION_FIELDS).to_numpy()]
    rows = raw.loc[creations.index[~creations.duplicated().to_numpy()]]
    stage = pd.Series(pd.NA, index=rows.index, dtype=TEXT)
    if "old_value" in found:
        changes = raw.loc[key.eq("stagename").to_numpy()]
        when = parse_dates(changes[found["changed_date"]])[0]
        first = (
            changes.assign(_when=when, _id=ids[changes.index])
            .sort_values(["_when", ROW], kind="stable")
            .drop_duplicates("_id")
        )
        initial = dict(zip(first["_id"], first[found["old_value"]].astype(TEXT), strict=True))
        stage = ids[rows.index].map(initial).astype(TEXT)
    known = ~is_blank(stage)
    info["creation_rows"] = int(known.sum())
    info["creation_rows_without_stage"] = int((~known).sum())
    rows = rows.loc[known.to_numpy()]
    return pd.DataFrame(
        {
            ROW: rows[ROW],
            "opportunity_id": rows[found["opportunity_id"]],
            "changed_date": rows[found["changed_date"]],
            "stage": stage[rows.index],
            FIRST: True,
        },
        index=rows.index,
    )


def stage_of(header: str) -> str | None:
    """The stage a ``Date entered`` column names (its pipeline dropped), or None for any other
    column or one that names no stage."""
    match = _ENTERED.match(header)
    if not match:
        return None
    label = match["label"].strip(_QUOTES + " ")
    stage = _PIPELINE.sub("", label).strip(_QUOTES + " ") or label
    return stage or None


def _hubspot_cells(raw: pd.DataFrame, found: dict, col: Collector, info: dict) -> HistoryCells:
    """One row per deal and stage entered; a deal without an id is reported once, here."""
    header = [c for c in raw.columns if c not in RECORD_COLUMNS]
    stages = {h: stage_of(h) for h in header if stage_of(h)}
    info["stage_columns"] = stages
    info["exit_columns_ignored"] = sum(bool(_EXITED.match(h)) for h in header)
    id_column = found["opportunity_id"]
    ids = raw[id_column].astype(TEXT)
    entered = pd.Series(False, index=raw.index)
    for h in stages:
        entered |= ~is_blank(raw[h])
    col.add("empty opportunity id", id_column, is_blank(ids) & entered)
    raw = raw.loc[(~is_blank(ids)).to_numpy()]
    pieces = []
    for h, stage in stages.items():
        rows = raw.loc[(~is_blank(raw[h])).to_numpy(), [ROW, id_column, h]]
        rows.columns = [ROW, "opportunity_id", "changed_date"]
        pieces.append(rows.assign(stage=stage, **{SOURCE: h}))
    names = [ROW, "opportunity_id", "changed_date", "stage", SOURCE]
    frame = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=names)
    frame = frame.assign(amount=pd.NA, close_date=pd.NA)
    frame = frame.assign(probability=pd.NA, **{FIRST: False})
    frame = frame.astype({c: TEXT for c in HISTORY_COLUMNS})
    columns = {"opportunity_id": id_column, "changed_date": "Date entered <stage>"}
    notes = {"stage": "the stage named by each 'Date entered' column"}
    return HistoryCells(frame, columns, False, notes)
