"""Loading an opportunities export into the canonical table, listing every problem at once.

A load reads the file as text (:mod:`~pipeline_models.io.readers`), resolves the mapping to its
columns (:mod:`~pipeline_models.io.columns`), parses ids, text, dates, amounts and status, applies
the rules across columns and records (:mod:`~pipeline_models.io.checks`), then either fails with
every error or, with ``on_bad_rows="skip"``, moves the rows with errors to a quarantine table.
The file itself is never changed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline_models.contract.problems import WARNING, ExportError, Problem, errors_of
from pipeline_models.contract.schema import (
    OPPORTUNITIES,
    REQUIRED_OPPORTUNITY_COLUMNS,
    conform_opportunities,
)

from .amounts import read_amount_column
from .canonical import is_runner_table, read_canonical
from .cells import BROKEN, RECORD_COLUMNS, ROW, is_blank, strip
from .checks import check_broken_records, check_duplicates, check_rows, data_warnings
from .collector import Collector
from .columns import (
    LOOKUP_PREFIX,
    apply_lookups,
    coalesce,
    columns_to_read,
    read_text_columns,
    resolve_columns,
    select_pipeline,
)
from .dates import read_date_columns
from .presets import Mapping, describe_layout, get_mapping, guess_preset
from .probability import read_probability_column
from .readers import read_table
from .result import LoadResult
from .status import derive_status

BAD_ROWS_MODES = ("error", "skip")
"""What a row error does: fail the load, or send the row to quarantine."""


def load_export(
    path: str | Path,
    preset: str | None = None,
    mapping: Mapping | str | Path | None = None,
    on_bad_rows: str = "error",
    as_of: pd.Timestamp | str | None = None,
    pipeline: str | None = None,
) -> LoadResult:
    """Load an opportunities export into the canonical table.

    Parameters
    ----------
    path
        CSV (any common delimiter and encoding), Parquet or Excel file.
    preset
        Built-in mapping name (``canonical``, ``salesforce``, ``hubspot``, ``pipedrive``, ``maven``).
    mapping
        A :class:`~pipeline_models.io.presets.Mapping` or the path of a mapping YAML file.
    on_bad_rows
        ``"error"`` (default): any row error fails the load. ``"skip"``: rows with errors move to
        ``LoadResult.quarantine`` with their reasons and the rest loads. So that the quarantine
        holds whole records, ``"skip"`` reads every column of a CSV; ``"error"`` reads only the
        columns the mapping uses from a well-formed UTF-8 CSV.
    as_of
        Dates after this instant are "in the future" (default: now).
    pipeline
        The CRM pipeline to read, where the export holds several (each has stages of its own).

    Raises
    ------
    ExportError
        Listing every problem found, each naming file, column, rows and reason.
    """
    if on_bad_rows not in BAD_ROWS_MODES:
        raise ValueError(f"on_bad_rows must be one of {BAD_ROWS_MODES}, not {on_bad_rows!r}")
    path = Path(path)
    if not isinstance(mapping, Mapping):
        mapping = get_mapping(preset, mapping, pipeline)
    elif pipeline:
        mapping = replace(mapping, pipeline=pipeline)
    if mapping.name == "canonical" and is_runner_table(path):
        return _runner_table(path)

    raw, info, problems, found = _read_export(path, mapping, on_bad_rows)
    col = Collector(str(path), raw)
    col.problems.extend(problems)
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp.now().normalize()
    parse = check_broken_records(raw, info, col)
    out, unreadable = _read_columns(parse, found, mapping, col, info)
    if on_bad_rows == "error":
        # no quarantine to fill: only the row numbers of the export are looked up from here on
        col.frame = raw[[ROW]]
        raw = parse = None
    check_rows(out, col, as_of_ts, unreadable)
    before = len(out)
    out = check_duplicates(out, col)
    info["duplicates_dropped"] = before - len(out)
    frame, quarantine = _settle_row_errors(out, raw, parse, col, on_bad_rows)
    frame = data_warnings(frame, col, mapping)
    canonical = _validated(frame, col)
    _summarise(info, canonical, quarantine)
    return LoadResult(canonical, col.problems, info, quarantine)


def _runner_table(path: Path) -> LoadResult:
    """The runner's own canonical Parquet: already validated, read as is."""
    frame = read_canonical(path)
    info = {"file": str(path), "format": "parquet", "mapping": "canonical"}
    return LoadResult(frame, [], {**info, "opportunities": len(frame)})


