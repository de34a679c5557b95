"""Which source columns feed each canonical column, and the values they give.

A mapping names, per canonical column, the source columns that may feed it; the first one
present in the header whose cell is not blank gives the value (:func:`coalesce`). Side tables
(lookups) add columns joined by a key, kept as ``__lookup_<canonical>`` until the text columns
are read.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from pipeline_models.contract.problems import WARNING, ExportError, Problem
from pipeline_models.contract.schema import GROUP_COLUMNS, REQUIRED_OPPORTUNITY_COLUMNS

from .cells import BROKEN, is_blank, label_key, map_values, strip
from .collector import Collector, rows_of, values_of
from .presets import Lookup, Mapping
from .readers import read_table
from .sniffing import read_header

LOOKUP_PREFIX = "__lookup_"
"""Prefix of the columns a side table adds to the export."""

TEXT_COLUMNS = ("stage", "currency", *GROUP_COLUMNS, "lead_id", "forecast_category")
"""Canonical columns read as text, stripped, blank as missing."""


def resolve_columns(
    header: list[str], mapping: Mapping, name: str, required: Collection[str]
) -> tuple[dict[str, list[str]], list[Problem]]:
    """canonical -> list of present source columns; problems for missing required ones."""
    lookup = {c.strip().lower(): c for c in header}
    found: dict[str, list[str]] = {}
    for canonical in mapping.columns:
        # spellings that differ only in case name one header column once
        present = list(
            dict.fromkeys(
                lookup[s.lower()] for s in mapping.sources(canonical) if s.lower() in lookup
            )
        )
        if present:
            found[canonical] = present
    problems = []
    for canonical in required:
        if canonical == "status" and (
            mapping.status or mapping.open_stages or {"is_won", "is_closed"} & set(found)
        ):
            continue  # derived from the stage or the won/closed flags
        if canonical not in found:
            wanted = " or ".join(f"'{s}'" for s in mapping.sources(canonical)) or f"'{canonical}'"
            problems.append(
                Problem(
                    name,
                    f"required column {wanted} (canonical '{canonical}') is missing; "
                    f"the header has: {', '.join(header)}",
                    column=canonical,
                )
            )
    return found, problems


def columns_to_read(path: Path, mapping: Mapping) -> list[str] | None:
    """The CSV header columns the mapping and its lookups use, or None to read every column
    (not a CSV that can be read column by column, a header the mapping does not fit, or no
    column left out)."""
    header = read_header(path)
    if header is None:
        return None
    found, missing = resolve_columns(header, mapping, str(path), REQUIRED_OPPORTUNITY_COLUMNS)
    if missing:
        return None
    used = {s for sources in found.values() for s in sources}
    used.update(lookup.key for lookup in mapping.lookups)
    columns = [h for h in header if h in used]
    return columns if len(columns) < len(header) else None


def coalesce(frame: pd.DataFrame, sources: list[str]) -> pd.Series:
    """Per row, the first of the ``sources`` columns whose cell is not blank."""
    out = frame[sources[0]].astype("string")
    for other in sources[1:]:
        blank = is_blank(out)
        if blank.any():
            out = out.mask(blank, frame[other].astype("string"))
    return out


def read_text_columns(
    parse: pd.DataFrame, out: pd.DataFrame, found: dict, mapping: Mapping, col: Collector
) -> None:
    """Add the text columns to ``out``: from the export, else a side table, else the mapping's
    default; a blank cell is missing, and a missing stage is an error."""
    for canonical in TEXT_COLUMNS:
        if canonical in found:
            out[canonical] = strip(coalesce(parse, found[canonical]))
        elif f"{LOOKUP_PREFIX}{canonical}" in parse:
            out[canonical] = strip(parse[f"{LOOKUP_PREFIX}{canonical}"].astype("string"))
        elif canonical in mapping.defaults:
            out[canonical] = mapping.defaults[canonical]
        else:
            continue
        blank = is_blank(out[canonical])
        if blank.any():
            out[canonical] = out[canonical].mask(blank, pd.NA)
    if "stage" in out:
        col.add("empty stage", "stage", out["stage"].isna())


def side_tables(mapping: Mapping, path: str | Path) -> list[Path]:
    """The side tables a mapping joins onto the export at ``path`` that are there to be read
    (beside the export), in the mapping's order."""
    path = Path(path)
    return [
        path.parent / lookup.file
        for lookup in mapping.lookups
        if (path.parent / lookup.file).exists()
    ]


