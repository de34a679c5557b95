"""Loading a leads file (canonical names or a Salesforce lead report) into the leads table.

The runner's own leads table (marked Parquet, :func:`~pipeline_models.io.canonical.
write_canonical_leads`) is read as it is; any other file is read as text and checked.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline_models.contract.problems import WARNING, ExportError, Problem, errors_of
from pipeline_models.contract.schema import LEADS, REQUIRED_LEAD_COLUMNS

from .canonical import is_runner_table, read_canonical_leads
from .cells import BROKEN, RECORD_COLUMNS, is_blank
from .collector import Collector, values_of
from .dates import parse_dates
from .presets import LEAD_MAPPING
from .readers import read_table
from .result import LoadResult


def load_leads(path: str | Path) -> LoadResult:
    """Load a leads file (canonical names or a Salesforce lead report) into the leads table.

    Raises
    ------
    ExportError
        Listing every problem found, each naming file, column, rows and reason.
    """
    path = Path(path)
    name = str(path)
    if is_runner_table(path, "leads"):
        frame = read_canonical_leads(path)
        return LoadResult(frame, [], _summary({"format": "parquet", "file": name}, frame))
    raw, info, problems = read_table(path)
    frame = _renamed(raw, name)
    col = Collector(name, frame)
    col.problems.extend(problems)
    out = _read_leads(frame, col)
    if errors_of(col.problems):
        raise ExportError(col.problems)
    out = LEADS.validate(out.reset_index(drop=True))
    info["file"] = name
    return LoadResult(out, col.problems, _summary(info, out))


def check_links(leads: pd.DataFrame, opportunities: pd.DataFrame, name: str) -> list[Problem]:
    """Warnings about how the leads fit the deals they name: conversions before the lead was
    created, and deals not in the export (conversions dated away from their deal's creation are
    :func:`~pipeline_models.io.lead_dates.reconcile_lead_dates`'s).

    Parameters
    ----------
    leads, opportunities
        The canonical leads and opportunities tables.
    name
        The leads file, named in each warning.
    """
    problems = []
    converted = leads["converted_date"]
    early = (converted < leads["created_date"]).fillna(False)
    if early.any():
        problems.append(
            Problem(
                name,
                f"{int(early.sum())} lead(s) converted before they were created: their lag from "
                "lead to deal is counted as 0 days",
                "converted_date",
                severity=WARNING,
                values=tuple(leads.loc[early, "lead_id"].head(5).astype(str)),
            )
        )
    linked = leads["opportunity_id"].notna()
    known = leads["opportunity_id"].isin(opportunities["opportunity_id"])
    if (linked & ~known).any():
        problems.append(
            Problem(
                name,
                f"{int((linked & ~known).sum())} lead(s) name a deal that is not in the export",
                "opportunity_id",
                severity=WARNING,
                values=tuple(leads.loc[linked & ~known, "opportunity_id"].head(5).astype(str)),
            )
        )
    return problems


def _summary(info: dict, leads: pd.DataFrame) -> dict:
    return {**info, "leads": len(leads), "converted": int(leads["opportunity_id"].notna().sum())}


def _renamed(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    """``raw`` with its columns named as in the leads table; a required one missing is an error."""
    rename = {}
    for column in raw.columns:
        if column in RECORD_COLUMNS:
            continue
        target = LEAD_MAPPING.get(column) or LEAD_MAPPING.get(column.strip().lower())
        if target:
            rename[column] = target
    frame = raw.rename(columns=rename)
    missing = [c for c in REQUIRED_LEAD_COLUMNS if c not in frame]
    if missing:
        raise ExportError(
            [Problem(name, f"required leads column '{c}' is missing", column=c) for c in missing]
        )
    return frame


def _read_leads(frame: pd.DataFrame, col: Collector) -> pd.DataFrame:
    """The leads columns parsed from ``frame``, with every problem reported to ``col``."""
    if BROKEN in frame:
        col.add(
            "record has a different number of fields than the header: truncated or broken",
            None,
            frame[BROKEN].notna(),
        )
    out = pd.DataFrame(index=frame.index)
    out["lead_id"] = frame["lead_id"].astype("string").str.strip()
    col.add("empty lead_id", "lead_id", is_blank(out["lead_id"]))
    col.add("lead_id repeats", "lead_id", out["lead_id"].duplicated(keep=False))
    for c in ("created_date", "converted_date"):
        if c in frame:
            out[c], bad, _ = parse_dates(frame[c])
            col.add("not a date", c, bad, values_of(frame[c], bad))
        else:
            out[c] = pd.NaT
    col.add(
        "empty created_date",
        "created_date",
        out["created_date"].isna() & ~is_blank(out["lead_id"]),
    )
    for c in ("source", "opportunity_id"):
        out[c] = frame[c].astype("string").str.strip() if c in frame else pd.NA
        out[c] = out[c].mask(is_blank(out[c]), pd.NA)
    return out
