"""What a command is asked, checked before any work: months, seeds, counts, files and folders.

Every check raises :class:`~pipeline_models.run.options.RunError` (exit 2) with one plain line
naming the option, so a bad argument is refused before anything is archived, validated or fitted.
Paths are checked as they will be used: a folder that is a file, or one that cannot be created or
written, is refused here rather than half way through a run.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline_models.contract.period import PERIOD_PATTERN
from pipeline_models.run.budget import check_budget, read_budget
from pipeline_models.run.layout import resolve_inside
from pipeline_models.run.options import RunError

SEED_LIMIT = 2**32
"""Seeds are what numpy's generators take: whole numbers from 0 below 2**32."""

NAME_MAX = 255
"""The longest file name (in bytes) the usual file systems allow."""


def check_period(period: str, option: str = "--period") -> str:
    """A month written ``YYYY-MM``, nothing before or after it (not even a line end)."""
    if not PERIOD_PATTERN.fullmatch(str(period)):
        raise RunError(f"{option} {period!r} is not a month written YYYY-MM")
    return period


def check_seed(seed: int, option: str = "--seed") -> int:
    """A random seed numpy accepts."""
    if not 0 <= int(seed) < SEED_LIMIT:
        raise RunError(f"{option} {seed}: a seed is a whole number from 0 to {SEED_LIMIT - 1}")
    return int(seed)


def check_count(value: int, option: str, least: int = 1) -> int:
    """A whole number of at least ``least`` (jobs, months, horizons)."""
    if int(value) < least:
        raise RunError(f"{option} {value}: must be at least {least}")
    return int(value)


def check_input_file(path: Path | str, option: str) -> Path:
    """A file that exists and can be read."""
    path = Path(path)
    if path.is_dir():
        raise RunError(f"{option} {path} is a folder, not a file")
    if path.exists() and not path.is_file():
        raise RunError(
            f"{option} {path} is not a regular file (a named pipe, socket or device): "
            "export it to a file first"
        )
    if not path.is_file():
        raise RunError(f"{option} {path} not found")
    if not os.access(path, os.R_OK):
        raise RunError(f"{option} {path} cannot be read")
    return path


def check_folder(path: Path | str, option: str) -> Path:
    """A folder that exists or can be created, and can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise RunError(f"{option} {path} is a file, not a folder")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise RunError(f"{option} {path} cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(f"{option} {path} cannot be written: {existing} is not writable")
    return path


def check_output_file(path: Path | str, option: str) -> Path:
    """A file that can be written: not a folder, in a folder that can be written."""
    path = Path(path)
    if path.is_dir():
        raise RunError(f"{option} {path} is a folder, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise RunError(f"{option} {path} cannot be written")
    check_folder(path.parent, option)
    return path


def check_name_length(path: Path | str, extra: int, option: str) -> Path:
    """A file name short enough to be archived: the archive adds ``extra`` bytes to it."""
    path = Path(path)
    size = len(os.fsencode(path.name))
    if size + extra > NAME_MAX:
        raise RunError(
            f"{option} {path.name[:40]}...: the file name is {size} bytes long; the archive "
            f"keeps names of at most {NAME_MAX - extra} bytes: rename the file"
        )
    return path


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``--param NAME=VALUE`` options as a dict; a malformed one is refused naming it."""
    params: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunError(f"--param {item!r}: write it as NAME=VALUE")
        if key in params:
            raise RunError(f"--param {key}: given twice")
        params[key] = value
    return params


INPUT_FILES = {
    "export": "--export",
    "leads": "--leads",
    "history": "--history",
    "mapping": "--mapping",
    "previous_export": "--previous-export",
}
"""Options naming a file a command reads, by their argparse name."""

INPUT_FOLDERS = {"snapshots": "--snapshots", "notebooks": "--notebooks"}
"""Options naming a folder a command reads."""

OUTPUT_FOLDERS = {
    "run": ("out", "data", "cache"),
    "prepare": ("out", "cache"),
    "sample": ("out",),
}
"""Per command, the options naming a folder it writes."""

OUTPUT_FILES = {"backtest": ("out",), "validate": ("quarantine",)}
"""Per command, the options naming a file it writes."""


