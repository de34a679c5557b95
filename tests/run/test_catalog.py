"""The run folder and its catalog: named datasets, digests taken once, clear errors."""

from __future__ import annotations

import json

import pytest
from tiny_runs import HEADER, ROWS

from pipeline_models.run.catalog import Catalog, CatalogError
from pipeline_models.run.inputs import Sources, prepare
from pipeline_models.run.layout import sha256_file


@pytest.fixture
def prepared(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")
    settings = {"forecast": {"backtest_months": 4}}
    sources = Sources(export=export, period="2025-03", random_seed=7, cache_dir=tmp_path / "fits")
    return prepare(sources, tmp_path / "run", settings), export


def test_a_prepared_folder_serves_its_datasets_by_name(prepared):
    result, export = prepared
    catalog = Catalog.open(result.catalog.folder)
    assert catalog.period == "2025-03" and catalog.random_seed == 7
    assert str(catalog.as_of.date()) == "2025-03-31"
    frame = catalog.opportunities()
    assert list(frame["opportunity_id"]) == ["A1", "A2", "A3"]
    assert catalog.opportunities() is frame  # read once per run
    assert catalog.leads() is None and catalog.previous_opportunities() is None
    assert catalog.validation()["opportunities"] == 3
    assert catalog.currency() == "USD"
    assert catalog.settings("forecast") == {"backtest_months": 4}
    # the digest recorded when the table was written is the file's
    assert catalog.digest("opportunities") == sha256_file(catalog.folder / "opportunities.parquet")
    assert export.read_text().startswith(HEADER)  # the export itself is never touched


def test_an_unprepared_or_outdated_folder_says_how_to_prepare_one(prepared, tmp_path):
    with pytest.raises(CatalogError, match="pipeline-reports prepare"):
        Catalog.open(tmp_path / "nowhere")
    meta_path = prepared[0].catalog.folder / "catalog.json"
    meta = json.loads(meta_path.read_text())
    meta["format"] = 0
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CatalogError, match="prepare the folder again"):
        Catalog.open(prepared[0].catalog.folder)


def test_prepare_replaces_a_run_folder_but_never_other_files(prepared, tmp_path):
    from pipeline_models.run.options import EXIT_BAD_INPUT, RunError

    result, export = prepared
    sources = Sources(export=export, period="2025-03", cache_dir=tmp_path / "fits")
    again = prepare(sources, result.catalog.folder)  # a run folder is replaced
    assert again.catalog.opportunities().shape[0] == 3
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(RunError) as info:
        prepare(sources, other)
    assert info.value.exit_code == EXIT_BAD_INPUT and "not a prepared run folder" in str(info.value)
    assert (other / "notes.txt").read_text() == "keep"
