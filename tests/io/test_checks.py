"""Rules across columns and records: every problem named with its rows, and data warnings."""

from __future__ import annotations

import numpy as np
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
    assert np.isnan(warned.loc[0, "amount"]) and warned["amount"].tolist()[1:] == [10.0, 0.0]
    zero = [p for p in col.problems if "carry amount 0" in p.reason]
    assert zero and zero[0].reason.startswith("1 lost deals") and zero[0].rows == (2,)


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
