"""The overview's figures: ages from the reference date, status counts, products."""

from __future__ import annotations

import pandas as pd

from pipeline_models.analyses.overview import figures
from pipeline_models.contract.period import reference_date
from pipeline_models.contract.schema import conform_opportunities


def _frame() -> pd.DataFrame:
    rows = [
        # id, created, close (actual or expected), stage, status, amount, product
        ("A", "2026-09-01", "2028-06-30", "Proposal", "open", 100.0, "Widget"),
        ("B", "2026-08-01", "2027-12-31", "Proposal", "open", 300.0, "Widget"),
        ("C", "2026-10-21", "2026-11-30", "Discovery", "open", None, None),
        ("D", "2026-01-05", "2026-03-01", "Closed Won", "won", 500.0, "Widget"),
        ("E", "2026-02-05", "2026-04-01", "Closed Lost", "lost", None, "Gadget"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "created_date",
            "close_date",
            "stage",
            "status",
            "amount",
            "product",
        ],
    )
    for column in ("created_date", "close_date"):
        frame[column] = pd.to_datetime(frame[column])
    return conform_opportunities(frame)


def test_open_deal_ages_count_from_the_reference_date_not_the_latest_expected_close():
    table = figures.stage_mix(_frame(), reference_date("2026-10"))
    # A: 60 days, B: 91 days on 2026-10-31; the expected closes in 2027/2028 play no part
    assert table.loc["Proposal", "median_age_days"] == (60 + 91) / 2
    assert table.loc["Discovery", "median_age_days"] == 10
    assert table.loc["Proposal", "deals"] == 2


def test_status_and_win_rate_and_products():
    frame = _frame()
    status = figures.status_table(frame)
    assert status["deals"].to_dict() == {"won": 1, "lost": 1, "open": 3}
    assert pd.isna(status.loc["lost", "amount"])  # nothing recorded is not zero
    assert figures.win_rate(frame) == 0.5
    products = figures.product_table(frame)
    assert products.loc["(none)", "open"] == 1
    assert products.loc["Widget", "win_rate"] == 1.0
    assert products.loc["Widget", "open_amount"] == 400.0
