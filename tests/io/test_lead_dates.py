"""Deals from leads are counted from the lead's conversion, whichever date the export wrote."""

import pandas as pd
import pytest

from pipeline_models.io.lead_dates import reconcile_lead_dates


def _tables(deal_created: list[str | None]):
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "created_date": pd.to_datetime(deal_created),
            "close_date": pd.to_datetime(["2025-05-01", "2025-03-10", None]),
            "status": ["won", "lost", "open"],
            "lead_id": pd.array([pd.NA, pd.NA, pd.NA], dtype="string"),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4"],
            "created_date": pd.to_datetime(
                ["2025-01-01", "2025-02-01", "2025-02-10", "2025-03-01"]
            ),
            "source": ["Web"] * 4,
            "opportunity_id": pd.array(["O1", "O2", "O3", pd.NA], dtype="string"),
            "converted_date": pd.to_datetime(["2025-02-15", "2025-03-20", "2025-04-01", None]),
        }
    )
    return opportunities, leads


AT_CONVERSION = ["2025-02-15", "2025-03-10", "2025-04-01"]
AT_FIRST_CONTACT = ["2025-01-01", "2025-02-01", "2025-02-10"]


def test_both_conventions_give_the_same_tables():
    conversion = reconcile_lead_dates(*_tables(AT_CONVERSION), "leads.csv")
    contact = reconcile_lead_dates(*_tables(AT_FIRST_CONTACT), "leads.csv")
    pd.testing.assert_frame_equal(conversion[0], contact[0])
    pd.testing.assert_frame_equal(conversion[1], contact[1])
    assert conversion[2].convention == "conversion"
    assert contact[2].convention == "first_contact"
    # a deal is never created after its own actual close (O2 converted after it was lost)
    assert contact[0].loc[1, "created_date"] == pd.Timestamp("2025-03-10")


def test_a_first_contact_export_says_what_was_moved():
    opps, leads, found, warnings = reconcile_lead_dates(*_tables(AT_FIRST_CONTACT), "leads.csv")
    assert (found.linked, found.redated) == (3, 3)
    assert found.median_days_moved == pytest.approx(45)  # 45, 37 and 50 days
    assert len(warnings) == 1
    text = str(warnings[0])
    assert "leads.csv" in text and "first contact" in text and "3 of 3" in text


def test_a_conversion_export_is_left_as_it_is():
    before = _tables(AT_CONVERSION)
    opps, leads, found, warnings = reconcile_lead_dates(*before, "leads.csv")
    pd.testing.assert_frame_equal(opps, before[0])
    assert found.redated == 0 and warnings == []


def test_missing_links_and_conversion_dates_are_filled_from_the_other_table():
    opps, leads = _tables(AT_CONVERSION)
    leads.loc[2, "converted_date"] = pd.NaT  # converted lead without its date
    opps.loc[2, "lead_id"] = "L4"  # a deal naming a lead that names no deal
    leads.loc[2, "opportunity_id"] = pd.NA
    out_opps, out_leads, found, warnings = reconcile_lead_dates(opps, leads, "leads.csv")
    assert out_leads.loc[3, "opportunity_id"] == "O3"
    assert out_leads.loc[3, "converted_date"] == pd.Timestamp("2025-04-01")
    assert (found.links_added, found.conversions_dated) == (1, 1)
    assert any("lead_id" in str(w) for w in warnings)
    # the inputs are not modified
    assert pd.isna(leads.loc[3, "opportunity_id"])
