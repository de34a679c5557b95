"""The runner's trusted tables: marked Parquet, read back as written, never confused."""

from __future__ import annotations

import pandas as pd
import pytest
from io_exports import GOOD_ROWS, write

from pipeline_models.contract.problems import ExportError
from pipeline_models.io.canonical import (
    is_runner_table,
    read_canonical,
    read_canonical_leads,
    write_canonical,
    write_canonical_leads,
)
from pipeline_models.io.leads import load_leads
from pipeline_models.io.opportunities import load_export


@pytest.fixture
def canonical(tmp_path) -> pd.DataFrame:
    return load_export(write(tmp_path, GOOD_ROWS), as_of="2025-12-31").frame


def test_a_written_canonical_table_is_trusted_and_read_as_written(tmp_path, canonical):
    path = write_canonical(canonical, tmp_path / "opportunities.parquet")
    assert is_runner_table(path) and not is_runner_table(path, "leads")
    pd.testing.assert_frame_equal(read_canonical(path), canonical)
    result = load_export(path)
    pd.testing.assert_frame_equal(result.frame, canonical)
    assert result.info == {
        "file": str(path),
        "format": "parquet",
        "mapping": "canonical",
        "opportunities": 3,
    }


def test_unmarked_files_are_not_trusted(tmp_path, canonical):
    plain = tmp_path / "plain.parquet"
    canonical.to_parquet(plain, index=False)
    csv = write(tmp_path, GOOD_ROWS)
    assert not is_runner_table(plain) and not is_runner_table(csv)
    assert not is_runner_table(tmp_path / "absent.parquet")
    with pytest.raises(ExportError, match="is not a canonical opportunities table"):
        read_canonical(plain)
    # read as any export: the same table, with what was found on the way
    loaded = load_export(plain, as_of="2025-12-31")
    pd.testing.assert_frame_equal(loaded.frame, canonical)
    assert "status_counts" in loaded.info


def test_a_leads_table_is_never_read_as_opportunities(tmp_path, canonical):
    leads_csv = tmp_path / "leads.csv"
    leads_csv.write_text("lead_id,created_date\nL1,2025-01-01\n")
    leads = write_canonical_leads(load_leads(leads_csv).frame, tmp_path / "leads.parquet")
    assert is_runner_table(leads, "leads") and not is_runner_table(leads)
    with pytest.raises(ExportError, match="is not a canonical opportunities table"):
        read_canonical(leads)
    deals = write_canonical(canonical, tmp_path / "opportunities.parquet")
    with pytest.raises(ExportError, match="is not a canonical leads table"):
        read_canonical_leads(deals)
    assert read_canonical_leads(leads)["lead_id"].tolist() == ["L1"]
