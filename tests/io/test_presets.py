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


def test_a_salesforce_api_export_loads_with_its_flags_deciding_the_status():
    # Data Loader writes API field names in upper case; a custom closed-lost stage
    # ("Closed - Lost to Competitor") is lost because IsClosed=true and IsWon=false
    result = load_export(PRESETS / "salesforce_api.csv", preset="salesforce", as_of="2026-02-01")
    frame = result.frame
    assert frame["status"].tolist() == ["won", "lost", "open", "open"]
    assert frame.loc[1, "stage"] == "Closed - Lost to Competitor"
    # relationship columns give names, Type is the segment (not a product)
    assert frame["owner"].tolist() == ["Jane Roe", "John Doe", "Jane Roe", "John Doe"]
    assert frame.loc[0, "account"] == "Acme Corp"
    assert pd.isna(frame.loc[3, "account"])
    assert frame.loc[0, "segment"] == "Existing Customer - Upgrade"
    assert frame["product"].isna().all()
    assert frame.loc[0, "created_date"].date() == pd.Timestamp("2025-01-20").date()
    assert guess_preset(list(pd.read_csv(PRESETS / "salesforce_api.csv", nrows=0))) == "salesforce"


@pytest.mark.parametrize(
    "won, closed, status",
    [("1", "1", "won"), ("0", "1", "lost"), ("0", "0", "open"), ("TRUE", "TRUE", "won")],
)
def test_a_mapping_file_can_map_won_and_closed_flags(tmp_path, won, closed, status):
    export = tmp_path / "deals.csv"
    export.write_text(
        "Deal,Opened,Closed on,Phase,Won?,Done?\n"
        f"D1,2025-01-02,2025-02-03,Custom phase,{won},{closed}\n"
    )
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "columns:\n  Deal: opportunity_id\n  Opened: created_date\n  Closed on: close_date\n"
        "  Phase: stage\n  Won?: is_won\n  Done?: is_closed\n"
    )
    frame = load_export(export, mapping=mapping, as_of="2026-01-01").frame
    assert frame["status"].tolist() == [status]