def apply_lookups(
    frame: pd.DataFrame, mapping: Mapping, path: Path, info: dict, problems: list
) -> pd.DataFrame:
    """Join the mapping's side tables (found beside the export) onto ``frame`` by their keys.

    A key the side table does not list is a warning, with the side table's spelling of it when
    only case, spaces or punctuation differ.
    """
    for lookup in mapping.lookups:
        side_path = path.parent / lookup.file
        if not side_path.exists():
            if not lookup.optional:
                problems.append(Problem(str(side_path), "side table not found"))
            continue
        side = _read_side_table(side_path, problems)
        info.setdefault("side_tables", []).append(str(side_path))
        if lookup.key not in side or lookup.key not in frame:
            continue
        side = side.drop_duplicates(lookup.key).set_index(lookup.key)
        for source, canonical in lookup.columns.items():
            if source in side:
                frame[f"{LOOKUP_PREFIX}{canonical}"] = map_values(frame[lookup.key], side[source])
        _report_unmatched(frame, side, lookup, path, problems)
        info.setdefault("lookups", []).append(f"{lookup.file} by {lookup.key}")
    return frame


def _read_side_table(side_path: Path, problems: list) -> pd.DataFrame:
    """A side table without its broken records (its warnings go to ``problems``)."""
    side, _, side_problems = read_table(side_path)
    problems.extend(p for p in side_problems if p.severity == WARNING)
    if BROKEN in side:
        problems.append(
            Problem(
                str(side_path),
                "records with a different number of fields than the header are not used",
                rows=rows_of(side, side[BROKEN].notna()),
                severity=WARNING,
            )
        )
        side = side.loc[side[BROKEN].isna().to_numpy()].drop(columns=[BROKEN])
    return side


def _report_unmatched(
    frame: pd.DataFrame, side: pd.DataFrame, lookup: Lookup, path: Path, problems: list
) -> None:
    keys = frame[lookup.key].astype("string")
    unmatched = ~is_blank(keys) & ~keys.isin(side.index)
    if not unmatched.any():
        return
    spelled = {label_key(k): k for k in side.index.astype(str)}
    hints = [
        f"'{v}' is spelled '{spelled[label_key(v)]}' there"
        for v in keys[unmatched].unique()[:5]
        if label_key(v) in spelled
    ]
    problems.append(
        Problem(
            str(path),
            f"{int(unmatched.sum())} rows have a {lookup.key} that {lookup.file} does "
            "not list" + (f" ({'; '.join(hints)})" if hints else ""),
            column=lookup.key,
            rows=rows_of(frame, unmatched),
            severity=WARNING,
            values=values_of(keys, unmatched),
        )
    )


def select_pipeline(
    raw: pd.DataFrame, found: dict, mapping: Mapping, name: str, info: dict
) -> pd.DataFrame:
    """The rows of the pipeline the mapping asks for (all rows when the export holds one).

    Each CRM pipeline has stages of its own, so a load never mixes pipelines: an export of several
    needs one named (``--pipeline NAME``, compared ignoring case).

    Raises
    ------
    ExportError
        When the export holds several pipelines and none was named, when the named one is not in
        the export, or when a pipeline is named but the export has no pipeline column.
    """
    if "pipeline" not in found:
        if mapping.pipeline:
            wanted = " or ".join(f"'{s}'" for s in mapping.sources("pipeline")) or "a column"
            raise ExportError(
                [
                    Problem(
                        name,
                        f"--pipeline {mapping.pipeline!r} was given but the export has no "
                        f"pipeline column ({wanted} mapped to 'pipeline')",
                    )
                ]
            )
        return raw
    cells = strip(coalesce(raw, found["pipeline"]))
    counts = cells[~is_blank(cells)].value_counts()
    listed = ", ".join(f"{p!r} ({n} deals)" for p, n in counts.items())
    if mapping.pipeline is None:
        if len(counts) > 1:
            raise ExportError(
                [
                    Problem(
                        name,
                        f"the export holds {len(counts)} pipelines, each with stages of its "
                        f"own: {listed}; choose one with --pipeline NAME",
                        column="pipeline",
                    )
                ],
                headline=f"{name} holds several pipelines",
            )
        info["pipeline"] = str(counts.index[0]) if len(counts) else None
        return raw
    keep = (cells.str.casefold() == mapping.pipeline.casefold()).fillna(False)
    if not keep.any():
        raise ExportError(
            [
                Problem(
                    name,
                    f"no deal of pipeline {mapping.pipeline!r}; the export holds: {listed}",
                    column="pipeline",
                )
            ]
        )
    info["pipeline"] = mapping.pipeline
    info["other_pipelines_left_out"] = int((~keep).sum())
    return raw.loc[keep.to_numpy()]
