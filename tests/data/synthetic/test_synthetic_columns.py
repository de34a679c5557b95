"""Tests of day numbers and the columns built from them."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from pipeline_models.data.synthetic.columns import (
    NEVER,
    dates,
    day_number,
    day_numbers,
    ids,
    iso,
    month_end_day,
    slug,
)


def test_day_numbers_round_trip_and_never_is_missing():
    days = np.array([day_number("2026-02-14"), NEVER, day_number(date(2024, 2, 29))])
    assert iso(days).tolist()[0::2] == ["2026-02-14", "2024-02-29"]
    assert pd.isna(iso(days)[1])
    stamped = pd.Series(dates(days))
    assert stamped.isna().tolist() == [False, True, False]
    assert (day_numbers(stamped) == days).all()


def test_month_end_day_is_the_last_day_of_the_month():
    days = np.array([day_number("2024-02-01"), day_number("2026-12-31")])
    assert iso(month_end_day(days)).tolist() == ["2024-02-29", "2026-12-31"]


def test_ids_are_padded_to_a_common_width():
    assert ids("OPP-", 3).to_pylist() == ["OPP-000001", "OPP-000002", "OPP-000003"]
    assert ids("L-", 1_234_567).to_pylist()[-1] == "L-1234567"


def test_slug_names_stage_columns():
    assert slug("Closed Won") == "closed_won"
    assert slug("  Proposal / Quote ") == "proposal_quote"