def check_command(command: str, args) -> None:
    """The arguments every command shares, by name, before the command does anything: the files
    it reads, the folders and files it writes, its period, seed and number of jobs."""
    for name, option in INPUT_FILES.items():
        if getattr(args, name, None) is not None:
            check_input_file(getattr(args, name), option)
    for name, option in INPUT_FOLDERS.items():
        folder = getattr(args, name, None)
        if folder is not None and not Path(folder).is_dir():
            raise RunError(f"{option} {folder} is not a folder")
    for name in OUTPUT_FOLDERS.get(command, ()):
        if getattr(args, name, None) is not None:
            check_folder(getattr(args, name), "--" + name)
    for name in OUTPUT_FILES.get(command, ()):
        if getattr(args, name, None) is not None:
            check_output_file(getattr(args, name), "--" + name)
    if getattr(args, "period", None) is not None:
        check_period(args.period)
    if getattr(args, "seed", None) is not None:
        check_seed(args.seed)
    if getattr(args, "jobs", None) is not None:
        check_count(args.jobs, "--jobs")
    if getattr(args, "keep_failed", None) is not None:
        check_count(args.keep_failed, "--keep-failed")
    if getattr(args, "fit", None) is not None:
        read_budget(args.fit)


def add_run_arguments(parser) -> None:
    """The options of ``pipeline-reports run`` beyond its files and mapping: parameters, bad
    rows, strictness, seed, reports, root, cache, jobs and failed runs kept."""
    from pipeline_models.run.publish import KEEP_FAILED

    parser.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="report parameter, e.g. target_revenue=2000000 (repeatable)",
    )
    parser.add_argument(
        "--on-bad-rows",
        choices=["error", "skip"],
        default="error",
        help="skip: quarantine bad rows instead of failing",
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit 4 when any report carries a warning"
    )
    parser.add_argument("--seed", type=int, default=20261, help="random seed of every report")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="REPORT",
        help="run only these reports and publish them into the period's set, the other "
        "reports kept (refused when the set was made from other data or another seed)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="refuse any input or output path outside this folder (for schedulers)",
    )
    parser.add_argument("--cache", type=Path, help="fit cache folder (default data/fits)")
    add_fit_argument(parser)
    parser.add_argument("--jobs", type=int, default=1, help="reports executed side by side")
    parser.add_argument(
        "--keep-failed",
        type=int,
        default=KEEP_FAILED,
        metavar="N",
        help=f"failed runs kept per period under .failed, older ones deleted (default {KEEP_FAILED})",
    )


def add_fit_argument(parser) -> None:
    """``--fit NAME=VALUE``: the sampler budget of the win-rate, deal-size and cycle-time fits."""
    parser.add_argument(
        "--fit",
        action="append",
        metavar="NAME=VALUE",
        help="sampler budget of the win-rate, deal-size and cycle-time fits: draws=N, tune=N or "
        "target_accept=X, e.g. --fit draws=4000 --fit target_accept=0.99 (repeatable); a fit "
        "with another budget is another fit (default: the models' own, listed in the manifest)",
    )


def run_options(args):
    """The :class:`~pipeline_models.run.options.RunOptions` of a parsed ``run`` command."""
    from pipeline_models.run.options import RunOptions

    return RunOptions(
        export=args.export,
        period=args.period,
        reports_dir=args.out,
        data_dir=args.data,
        preset=args.preset,
        mapping=args.mapping,
        pipeline=args.pipeline,
        leads=args.leads,
        history=args.history,
        previous_export=args.previous_export,
        params=parse_params(args.param),
        on_bad_rows=args.on_bad_rows,
        strict=args.strict,
        random_seed=args.seed,
        only=tuple(args.only or ()),
        root=args.root,
        cache_dir=args.cache,
        jobs=args.jobs,
        keep_failed=args.keep_failed,
        fit=read_budget(args.fit),
    )


