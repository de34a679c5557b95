"""A run given the CRM's stage history: archived with its hash, a dataset of the run folder, and
the patterns report reads stage conversion, time in stage and slippage from it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipeline_models.cli import main


@pytest.mark.slow
def test_the_history_is_archived_and_read_by_the_patterns_report(sample_run):
    manifest = sample_run.manifest
    archived = Path(manifest["export"]["history"])
    assert archived.exists() and archived.name.endswith("stage_history_2026-10.csv")
    digest = hashlib.sha256(archived.read_bytes()).hexdigest()
    assert manifest["export"]["history_sha256"] == digest
    assert manifest["parameters"]["datasets"]["history"]["file"] == "history.parquet"
    html = (sample_run.published / "patterns.html").read_text()
    assert (
        "come from the CRM&#x27;s stage history" in html
        or "come from the CRM's stage history" in html
    )
    assert "Time in stage, measured on every visit" in html
    assert "pushed at least once" in html
    assert "between the two exports" not in html


def test_validate_reads_a_history_beside_the_export(tmp_path, capsys):
    export = tmp_path / "deals.csv"
    export.write_text(
        "opportunity_id,created_date,close_date,stage,status,amount\n"
        "D1,2025-01-02,2025-03-01,Closed Won,won,100\n"
        "D2,2025-01-05,2025-06-30,Proposal,open,50\n"
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "opportunity_id,changed_date,stage,close_date\n"
        "D1,2025-01-02,Qualification,2025-02-01\n"
        "D1,2025-02-01,,2025-03-01\n"
        "D2,2025-01-05,Qualification,\n"
        "D2,2025-02-10,Proposal,2025-06-30\n"
        "D9,2025-02-10,Proposal,\n"
    )
    assert main(["validate", "--export", str(export), "--history", str(history)]) == 0
    said = capsys.readouterr().out
    assert f"{history}: 5 changes of 3 deals" in said
    assert "1 changes name deals that are not in the export" in said


def test_a_bad_history_is_refused_with_every_problem_named(tmp_path, capsys):
    export = tmp_path / "deals.csv"
    export.write_text(
        "opportunity_id,created_date,close_date,stage,status,amount\n"
        "D1,2025-01-02,2025-03-01,Closed Won,won,100\n"
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "opportunity_id,changed_date,stage,amount\n"
        ",2025-01-02,Qualification,10\n"
        "D1,soon,Proposal,-5\n"
    )
    assert main(["validate", "--export", str(export), "--history", str(history)]) == 2
    said = capsys.readouterr().err
    assert str(history) in said
    assert "Traceback" not in said
    assert said.count("error") >= 3, said


def test_a_run_folder_holds_the_history_as_a_named_dataset(tmp_path):
    from pipeline_models.run.catalog import Catalog
    from pipeline_models.run.inputs import Sources, prepare

    export = tmp_path / "deals.csv"
    export.write_text(
        "opportunity_id,created_date,close_date,stage,status,amount\n"
        "D1,2026-09-02,2026-10-01,Closed Won,won,100\n"
        "D2,2026-09-05,2026-11-30,Proposal,open,50\n"
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "opportunity_id,changed_date,stage\n"
        "D1,2026-09-02,Qualification\n"
        "D2,2026-09-05,Qualification\n"
        "D2,2026-10-10,Proposal\n"
        "D2,2026-11-03,Negotiation\n"
    )
    prepared = prepare(
        Sources(export=export, period="2026-10", history=history, cache_dir=tmp_path / "fits"),
        tmp_path / "run",
    )
    catalog = Catalog.open(tmp_path / "run")
    table = catalog.history()
    # the change dated after the period's end is left out, and said so
    assert table["stage"].tolist() == ["Qualification", "Qualification", "Proposal"]
    assert any("after the period ended" in str(p) for p in prepared.result.warnings)
    validation = json.loads((tmp_path / "run" / "validation.json").read_text())
    assert validation["history"]["changes"] == 3


def test_a_hubspot_deals_export_with_stage_dates_is_its_own_history(tmp_path, capsys):
    from pipeline_models.run.inputs import Sources, validate

    fixture = Path(__file__).resolve().parents[1] / "data" / "history" / "hubspot_deals_wide.csv"
    result, _, history = validate(
        Sources(export=fixture, period="2025-04", preset="hubspot", cache_dir=tmp_path)
    )
    assert history is not None and history.info["from_export"]
    assert set(history.frame["opportunity_id"]) <= set(result.frame["opportunity_id"])
    assert history.frame["stage"].notna().all()
    assert main(["validate", "--export", str(fixture), "--preset", "hubspot"]) == 0
    assert "changes of" in capsys.readouterr().out