def _read_export(
    path: Path, mapping: Mapping, on_bad_rows: str
) -> tuple[pd.DataFrame, dict, list[Problem], dict[str, list[str]]]:
    """The export as text with its side tables joined, what was detected, the problems found so
    far, and the source columns of each canonical column.

    Raises
    ------
    ExportError
        When a required column is missing (suggesting the preset the header looks like).
    """
    name = str(path)
    columns = columns_to_read(path, mapping) if on_bad_rows == "error" else None
    raw, info, problems = read_table(path, columns=columns)
    info.update(file=name, rows=len(raw), mapping=mapping.name)
    header = [c for c in raw.columns if c not in RECORD_COLUMNS]
    found, missing = resolve_columns(header, mapping, name, REQUIRED_OPPORTUNITY_COLUMNS)
    if missing:
        guessed = guess_preset(header)
        if guessed and guessed != mapping.name:
            missing.append(
                Problem(name, f"the header looks like a '{guessed}' export: try --preset {guessed}")
            )
        elif guessed is None:
            missing.append(
                Problem(
                    name,
                    "no built-in layout fits this header: name its columns in a mapping file "
                    "and pass --mapping FILE (the format is in README.md, 'Other layouts')",
                )
            )
        raise ExportError(
            problems + missing, headline=f"{name} does not fit the '{mapping.name}' mapping"
        )
    info["columns"] = {c: " / ".join(s) for c, s in found.items()}
    info["layout"] = describe_layout(header) or "a layout of its own"
    raw = select_pipeline(raw, found, mapping, name, info)
    raw = apply_lookups(raw, mapping, path, info, problems)
    return raw, info, problems, found


def _read_columns(
    parse: pd.DataFrame, found: dict, mapping: Mapping, col: Collector, info: dict
) -> tuple[pd.DataFrame, dict[str, pd.Series] | None]:
    """The canonical columns parsed from the records, and the date cells that are not dates
    (None when the export's dates cannot be trusted at all)."""
    out = pd.DataFrame({ROW: parse[ROW]})
    ids = strip(coalesce(parse, found["opportunity_id"]))
    out["opportunity_id"] = ids
    col.add("empty opportunity id", "opportunity_id", is_blank(ids))
    read_text_columns(parse, out, found, mapping, col)
    unreadable = read_date_columns(parse, out, found, mapping, col, info)
    read_amount_column(parse, out, found, mapping, col)
    read_probability_column(parse, out, found, col)
    derive_status(parse, out, found, mapping, col)
    return out, unreadable


def _settle_row_errors(
    out: pd.DataFrame,
    raw: pd.DataFrame | None,
    parse: pd.DataFrame | None,
    col: Collector,
    on_bad_rows: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that load, and the quarantine table of the rows that do not.

    Without errors every row loads. Errors fail the load unless ``on_bad_rows`` is ``"skip"``
    and leaving their rows out fixes every one of them; the skipped rows' errors then become
    warnings.
    """
    errors = errors_of(col.problems)
    if not errors:
        return out, pd.DataFrame()
    skippable = {id(p) for p in col.skippable}
    if on_bad_rows == "error" or any(id(p) not in skippable for p in errors):
        raise ExportError(col.problems)
    bad_rows = np.fromiter(col.bad_rows, dtype=np.int64, count=len(col.bad_rows))
    quarantine = _quarantine(out, raw, parse, col, bad_rows)
    frame = out.loc[~out[ROW].isin(bad_rows).to_numpy()]
    col.problems = (
        [p for p in col.problems if id(p) not in skippable]
        + [
            Problem(
                col.name,
                f"{len(quarantine)} rows skipped (--on-bad-rows skip); see the quarantine file",
                severity=WARNING,
            )
        ]
        + [Problem(p.file, p.reason, p.column, p.rows, WARNING, p.values) for p in col.skippable]
    )
    return frame, quarantine


def _quarantine(
    out: pd.DataFrame, raw: pd.DataFrame, parse: pd.DataFrame, col: Collector, bad_rows: np.ndarray
) -> pd.DataFrame:
    """The whole records of the rows with errors, each with its reasons and row number."""
    # a bad row repeated exactly is reported once as a duplicate, not quarantined twice
    kept = np.concatenate(
        [out[ROW].to_numpy(), raw.loc[~raw.index.isin(parse.index), ROW].to_numpy()]
    )
    bad = raw[ROW].isin(bad_rows) & raw[ROW].isin(kept)
    quarantine = (
        raw.loc[bad.to_numpy()]
        .drop(columns=[c for c in raw if c.startswith(LOOKUP_PREFIX) or c == BROKEN])
        .copy()
    )
    quarantine.insert(0, "reason", ["; ".join(col.bad_rows[int(r)]) for r in quarantine[ROW]])
    return quarantine.rename(columns={ROW: "row"}).reset_index(drop=True)


def _validated(frame: pd.DataFrame, col: Collector) -> pd.DataFrame:
    """``frame`` as the canonical table, checked against its schema."""
    canonical = conform_opportunities(frame)
    try:
        canonical = OPPORTUNITIES.validate(canonical, lazy=False)
    except Exception as exc:  # a gap in the checks above must still end as a named problem
        raise ExportError(
            [*col.problems, Problem(col.name, f"the loaded table breaks the contract: {exc}")]
        ) from None
    return conform_opportunities(canonical)


def _summarise(info: dict, canonical: pd.DataFrame, quarantine: pd.DataFrame) -> None:
    info["status_counts"] = canonical["status"].value_counts().to_dict()
    info["opportunities"] = len(canonical)
    info["quarantined"] = len(quarantine)
    info["stages"] = (
        canonical.groupby("stage", dropna=False)["status"].first().sort_index().to_dict()
    )
