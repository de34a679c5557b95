"""A partial run (``--only``): its reports published into the period's set, the others kept.

A partial run still publishes a whole set: the reports it ran, and every other report of the set
published before it, copied with its page and files, its headline and its manifest entry (marked
with the run that made it). That is sound only when both runs read the same data with the same
seed and sampler budget, so a partial run over a set made from other data (another export,
preset, leads or history), another seed or another sampler budget (``--fit``) is refused (exit 2)
before any model is fitted or report executed, saying how to rerun every report or to write one
report apart. Without a published set, a partial run publishes its reports alone.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from pipeline_models.run.budget import effective_budget
from pipeline_models.run.layout import MANIFEST_FILE, RunPaths
from pipeline_models.run.options import EXIT_BAD_INPUT, RunError

if TYPE_CHECKING:
    from pipeline_models.run.runner import RunState


def published_manifest(paths: RunPaths) -> dict | None:
    """The manifest of the period's published set, or None when there is none."""
    path = paths.published / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _differences(previous: dict, manifest: dict) -> list[str]:
    """What the published set was made from that this run does not share, in words."""
    said = []
    before, now = previous.get("parameters", {}), manifest["parameters"]
    for name, dataset in now["datasets"].items():
        old = (before.get("datasets") or {}).get(name)
        if (old or {}).get("sha256") != (dataset or {}).get("sha256"):
            said.append(f"other {name.replace('_', ' ')}")
    if previous.get("random_seed") != manifest["random_seed"]:
        said.append(f"seed {previous.get('random_seed')} (this run: {manifest['random_seed']})")
    # a set made before budgets were recorded was fitted with the models' default budget
    budget, ours = (side.get("fit") or effective_budget({}) for side in (before, now))
    if budget != ours:
        said.append(f"sampler budget {_words(budget)} (this run: {_words(ours)})")
    return said


def _words(budget: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(budget.items()))


def check_partial(state: RunState) -> None:
    """Refuse (exit 2) a partial run that the published set cannot take; the staged run and
    the exports it archived are then removed."""
    if not state.options.only:
        return
    previous = published_manifest(state.paths)
    if previous is None:
        return
    differs = _differences(previous, state.manifest)
    if not differs:
        return
    shutil.rmtree(state.paths.staging, ignore_errors=True)
    only = " ".join(state.options.only)
    raise RunError(
        f"--only {only}: the published set of {state.paths.period} was made from "
        f"{', '.join(differs)}, so this run's reports cannot join it; run every report (without "
        f"--only), or write these reports apart with --out ANOTHER_FOLDER",
        EXIT_BAD_INPUT,
    )


def carry_over(state: RunState) -> list[str]:
    """Copy every other report of the published set into the staged run, with its manifest
    entry, in the set's order; return their names (none for a full run)."""
    previous = published_manifest(state.paths) if state.options.only else None
    if previous is None:
        return []
    source, staging = state.paths.published.resolve(), state.paths.staging
    ran = state.manifest["reports"]
    reports, carried = {}, []
    for name, entry in previous.get("reports", {}).items():
        if name in ran:
            reports[name] = ran[name]
            continue
        page = source / f"{name}.html"
        if entry.get("status") != "ok" or not page.is_file():
            continue
        shutil.copy2(page, staging / page.name)
        files = source / "files" / name
        if files.is_dir() and not files.is_symlink():
            shutil.copytree(files, state.paths.report_files(name), symlinks=True)
        parameters = dict(entry.get("parameters", {}))
        # the same data: the carried report now belongs to this run's folder
        parameters["run_dir"] = str(state.paths.work.resolve())
        parameters["output_dir"] = str(state.paths.report_files(name).resolve())
        reports[name] = {
            **entry,
            "parameters": parameters,
            "from_run": entry.get("from_run", previous.get("run_id")),
        }
        carried.append(name)
    for name, entry in ran.items():
        reports.setdefault(name, entry)
    state.manifest["reports"] = reports
    state.manifest["carried_over"] = carried
    return carried


__all__ = ["carry_over", "check_partial", "published_manifest"]
