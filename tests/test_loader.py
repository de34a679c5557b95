"""The export contract: presets, encodings, delimiters, and every problem named precisely."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from pipeline_models.loader import load_export, load_leads, parse_amounts, parse_dates
from pipeline_models.presets import guess_preset, load_mapping
from pipeline_models.problems import ExportError
from pipeline_models.schema import OPPORTUNITY_COLUMNS

PRESETS = Path(__file__).parent / "data" / "presets"
HEADER = "opportunity_id,created_date,close_date,stage,status,amount,currency,product,owner"
GOOD_ROWS = [
    "A1,2025-01-05,2025-02-10,Closed Won,won,1000,USD,Widget,Ann",
    "A2,2025-01-07,2025-03-01,Closed Lost,lost,500,USD,Widget,Bob",
    "A3,2025-02-01,2025-06-30,Proposal,open,,USD,Gadget,Ann",
]


def write(
    tmp_path: Path,
    rows: list[str],
    header: str = HEADER,
    name: str = "export.csv",
    encoding: str = "utf-8",
) -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def problems_of(path: Path, **kwargs) -> list:
    with pytest.raises(ExportError) as info:
        load_export(path, as_of="2025-12-31", **kwargs)
    return info.value.problems


def test_canonical_export_loads_with_every_column(tmp_path):
    result = load_export(write(tmp_path, GOOD_ROWS), as_of="2025-12-31")
    frame = result.frame
    assert list(frame.columns) == list(OPPORTUNITY_COLUMNS)
    assert frame["status"].tolist() == ["won", "lost", "open"]
    assert frame["amount"].tolist()[:2] == [1000.0, 500.0]
    assert pd.isna(frame["amount"].iloc[2])
    assert frame["created_date"].dtype == "datetime64[ns]"
    assert frame["region"].isna().all()  # optional column absent from the export


def test_loader_does_not_touch_the_file(tmp_path):
    path = write(tmp_path, GOOD_ROWS)
    before = path.read_bytes()
    load_export(path, as_of="2025-12-31")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "preset, statuses",
    [
        ("salesforce", ["won", "lost", "open", "open"]),
        ("hubspot", ["won", "lost", "open"]),
        ("pipedrive", ["won", "lost", "open"]),
    ],
)
def test_presets_read_their_crm_exports(preset, statuses):
    result = load_export(PRESETS / f"{preset}.csv", preset=preset, as_of="2026-02-01")
    assert result.frame["status"].tolist() == statuses
    assert result.frame["opportunity_id"].is_unique
    assert result.frame.loc[0, "owner"] == "Jane Roe"
    assert (
        result.frame.loc[0, "created_date"] == pd.Timestamp("2025-01-20 09:12").normalize()
        or result.frame.loc[0, "created_date"].date() == pd.Timestamp("2025-01-20").date()
    )


def test_salesforce_amounts_and_month_first_dates():
    frame = load_export(PRESETS / "salesforce.csv", preset="salesforce", as_of="2026-02-01").frame
    assert frame.loc[0, "amount"] == 12500.0
    assert frame.loc[0, "close_date"] == pd.Timestamp("2025-03-15")
    assert frame.loc[0, "lead_source"] == "Web"


def test_pipedrive_close_date_comes_from_won_or_lost_time():
    frame = load_export(PRESETS / "pipedrive.csv", preset="pipedrive", as_of="2026-02-01").frame
    assert frame.loc[0, "close_date"].date() == pd.Timestamp("2025-03-15").date()
    assert frame.loc[1, "close_date"].date() == pd.Timestamp("2025-04-02").date()
    assert frame.loc[2, "close_date"] == pd.Timestamp("2025-12-20")  # expected close of open deal
    assert set(frame["currency"]) == {"EUR"}


def test_wrong_preset_names_the_missing_columns_and_suggests_the_right_one():
    problems = problems_of(PRESETS / "hubspot.csv", preset="salesforce")
    text = "\n".join(map(str, problems))
    assert "required column 'Created Date'" in text
    assert "try --preset hubspot" in text


def test_guess_preset_recognises_headers():
    header = (PRESETS / "pipedrive.csv").read_text().splitlines()[0].split(",")
    assert guess_preset(header) == "pipedrive"
    assert guess_preset(["foo", "bar"]) is None


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


def test_skip_mode_quarantines_bad_rows_with_reasons(tmp_path):
    rows = GOOD_ROWS + ["A9,2025-02-01,2025-03-01,Closed Won,won,-5,USD,Gadget,Ann"]
    result = load_export(write(tmp_path, rows), on_bad_rows="skip", as_of="2025-12-31")
    assert len(result.frame) == 3
    assert result.quarantine["row"].tolist() == [5]
    assert "amount is negative" in result.quarantine["reason"].iloc[0]
    assert any("1 rows skipped" in p.reason for p in result.warnings)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1"])
def test_encodings_are_detected(tmp_path, encoding):
    rows = [GOOD_ROWS[0].replace("Ann", "Zoë"), *GOOD_ROWS[1:]]
    frame = load_export(write(tmp_path, rows, encoding=encoding), as_of="2025-12-31").frame
    assert frame.loc[0, "owner"] == "Zoë"


def outcome(path: Path, **kwargs) -> tuple:
    """What a load gives, without the file name: table, problems, info and quarantine."""
    try:
        result = load_export(path, as_of="2025-12-31", **kwargs)
    except ExportError as error:
        return (
            "error",
            [(p.severity, p.column, p.rows, p.reason, p.values) for p in error.problems],
        )
    info = {k: v for k, v in result.info.items() if k != "file"}
    problems = [(p.severity, p.column, p.rows, p.reason, p.values) for p in result.problems]
    return ("loaded", result.frame, problems, info, result.quarantine)


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


def test_a_windows_1252_export_with_unmapped_columns_loads(tmp_path):
    rows = [GOOD_ROWS[0].replace("Ann", "Zoë"), *GOOD_ROWS[1:]]
    path = write(tmp_path, [r + ",Café" for r in rows], header=HEADER + ",Notes", encoding="cp1252")
    result = load_export(path, as_of="2025-12-31")
    assert result.frame.loc[0, "owner"] == "Zoë"
    assert result.info["encoding"] == "cp1252"
    assert any("not valid UTF-8" in p.reason for p in result.warnings)


def test_a_byte_that_is_not_utf8_in_an_unread_column_still_decides_the_encoding(tmp_path):
    lines = [HEADER + ",Notes"] + [
        f"D{i},2025-01-05,2025-02-10,Closed Won,won,{i},USD,Widget,Zoë,note {i}"
        for i in range(70_000)
    ]
    data = ("\n".join(lines) + "\n").encode()
    assert len(data) > 1 << 22  # past the part of the file read to sniff it
    path = tmp_path / "export.csv"
    path.write_bytes(data.replace(b"note 69999", b"caf\xe9"))
    result = load_export(path, as_of="2025-12-31")
    assert result.info["encoding"] == "cp1252"
    assert result.frame.loc[0, "owner"] == "Zoë".encode().decode("cp1252")


def test_semicolon_delimiter_and_decimal_commas(tmp_path):
    header = HEADER.replace(",", ";")
    rows = [
        "A1;05/01/2025;10/02/2025;Closed Won;won;1.234,50;EUR;Widget;Ann",
        "A2;17/01/2025;01/03/2025;Closed Lost;lost;500;EUR;Widget;Bob",
    ]
    result = load_export(write(tmp_path, rows, header=header), as_of="2025-12-31")
    assert result.info["delimiter"] == ";"
    assert result.frame["amount"].tolist() == [1234.5, 500.0]
    # 17/01 proves day-first, so 05/01 is the 5th of January
    assert result.frame.loc[0, "created_date"] == pd.Timestamp("2025-01-05")
    assert result.info["dates"]["created_date"].startswith("day-first")


def test_missing_required_column(tmp_path):
    header = HEADER.replace("stage,", "")
    rows = [r.split(",") for r in GOOD_ROWS]
    rows = [",".join(r[:3] + r[4:]) for r in rows]
    problems = problems_of(write(tmp_path, rows, header=header))
    assert any("required column 'stage'" in p.reason for p in problems)


def test_duplicated_column_names_are_refused(tmp_path):
    problems = problems_of(write(tmp_path, [r + ",x" for r in GOOD_ROWS], header=HEADER + ",owner"))
    assert problems[0].column == "owner"
    assert "appears more than once" in problems[0].reason


def test_empty_and_header_only_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty" in problems_of(empty)[0].reason
    assert "no data rows" in problems_of(write(tmp_path, [], name="h.csv"))[0].reason


def test_truncated_last_line(tmp_path):
    rows = GOOD_ROWS + ["A4,2025-02-01,2025-06"]
    problems = problems_of(write(tmp_path, rows))
    ragged = [p for p in problems if "number of fields" in p.reason]
    assert ragged and ragged[0].rows == (5,)


def test_future_dates_and_mixed_currencies(tmp_path):
    rows = GOOD_ROWS + [
        "A4,2027-01-01,2027-02-01,Closed Won,won,10,USD,Gadget,Ann",
        "A5,2025-01-01,2025-02-01,Closed Won,won,10,EUR,Gadget,Ann",
    ]
    reasons = {p.reason.split(" (")[0]: p for p in problems_of(write(tmp_path, rows))}
    assert reasons["created_date is in the future"].rows == (5,)
    assert "more than one currency" in " ".join(reasons)


def test_excel_serial_dates(tmp_path):
    rows = ["A1,45662,45698,Closed Won,won,1000,USD,Widget,Ann"]  # 2025-01-05, 2025-02-10
    result = load_export(write(tmp_path, rows), as_of="2025-12-31")
    assert result.frame.loc[0, "created_date"] == pd.Timestamp("2025-01-05")
    assert any("Excel serial" in p.reason for p in result.warnings)


def test_excel_and_parquet_files(tmp_path):
    frame = pd.read_csv(write(tmp_path, GOOD_ROWS), dtype=str)
    frame.to_excel(tmp_path / "export.xlsx", index=False)
    frame.to_parquet(tmp_path / "export.parquet")
    for name in ("export.xlsx", "export.parquet"):
        loaded = load_export(tmp_path / name, as_of="2025-12-31").frame
        assert loaded["status"].tolist() == ["won", "lost", "open"]


def test_user_mapping_file_with_unknown_stage(tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "columns:\n  ID: opportunity_id\n  Opened: created_date\n  Closed: close_date\n"
        "  Phase: stage\n  Value: amount\n"
        "status:\n  Signed: won\n  Dropped: lost\n"
        "open_stages: [Demo, Offer]\n"
        "date_format: '%d.%m.%Y'\n"
        "defaults:\n  currency: CHF\n"
    )
    rows = ["X1,05.01.2025,10.02.2025,Signed,100", "X2,05.01.2025,,Demo,50"]
    path = write(tmp_path, rows, header="ID,Opened,Closed,Phase,Value")
    frame = load_export(path, mapping=mapping, as_of="2025-12-31").frame
    assert frame["status"].tolist() == ["won", "open"]
    assert frame["currency"].tolist() == ["CHF", "CHF"]
    problems = problems_of(
        write(tmp_path, rows + ["X3,05.01.2025,,Pilot,5"], header="ID,Opened,Closed,Phase,Value"),
        mapping=mapping,
    )
    unknown = [p for p in problems if p.reason.startswith("unknown stage")]
    assert unknown and unknown[0].rows == (4,) and unknown[0].values == ("Pilot",)


def test_invalid_mapping_file_is_explained(tmp_path):
    mapping = tmp_path / "bad.yml"
    mapping.write_text("columns:\n  ID: deal_number\nfoo: 1\n")
    with pytest.raises(ExportError) as info:
        load_mapping(mapping)
    text = str(info.value)
    assert "'deal_number', which is not a canonical column" in text
    assert "unknown key 'foo'" in text


def test_parse_amounts_cases():
    amounts, bad, negative, currency = parse_amounts(
        pd.Series(["$1,234.50", "€ 99", "1.234,5", "12 000", "(300)", "abc", ""])
    )
    assert amounts.tolist()[:4] == [1234.5, 99.0, 1234.5, 12000.0]
    assert bool(negative.iloc[4]) and bool(bad.iloc[5]) and not bool(bad.iloc[6])
    assert currency.tolist()[:2] == ["USD", "EUR"]


def test_parse_dates_mixed_orders_are_flagged():
    _, _, how = parse_dates(pd.Series(["13/01/2025", "01/13/2025"]))
    assert how.startswith("mixed")


def test_leads_file(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        "lead_id,created_date,source,opportunity_id,converted_date\n"
        "L1,2025-01-01,Web,A1,2025-01-05\nL2,2025-01-02,Event,,\n"
    )
    leads = load_leads(path)
    assert leads.info["converted"] == 1 and len(leads.frame) == 2


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
    assert codecs.lookup("utf-8")  # keeps the codecs import honest for the encodings above
