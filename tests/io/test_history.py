"""Loading stage histories: each layout to the canonical rows, every problem named at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline_models.contract.problems import ERROR, WARNING, ExportError
from pipeline_models.contract.schema import HISTORY_COLUMNS
from pipeline_models.io import load_history
from pipeline_models.io.canonical import (
    is_runner_table,
    read_canonical_history,
    write_canonical_history,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "history"
AS_OF = "2025-06-30"
LAYOUT_FILES = {
    "canonical.csv": "canonical",
    "salesforce_opportunity_history.csv": "salesforce_opportunity_history",
    "salesforce_field_history.csv": "salesforce_field_history",
    "hubspot_deals_wide.csv": "hubspot_stage_dates",
}
PROBABILITY = "probability is not a number between 0 and 100 percent"
DEAL_A, DEAL_B, DEAL_C = "0065g00000XyZa1AAF", "0065g00000XyZb1AAF", "0065g00000XyZc1AAF"


def load(name: str):
    return load_history(DATA / name, as_of=AS_OF)


def rows_of(frame: pd.DataFrame, deal: str) -> list[tuple]:
    """A deal's rows as plain tuples: missing values as None, dates as ISO text."""
    out = []
    for row in frame.loc[frame["opportunity_id"] == deal, list(HISTORY_COLUMNS)[1:]].itertuples(
        index=False
    ):
        cells = []
        for value in row:
            if pd.isna(value):
                cells.append(None)
            elif isinstance(value, pd.Timestamp):
                cells.append(value.isoformat())
            else:
                cells.append(value)
        out.append(tuple(cells))
    return out


def found(problems) -> set[tuple]:
    return {(p.severity, p.column, p.rows, p.reason) for p in problems}


def failure(path: Path, **kwargs) -> list:
    with pytest.raises(ExportError) as info:
        load_history(path, as_of=AS_OF, **kwargs)
    return info.value.problems


# ---------------------------------------------------------------------------------------------
# Each layout


@pytest.mark.parametrize(("name", "layout"), LAYOUT_FILES.items())
def test_each_layout_is_recognised_and_sorted(name, layout):
    result = load(name)
    frame = result.frame
    assert result.info["layout"] == layout
    assert list(frame.columns) == list(HISTORY_COLUMNS)
    assert frame["changed_date"].dtype == "datetime64[ns]"
    assert frame["close_date"].dtype == "datetime64[ns]"
    assert frame["amount"].dtype == "float64" and frame["probability"].dtype == "float64"
    keys = list(zip(frame["opportunity_id"], frame["changed_date"], strict=True))
    assert keys == sorted(keys)
    assert frame["probability"].dropna().between(0, 1).all()
    assert result.info["history_rows"] == len(frame)
    json.dumps(result.info)  # the runner keeps it in validation.json


@pytest.mark.parametrize("name", [*LAYOUT_FILES, "bad_history.csv"])
def test_the_file_is_never_changed(name):
    path = DATA / name
    before, stamp = path.read_bytes(), path.stat().st_mtime_ns
    try:
        load_history(path, as_of=AS_OF)
    except ExportError:
        pass
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stamp


def test_canonical_history_with_percent_signs_blank_amounts_and_a_duplicate():
    result = load("canonical.csv")
    assert result.info["encoding"] == "utf-8-sig"  # a BOM, and quoted header names
    assert result.info["probability"] == "percent"
    assert rows_of(result.frame, "D-001") == [
        ("2025-01-06T00:00:00", "Prospecting", 12500.0, "2025-03-31T00:00:00", 0.1),
        ("2025-01-20T00:00:00", "Proposal", 12500.0, "2025-03-31T00:00:00", 0.5),
        ("2025-02-03T00:00:00", "Qualification", 11000.0, "2025-04-30T00:00:00", 0.2),
        ("2025-02-17T00:00:00", "Proposal", 11000.0, "2025-04-30T00:00:00", 0.5),
        ("2025-03-10T14:30:00", "Closed Won", 11500.0, "2025-03-10T00:00:00", 1.0),
    ]
    assert rows_of(result.frame, "D-002") == [
        ("2025-01-08T00:00:00", "Prospecting", None, None, None),
        ("2025-01-15T00:00:00", None, 8000.0, None, None),
        ("2025-02-01T00:00:00", "Closed Lost", 8000.0, "2025-02-01T00:00:00", 0.0),
    ]
    # the UTC mark is dropped: the moment written is the one the CRM user saw
    assert rows_of(result.frame, "D-003")[1][0] == "2025-02-24T09:15:00"
    assert result.info["duplicates_dropped"] == 1
    assert len(rows_of(result.frame, "D-004")) == 2
    assert (WARNING, None, (13,)) in {(p.severity, p.column, p.rows) for p in result.problems}