def check_run_options(options, paths) -> None:
    """Every option of a run, before anything is archived: the period, the seed, the number of
    jobs, each input file, each folder the run writes, and with ``--root`` that every one of
    them (symbolic links followed) lies inside the allowed folder.

    ``options`` is a :class:`~pipeline_models.run.options.RunOptions`, ``paths`` the run's
    :class:`~pipeline_models.run.layout.RunPaths`.
    """
    from pipeline_models.run.archive import NAME_EXTRA

    check_period(options.period)
    check_seed(options.random_seed)
    check_count(options.jobs, "--jobs")
    check_count(options.keep_failed, "--keep-failed")
    check_budget(options.fit)
    inputs = (
        (options.export, "--export", "export"),
        (options.leads, "--leads", "leads file"),
        (options.history, "--history", "stage history"),
        (options.mapping, "--mapping", "mapping file"),
        (options.previous_export, "--previous-export", "previous export"),
    )
    for path, option, what in inputs:
        if path is not None:
            resolve_inside(path, options.root, what)
            check_input_file(path, option)
    for path, option, _ in inputs[:3]:
        if path is not None:
            check_name_length(path, NAME_EXTRA, option)
    for side in _side_tables(options):
        resolve_inside(side, options.root, "side table")
        check_name_length(side, NAME_EXTRA, "side table")
    cache = Path(options.cache_dir or Path(options.data_dir) / "fits")
    for path, option, what in (
        (options.reports_dir, "--out", "reports folder"),
        (options.data_dir, "--data", "data folder"),
        (cache, "--cache", "fit cache folder"),
    ):
        resolve_inside(path, options.root, what)
        check_folder(path, option)
    for path, what in paths.written():
        resolve_inside(path, options.root, what)
        if what.endswith("folder"):
            check_folder(path, what)
        elif what == "lock file" and path.is_dir():
            raise RunError(f"{what} {path} is a folder, not a file")
    _check_cache(cache, options.root)
    check_free_disk(
        [options.export, options.leads, options.history, *_side_tables(options)],
        {"data folder": Path(options.data_dir), "reports folder": Path(options.reports_dir)},
    )


FREE_DISK_FACTOR = 3
"""Free disk a run needs, as a multiple of its input files' size: the archive holds a copy of
each, the run folder a validated table, and the staging folder the reports and their files."""

FREE_DISK_MARGIN = 200 * 2**20
"""Free disk a run needs beyond its inputs (200 MiB): fitted models, executed notebooks and
rendered pages, whatever the export's size."""


def check_free_disk(inputs: list, folders: dict[str, Path]) -> None:
    """Refuse a run that would fill the disk, before anything is archived: each folder's file
    system needs :data:`FREE_DISK_FACTOR` times the inputs' size plus :data:`FREE_DISK_MARGIN`.

    Raises
    ------
    RunError
        Exit 2, naming the folder, what is free and what the run needs.
    """
    import shutil

    size = sum(Path(p).stat().st_size for p in inputs if p is not None and Path(p).is_file())
    needed = FREE_DISK_FACTOR * size + FREE_DISK_MARGIN
    for what, folder in folders.items():
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is None:
            continue
        free = shutil.disk_usage(existing).free
        if free < needed:
            raise RunError(
                f"the {what} {folder} has {free / 2**20:,.0f} MiB free; this run needs about "
                f"{needed / 2**20:,.0f} MiB (its archive, run folder and reports): free some "
                "space or choose another folder"
            )


def _side_tables(options) -> list[Path]:
    """The side tables the run's mapping would join onto the export."""
    from pipeline_models.contract.problems import ExportError
    from pipeline_models.io.columns import side_tables
    from pipeline_models.io.presets import get_mapping

    try:
        mapping = get_mapping(options.preset, options.mapping, options.pipeline)
    except ExportError as exc:
        if len(exc.problems) == 1:  # one line: where and why
            problem = exc.problems[0]
            raise RunError(f"{problem.file}: {problem.reason}") from None
        raise RunError(str(exc)) from None
    return side_tables(mapping, options.export)


def _check_cache(cache: Path, root: Path | None) -> None:
    """The fit cache and the entries in it: with ``--root``, none may lead outside it."""
    if root is None or not cache.is_dir():
        return
    for folder in (cache, cache / "tables"):
        resolve_inside(folder, root, "fit cache folder")
        if folder.is_dir():
            for entry in folder.iterdir():
                if entry.is_symlink():
                    resolve_inside(entry, root, "fit cache entry")


__all__ = [
    "add_fit_argument",
    "add_run_arguments",
    "run_options",
    "check_command",
    "check_run_options",
    "NAME_MAX",
    "SEED_LIMIT",
    "check_count",
    "check_folder",
    "check_input_file",
    "check_name_length",
    "check_output_file",
    "check_period",
    "check_seed",
    "parse_params",
]
