"""Preparing a run folder: validate the exports once, check the period, write the named datasets.

:func:`prepare` is the one place where an export becomes the run's canonical tables. It reads and
validates the opportunities export (and the leads, the stage history and last period's export,
when given), refuses
a period the export does not describe, writes each table as marked Parquet, hashes it once, and
writes ``catalog.json`` last (a folder without it is not a prepared run).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_models.contract.period import month_end, period_mismatch
from pipeline_models.contract.problems import WARNING, ExportError, Problem
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data.asof import period_end_view
from pipeline_models.io.canonical import (
    write_canonical,
    write_canonical_history,
    write_canonical_leads,
)
from pipeline_models.io.opportunities import LoadResult, load_export
from pipeline_models.run.catalog import FORMAT, Catalog
from pipeline_models.run.layout import (
    CANONICAL_FILE,
    CATALOG_FILE,
    HISTORY_FILE,
    LEADS_FILE,
    PREVIOUS_FILE,
    VALIDATION_FILE,
    sha256_file,
)
from pipeline_models.run.options import EXIT_BAD_INPUT, RunError


@dataclass
class Sources:
    """The files a run reads and how to read them."""

    export: Path
    period: str
    preset: str | None = None
    mapping: Path | None = None
    pipeline: str | None = None
    leads: Path | None = None
    history: Path | None = None
    previous_export: Path | None = None
    on_bad_rows: str = "error"
    random_seed: int = 20261
    cache_dir: Path = Path("data/fits")
    fit: dict = field(default_factory=dict)
    """Sampler budget of the hierarchical fits (``--fit``): kept in the catalog for every report."""


@dataclass
class Prepared:
    """A prepared run folder: its catalog and what validation found."""

    catalog: Catalog
    result: LoadResult
    leads: LoadResult | None
    history: LoadResult | None = None


Checked = tuple[LoadResult, LoadResult | None, LoadResult | None]
"""What validation gives: the export, the leads and the stage history (``None`` when not given)."""


def validate(sources: Sources) -> Checked:
    """Read and validate the export, the leads and the stage history; refuse a period the export
    does not describe.

    Raises
    ------
    RunError
        With exit code 2 and every problem listed (file, column, rows, reason).
    """
    from pipeline_models.io.history import carries_stage_dates, load_history
    from pipeline_models.io.lead_dates import reconcile_lead_dates
    from pipeline_models.io.leads import check_links, load_leads

    period_end = month_end(sources.period)
    try:
        result = load_export(
            sources.export,
            preset=sources.preset,
            mapping=sources.mapping,
            pipeline=sources.pipeline,
            on_bad_rows=sources.on_bad_rows,
            as_of=max(period_end, pd.Timestamp.now().normalize()),
        )
        leads = load_leads(sources.leads) if sources.leads else None
        # a HubSpot deals export with "Date entered" columns is its own stage history
        logged = sources.history or (
            sources.export if carries_stage_dates(sources.export) else None
        )
        history = load_history(logged) if logged else None
        if history is not None and logged == sources.export:
            history.info["from_export"] = True
    except ExportError as exc:
        raise RunError(str(exc), EXIT_BAD_INPUT) from None
    mismatch = period_mismatch(result.frame, sources.period)
    if mismatch:
        raise RunError(f"{sources.export}: --period {sources.period}: {mismatch}", EXIT_BAD_INPUT)
    _as_of_period_end(result, sources, period_end)
    if leads is not None:
        leads.problems.extend(check_links(leads.frame, result.frame, str(sources.leads)))
        result.frame, leads.frame, found, warnings = reconcile_lead_dates(
            result.frame, leads.frame, str(sources.leads)
        )
        leads.problems.extend(warnings)
        leads.info["date_convention"] = found.as_dict()
    if history is not None:
        _history_as_of_period_end(history, result.frame, str(logged), period_end)
    # the side files' warnings are read where the export's are (each names its own file)
    for side in (leads, history):
        if side is not None:
            result.problems.extend(side.warnings)
    return result, leads, history


def _history_as_of_period_end(
    history: LoadResult, frame: pd.DataFrame, name: str, period_end: pd.Timestamp
) -> None:
    """Keep the history's changes up to the period's end, and say what does not match the export
    (changes of deals it does not hold)."""
    table = history.frame
    later = table["changed_date"] > period_end + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    if later.any():
        history.frame = table.loc[~later.to_numpy()].reset_index(drop=True)
        history.info["after_period"] = int(later.sum())
        history.problems.append(
            Problem(
                file=name,
                reason=f"{int(later.sum())} change(s) dated after the period ended "
                f"({period_end.date()}) are left out",
                column="changed_date",
                severity=WARNING,
            )
        )
    ids = history.frame["opportunity_id"]
    unknown = ~ids.isin(frame["opportunity_id"])
    if unknown.any():
        deals = int(ids[unknown].nunique())
        history.info["deals_not_in_export"] = deals
        history.problems.append(
            Problem(
                file=name,
                reason=f"{deals} deal(s) of the history are not in the export "
                "(deleted, or of another pipeline): their changes are not used",
                column="opportunity_id",
                severity=WARNING,
                values=tuple(ids[unknown].drop_duplicates().head(5).astype(str)),
            )
        )
        history.frame = history.frame.loc[~unknown.to_numpy()].reset_index(drop=True)


def _as_of_period_end(result: LoadResult, sources: Sources, period_end: pd.Timestamp) -> None:
    """Rebuild an export taken after its period as it stood at the period's end, and say so."""
    frame, later = period_end_view(result.frame, period_end)
    if not (later["created_after"] or later["closed_after"]):
        return
    result.frame = conform_opportunities(frame)
    result.info["after_period"] = {**later, "period_end": str(period_end.date())}
    result.problems.append(
        Problem(
            file=str(sources.export),
            reason=after_period_sentence(later, period_end),
            severity=WARNING,
        )
    )


