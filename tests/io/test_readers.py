"""Reading files as text: encodings, delimiters, headers, empty and broken files, formats."""

from __future__ import annotations

import pandas as pd
import pytest
from io_exports import GOOD_ROWS, HEADER, problems_of, write

from pipeline_models.io.opportunities import load_export
from pipeline_models.io.readers import read_table
from pipeline_models.io.sniffing import read_header, sniff_delimiter, sniff_encoding


def test_loader_does_not_touch_the_file(tmp_path):
    path = write(tmp_path, GOOD_ROWS)
    before = path.read_bytes()
    load_export(path, as_of="2025-12-31")
    assert path.read_bytes() == before


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "latin-1"])
def test_encodings_are_detected(tmp_path, encoding):
    rows = [GOOD_ROWS[0].replace("Ann", "Zoë"), *GOOD_ROWS[1:]]
    frame = load_export(write(tmp_path, rows, encoding=encoding), as_of="2025-12-31").frame
    assert frame.loc[0, "owner"] == "Zoë"


def test_sniffing_names_encoding_and_delimiter():
    assert sniff_encoding("a,b\n".encode("utf-8-sig")) == ("utf-8-sig", None)
    assert sniff_encoding("Zoë".encode("cp1252"))[0] == "cp1252"
    assert sniff_encoding("a,b\n".encode("utf-16-le"))[0] == "utf-16-le"
    assert sniff_delimiter("a;b;c\n1;2,5;3\n") == ";"
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("") == ","


def test_read_header_reads_the_first_line_of_a_csv_only(tmp_path):
    assert read_header(write(tmp_path, GOOD_ROWS)) == HEADER.split(",")
    assert read_header(write(tmp_path, GOOD_ROWS, encoding="cp1252", name="w.csv")) == (
        HEADER.split(",")
    )
    latin = write(tmp_path, [GOOD_ROWS[0].replace("Ann", "Zoë")], name="l.csv", encoding="cp1252")
    assert read_header(latin) is None  # not UTF-8: read whole
    assert read_header(tmp_path / "export.parquet") is None


def test_read_table_keeps_row_numbers_and_leaves_out_empty_lines(tmp_path):
    path = write(tmp_path, [GOOD_ROWS[0], "", GOOD_ROWS[1]])
    frame, info, problems = read_table(path)
    assert frame["_row"].tolist() == [2, 4]
    assert info["blank_rows"] == [3] and info["format"] == "csv"
    assert [(p.reason, p.rows) for p in problems] == [("empty line ignored", (3,))]
    assert frame["owner"].tolist() == ["Ann", "Bob"]


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


def test_excel_and_parquet_files(tmp_path):
    frame = pd.read_csv(write(tmp_path, GOOD_ROWS), dtype=str)
    frame.to_excel(tmp_path / "export.xlsx", index=False)
    frame.to_parquet(tmp_path / "export.parquet")
    for name in ("export.xlsx", "export.parquet"):
        loaded = load_export(tmp_path / name, as_of="2025-12-31").frame
        assert loaded["status"].tolist() == ["won", "lost", "open"]
