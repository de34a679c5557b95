"""run-many: the units file, each unit's command, failure isolation, skipping what is unchanged,
exit codes and the company roll-up's sums, with a stand-in for each unit's run on a real local
Dask cluster (the real runs: tests/run/test_run_many_units.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from reader_checks import page_faults

from pipeline_models.cli import build_parser
from pipeline_models.run.many import (
    EXIT_SOME_FAILED,
    ManyOptions,
    failure_reason,
    run_many,
)
from pipeline_models.run.options import RunError
from pipeline_models.run.units import read_units

# the stand-in runner below travels to the Dask workers by value (they cannot import tests/)
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PERIOD = "2026-10"
WINDOWS = ["next 1 month (2026-11)", "quarter 2026Q4 (incl. won so far)"]


def _units_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "units.yml"
    path.write_text(text)
    return path


def test_units_file_reads_defaults_and_relative_paths(tmp_path):
    path = _units_file(
        tmp_path,
        """
defaults:
  preset: salesforce
  seed: 7
  params: {backtest_months: 6}
units:
  - name: emea
    export: exports/emea.csv
    leads: exports/emea_leads.csv
    params: {target_revenue: 5000000}
  - name: apac
    export: /abs/apac.csv
    preset: hubspot
    seed: 9
    fit: {draws: 2000}
