"""CRM header spellings: built-in presets, preset guessing and user mapping files."""

from __future__ import annotations

import pandas as pd
import pytest
from io_exports import PRESETS, problems_of, write

from pipeline_models.contract.problems import ExportError
from pipeline_models.io.opportunities import load_export
from pipeline_models.io.presets import get_mapping, guess_preset, load_mapping


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


def test_an_unknown_preset_is_refused_with_the_known_ones():
    with pytest.raises(ExportError) as info:
        get_mapping("zoho")
    assert "unknown preset 'zoho'" in str(info.value) and "salesforce" in str(info.value)


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


def test_a_mapping_file_gives_its_settings(tmp_path):
    path = tmp_path / "crm.yml"
    path.write_text(
        "columns:\n  ID: opportunity_id\n  Ref: opportunity_id\n  Phase: stage\n"
        "status:\n  ' Signed ': won\n"
        "open_stages: [Demo, 3]\n"
        "dayfirst: true\n"
        "decimal: ','\n"
        "defaults:\n  currency: 978\n"
    )
    mapping = load_mapping(path)
    assert mapping.name == "mapping:crm.yml"
    assert mapping.columns == {"opportunity_id": ["ID", "Ref"], "stage": "Phase"}
    assert mapping.status == {"Signed": "won"}
    assert mapping.open_stages == ("Demo", "3")
    assert (mapping.dayfirst, mapping.decimal, mapping.date_format) == (True, ",", None)
    assert mapping.defaults == {"currency": "978"}


def test_invalid_mapping_file_is_explained(tmp_path):
    mapping = tmp_path / "bad.yml"
    mapping.write_text("columns:\n  ID: deal_number\nfoo: 1\n")
    with pytest.raises(ExportError) as info:
        load_mapping(mapping)
    text = str(info.value)
    assert "'deal_number', which is not a canonical column" in text
    assert "unknown key 'foo'" in text


def test_every_invalid_setting_of_a_mapping_file_is_listed_in_order(tmp_path):
    mapping = tmp_path / "bad.yml"
    mapping.write_text(
        "columns:\n  ID: opportunity_id\n"
        "status:\n  Signed: closed\n"
        "open_stages: Demo\n"
        "date_format: dd.mm.yyyy\n"
        "dayfirst: maybe\n"
        "decimal: ';'\n"
        "defaults: [EUR]\n"
    )
    with pytest.raises(ExportError) as info:
        load_mapping(mapping)
    assert [p.reason for p in info.value.problems] == [
        "stage 'Signed' maps to 'closed'; use won, lost or open",
        "'open_stages:' must be a list of stage names",
        "date_format 'dd.mm.yyyy' is not a strftime format such as '%d.%m.%Y'",
        "dayfirst must be true or false, not 'maybe'",
        "decimal must be '.' or ',', not ';'",
        "'defaults:' must map canonical columns to values",
    ]
    assert info.value.headline == f"mapping file {mapping} is invalid"
