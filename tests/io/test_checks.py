"""Rules across columns and records: every problem named with its rows, and data warnings."""

from __future__ import annotations

import pandas as pd
import pytest
from io_exports import GOOD_ROWS, problems_of, write

from pipeline_models.io.checks import data_warnings, near_duplicate_labels
from pipeline_models.io.collector import Collector
from pipeline_models.io.opportunities import load_export
from pipeline_models.io.presets import PRESETS


def test_every_problem_is_listed_at_once_with_rows(tmp_path):
    rows = [
        "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
        "A2,not a date,2025-03-01,Closed Lost,lost,500,USD,Widget,Bob",
        "A3,2025-02-01,2025-06-30,Proposal,open,abc,USD,Gadget,Ann",
        "A1,2025-01-05,2025-02-10,Closed Won,won,999,USD,Widget,Ann",
        "A5,2025-02-01,2025-01-01,Closed Won,won,10,USD,Gadget,Ann",
        "A6,2025-02-01,2025-03-01,Closed Won,maybe,10,USD,Gadget,Ann",
    ]
    problems = problems_of(write(tmp_path, rows))
    by_reason = {p.reason: p for p in problems if p.severity == "error"}
    assert by_reason["not a date"].rows == (3,) and by_reason["not a date"].column == "created_date"
    assert by_reason["amount is not a number"].rows == (4,)
    dup = by_reason["opportunity_id repeats with different values in other columns"]
    assert dup.rows == (2, 5)
    assert by_reason["close_date is before created_date"].rows == (6,)
    assert any(p.column == "status" and p.rows == (7,) for p in problems)
    assert all(str(tmp_path / "export.csv") in str(p) for p in problems)


def test_identical_duplicate_rows_are_kept_once_with_a_warning(tmp_path):
    result = load_export(write(tmp_path, GOOD_ROWS + [GOOD_ROWS[0]]), as_of="2025-12-31")
    assert len(result.frame) == 3
    warning = [p for p in result.warnings if "repeats an earlier row" in p.reason]
    assert warning and warning[0].rows == (5,)


def test_future_dates_and_mixed_currencies(tmp_path):
    rows = GOOD_ROWS + [
        "A4,2027-01-01,2027-02-01,Closed Won,won,10,USD,Gadget,Ann",
        "A5,2025-01-01,2025-02-01,Closed Won,won,10,EUR,Gadget,Ann",
    ]
    reasons = {p.reason.split(" (")[0]: p for p in problems_of(write(tmp_path, rows))}
    assert reasons["created_date is in the future"].rows == (5,)
    assert "more than one currency" in " ".join(reasons)


def test_near_duplicate_labels_pair_spellings_of_one_label():
    labels = ["GTX Pro", "GTXPro", "gtx-pro", "MG Special", "Zoë A", "zoë-a"]
    assert near_duplicate_labels(labels) == [
        ("GTX Pro", "GTXPro"),
        ("GTX Pro", "gtx-pro"),
        ("Zoë A", "zoë-a"),
    ]
    assert near_duplicate_labels(["Widget", "Gadget"]) == []


def test_data_warnings_read_zero_amounts_as_missing_without_changing_the_frame():
    frame = pd.DataFrame(
        {
            "_row": [2, 3, 4],
            "status": ["lost", "lost", "won"],
            "amount": [0.0, 10.0, 0.0],
            "created_date": pd.to_datetime(["2025-01-01"] * 3),
            "close_date": pd.to_datetime(["2025-02-01"] * 3),
        }
    )
    before = frame.copy()
    col = Collector("export.csv", frame)
    warned = data_warnings(frame, col, PRESETS["maven"])
    pd.testing.assert_frame_equal(frame, before)
    # lost deals of amount 0 by the mapping's rule, won deals of amount 0 in every mapping
    assert warned["amount"].isna().tolist() == [True, False, True]
    assert warned.loc[1, "amount"] == 10.0
    zero = {
        p.reason.split(" carry")[0]: p.rows for p in col.problems if "carry amount 0" in p.reason
    }
    assert zero == {"1 won deals": (4,), "1 lost deals": (2,)}


@pytest.mark.shared_data
def test_maven_export_reports_its_known_problems(maven_pipeline):
    result = load_export(maven_pipeline, preset="maven", as_of="2018-01-31")
    assert len(result.frame) == 8800
    assert result.info["status_counts"] == {"won": 4238, "lost": 2473, "open": 2089}
    text = "\n".join(map(str, result.warnings))
    assert "500 open deals have no created_date" in text
    assert "1291 open deals are older" in text and "(138 days)" in text
    assert "no deal closes before 2017-03-01" in text
    assert "1425 deals have no account" in text
    assert "'GTXPro' is spelled 'GTX Pro' there" in text
    assert "2473 lost deals carry amount 0" in text
    assert result.frame["region"].notna().all()  # joined from sales_teams.csv


def test_closes_before_a_shared_bulk_load_timestamp_name_the_cause(tmp_path):
    from pipeline_models.contract.problems import ExportError
    from pipeline_models.io.opportunities import load_export

    rows = "".join(f"D{i},2024-06-01 03:00:00,2024-0{1 + i % 5}-15,won,Won\n" for i in range(6))
    export = tmp_path / "bulk.csv"
    export.write_text(
        "opportunity_id,created_date,close_date,status,stage\n"
        + rows
        + "D9,2024-06-01 03:00:00,2024-07-20,open,Demo\n"
    )
    with pytest.raises(ExportError) as caught:
        load_export(export, as_of="2025-01-01")
    problem = next(p for p in caught.value.problems if "before created_date" in p.reason)
    assert "7 rows share one created date (2024-06-01)" in problem.reason
    assert len(problem.rows) == 6


def test_a_single_close_before_creation_keeps_the_plain_reason(tmp_path):
    from pipeline_models.contract.problems import ExportError
    from pipeline_models.io.opportunities import load_export

    export = tmp_path / "one.csv"
    export.write_text(
        "opportunity_id,created_date,close_date,status,stage\n"
        "A,2024-06-01,2024-05-01,won,Won\nB,2024-01-01,2024-02-01,lost,Lost\n"
    )
    with pytest.raises(ExportError) as caught:
        load_export(export, as_of="2025-01-01")
    assert any(p.reason == "close_date is before created_date" for p in caught.value.problems)


@pytest.mark.parametrize(
    "statuses, warned", [(["won", "won", "open"], True), (["won", "lost"], False)]
)
def test_an_export_without_lost_deals_is_named_as_such(statuses, warned):
    n = len(statuses)
    frame = pd.DataFrame(
        {
            "_row": list(range(2, 2 + n)),
            "status": statuses,
            "amount": [5.0] * n,
            "created_date": pd.to_datetime(["2025-01-01"] * n),
            "close_date": pd.to_datetime(["2025-02-01"] * n),
        }
    )
    col = Collector("export.csv", frame)
    data_warnings(frame, col, PRESETS["canonical"])
    assert any("no lost deal" in p.reason for p in col.problems) is warned