def after_period_sentence(later: dict, period_end: pd.Timestamp | str) -> str:
    """What the rebuild as of the period's end left out, in one sentence."""
    return (
        f"the export holds events after the period ended ({pd.Timestamp(period_end).date()}): "
        f"the reports show it as it stood that day, leaving out {later['created_after']} deal(s) "
        f"created later and counting {later['closed_after']} deal(s) closed later as still open"
    )


def load_previous(sources: Sources) -> pd.DataFrame | None:
    """Last period's export as a canonical table (bad rows skipped: it only gives context)."""
    if sources.previous_export is None:
        return None
    try:
        previous = load_export(
            sources.previous_export,
            preset=sources.preset,
            mapping=sources.mapping,
            pipeline=sources.pipeline,
            on_bad_rows="skip",
        )
    except ExportError as exc:
        raise RunError(
            f"previous export {sources.previous_export}: {exc}", EXIT_BAD_INPUT
        ) from None
    return previous.frame


def prepare(
    sources: Sources,
    folder: Path,
    settings: dict | None = None,
    checked: Checked | None = None,
) -> Prepared:
    """Validate ``sources`` (unless ``checked`` holds the result) and write the run folder.

    ``settings``: report parameters the fit step uses, by report (kept in the catalog).
    """
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not (folder / CATALOG_FILE).exists():
        # only a run folder is replaced: anything else there may be somebody's files
        raise RunError(
            f"{folder} holds files and is not a prepared run folder: choose an empty or new folder",
            EXIT_BAD_INPUT,
        )
    result, leads, history = checked if checked is not None else validate(sources)
    previous = load_previous(sources)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    datasets = {
        "opportunities": _write(write_canonical, result.frame, folder / CANONICAL_FILE),
        "leads": None
        if leads is None
        else _write(write_canonical_leads, leads.frame, folder / LEADS_FILE),
        "history": None
        if history is None
        else _write(write_canonical_history, history.frame, folder / HISTORY_FILE),
        "previous_opportunities": None
        if previous is None
        else _write(write_canonical, previous, folder / PREVIOUS_FILE),
    }
    validation = {
        "opportunities": len(result.frame),
        "info": result.info,
        "problems": [p.to_dict() for p in result.problems],
        "quarantined_rows": len(result.quarantine),
        "leads": leads.info if leads is not None else None,
        "history": None
        if history is None
        else {
            "info": history.info,
            "problems": [p.to_dict() for p in history.problems],
            "changes": len(history.frame),
        },
    }
    (folder / VALIDATION_FILE).write_text(json.dumps(validation, indent=2, default=str))
    datasets["validation"] = {
        "file": VALIDATION_FILE,
        "sha256": sha256_file(folder / VALIDATION_FILE),
    }
    meta = {
        "format": FORMAT,
        "period": sources.period,
        "random_seed": int(sources.random_seed),
        "cache_dir": str(Path(sources.cache_dir).resolve()),
        "export": str(sources.export),
        "datasets": datasets,
        "settings": settings or {},
        "fit": dict(sources.fit),
    }
    tmp = folder / f"{CATALOG_FILE}.tmp"
    tmp.write_text(json.dumps(meta, indent=2, default=str))
    tmp.replace(folder / CATALOG_FILE)
    return Prepared(Catalog(folder.resolve(), meta), result, leads, history)


def _write(writer, frame: pd.DataFrame, path: Path) -> dict[str, str]:
    writer(frame, path)
    return {"file": path.name, "sha256": sha256_file(path)}


__all__ = ["Checked", "Prepared", "Sources", "load_previous", "prepare", "validate"]