""",
    )
    emea, apac = read_units(path)
    assert emea.export == tmp_path / "exports" / "emea.csv"
    assert emea.leads == tmp_path / "exports" / "emea_leads.csv"
    assert emea.preset == "salesforce" and emea.seed == 7
    assert emea.params == {"backtest_months": "6", "target_revenue": "5000000"}
    assert apac.export == Path("/abs/apac.csv") and apac.preset == "hubspot" and apac.seed == 9
    assert apac.fit == {"draws": "2000"} and apac.params == {"backtest_months": "6"}


def test_each_units_command_is_a_run_the_cli_accepts(tmp_path):
    path = _units_file(
        tmp_path,
        "units:\n  - name: emea\n    export: e.csv\n    leads: l.csv\n    pipeline: New business\n"
        "    on_bad_rows: skip\n    params: {target_revenue: 5}\n    fit: {draws: 900}\n",
    )
    (unit,) = read_units(path)
    args = build_parser().parse_args(unit.command(PERIOD, tmp_path / "r", tmp_path / "d", 11))
    assert args.command == "run" and args.period == PERIOD
    assert args.export == tmp_path / "e.csv" and args.leads == tmp_path / "l.csv"
    assert args.out == tmp_path / "r" / "emea" and args.data == tmp_path / "d" / "emea"
    assert args.cache == tmp_path / "d" / "emea" / "fits"
    assert args.pipeline == "New business" and args.on_bad_rows == "skip"
    assert args.param == ["target_revenue=5"] and args.fit == ["draws=900"] and args.seed == 11


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("units: [", "not valid YAML at line"),
        ("units: []", "'units:' is empty"),
        ("unit: []", "unknown top-level key(s) unit"),
        ("units:\n  - name: a\n    exprt: x.csv\n", "unit 1 ('a'): key 'exprt' is not known"),
        ("units:\n  - name: a\n", "unit 1 ('a'): 'export' is required"),
        ("units:\n  - name: a b\n    export: x\n", "'name' must be 1-64 letters"),
        ("units:\n  - name: Company\n    export: x\n", "kept for the roll-up"),
        ("units:\n  - {name: a, export: x}\n  - {name: A, export: y}\n", "used twice"),
        ("units:\n  - {name: a, export: x, seed: -1}\n", "'seed' must be a whole number"),
        ("units:\n  - {name: a, export: x, params: [1]}\n", "'params' must map names"),
        ("units:\n  - [a]\n", "unit 1 must be a mapping"),
    ],
)
def test_a_bad_units_file_is_refused_naming_file_unit_and_key(tmp_path, text, says):
    path = _units_file(tmp_path, text)
    with pytest.raises(RunError) as caught:
        read_units(path)
    assert caught.value.exit_code == 2
    assert str(path) in str(caught.value) and says in str(caught.value)


def test_failure_reason_is_the_runs_own_message(tmp_path):
    log = tmp_path / "u.log"
    log.write_text(
        "Archiving x ...\npipeline-reports run: report(s) failed; the previous report set is "
        "untouched:\n  - forecast: ValueError: boom\n"
    )
    assert failure_reason(log, 3) == (
        "report(s) failed; the previous report set is untouched: - forecast: ValueError: boom"
    )
    log.write_text("Traceback ...\nMemoryError\n")
    assert failure_reason(log, 3) == "exit 3: MemoryError"
    assert failure_reason(log, -9) == "its run was stopped by signal 9"


# ------------------------------------------------------------------ a stand-in for each run


def stand_in_run(name: str, args: list[str], log: str, environ: dict | None = None) -> dict:
    """Publish a minimal unit set as ``pipeline-reports run`` would (its index, manifest and
    the forecast's draws), or fail as a bad export does, for a unit named ``broken*``."""
    import time

    from pipeline_models.run.many import _worker_address

    parsed = build_parser().parse_args(args)
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    if name.startswith("broken"):
        Path(log).write_text(f"pipeline-reports run: --export {parsed.export}: no such file\n")
        reason = failure_reason(Path(log), 2)
        return {
            "exit_code": 2,
            "started": time.time(),
            "seconds": 0.1,
            "worker": "w",
            "reason": reason,
        }
    folder = Path(parsed.out) / parsed.period
    forecast = folder / "files" / "forecast"
    forecast.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(parsed.seed)
    n = 500
    first = rng.gamma(4.0, 250.0, n)
    draws = pd.DataFrame(
        {
            "window": np.repeat(WINDOWS, n),
            "months": np.repeat([1, 2], n),
            "draw": np.tile(np.arange(n), 2),
            "count": np.concatenate([first / 100, first / 100 + rng.poisson(5, n)]),
            "revenue": np.concatenate([first, first + rng.gamma(3.0, 300.0, n)]),
        }
    )
    draws.to_csv(forecast / "draws.csv", index=False)
    figures = {"currency": "USD", "target_revenue": 2000.0}
    (forecast / "summary.json").write_text(json.dumps({"figures": figures}))
    manifest = {
        "finished": "2026-11-01T06:00:00",
        "export": {"file": str(parsed.export), "sha256": "0" * 64},
        "reports": {"forecast": {"headline": [{"label": "revenue", "value": "1k"}]}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "index.html").write_text("<html></html>")
    Path(log).write_text("Published\n")
    started = time.time()
    return {
        "exit_code": 0,
        "started": started,
        "seconds": 0.2,
        "worker": _worker_address(),
        "reason": "",
    }


def _three_units(tmp_path: Path) -> ManyOptions:
    for name in ("north", "south"):
        (tmp_path / f"{name}.csv").write_text("stand-in export\n")
    path = _units_file(
        tmp_path,
        "units:\n  - {name: north, export: north.csv, seed: 1}\n"
        "  - {name: south, export: south.csv, seed: 2}\n"
        "  - {name: broken, export: missing.csv}\n",
    )
    return ManyOptions(
        units=path,
        period=PERIOD,
        reports_dir=tmp_path / "reports",
        data_dir=tmp_path / "data",
        workers=2,
    )


def test_a_failed_unit_stops_only_itself_and_the_rollup_adds_up_the_others(tmp_path):
    options = _three_units(tmp_path)
    said = []
    result = run_many(options, said.append, runner=stand_in_run)
    status = {o.name: o.status for o in result.outcomes}
    assert status == {"north": "published", "south": "published", "broken": "failed"}
    assert result.exit_code == EXIT_SOME_FAILED
    broken = next(o for o in result.outcomes if o.name == "broken")
    assert "missing.csv: no such file" in broken.reason
    assert any("broken: FAILED" in line and "1 failed" in line for line in said)
    assert result.company == tmp_path / "reports" / "company" / PERIOD
    rollup = pd.read_csv(result.company / "files" / "rollup.csv")
    units = [
        pd.read_csv(tmp_path / "reports" / u / PERIOD / "files" / "forecast" / "draws.csv")
        for u in ("north", "south")
    ]
    for metric in ("count", "revenue"):
        expected = sum(u.groupby("window", sort=False)[metric].mean() for u in units)
        got = rollup.set_index("window")[f"{metric}_expected"]
        np.testing.assert_allclose(got.loc[WINDOWS], expected.loc[WINDOWS], rtol=1e-9)
    page = (result.company / "index.html").read_text()
    assert "broken" in page and "missing.csv: no such file" in page
    assert "Not in the company totals" in page
    assert page_faults(page) == []
    manifest = json.loads((result.company / "manifest.json").read_text())
    assert manifest["rollup"]["units"] == ["north", "south"]
    assert manifest["rollup"]["dependence"]["source"] == "assumed"


def test_a_rerun_redoes_only_what_failed_or_changed(tmp_path):
    options = _three_units(tmp_path)
    run_many(options, None, runner=stand_in_run)
    again = run_many(options, None, runner=stand_in_run)
    assert {o.name: o.status for o in again.outcomes} == {
        "north": "skipped",
        "south": "skipped",
        "broken": "failed",
    }
    (tmp_path / "south.csv").write_text("a changed export\n")
    changed = run_many(options, None, runner=stand_in_run)
    assert {o.name: o.status for o in changed.outcomes}["south"] == "published"
    assert {o.name: o.status for o in changed.outcomes}["north"] == "skipped"
    forced = run_many(ManyOptions(**{**options.__dict__, "force": True}), None, runner=stand_in_run)
    assert {o.name: o.status for o in forced.outcomes}["north"] == "published"


def test_every_unit_failing_exits_3_and_nothing_failing_exits_0(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    broken = _units_file(tmp_path, "units:\n  - {name: broken-a, export: a.csv}\n")
    options = ManyOptions(broken, PERIOD, tmp_path / "r", tmp_path / "d", workers=1)
    assert run_many(options, None, runner=stand_in_run).exit_code == 3
    fine = tmp_path / "fine.yml"
    fine.write_text("units:\n  - {name: a, export: a.csv}\n")
    options = ManyOptions(fine, PERIOD, tmp_path / "r", tmp_path / "d", workers=1)
    result = run_many(options, None, runner=stand_in_run)
    assert result.exit_code == 0
    assert (
        json.loads((result.company / "manifest.json").read_text())["rollup"]["dependence"]["source"]
        == "single unit"
    )


def test_options_are_checked_before_any_unit_runs(tmp_path):
    path = _units_file(tmp_path, "units:\n  - {name: a, export: a.csv}\n")
    with pytest.raises(RunError, match="--period"):
        run_many(ManyOptions(path, "2026-13", tmp_path / "r", tmp_path / "d"), None)
    with pytest.raises(RunError, match="give one"):
        run_many(ManyOptions(path, PERIOD, tmp_path / "r", tmp_path / "d", 2, "tcp://x:1"), None)
    with pytest.raises(RunError, match="--workers"):
        run_many(ManyOptions(path, PERIOD, tmp_path / "r", tmp_path / "d", workers=0), None)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_units_run_on_an_existing_cluster_given_by_its_address(tmp_path):
    from distributed import LocalCluster

    options = _three_units(tmp_path)
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        options = ManyOptions(
            **{**options.__dict__, "workers": None, "scheduler": cluster.scheduler_address}
        )
        said = []
        result = run_many(options, said.append, runner=stand_in_run)
    assert said[0] == f"Running 3 unit(s) on the cluster at {cluster.scheduler_address}"
    assert {o.status for o in result.outcomes} == {"published", "failed"}
    assert result.exit_code == EXIT_SOME_FAILED


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr("pipeline_models.run.many.CONNECT_TIMEOUT", "2s")
    options = _three_units(tmp_path)
    options = ManyOptions(**{**options.__dict__, "workers": None, "scheduler": "tcp://127.0.0.1:9"})
    with pytest.raises(RunError, match="--scheduler tcp://127.0.0.1:9: cannot reach it"):
        run_many(options, None, runner=stand_in_run)


def test_a_units_run_gets_the_commands_own_thread_settings(tmp_path, monkeypatch):
    """A Dask worker's process runs with OMP_NUM_THREADS=1 and the like; the unit's run gets
    the values the command had (here: unset, and a value of its own)."""
    from pipeline_models.run.many import command_environ, run_unit

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    environ = command_environ()
    assert environ["OMP_NUM_THREADS"] is None and environ["MKL_NUM_THREADS"] == "3"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as in a worker's process
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
    monkeypatch.setattr(
        "pipeline_models.run.many.ENTRY",
        "import os; print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))",
    )
    done = run_unit("a", [], str(tmp_path / "a.log"), environ=environ)
    assert done["exit_code"] == 0
    assert (tmp_path / "a.log").read_text().strip() == "None 3"


def environ_run(name: str, args: list[str], log: str, environ: dict | None = None) -> dict:
    """A stand-in run that publishes and writes the settings it was given into its log."""
    done = stand_in_run(name, args, log, environ)
    Path(log).write_text(json.dumps(environ))
    return done


def test_units_run_with_the_settings_the_command_had_before_its_cluster(tmp_path, monkeypatch):
    """A local cluster's start sets OMP_NUM_THREADS=1, a malloc trim threshold and a hash seed
    in the process that starts it; the units' runs get the values from before, and so does the
    command once its cluster has closed."""
    import os

    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "123")
    options = _three_units(tmp_path)
    result = run_many(options, None, runner=environ_run)
    north = next(o for o in result.outcomes if o.name == "north")
    given = json.loads(Path(north.log).read_text())
    assert given["OMP_NUM_THREADS"] is None and given["MALLOC_TRIM_THRESHOLD_"] is None
    assert given["PYTHONHASHSEED"] == "123"
    assert "OMP_NUM_THREADS" not in os.environ and os.environ["PYTHONHASHSEED"] == "123"
