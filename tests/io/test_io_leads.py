"""Loading leads files: canonical names, Salesforce spellings, and the runner's leads table."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.contract.problems import ExportError
from pipeline_models.io.canonical import write_canonical_leads
from pipeline_models.io.leads import load_leads

LEADS_CSV = (
    "lead_id,created_date,source,opportunity_id,converted_date\n"
    "L1,2025-01-01,Web,A1,2025-01-05\nL2,2025-01-02,Event,,\n"
)


def test_leads_file(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV)
    leads = load_leads(path)
    assert leads.info["converted"] == 1 and len(leads.frame) == 2


def test_salesforce_lead_report_spellings_are_read(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "Lead ID,Created Date,Lead Source,Converted Opportunity ID\nL1,2025-01-01,Web,A1\n"
    )
    frame = load_leads(path).frame
    assert frame.loc[0, ["lead_id", "source", "opportunity_id"]].tolist() == ["L1", "Web", "A1"]
    assert frame.loc[0, "created_date"] == pd.Timestamp("2025-01-01")


def test_every_leads_problem_is_listed(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("lead_id,created_date\nL1,2025-01-01\nL1,someday\n,2025-01-03\n")
    with pytest.raises(ExportError) as info:
        load_leads(path)
    found = {(p.reason, p.rows) for p in info.value.problems}
    assert ("lead_id repeats", (2, 3)) in found
    assert ("not a date", (3,)) in found and ("empty lead_id", (4,)) in found
    missing = tmp_path / "missing.csv"
    missing.write_text("source\nWeb\n")
    with pytest.raises(ExportError, match="required leads column 'lead_id' is missing"):
        load_leads(missing)


def test_the_runners_leads_table_is_read_as_written(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(LEADS_CSV)
    loaded = load_leads(path)
    table = write_canonical_leads(loaded.frame, tmp_path / "leads.parquet")
    again = load_leads(table)
    pd.testing.assert_frame_equal(again.frame, loaded.frame)
    assert again.info == {"format": "parquet", "file": str(table), "leads": 2, "converted": 1}
    # an unmarked Parquet is read as any leads file, checked cell by cell
    loaded.frame.to_parquet(tmp_path / "plain.parquet", index=False)
    plain = load_leads(tmp_path / "plain.parquet")
    pd.testing.assert_frame_equal(plain.frame, loaded.frame)


def _links_case():
    import pandas as pd

    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "created_date": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-03-01"]),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5"],
            "created_date": pd.to_datetime(
                ["2025-01-01", "2025-02-01", "2025-02-01", "2025-02-10", "2025-02-01"]
            ),
            "source": ["Web"] * 5,
            "opportunity_id": ["O1", "O2", "O3", "O9", None],
            "converted_date": pd.to_datetime(
                ["2025-03-01", "2025-02-09", "2025-04-01", "2025-02-05", None]
            ),
        }
    )
    return leads, opportunities


def test_links_between_leads_and_deals_are_checked_in_plain_words():
    from pipeline_models.io.leads import check_links

    leads, opportunities = _links_case()
    reasons = [p.reason for p in check_links(leads, opportunities, "leads.csv")]
    assert reasons == [
        "1 lead(s) converted before they were created: their lag from lead to deal is counted "
        "as 0 days",
        "1 lead(s) name a deal that is not in the export",
    ]


def test_leads_that_fit_their_deals_raise_no_warning():
    from pipeline_models.io.leads import check_links

    leads, opportunities = _links_case()
    fine = leads.iloc[[0, 4]]
    assert check_links(fine, opportunities, "leads.csv") == []
