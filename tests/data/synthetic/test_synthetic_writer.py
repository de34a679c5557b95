"""Tests of the sample on disk: the documented files, byte for byte the same for one seed."""

from __future__ import annotations

import json

import pandas as pd
from synthetic_cases import SEED, SMALL

from pipeline_models.contract import schema
from pipeline_models.data import synthetic


def test_same_seed_gives_byte_identical_files(tmp_path):
    first = synthetic.write_sample(tmp_path / "a", SMALL, random_seed=SEED, months=2)
    second = synthetic.write_sample(tmp_path / "b", SMALL, random_seed=SEED, months=2)
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_write_sample_writes_the_documented_files(tmp_path):
    messages: list[str] = []
    paths = synthetic.write_sample(tmp_path, SMALL, random_seed=SEED, progress=messages.append)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == [
        "exports/leads_2026-08.csv",
        "exports/leads_2026-09.csv",
        "exports/leads_2026-10.csv",
        "exports/opportunities_2026-08.csv",
        "exports/opportunities_2026-09.csv",
        "exports/opportunities_2026-10.csv",
        "exports/stage_history_2026-08.csv",
        "exports/stage_history_2026-09.csv",
        "exports/stage_history_2026-10.csv",
        "ground_truth.json",
        "history.parquet",
    ]
    assert messages
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    for key in ("config", "win", "amount", "cycle", "stages", "stall", "arrivals", "leads"):
        assert key in truth
    assert truth["config"]["n_opportunities"] == SMALL.n_opportunities
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert {"outcome", "close_date", "stalled", "entered_proposal"} <= set(history.columns)
    export = pd.read_csv(tmp_path / "exports/opportunities_2026-10.csv")
    assert list(export.columns) == [
        c for c in schema.OPPORTUNITY_COLUMNS if c not in schema.CRM_VIEW_COLUMNS
    ]
    assert len(export) == len(history)


def test_write_sample_all_months(tmp_path):
    paths = synthetic.write_sample(tmp_path, SMALL, random_seed=SEED, months="all")
    csvs = [p for p in paths if p.suffix == ".csv"]
    assert len(csvs) == 3 * 24  # opportunities, leads and stage history per month


def test_sample_command_prints_nothing(tmp_path, capsys):
    messages: list[str] = []
    status = synthetic.sample_command(tmp_path, 5, "2025-03", progress=messages.append)
    assert status == 0
    assert (tmp_path / "exports" / "opportunities_2025-03.csv").exists()
    assert any("ground_truth.json" in m for m in messages)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
