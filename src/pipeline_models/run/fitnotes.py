"""Which fits and track records a run folder has made, and the words a notebook announces a first
fit with.

A run folder's ``fits.json`` notes each fit or track record its catalog obtained, with its place in
the fit cache. The run's fit step notes every one before any report, so a report finds them all
noted and announces nothing; a notebook opened on a new run folder announces each fit it has to
make (:meth:`pipeline_models.run.catalog.Catalog._making`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline_models.run.layout import FITS_FILE

FIT_WORDS = {
    "win_rate": ("the win-rate model", "a few seconds; a minute if it falls back to NUTS"),
    "revenue": ("the deal-size model", "a few seconds; a minute if it falls back to NUTS"),
    "cycle_time": ("the cycle-time model", "about ten seconds; a minute if it falls back to NUTS"),
    "forecaster": ("the forecaster", "a few seconds"),
    "lead_funnel": ("the lead funnel", "a few seconds"),
    "account_products": ("the account model", "a few seconds"),
    "deal_score": ("the deal score", "about a quarter of a minute"),
    "forecast": ("the forecast's track record", "up to a minute"),
    "leads": ("the lead requirement's track record", "up to a minute"),
}
"""How a notebook names each fit and track record, and how long a first fit of the bundled sample
takes on two cores (a larger export with more groups takes longer)."""


def fit_words(name: str) -> tuple[str, str]:
    """What ``fits.win_rate`` or ``backtests.forecast.6`` is called, and how long it takes."""
    kind = name.split(".")[1]
    return FIT_WORDS.get(kind, (kind.replace("_", " "), "a while"))


def made_fits(folder: Path) -> dict[str, dict]:
    """The fits and track records noted in a run folder's ``fits.json``, by name (a note made by
    another version of the package is not trusted: its fits may be keyed otherwise)."""
    from pipeline_models import __version__

    try:
        notes = json.loads((folder / FITS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(notes, dict) or notes.get("package_version") != __version__:
        return {}
    return dict(notes.get("fits") or {})


def still_made(note: dict | None) -> bool:
    """Whether a noted fit is still there (a track record too short to make has no file)."""
    return note is not None and (note.get("path") is None or Path(note["path"]).exists())


def note_fit(folder: Path, name: str, path: str | None) -> None:
    """Add ``name`` to the folder's ``fits.json`` (a folder that cannot be written keeps no note:
    the note only decides whether a first fit is announced)."""
    from pipeline_models import __version__

    made = {**made_fits(folder), name: {"path": path}}
    tmp = folder / f".{FITS_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps({"package_version": __version__, "fits": made}, indent=2))
        tmp.replace(folder / FITS_FILE)
    except OSError:
        tmp.unlink(missing_ok=True)


__all__ = ["FIT_WORDS", "fit_words", "made_fits", "note_fit", "still_made"]
