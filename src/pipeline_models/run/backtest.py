"""The ``backtest`` command: forecasts from past origins of an export (and its leads), scored
against what happened, beside the baselines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline_models.contract.problems import ExportError


def cmd_backtest(args: argparse.Namespace) -> int:
    from pipeline_models.analyses.forecast.honesty import has_crm_probability, limit_sentences
    from pipeline_models.analyses.forecast.tables import format_scores
    from pipeline_models.analyses.forecast.track import (
        archived_snapshots,
        backtest,
        score_table,
        write_forecasts,
    )
    from pipeline_models.data.asof import parse_origins
    from pipeline_models.io import load_export

    try:
        origins = parse_origins(args.origins)
        if not origins:
            raise ValueError("no month given")
    except ValueError as exc:
        print(f"pipeline-reports backtest: --origins {args.origins!r}: {exc}", file=sys.stderr)
        return 2
    try:
        horizons = tuple(int(h) for h in args.horizons.split(","))
        if min(horizons) < 1:
            raise ValueError("a horizon is a number of months from 1")
    except ValueError as exc:
        print(f"pipeline-reports backtest: --horizons {args.horizons!r}: {exc}", file=sys.stderr)
        return 2
    try:
        frame = load_export(
            args.export,
            preset=args.preset,
            mapping=args.mapping,
            pipeline=args.pipeline,
            on_bad_rows=args.on_bad_rows,
        ).frame
        snapshots = {
            month: load_export(
                path,
                preset=args.preset,
                mapping=args.mapping,
                pipeline=args.pipeline,
                on_bad_rows="skip",
            ).frame
            for month, path in archived_snapshots(args.snapshots).items()
        }
        leads = _backtest_leads(args.leads, frame)
    except ExportError as exc:
        print(exc, file=sys.stderr)
        return 2
    if leads is not None:
        frame, leads = leads
    print(f"Back-testing {len(origins)} origins, horizons {horizons} ...")
    table = backtest(
        frame,
        origins,
        horizons,
        random_seed=args.seed,
        snapshots=snapshots,
        progress=print,
        deal_score=not args.no_deal_score,
        leads=leads,
    )
    write_forecasts(table, args.out)
    print(f"Forecasts written to {args.out}")
    print(format_scores(score_table(table)))
    past = table.attrs.get("past_end", [])
    if past:
        windows = ", ".join(f"{origin} +{h} month{'s' * (h > 1)}" for origin, h in past)
        print(
            f"Not scored, as they end after the export's last recorded day "
            f"({table.attrs['data_end']}): {windows}"
        )
    scored_crm = "crm_weighted_pipeline" in set(table["model"])
    for sentence in limit_sentences(
        table.attrs.get("not_scored", {}), has_crm_probability(frame), scored_crm
    ):
        print(sentence)
    if leads is not None:
        _requirement_scores(frame, leads, origins, max(horizons), args)
    return 0


def _requirement_scores(frame, leads, origins, horizon: int, args: argparse.Namespace) -> None:
    """The lead requirement at each origin whose window the data covers: wins from what was in
    hand plus the leads actually generated, against what was won, and the leads it would have
    asked for to win what was won; written beside the forecasts (``*_leads.csv``)."""
    from pipeline_models.analyses.forecast.track import data_end
    from pipeline_models.analyses.lead_requirement.track import (
        backtest_requirement,
        coverage_table,
    )
    from pipeline_models.data.asof import window_end
    from pipeline_models.present.files import write_csv

    end = data_end(frame, leads)
    covered = [o for o in origins if window_end(o, horizon) <= end]
    if not covered:
        print(
            f"The lead requirement is not scored: no {horizon}-month window ends by {end.date()}."
        )
        return
    print(f"Lead requirement over {horizon} months at {len(covered)} origins ...")
    table = backtest_requirement(frame, leads, covered, horizon, random_seed=args.seed)
    if table.empty:
        for model, reason in table.attrs.get("not_scored", {}).items():
            print(f"Not scored: {model}, because {reason}.")
        return
    out = args.out.with_name(f"{args.out.stem}_leads{args.out.suffix or '.csv'}")
    write_csv(table, out)
    print(f"Lead requirement back-test written to {out}")
    print(coverage_table(table).round(3).to_string(index=False))
    needed = table.dropna(subset=["leads_for_actual"])
    ratio = (needed["leads_for_actual"] / needed["new_leads"].clip(lower=1)).median()
    print(
        f"Leads the requirement would have asked for to win what was won, against the leads "
        f"generated: median ratio {ratio:.2f} over {len(needed)} origins (1 is exact)."
    )


def _backtest_leads(path: Path | None, frame):
    """The leads file of a back-test with the export's deals dated as the workbench counts
    them: ``(frame, leads)``, or None without a file; its warnings are printed."""
    if path is None:
        return None
    from pipeline_models.io import load_leads
    from pipeline_models.io.lead_dates import reconcile_lead_dates
    from pipeline_models.io.leads import check_links

    loaded = load_leads(path)
    frame, leads, found, warnings = reconcile_lead_dates(frame, loaded.frame, str(path))
    print(
        f"{path}: {len(leads):,} leads, {int(leads['opportunity_id'].notna().sum()):,} converted; "
        f"deals from a lead dated at {found.convention.replace('_', ' ')}"
    )
    for problem in [*loaded.warnings, *check_links(leads, frame, str(path)), *warnings]:
        print(f"  {problem}")
    return frame, leads


__all__ = ["cmd_backtest"]
