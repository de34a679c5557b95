"""Loading an opportunities export: the canonical table, the columns read, the quarantine."""

from __future__ import annotations

import pandas as pd
import pytest
from io_exports import GOOD_ROWS, HEADER, outcome, problems_of, write

from pipeline_models.contract.schema import OPPORTUNITY_COLUMNS
from pipeline_models.io.opportunities import load_export


def test_canonical_export_loads_with_every_column(tmp_path):
    result = load_export(write(tmp_path, GOOD_ROWS), as_of="2025-12-31")
    frame = result.frame
    assert list(frame.columns) == list(OPPORTUNITY_COLUMNS)
    assert frame["status"].tolist() == ["won", "lost", "open"]
    assert frame["amount"].tolist()[:2] == [1000.0, 500.0]
    assert pd.isna(frame["amount"].iloc[2])
    assert frame["created_date"].dtype == "datetime64[ns]"
    assert frame["region"].isna().all()  # optional column absent from the export


def test_skip_mode_quarantines_bad_rows_with_reasons(tmp_path):
    rows = GOOD_ROWS + ["A9,2025-02-01,2025-03-01,Closed Won,won,-5,USD,Gadget,Ann"]
    result = load_export(write(tmp_path, rows), on_bad_rows="skip", as_of="2025-12-31")
    assert len(result.frame) == 3
    assert result.quarantine["row"].tolist() == [5]
    assert "amount is negative" in result.quarantine["reason"].iloc[0]
    assert any("1 rows skipped" in p.reason for p in result.warnings)


def test_an_unknown_bad_rows_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="on_bad_rows must be one of"):
        load_export(write(tmp_path, GOOD_ROWS), on_bad_rows="ignore")


@pytest.mark.parametrize("on_bad_rows", ["error", "skip"])
def test_unmapped_columns_change_nothing(tmp_path, on_bad_rows):
    rows = GOOD_ROWS + [GOOD_ROWS[0], "A9,2025-02-01,2025-03-01,Closed Won,won,-5,USD,Gadget,Ann"]
    notes = ['"call back, Tuesday"', "Zoë", "", " ", "=1+1"]
    plain = write(tmp_path, rows, name="plain.csv")
    wider = write(
        tmp_path,
        [f"{notes[i]},{row},x{i}" for i, row in enumerate(rows)],
        header="Notes," + HEADER + ",Last Activity",
        name="wider.csv",
    )
    expected, got = outcome(plain, on_bad_rows=on_bad_rows), outcome(wider, on_bad_rows=on_bad_rows)
    assert got[0] == expected[0] == ("loaded" if on_bad_rows == "skip" else "error")
    if on_bad_rows == "error":
        assert got[1] == expected[1]
        return
    pd.testing.assert_frame_equal(got[1], expected[1])
    assert got[2:4] == expected[2:4]
    quarantined = got[4]  # whole records, with the unmapped columns
    assert quarantined["row"].tolist() == [6]
    assert quarantined.loc[0, "Notes"] == "=1+1" and quarantined.loc[0, "Last Activity"] == "x4"
    pd.testing.assert_frame_equal(quarantined[list(expected[4].columns)], expected[4])


def test_a_record_empty_in_the_mapped_columns_is_judged_on_every_column(tmp_path):
    rows = [r + ",x" for r in GOOD_ROWS] + [",,,,,,,,,only a note", ",,,,,,,,, "]
    problems = problems_of(write(tmp_path, rows, header=HEADER + ",Notes"))
    empty_id = [p for p in problems if p.reason == "empty opportunity id"]
    assert empty_id and empty_id[0].rows == (5,)  # row 6 is empty throughout: left out


def test_missing_required_column(tmp_path):
    header = HEADER.replace("stage,", "")
    rows = [r.split(",") for r in GOOD_ROWS]
    rows = [",".join(r[:3] + r[4:]) for r in rows]
    problems = problems_of(write(tmp_path, rows, header=header))
    assert any("required column 'stage'" in p.reason for p in problems)