def test_a_flag_cell_that_is_not_yes_or_no_is_an_error_naming_its_row(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text(
        "Id,CreatedDate,CloseDate,StageName,IsWon,IsClosed\n"
        "A,2025-01-02,2025-02-03,Closed Won,true,true\n"
        "B,2025-01-02,2025-02-03,Closed Won,maybe,true\n"
    )
    with pytest.raises(ExportError) as caught:
        load_export(export, preset="salesforce", as_of="2026-01-01")
    problem = next(p for p in caught.value.problems if p.column == "is_won")
    assert problem.rows == (3,)
    assert "flag" in problem.reason


def test_unknown_keys_under_defaults_are_refused_naming_the_key(tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "columns:\n  Deal: opportunity_id\ndefaults:\n  created_date: 2025-01-01\n  currency: EUR\n"
    )
    with pytest.raises(ExportError) as caught:
        load_mapping(mapping)
    reasons = [p.reason for p in caught.value.problems]
    assert any("'created_date' under 'defaults:'" in r and "currency" in r for r in reasons)
    assert not any("'currency'" in r for r in reasons)


def test_a_header_no_layout_fits_is_pointed_to_a_mapping_file(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text("Deal,Opened,Phase\nD1,2025-01-02,Demo\n")
    with pytest.raises(ExportError) as caught:
        load_export(export, as_of="2026-01-01")
    assert any("--mapping FILE" in p.reason for p in caught.value.problems)


@pytest.mark.parametrize(
    "fixture, layout",
    [
        ("salesforce_api.csv", "salesforce, API field names"),
        ("salesforce.csv", "salesforce, report export"),
        ("hubspot.csv", "hubspot"),
        ("hubspot_pipelines.csv", "hubspot, deals export with its won/closed flags"),
        ("pipedrive.csv", "pipedrive, 'Deal - ' columns"),
        ("pipedrive_plain.csv", "pipedrive, columns without prefix"),
    ],
)
def test_the_load_says_which_layout_it_recognised(fixture, layout):
    preset = fixture.split("_")[0].removesuffix(".csv")
    info = load_export(
        PRESETS / fixture,
        preset=preset,
        pipeline="Renewals" if "pipelines" in fixture else None,
        as_of="2026-02-01",
    ).info
    assert info["layout"] == layout
    header = list(pd.read_csv(PRESETS / fixture, nrows=0))
    assert guess_preset(header) == preset


def test_the_crm_probability_and_forecast_category_are_read_as_the_crm_writes_them():
    # Salesforce writes Probability in percent; the canonical probability is a share
    frame = load_export(
        PRESETS / "salesforce_api.csv", preset="salesforce", as_of="2026-02-01"
    ).frame
    assert frame["probability"].tolist() == [1.0, 0.0, 0.9, 0.1]
    assert frame["forecast_category"].tolist() == ["Closed", "Omitted", "Commit", "Pipeline"]
    # Pipedrive writes it in percent too, with blanks for deals without one
    frame = load_export(
        PRESETS / "pipedrive_plain.csv", preset="pipedrive", as_of="2026-02-01"
    ).frame
    assert frame["probability"].tolist()[:1] == [1.0]
    assert frame["probability"].iloc[2] == pytest.approx(0.4)
    assert frame["probability"].iloc[[1, 3]].isna().all()


def test_an_export_of_several_pipelines_needs_one_named():
    with pytest.raises(ExportError) as caught:
        load_export(PRESETS / "hubspot_pipelines.csv", preset="hubspot", as_of="2026-02-01")
    reason = " ".join(p.reason for p in caught.value.problems)
    assert "2 pipelines" in reason and "'Sales Pipeline' (4 deals)" in reason
    assert "'Renewals' (2 deals)" in reason and "--pipeline NAME" in reason


def test_a_named_pipeline_keeps_its_deals_and_their_row_numbers():
    result = load_export(
        PRESETS / "hubspot_pipelines.csv",
        preset="hubspot",
        pipeline="sales pipeline",
        as_of="2026-02-01",
    )
    frame = result.frame
    assert frame["opportunity_id"].tolist() == [
        "9876543210",
        "9876543211",
        "9876543212",
        "9876543213",
    ]
    # the flags decide: a custom closed-lost stage is lost, never open
    assert frame["status"].tolist() == ["won", "lost", "open", "open"]
    assert frame["probability"].tolist()[:3] == [1.0, 0.0, 0.9]
    assert frame.loc[2, "forecast_category"] == "Commit"
    assert frame.loc[0, "segment"] == "newbusiness"  # Deal Type is a segment, not a product
    assert frame["product"].isna().all()
    assert result.info["pipeline"] == "sales pipeline"
    assert result.info["other_pipelines_left_out"] == 2
    renewals = load_export(
        PRESETS / "hubspot_pipelines.csv", preset="hubspot", pipeline="Renewals", as_of="2026-02-01"
    ).frame
    assert renewals["amount"].tolist() == [1200.0, 1100.0]


def test_an_unknown_pipeline_lists_the_ones_there():
    with pytest.raises(ExportError) as caught:
        load_export(
            PRESETS / "hubspot_pipelines.csv",
            preset="hubspot",
            pipeline="Partners",
            as_of="2026-02-01",
        )
    reason = caught.value.problems[-1].reason
    assert "no deal of pipeline 'Partners'" in reason and "'Renewals' (2 deals)" in reason


def test_a_pipeline_named_for_an_export_without_one_is_refused():
    with pytest.raises(ExportError) as caught:
        load_export(PRESETS / "salesforce.csv", preset="salesforce", pipeline="Sales")
    assert "no pipeline column" in caught.value.problems[-1].reason


def test_a_pipedrive_export_without_prefixes_loads(tmp_path):
    frame = load_export(
        PRESETS / "pipedrive_plain.csv", preset="pipedrive", as_of="2026-02-01"
    ).frame
    assert frame["status"].tolist() == ["won", "lost", "open", "open"]
    # the close date is when the deal was won or lost; the expected one while open
    assert [d.date().isoformat() for d in frame["close_date"][:3]] == [
        "2025-03-15",
        "2025-04-02",
        "2025-12-20",
    ]
    assert pd.isna(frame.loc[3, "close_date"])
    assert frame["amount"].tolist()[:3] == [1500.0, 900.0, 2500.0]
    assert frame.loc[0, "owner"] == "Jane Roe" and frame.loc[0, "account"] == "Acme Corp"


def test_a_mapping_file_can_name_a_pipeline_and_a_probability(tmp_path):
    export = tmp_path / "deals.csv"
    export.write_text(
        "Deal,Opened,Closed on,Phase,Outcome,Board,Chance\n"
        "D1,2025-01-02,2025-02-03,Signed,won,North,100%\n"
        "D2,2025-01-05,2025-06-03,Demo,open,North,35%\n"
        "D3,2025-01-05,2025-06-03,Demo,open,South,35%\n"
    )
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "columns:\n  Deal: opportunity_id\n  Opened: created_date\n  Closed on: close_date\n"
        "  Phase: stage\n  Outcome: status\n  Board: pipeline\n  Chance: probability\n"
    )
    frame = load_export(export, mapping=mapping, pipeline="North", as_of="2026-01-01").frame
    assert frame["opportunity_id"].tolist() == ["D1", "D2"]
    assert frame["probability"].tolist() == [1.0, 0.35]


@pytest.mark.parametrize("cell", ["150", "-10", "about half"])
def test_a_probability_that_is_not_one_is_an_error_naming_its_row(tmp_path, cell):
    export = tmp_path / "deals.csv"
    export.write_text(
        "Id,CreatedDate,CloseDate,StageName,IsWon,IsClosed,Probability\n"
        "A,2025-01-02,2025-02-03,Closed Won,true,true,100\n"
        f"B,2025-01-02,2025-06-03,Proposal,false,false,{cell}\n"
    )
    with pytest.raises(ExportError) as caught:
        load_export(export, preset="salesforce", as_of="2026-01-01")
    problem = next(p for p in caught.value.problems if p.column == "probability")
    assert problem.rows == (3,)
    assert "between 0 and 100 percent" in problem.reason
