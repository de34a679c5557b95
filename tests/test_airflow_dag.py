"""The Airflow example in docs/airflow: its command is one ``pipeline-reports`` accepts.

The first test reads the command from the DAG file without Airflow, renders it as Airflow would
for the run made on 2 December 2026 and parses it with the command-line parser. The second loads
the DAG with Airflow, where Airflow is installed.
"""

from __future__ import annotations

import ast
import os
import shlex
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import pytest

DAG_FILE = Path(__file__).resolve().parents[1] / "docs" / "airflow" / "pipeline_monthly_dag.py"


def constants(*names: str) -> dict:
    """The DAG file's module-level constants of these names, read without importing it."""
    tree = ast.parse(DAG_FILE.read_text(encoding="utf-8"))
    found = {
        target.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name) and target.id in names
    }
    assert sorted(found) == sorted(names), f"{DAG_FILE.name} lacks {set(names) - set(found)}"
    return found


class _Variables:
    """Airflow's ``var.value`` with no Variable set: every lookup gives its default."""

    @staticmethod
    def get(key: str, default: str) -> str:
        return default


def render(template: str, places: dict) -> str:
    """The template as Airflow renders it for the run covering November 2026."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters["quote"] = shlex.quote  # the DAG's user_defined_filters
    return env.from_string(template).render(
        data_interval_start=datetime(2026, 11, 1, tzinfo=UTC),
        var={"value": _Variables()},
        params=places,
    )


def test_the_command_runs_every_unit_for_the_month_before_the_run():
    from pipeline_models.cli import build_parser

    found = constants("COMMAND", "WORKDIR", "DEFAULTS")
    places = found["DEFAULTS"]  # no PIPELINE_* environment variable set
    command = render(found["COMMAND"], places)
    assert "--period 2026-11" in command
    assert render(found["WORKDIR"], places) == "/srv/pipeline-workbench"

    program, *argv = shlex.split(command)
    assert Path(program).name == "pipeline-reports"
    args = build_parser().parse_args(argv)
    assert args.command == "run-many"
    assert args.period == "2026-11"
    assert Path(args.units) == Path("units.yml")
    assert Path(args.out) == Path("reports")


def test_places_with_spaces_stay_one_argument():
    found = constants("COMMAND", "DEFAULTS")
    places = {**found["DEFAULTS"], "units": "/srv/units of 2026/units.yml"}
    argv = shlex.split(render(found["COMMAND"], places))
    assert argv[argv.index("--units") + 1] == "/srv/units of 2026/units.yml"


def _dag_bag(folder: Path):
    from airflow.models import DagBag

    try:
        return DagBag(dag_folder=str(folder), include_examples=False)
    except TypeError:  # newer Airflow 3 loads no examples into a folder's DagBag
        return DagBag(dag_folder=str(folder))


def test_airflow_loads_the_dag(tmp_path, monkeypatch):
    if "AIRFLOW_HOME" not in os.environ:
        monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    pytest.importorskip(
        "airflow", reason="Airflow is not installed: the DAG file is checked by its command only"
    )
    bag = _dag_bag(DAG_FILE.parent)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags.get("pipeline_workbench_monthly")  # from the file, not the database
    assert dag is not None, sorted(bag.dag_ids)
    # a data interval from one tick to the next, whose start lies in the month just ended
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    expression = getattr(dag.timetable, "expression", None)  # Airflow 3's task SDK
    assert (expression or dag.timetable.summary) == "0 6 2 * *"
    assert dag.catchup is False
    assert [task.task_id for task in dag.tasks] == ["run_many"]
    (task,) = dag.tasks
    found = constants("COMMAND", "WORKDIR")
    assert task.bash_command == found["COMMAND"]
    assert task.cwd == found["WORKDIR"]
    assert task.retries == 1
