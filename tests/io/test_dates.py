"""Dates as exports write them: ISO, slashed in either order, Excel serial numbers."""

from __future__ import annotations

import pandas as pd
from io_exports import write

from pipeline_models.io.dates import infer_dayfirst, parse_dates
from pipeline_models.io.opportunities import load_export


def test_excel_serial_dates(tmp_path):
    rows = ["A1,45662,45698,Closed Won,won,1000,USD,Widget,Ann"]  # 2025-01-05, 2025-02-10
    result = load_export(write(tmp_path, rows), as_of="2025-12-31")
    assert result.frame.loc[0, "created_date"] == pd.Timestamp("2025-01-05")
    assert any("Excel serial" in p.reason for p in result.warnings)


def test_parse_dates_mixed_orders_are_flagged():
    _, _, how = parse_dates(pd.Series(["13/01/2025", "01/13/2025"]))
    assert how.startswith("mixed")


def test_parse_dates_reads_each_way_of_writing_a_date():
    cells = pd.Series(["2025-01-05", "2025-01-05T23:30:00+02:00", "45662", "", "soon", None])
    dates, bad, how = parse_dates(cells)
    # a UTC offset is dropped, not applied: the date and time stay the ones written
    assert dates.iloc[:3].tolist() == [
        pd.Timestamp("2025-01-05"),
        pd.Timestamp("2025-01-05 23:30"),
        pd.Timestamp("2025-01-05"),
    ]
    assert dates.iloc[3:].isna().all()
    assert bad.tolist() == [False, False, False, False, True, False]
    assert how == "ISO (YYYY-MM-DD) and Excel serial numbers"


def test_slashed_dates_follow_the_order_a_part_above_12_proves():
    dates, _, how = parse_dates(pd.Series(["05/01/2025", "17/01/25"]))
    assert dates.tolist() == [pd.Timestamp("2025-01-05"), pd.Timestamp("2025-01-17")]
    assert how == "day-first (DD/MM/YYYY)"
    dates, _, how = parse_dates(pd.Series(["05/01/2025"]), dayfirst=False)
    assert dates.tolist() == [pd.Timestamp("2025-05-01")] and how.startswith("month-first")
    assert infer_dayfirst(pd.Series(["05/01/2025", "17/01/2025"])) is True
    assert infer_dayfirst(pd.Series(["05/01/2025", "01/17/2025"])) is False
    assert infer_dayfirst(pd.Series(["13/01/2025", "01/13/2025"])) is None
    assert infer_dayfirst(pd.Series(["2025-01-05"])) is None


def test_an_explicit_format_reads_only_dates_written_so():
    dates, bad, how = parse_dates(pd.Series(["05.01.2025", "2025-01-05"]), date_format="%d.%m.%Y")
    assert dates.iloc[0] == pd.Timestamp("2025-01-05") and bad.tolist() == [False, True]
    assert how == "format %d.%m.%Y"
