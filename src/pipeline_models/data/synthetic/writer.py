"""The sample on disk: monthly CSV exports, the truth history and the ground truth.

A sample folder holds ``exports/opportunities_YYYY-MM.csv`` and ``exports/leads_YYYY-MM.csv`` per
month-end snapshot, ``ground_truth.json`` and ``history.parquet`` (every deal with its whole
truth), and ``exports/stage_history_YYYY-MM.csv``, the stage history the CRM had logged by then
(:func:`~.stage_log.history_snapshot`, no random draw; ``stage_history=False`` leaves it out and
every other file stays the same byte for byte). The same configuration and seed write
byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from .config import DEFAULT_SEED, SampleConfig
from .history import SimulatedHistory, simulate_history
from .snapshots import month_ends, snapshot
from .stage_log import history_snapshot

GROUND_TRUTH_FILE = "ground_truth.json"
HISTORY_FILE = "history.parquet"
EXPORTS_DIR = "exports"


def write_sample(
    out_dir: str | Path,
    config: SampleConfig | None = None,
    random_seed: int = DEFAULT_SEED,
    months: str | int | Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    stage_history: bool = True,
) -> list[Path]:
    """Simulate a pipeline and write its monthly exports, the truth history and the ground truth.

    Parameters
    ----------
    out_dir
        Folder to write into (created if needed).
    config
        The generator's configuration; ``None`` means :class:`SampleConfig` defaults.
    random_seed
        Seed of every random draw.
    months
        Which month-end snapshots to write (see :func:`month_ends`); default the last three.
    progress
        Called with a short message per step; nothing is printed otherwise.
    stage_history
        Also write ``exports/stage_history_YYYY-MM.csv`` per snapshot.

    Returns
    -------
    list of pathlib.Path
        Written files: ``exports/opportunities_YYYY-MM.csv`` and ``exports/leads_YYYY-MM.csv`` (and
        with ``stage_history`` ``exports/stage_history_YYYY-MM.csv``) per snapshot, then ``ground_truth.json`` and ``history.parquet``.
    """
    config = SampleConfig() if config is None else config
    say = progress or (lambda message: None)
    out = Path(out_dir)
    exports = out / EXPORTS_DIR
    exports.mkdir(parents=True, exist_ok=True)
    history = simulate_history(config, random_seed)
    say(f"simulated {len(history.deals)} opportunities and {len(history.leads)} leads")
    written: list[Path] = []
    for as_of in month_ends(config, months):
        paths, n_opportunities = _write_snapshot(history, as_of, exports, stage_history)
        written += paths
        say(f"wrote the {as_of:%Y-%m} snapshot ({n_opportunities} opportunities)")
    truth_path = out / GROUND_TRUTH_FILE
    truth_path.write_text(json.dumps(history.truth, indent=2) + "\n", encoding="utf-8")
    written.append(truth_path)
    history_path = out / HISTORY_FILE
    history.deals.to_parquet(history_path, index=False)
    written.append(history_path)
    say(f"wrote {truth_path.name} and {history_path.name}")
    return written


def _write_snapshot(
    history: SimulatedHistory, as_of: date, exports: Path, stage_history: bool = False
) -> tuple[list[Path], int]:
    """Write the opportunities (and, with leads, the leads; with ``stage_history``, the stage
    history) export of ``as_of``; return the written paths and the number of opportunities."""
    opportunities, leads = snapshot(history, as_of)
    label = f"{as_of:%Y-%m}"
    path = exports / f"opportunities_{label}.csv"
    _write_csv(opportunities, path)
    written = [path]
    if history.config.with_leads:
        lead_path = exports / f"leads_{label}.csv"
        _write_csv(leads, lead_path)
        written.append(lead_path)
    if stage_history:
        log_path = exports / f"stage_history_{label}.csv"
        history_snapshot(history, as_of).to_csv(
            log_path,
            index=False,
            lineterminator="\n",
            float_format="%.2f",
            date_format="%Y-%m-%d",
            encoding="utf-8",
        )
        written.append(log_path)
    return written, len(opportunities)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.2f", encoding="utf-8")


def sample_command(
    out_dir: str | Path,
    seed: int = DEFAULT_SEED,
    months: str | int | Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
    stage_history: bool = True,
) -> int:
    """Entry point for ``pipeline-reports sample``: write the bundled sample and return 0.

    ``months`` takes what a command line gives: ``None``, ``"all"``, a count such as ``"3"``, or
    ``"2026-08,2026-09"``. ``stage_history`` adds each month's stage history. Each written file is
    reported through ``progress``.
    """
    say = progress or (lambda message: None)
    paths = write_sample(
        out_dir, random_seed=seed, months=months, progress=progress, stage_history=stage_history
    )
    for path in paths:
        say(f"  {path}")
    return 0


__all__ = ["EXPORTS_DIR", "GROUND_TRUTH_FILE", "HISTORY_FILE", "sample_command", "write_sample"]
