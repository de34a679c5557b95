"""``pipeline-reports``: validate an export, run the monthly report set, make the sample.

Exit codes: 0 success (possibly with warnings), 2 bad input (export, mapping, parameters, a
file that cannot be read or written), 3 a report failed or the command failed unexpectedly, 4
reports carry warnings and ``--strict`` was given, 5 another run of the same period holds the lock,
130 stopped with Ctrl-C (143 by SIGTERM). Every argument is checked before any work: a bad one is
exit 2 with one line naming it. No command exits 1 or ends in a bare traceback: an unexpected failure is reported in one plain
sentence with the path of a log file holding the full traceback (for ``run``, ``error.log`` in the
run's failure folder under ``reports/.failed``; the published report set is left untouched).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline_models.contract.problems import ExportError
from pipeline_models.run.backtest import cmd_backtest

SUBCOMMANDS: dict = {}

EXIT_BAD_INPUT, EXIT_FAILED = 2, 3
"""Exit codes of bad input and of a failure (the run's own codes: :mod:`.run.options`)."""


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--preset",
        help="built-in column mapping: canonical, salesforce, hubspot, pipedrive, maven",
    )
    group.add_argument(
        "--mapping", type=Path, help="mapping YAML file (source column -> canonical)"
    )
    parser.add_argument(
        "--pipeline",
        metavar="NAME",
        help="the CRM pipeline to read, where the export holds several (HubSpot, Pipedrive)",
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from pipeline_models.io import load_export, load_leads
    from pipeline_models.io.history import carries_stage_dates
    from pipeline_models.io.lead_dates import reconcile_lead_dates
    from pipeline_models.io.leads import check_links

    try:
        result = load_export(
            args.export,
            preset=args.preset,
            mapping=args.mapping,
            pipeline=args.pipeline,
            on_bad_rows=args.on_bad_rows,
        )
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return 2
    info = result.info
    frame = result.frame
    print(f"{info['file']}: {info['opportunities']} opportunities ({info['mapping']} mapping)")
    print(
        f"  read as {info.get('format')}"
        + (
            f", encoding {info['encoding']}, delimiter {info['delimiter']!r}"
            if info.get("format") == "csv"
            else ""
        )
    )
    if info.get("layout"):
        print(f"  layout recognised: {info['layout']}")
    if info.get("pipeline"):
        left_out = info.get("other_pipelines_left_out")
        print(
            f"  pipeline: {info['pipeline']}"
            + (f" ({left_out} deals of other pipelines left out)" if left_out else "")
        )
    for canonical, source in info.get("columns", {}).items():
        print(f"  {canonical:<17} <- {source}")
    for lookup in info.get("lookups", []):
        print(f"  joined {lookup}")
    for column, how in info.get("dates", {}).items():
        print(f"  {column} read as {how}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(info["status_counts"].items()))
    print(f"  status: {counts}")
    print("  stages: " + ", ".join(f"{s} ({st})" for s, st in info.get("stages", {}).items()))
    if frame["created_date"].notna().any():
        print(
            f"  created {frame['created_date'].min().date()} .. {frame['created_date'].max().date()}"
        )
    if args.leads:
        try:
            leads = load_leads(args.leads)
        except ExportError as exc:
            print(exc, file=sys.stderr)
            return 2
        print(f"{args.leads}: {leads.info['leads']} leads, {leads.info['converted']} converted")
        result.problems.extend(leads.problems)
        result.problems.extend(check_links(leads.frame, frame, str(args.leads)))
        found = reconcile_lead_dates(frame, leads.frame, str(args.leads))[2:]
        print(f"  deals from a lead dated at: {found[0].convention.replace('_', ' ')}")
        result.problems.extend(found[1])
    logged = args.history or (args.export if carries_stage_dates(args.export) else None)
    if logged and _validate_history(logged, result) is not None:
        return 2
    if result.problems:
        print(f"{len(result.problems)} warning(s):")
        for problem in result.problems:
            print(f"  - {problem}")
    else:
        print("no problems found")
    if args.quarantine and not result.quarantine.empty:
        from .present.files import write_csv

        write_csv(result.quarantine, args.quarantine)
        print(f"{len(result.quarantine)} skipped rows written to {args.quarantine}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline_models.run.arguments import run_options
    from pipeline_models.run.runner import RunError, run

    try:
        result = run(run_options(args))
    except RunError as exc:
        print(f"pipeline-reports run: {exc}", file=sys.stderr)
        return exc.exit_code
    return result.exit_code


def cmd_prepare(args: argparse.Namespace) -> int:
    """Validate an export into a run folder and fit everything, for notebooks opened by hand."""
    from .run.budget import read_budget
    from .run.catalog import Catalog
    from .run.fitstep import fit_all, report_settings
    from .run.inputs import Sources, prepare
    from .run.notebooks import default_settings
    from .run.options import RunError

    sources = Sources(
        export=args.export,
        period=args.period,
        preset=args.preset,
        mapping=args.mapping,
        pipeline=args.pipeline,
        leads=args.leads,
        history=args.history,
        previous_export=args.previous_export,
        on_bad_rows=args.on_bad_rows,
        random_seed=args.seed,
        cache_dir=args.cache,
        fit=read_budget(args.fit),
    )
    settings = report_settings(default_settings())
    try:
        prepared = prepare(sources, args.out, settings)
    except RunError as exc:
        print(f"pipeline-reports prepare: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"Prepared {args.out} ({len(prepared.result.frame)} opportunities)")
    if not args.no_fit:
        fit_all(Catalog.open(args.out, say=None), print, {})
    print(f"Open the notebooks with run_dir = {Path(args.out).resolve()}")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipeline_models.data.synthetic import sample_command
    from pipeline_models.data.synthetic.config import SampleConfig
    from pipeline_models.data.synthetic.snapshots import month_ends

    try:
        month_ends(SampleConfig(), args.months)
    except ValueError as exc:
        print(f"pipeline-reports sample: --months {args.months!r}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return sample_command(args.out, seed=args.seed, months=args.months) or 0


def cmd_params(args: argparse.Namespace) -> int:
    from pipeline_models.run.layout import notebooks_dir
    from pipeline_models.run.runner import list_notebooks, notebook_parameters

    folder = args.notebooks or notebooks_dir()
    notebooks = list_notebooks(folder) if Path(folder).is_dir() else []
    if not notebooks:
        print(f"pipeline-reports params: no report notebooks in {folder}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for notebook in notebooks:
        print(notebook.stem)
        for name, spec in notebook_parameters(notebook).items():
            print(
                f"  {name}: {spec.get('inferred_type_name')} = {spec.get('default')}"
                f"  # {spec.get('help') or ''}"
            )
    return 0


def _validate_history(path: Path, result) -> int | None:
    """Check a stage history and say what was understood; 2 when it is bad, else None (its
    warnings join the export's)."""
    from pipeline_models.io import load_history

    try:
        history = load_history(path)
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return 2
    info = history.info
    frame = history.frame
    print(
        f"{path}: {len(frame)} changes of {frame['opportunity_id'].nunique()} deals "
        f"({info.get('layout_title') or info.get('layout') or 'stage history'})"
    )
    unknown = int((~frame["opportunity_id"].isin(result.frame["opportunity_id"])).sum())
    if unknown:
        print(f"  {unknown} changes name deals that are not in the export: they are not used")
    result.problems.extend(history.problems)
    return None


def _add_history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help="stage history: one row per change of a deal (Salesforce OpportunityHistory or "
        "OpportunityFieldHistory, a HubSpot deals export with 'Date entered' columns, or "
        "opportunity_id, changed_date, stage, amount, close_date, probability)",
    )


def _add_validate(sub) -> None:
    p = sub.add_parser("validate", help="check an export and print what was understood")
    p.add_argument("--export", type=Path, required=True, help="CSV, Parquet or Excel export")
    p.add_argument("--leads", type=Path, help="leads file to check as well")
    _add_history_option(p)
    _add_mapping_options(p)
    p.add_argument("--on-bad-rows", choices=["error", "skip"], default="error")
    p.add_argument(
        "--quarantine", type=Path, help="with --on-bad-rows skip: write skipped rows here"
    )
    p.set_defaults(func=cmd_validate)


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="produce the report set for one period")
    p.add_argument("--export", type=Path, required=True)
    p.add_argument("--period", required=True, help="month the export describes, YYYY-MM")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports folder")
    p.add_argument("--data", type=Path, default=Path("data"), help="data folder (raw archive)")
    p.add_argument("--leads", type=Path, help="leads file")
    _add_history_option(p)
    p.add_argument(
        "--previous-export",
        type=Path,
        help="last period's export (default: the one archived for last period)",
    )
    _add_mapping_options(p)
    from pipeline_models.run.arguments import add_run_arguments

    add_run_arguments(p)
    p.set_defaults(func=cmd_run)


def _add_prepare(sub) -> None:
    p = sub.add_parser(
        "prepare", help="validate an export into a run folder and fit, for notebooks opened by hand"
    )
    p.add_argument("--export", type=Path, required=True)
    p.add_argument("--period", required=True, help="month the export describes, YYYY-MM")
    p.add_argument("--out", type=Path, required=True, help="run folder to write")
    p.add_argument("--leads", type=Path, help="leads file")
    _add_history_option(p)
    p.add_argument("--previous-export", type=Path, help="last period's export")
    _add_mapping_options(p)
    p.add_argument("--on-bad-rows", choices=["error", "skip"], default="error")
    p.add_argument("--seed", type=int, default=20261, help="random seed of every fit and report")
    p.add_argument("--cache", type=Path, default=Path("data/fits"), help="fit cache folder")
    p.add_argument("--no-fit", action="store_true", help="leave the fits to the first notebook")
    from pipeline_models.run.arguments import add_fit_argument

    add_fit_argument(p)
    p.set_defaults(func=cmd_prepare)


def _add_sample(sub) -> None:
    p = sub.add_parser("sample", help="write the synthetic sample exports")
    p.add_argument("--out", type=Path, default=Path("data/sample"))
    p.add_argument("--seed", type=int, default=20261)
    p.add_argument("--months", default="3", help="how many month-end snapshots, or 'all'")
    p.set_defaults(func=cmd_sample)


def _add_backtest(sub) -> None:
    p = sub.add_parser("backtest", help="score forecasts from past origins against what happened")
    p.add_argument("--export", type=Path, required=True, help="the latest export")
    _add_mapping_options(p)
    p.add_argument("--origins", required=True, help="YYYY-MM..YYYY-MM or a comma list of months")
    p.add_argument("--horizons", default="1,2", help="months ahead, comma separated")
    p.add_argument("--out", type=Path, default=Path("forecasts.csv"))
    p.add_argument(
        "--snapshots",
        type=Path,
        help="folder of archived monthly exports named *_YYYY-MM.csv, used as the "
        "pipeline at each origin instead of rebuilding it",
    )
    p.add_argument(
        "--leads",
        type=Path,
        help="the leads file: each origin then sees the leads open then (a lead converted later "
        "is unconverted), and the deals they bring enter the forecast",
    )
    p.add_argument("--seed", type=int, default=20261)
    p.add_argument("--on-bad-rows", choices=["error", "skip"], default="error")
    p.add_argument(
        "--no-deal-score",
        action="store_true",
        help="forecast each open deal by its product and age only, as without a deal score "
        "(default: each origin's open deals are scored by a deal score fitted on the deals "
        "closed by then, as in the report)",
    )
    p.set_defaults(func=cmd_backtest)


def cmd_run_many(args: argparse.Namespace) -> int:
    from pipeline_models.run.many import ManyOptions, run_many

    result = run_many(
        ManyOptions(
            units=args.units,
            period=args.period,
            reports_dir=args.out,
            data_dir=args.data,
            workers=args.workers,
            scheduler=args.scheduler,
            random_seed=args.seed,
            force=args.force,
        )
    )
    return result.exit_code


def _add_run_many(sub) -> None:
    p = sub.add_parser(
        "run-many",
        help="run every business unit's set of one period on Dask, with a company roll-up",
        description="Run every unit listed in the units file exactly as 'pipeline-reports run', "
        "as tasks on Dask distributed, then add their forecasts up into a company roll-up "
        "(<out>/company/<period>/index.html). Exit 0: every unit published or unchanged; "
        "6: some units failed; 3: every unit failed; 2: a bad units file or option.",
    )
    p.add_argument("--units", type=Path, required=True, help="units file (YAML), see docs")
    p.add_argument("--period", required=True, help="month the exports describe, YYYY-MM")
    p.add_argument("--out", type=Path, default=Path("reports"), help="reports folder")
    p.add_argument("--data", type=Path, default=Path("data"), help="data folder (raw archive)")
    p.add_argument(
        "--workers", type=int, help="worker processes of the local cluster (default: the cores)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="an existing Dask scheduler, e.g. tcp://host:8786 (its workers need the package "
        "installed and the same paths)",
    )
    p.add_argument("--seed", type=int, default=20261, help="seed of units without their own")
    p.add_argument("--force", action="store_true", help="run every unit again, changed or not")
    p.set_defaults(func=cmd_run_many)


def _add_params(sub) -> None:
    p = sub.add_parser("params", help="list every report's parameters")
    p.add_argument("--notebooks", type=Path)
    p.set_defaults(func=cmd_params)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeline-reports",
        description="Turn a CRM pipeline export into the monthly report set.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_validate(sub)
    _add_run(sub)
    _add_prepare(sub)
    _add_sample(sub)
    _add_backtest(sub)
    _add_params(sub)
    _add_run_many(sub)
    for name, (help_text, configure) in SUBCOMMANDS.items():
        configure(sub.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipeline_models.run.arguments import check_command
    from pipeline_models.run.console import Interrupted, guard_stdout, interruptible
    from pipeline_models.run.options import RunError

    guard_stdout()  # a reader that stops early never stops the command
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with interruptible():
            check_command(args.command, args)
            return int(args.func(args) or 0)
    except RunError as exc:
        print(f"pipeline-reports {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        kept = (
            "; the previous report set is untouched"
            if args.command == "run"
            else "; every unit's runs were stopped and their published sets are untouched"
            if args.command == "run-many"
            else ""
        )
        print(f"pipeline-reports {args.command}: interrupted{kept}", file=sys.stderr)
        return code
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"pipeline-reports {args.command}: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # one plain sentence and a log, never a bare traceback
        return _unexpected(args.command, exc)


def _unexpected(command: str, exc: Exception) -> int:
    """Say an unexpected failure in one sentence, with the traceback in a log file; exit 3."""
    import tempfile
    import time
    import traceback

    from pipeline_models.run.runner import plain_reason

    log = (
        Path(tempfile.gettempdir())
        / f"pipeline-reports-{command}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    )
    try:
        log.write_text("".join(traceback.format_exception(exc)))
        where = f" The full error is in {log}"
    except OSError:
        where = ""
    print(
        f"pipeline-reports {command} failed unexpectedly ({plain_reason(exc)}).{where}",
        file=sys.stderr,
    )
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "build_parser", "json"]