@pytest.mark.parametrize("spelling", ["entered_date", "date"])
def test_changed_date_has_other_spellings(tmp_path, spelling):
    path = tmp_path / "history.csv"
    path.write_text(f"opportunity_id,{spelling},stage\nA,2025-01-02,Demo\nA,2025-01-01,Lead\n")
    result = load_history(path, as_of=AS_OF)
    assert result.info["columns"]["changed_date"] == spelling
    assert result.frame["stage"].tolist() == ["Lead", "Demo"]


def test_salesforce_opportunity_history():
    result = load("salesforce_opportunity_history.csv")
    assert result.info["deleted_rows"] == 1
    assert result.info["probability"] == "percent"
    # the file lists deal B's rows out of order, and its 3 February row is deleted
    assert rows_of(result.frame, DEAL_B) == [
        ("2025-01-10T14:22:00", "Prospecting", None, "2025-06-30T00:00:00", 0.1),
        ("2025-01-10T16:00:00", "Prospecting", 9000.0, "2025-06-30T00:00:00", 0.1),
        ("2025-02-04T09:30:00", "Needs Analysis", 9500.0, "2025-06-30T00:00:00", 0.2),
        ("2025-03-20T17:10:00", "Closed Lost", 9500.0, "2025-03-20T00:00:00", 0.0),
    ]
    stages = [row[1] for row in rows_of(result.frame, DEAL_A)]
    assert stages == [
        "Prospecting",
        "Qualification",
        "Proposal/Price Quote",
        "Qualification",
        "Proposal/Price Quote",  # entered again
        "Closed Won",
    ]
    assert rows_of(result.frame, DEAL_A)[2][4] == 0.75
    assert result.problems == []


