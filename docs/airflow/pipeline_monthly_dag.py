r"""Run every business unit's monthly report set with Apache Airflow (2.9 or later, or 3.x).

Copy this file into the Airflow dags folder (``[core] dags_folder``, by default
``$AIRFLOW_HOME/dags``). It defines the DAG ``pipeline_workbench_monthly``: at 06:00 UTC on the
2nd of each month it runs ``pipeline-reports run-many`` for the month that just ended, in the
project folder, as this cron line would::

    0 6 2 * * cd /srv/pipeline-workbench && .venv/bin/pipeline-reports run-many --units units.yml --period $(date -d 'last month' +\%Y-\%m) --out reports/ >> logs/run-many.log 2>&1

The machine that runs the task (an Airflow worker) needs the project folder with the package
installed in its ``.venv`` (``make venv``), read access to the units file and the exports it
names, and write access to the reports and data folders. Airflow and the project keep apart: the
task calls the project's own ``.venv``, and Airflow's environment does not need the project.

Each place is an Airflow Variable if set, else an environment variable of the Airflow processes,
else the default (the units file and the reports folder are relative to the project folder
unless absolute):

    project folder   Variable pipeline_project   PIPELINE_PROJECT   /srv/pipeline-workbench
    units file       Variable pipeline_units     PIPELINE_UNITS     units.yml
    reports folder   Variable pipeline_reports   PIPELINE_REPORTS   reports/
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta, timezone

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG
try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2 and 3.0
    from airflow.timetables.interval import CronDataIntervalTimetable
try:
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2 without the standard provider
    from airflow.operators.bash import BashOperator

DEFAULTS = {"project": "/srv/pipeline-workbench", "units": "units.yml", "reports": "reports/"}
"""Where things are when neither a Variable nor an environment variable says otherwise."""

PLACES = {
    name: os.environ.get(f"PIPELINE_{name.upper()}", default) for name, default in DEFAULTS.items()
}

# The period is the month that just ended. The timetable gives each run the data interval between
# two ticks of the cron expression: the run made on 2 December at 06:00 covers 2 November 06:00
# to 2 December 06:00, so its data_interval_start (and logical_date) lies in November and
# data_interval_start.strftime('%Y-%m') is the November period. The timetable is named rather than
# given as the string "0 6 2 * *" because Airflow 3 runs a cron string as a plain trigger whose
# data interval starts at the tick itself, 2 December, which would name the wrong month.
# A manual trigger covers the last whole interval before it, so it too runs the month just ended;
# to run an earlier month again, clear that month's run.
#
# Exit codes of run-many: 0 every unit done (or skipped as unchanged), 6 some units failed,
# 3 every unit failed, 2 a bad units file or option. Every code but 0 fails the task, so Airflow
# retries once and then alerts (no exit code leaves the task skipped). With 6 the report sets
# that the other units published stay published, and the retry skips them (their inputs are
# unchanged since), so it runs the failed units again.
COMMAND = (
    ".venv/bin/pipeline-reports run-many"
    " --units {{ var.value.get('pipeline_units', params.units) | quote }}"
    " --period {{ data_interval_start.strftime('%Y-%m') }}"
    " --out {{ var.value.get('pipeline_reports', params.reports) | quote }}"
)
"""The task's command, a Jinja template rendered by Airflow; it runs in ``WORKDIR``."""

WORKDIR = "{{ var.value.get('pipeline_project', params.project) }}"
"""The project folder, where the command runs (a Jinja template as well)."""

with DAG(
    dag_id="pipeline_workbench_monthly",
    description="Monthly report set of every business unit and the company roll-up",
    schedule=CronDataIntervalTimetable("0 6 2 * *", timezone="UTC"),
    # timezone.utc rather than datetime.UTC: Airflow's own Python may be older than 3.11
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),  # noqa: UP017
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=30)},
    params=PLACES,
    user_defined_filters={"quote": shlex.quote},
    tags=["pipeline-workbench"],
) as dag:
    BashOperator(
        task_id="run_many",
        bash_command=COMMAND,
        cwd=WORKDIR,
        skip_on_exit_code=None,
    )
