"""The company roll-up of a run-many: one page over every unit's set, and the company's forecast
added up from the units' predictive draws (:mod:`~pipeline_models.analyses.rollup`).

Written under ``<out>/company/<period>`` and published as a unit's set is (a staging folder moved
into ``.runs`` and the link switched in one step), so a failed roll-up never damages an earlier
one. A unit whose run failed this time but which has a published set of the period from an
earlier run is added up from that set, and the page says so; a unit without any set is listed
as missing from the totals.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipeline_models import __version__
from pipeline_models.analyses.rollup.summary import UnitForecast, company_forecast
from pipeline_models.present.files import write_csv
from pipeline_models.run.layout import MANIFEST_FILE, SUMMARY_FILE, run_paths
from pipeline_models.run.publish import publish
from pipeline_models.run.units import COMPANY

FORECAST_FILES = Path("files") / "forecast"


def unit_set(reports: Path, name: str, period: str) -> Path | None:
    """The unit's published set of ``period`` (its resolved folder), if there is one."""
    folder = Path(reports) / name / period
    return folder.resolve() if (folder / "index.html").exists() else None


def read_unit(name: str, folder: Path) -> tuple[UnitForecast, dict]:
    """The unit's forecast (draws, currency, target, track record) and its manifest."""
    manifest = _json(folder / MANIFEST_FILE)
    forecast = folder / FORECAST_FILES
    summary = _json(forecast / SUMMARY_FILE)
    figures = summary.get("figures", {})
    draws = _csv(forecast / "draws.csv")
    track = _csv(forecast / "backtest.csv")
    return (
        UnitForecast(
            name=name,
            draws=draws if draws is not None else pd.DataFrame(),
            currency=str(figures.get("currency") or ""),
            target_revenue=float(figures.get("target_revenue") or 0.0),
            track=track,
        ),
        manifest,
    )


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return None


def build_company(period, reports: Path, units, outcomes, random_seed: int, say) -> Path:
    """Build, write and publish the company's page and files for ``period``; the link's path."""
    from pipeline_models.run.company_page import render_company

    started = datetime.now(UTC)
    paths = run_paths(Path(reports) / COMPANY, Path(reports) / COMPANY, period, started)
    by_name = {o.name: o for o in outcomes}
    rows, forecasts, manifests = [], [], {}
    for unit in units:
        outcome = by_name[unit.name]
        folder = unit_set(reports, unit.name, period)
        row = _unit_row(unit.name, outcome, folder)
        if folder is not None:
            forecast, manifests[unit.name] = read_unit(unit.name, folder)
            forecasts.append(forecast)
            row.update(_unit_figures(manifests[unit.name]))
        rows.append(row)
    say(f"Adding up {len(forecasts)} unit(s) into the company roll-up ...")
    rollup = company_forecast(forecasts, random_seed) if forecasts else None
    staging = paths.staging
    (staging / "files").mkdir(parents=True, exist_ok=True)
    manifest = _manifest(period, started, rows, rollup, random_seed)
    _write_files(staging / "files", rows, rollup)
    render_company(staging / "index.html", manifest, rows, rollup)
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str))
    link = publish(paths)
    say(f"Published {link}/index.html")
    return link


def _unit_row(name: str, outcome, folder: Path | None) -> dict:
    """One unit's line of the page: its status this run, and where its set is."""
    status = outcome.status
    if status == "failed" and folder is not None:
        status = "failed, earlier set kept"
    return {
        "unit": name,
        "status": status,
        "reason": outcome.reason,
        "seconds": round(outcome.seconds, 1),
        "worker": outcome.worker,
        "in_total": folder is not None,
    }


def _unit_figures(manifest: dict) -> dict:
    """A unit's forecast headline and the time its set was made, from its manifest."""
    forecast = manifest.get("reports", {}).get("forecast", {})
    return {
        "headline": forecast.get("headline", []),
        "warnings": sum(len(r.get("warnings", [])) for r in manifest.get("reports", {}).values()),
        "made": str(manifest.get("finished", ""))[:16].replace("T", " "),
        "export": Path(manifest.get("export", {}).get("file", "")).name,
        "export_sha256": manifest.get("export", {}).get("sha256", ""),
    }


def _manifest(period, started, rows, rollup, random_seed) -> dict:
    out = {
        "period": period,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "random_seed": random_seed,
        "version": __version__,
        "units": rows,
    }
    if rollup is not None:
        out["rollup"] = {
            "units": rollup.units,
            "excluded": rollup.excluded,
            "dependence": asdict(rollup.dependence),
            "currency": rollup.currency,
            "revenue_not_added": rollup.revenue_reason,
            "target_revenue": rollup.target_revenue,
            "windows": rollup.table.to_dict(orient="records"),
        }
    return out


def _write_files(folder: Path, rows: list[dict], rollup) -> None:
    units = pd.DataFrame(rows).drop(columns=["headline", "href"], errors="ignore")
    write_csv(units, folder / "units.csv")
    if rollup is None:
        return
    write_csv(rollup.table, folder / "rollup.csv")
    if rollup.backtest is not None and not rollup.backtest.empty:
        from pipeline_models.analyses.forecast.track import write_forecasts

        write_forecasts(rollup.backtest, folder / "backtest.csv")
        write_csv(rollup.scores, folder / "backtest_scores.csv")


__all__ = ["build_company", "read_unit", "unit_set"]