def test_salesforce_opportunity_history_report_spelling(tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(
        "Opportunity ID,Opportunity Name,Stage,Amount,Close Date,Probability (%),Edit Date\n"
        '006A,Acme,Prospecting,"USD 1,000.00",3/31/2025,10%,1/6/2025\n'
        '006A,Acme,Closed Won,"USD 1,200.00",3/20/2025,100%,3/20/2025\n'
    )
    result = load_history(path, as_of=AS_OF)
    assert result.info["layout"] == "salesforce_history_report"
    assert rows_of(result.frame, "006A") == [
        ("2025-01-06T00:00:00", "Prospecting", 1000.0, "2025-03-31T00:00:00", 0.1),
        ("2025-03-20T00:00:00", "Closed Won", 1200.0, "2025-03-20T00:00:00", 1.0),
    ]


def test_salesforce_field_history_separates_fields():
    result = load("salesforce_field_history.csv")
    frame, info = result.frame, result.info
    # each kept change fills its own field only
    filled = frame[["stage", "amount", "close_date", "probability"]].notna().sum(axis=1)
    assert (filled == 1).all()
    assert info["fields"] == {"StageName": 7, "Amount": 5, "Probability": 1, "CloseDate": 1}
    assert info["ignored_fields"] == {"Name": 1, "NextStep": 1, "Owner": 2}
    assert info["deleted_rows"] == 1 and info["cleared_values"] == 1
    # deal A's creation row carries the stage it was created in (the first change's OldValue)
    assert rows_of(frame, DEAL_A)[:6] == [
        ("2025-01-06T09:12:03", "Prospecting", None, None, None),
        ("2025-01-21T15:40:00", "Qualification", None, None, None),
        ("2025-02-11T10:05:00", None, 24000.0, None, None),
        ("2025-02-11T10:05:00", "Proposal/Price Quote", None, None, None),
        ("2025-02-11T10:05:00", None, None, None, 0.75),
        ("2025-02-25T13:30:00", None, None, "2025-05-31T00:00:00", None),
    ]
    # the deleted 3 February stage change is gone; the amount cleared on 1 March is left out
    assert rows_of(frame, DEAL_B) == [
        ("2025-01-10T14:22:00", "Prospecting", None, None, None),
        ("2025-01-10T16:00:00", None, 9000.0, None, None),
        ("2025-02-04T09:30:00", "Needs Analysis", None, None, None),
        ("2025-03-05T08:00:00", None, 9500.0, None, None),
        ("2025-03-20T17:10:00", "Closed Lost", None, None, None),
    ]
    # deal C's stage never changed: its creation row would hold no value
    assert rows_of(frame, DEAL_C) == [("2025-03-17T08:02:10", None, 55000.0, None, None)]
    assert info["creation_rows"] == 2 and info["creation_rows_without_stage"] == 1
    assert found(result.problems) == {
        (
            WARNING,
            "NewValue",
            (19,),
            "the field was changed to an empty value, which the history table cannot tell "
            "from no change: left out",
        )
    }


def test_a_creation_row_goes_before_a_change_saved_with_it(tmp_path):
    path = tmp_path / "fields.csv"
    path.write_text(
        "OpportunityId,CreatedDate,Field,OldValue,NewValue\n"
        "006A,2025-01-06T09:00:00Z,StageName,Lead,Demo\n"
        "006A,2025-01-06T09:00:00Z,created,,\n"
    )
    frame = load_history(path, as_of=AS_OF).frame
    assert frame["stage"].tolist() == ["Lead", "Demo"]


def test_hubspot_stage_dates_melt_to_one_row_per_stage_entered():
    result = load("hubspot_deals_wide.csv")
    frame, info = result.frame, result.info
    assert info["exit_columns_ignored"] == 2
    # quoted and unquoted headers, the pipeline dropped from the stage name
    assert info["stage_columns"]['Date entered "Closed Won (Sales Pipeline)"'] == "Closed Won"
    assert info["stage_columns"]["Date entered Closed Lost (Sales Pipeline)"] == "Closed Lost"
    assert rows_of(frame, "18243001002") == [
        ("2025-01-10T14:22:00", "Appointment Scheduled", None, None, None),
        ("2025-02-04T09:30:00", "Qualified To Buy", None, None, None),
        ("2025-03-20T17:10:00", "Closed Lost", None, None, None),
    ]
    assert [r[1] for r in rows_of(frame, "18243001001")] == [
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Contract Sent",
        "Closed Won",
    ]
    assert "18243001005" not in set(frame["opportunity_id"])  # no stage date: no row
    assert info["opportunities"] == 4 and len(frame) == 12


def test_hubspot_deal_id_spelling_and_problems_name_the_stage_column(tmp_path):
    path = tmp_path / "deals.csv"
    path.write_text(
        'Deal ID,Date entered "Won (Renewals)",Date entered Lost (Renewals)\n'
        ",2025-01-01,\n"
        "5,someday,2025-02-01\n"
        "6,,2099-01-01\n"
    )
    problems = failure(path)
    assert found(problems) == {
        (ERROR, "Deal ID", (2,), "empty opportunity id"),
        (ERROR, 'Date entered "Won (Renewals)"', (3,), "not a date"),
        (
            ERROR,
            "Date entered Lost (Renewals)",
            (4,),
            "changed_date is in the future (after 2025-06-30)",
        ),
    }


# ---------------------------------------------------------------------------------------------
# Problems


def test_every_problem_of_a_bad_history_is_listed_at_once():
    problems = failure(DATA / "bad_history.csv")
    assert found(problems) == {
        (ERROR, "opportunity_id", (3,), "empty opportunity id"),
        (ERROR, "changed_date", (4,), "not a date"),
        (ERROR, "changed_date", (5,), "changed_date is in the future (after 2025-06-30)"),
        (ERROR, "amount", (6,), "amount is negative"),
        (ERROR, "amount", (7,), "amount is not a number"),
        (ERROR, "probability", (8,), PROBABILITY),
        (
            ERROR,
            None,
            (9,),
            "the row records no value: stage, amount, close date and probability are all blank",
        ),
        (
            WARNING,
            None,
            (10,),
            "row repeats an earlier row exactly (in the history's columns); kept once",
        ),
        (ERROR, "close_date", (11,), "not a date"),
        (ERROR, "changed_date", (12,), "empty changed_date"),
    }
    assert all(p.file == str(DATA / "bad_history.csv") for p in problems)


def test_field_history_problems_name_the_files_columns():
    problems = failure(DATA / "bad_field_history.csv")
    # the deleted row (7) and the Owner change (8) are never checked
    assert found(problems) == {
        (ERROR, "NewValue", (2,), "amount is not a number"),
        (ERROR, "NewValue", (3,), PROBABILITY),
        (ERROR, "NewValue", (4,), "not a date"),
        (ERROR, "OpportunityId", (5,), "empty opportunity id"),
        (ERROR, "CreatedDate", (6,), "not a date"),
    }


def test_a_missing_column_names_the_layout_the_header_and_the_layouts_understood(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("Id,OpportunityId,StageName,Amount\n1,006A,Lead,10\n")
    problems = failure(path)
    missing = [p for p in problems if p.column == "CreatedDate"]
    assert len(missing) == 1
    assert "Salesforce OpportunityHistory" in missing[0].reason
    assert "the header has: Id, OpportunityId, StageName, Amount" in missing[0].reason
    assert any("layouts understood" in p.reason and "HubSpot" in p.reason for p in problems)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("foo,bar\n1,2\n")
    reasons = [p.reason for p in failure(unknown)]
    assert "the header fits no stage-history layout; the header has: foo, bar" in reasons


@pytest.mark.parametrize(
    "text",
    ["", "opportunity_id,changed_date,stage\n", "\x00\x01\x02garbage\xff", "a\n1\n"],
    ids=["empty", "header only", "binary", "one column"],
)
def test_bad_files_end_as_named_problems(tmp_path, text):
    path = tmp_path / "history.csv"
    path.write_bytes(text.encode("latin-1"))
    assert failure(path)


# ---------------------------------------------------------------------------------------------
# Probabilities


@pytest.mark.parametrize(
    ("cells", "expected", "unit"),
    [
        (["0.1", "0.55", ""], [0.1, 0.55, np.nan], "share"),
        (["10", "55", "0"], [0.1, 0.55, 0.0], "percent"),
        (["10 %", "0.5", "1"], [0.1, 0.005, 0.01], "percent"),
        (["0", "1", "0.25"], [0.0, 1.0, 0.25], "share"),
    ],
)
def test_percent_probabilities_become_shares(tmp_path, cells, expected, unit):
    path = tmp_path / "history.csv"
    body = "".join(f"A,2025-01-0{i + 1},Lead,{c}\n" for i, c in enumerate(cells))
    path.write_text("opportunity_id,changed_date,stage,probability\n" + body)
    result = load_history(path, as_of=AS_OF)
    np.testing.assert_allclose(result.frame["probability"], expected)
    assert result.info["probability"] == unit


def test_a_layout_in_percent_is_read_in_percent_whatever_the_values(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "OpportunityId,CreatedDate,StageName,Probability\n"
        "006A,2025-01-01,Closed Lost,0\n006A,2025-01-02,Prospecting,1\n"
    )
    result = load_history(path, as_of=AS_OF)
    assert result.frame["probability"].tolist() == [0.0, 0.01]
    assert result.info["probability"] == "percent"


def test_a_negative_share_is_an_error(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(
        "opportunity_id,changed_date,probability\nA,2025-01-01,0.2\nA,2025-01-02,-0.1\n"
    )
    assert found(failure(path)) == {(ERROR, "probability", (3,), PROBABILITY)}


# ---------------------------------------------------------------------------------------------
# The runner's own table


def test_the_runners_history_table_is_read_as_written(tmp_path):
    loaded = load("salesforce_opportunity_history.csv")
    path = write_canonical_history(loaded.frame, tmp_path / "history.parquet")
    assert is_runner_table(path, "history")
    assert not is_runner_table(path) and not is_runner_table(path, "leads")
    pd.testing.assert_frame_equal(read_canonical_history(path), loaded.frame)
    again = load_history(path)
    pd.testing.assert_frame_equal(again.frame, loaded.frame)
    assert again.info["format"] == "parquet" and again.info["layout"] == "canonical"
    # an unmarked Parquet is read as any history file, checked cell by cell
    plain = tmp_path / "plain.parquet"
    loaded.frame.to_parquet(plain, index=False)
    with pytest.raises(ExportError, match="is not a canonical history table"):
        read_canonical_history(plain)
    pd.testing.assert_frame_equal(load_history(plain, as_of=AS_OF).frame, loaded.frame)


def test_a_hubspot_deals_export_with_stage_dates_carries_its_own_history():
    from pipeline_models.io.history import carries_stage_dates

    here = Path(__file__).resolve().parents[1] / "data"
    assert carries_stage_dates(here / "history" / "hubspot_deals_wide.csv")
    assert not carries_stage_dates(here / "presets" / "hubspot.csv")
    assert not carries_stage_dates(here / "history" / "canonical.csv")
