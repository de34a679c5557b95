"""The overview as leadership reads it: business column names, the shared number formats, no
figure left as ``n/a`` in the headline, a sentence for every empty table, alt text on the chart."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from pipeline_models.analyses.overview import report
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.inputs import Sources, prepare

HEADER = "opportunity_id,created_date,close_date,stage,status,amount,currency,product"
DEALS = [
    "A1,2026-01-05,2026-02-10,Closed Won,won,1000,USD,Widget",
    "A2,2026-01-07,2026-03-01,Closed Lost,lost,,USD,Widget",
    "A3,2026-09-01,2026-12-30,Proposal,open,2500000,USD,Gadget",
    "A4,2026-10-02,2026-12-31,Discovery,open,,USD,",
]
"""A won deal, a lost deal without an amount, two open deals (one without amount or product)."""

ONLY_OPEN = [
    "B1,2026-09-01,2026-12-30,Proposal,open,,USD,Widget",
    "B2,2026-10-02,2026-12-31,Discovery,open,,USD,Gadget",
]
"""Open deals without amounts: no win rate, no revenue won, no open pipeline value."""

_NOT_SHOWN = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|(?<![\w/])n/a\b|\b\d+\.0(?![\dkMBT])|\d\.\d{4,}")


def _build(rows: list[str], tmp_path) -> tuple:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "export.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    sources = Sources(export=path, period="2026-10", cache_dir=tmp_path / "fits")
    prepare(sources, tmp_path / "run")
    return report.build(Catalog.open(tmp_path / "run"))


def _faults(frame: pd.DataFrame) -> list[str]:
    faults = [] if isinstance(frame.index, pd.RangeIndex) else [f"index {frame.index.name!r}"]
    for column in frame.columns:
        for value in [column, *frame[column].tolist()]:
            if not isinstance(value, str) or _NOT_SHOWN.search(value):
                faults.append(f"{column}: {value!r}")
    return faults


def test_every_table_reads_as_a_report(tmp_path):
    content = _build(DEALS, tmp_path)
    for name, table in content.tables.items():
        assert _faults(table.frame) == [], name
    status = content.table("status").frame
    assert list(status.columns) == ["Status", "Deals", "Amount", "Deals with an amount"]
    assert status.to_dict("records")[1] == {
        "Status": "Lost",
        "Deals": "1",
        "Amount": "none recorded",  # nothing recorded is not zero
        "Deals with an amount": "0",
    }
    assert status["Amount"].tolist()[2] == "2.50M USD"
    stages = content.table("stages").frame
    assert list(stages.columns) == ["Stage", "Open deals", "Amount", "Median age (days)"]
    products = content.table("products").frame
    assert list(products.columns) == [
        "Product",
        "Deals",
        "Won",
        "Lost",
        "Open",
        "Win rate",
        "Median won deal",
        "Revenue won",
        "Open amount",
    ]
    widget = products.set_index("Product").loc["Widget"]
    assert widget["Win rate"] == "50%" and widget["Median won deal"] == "1.00k USD"
    gadget = products.set_index("Product").loc["Gadget"]
    assert gadget["Win rate"] == "no closed deal" and gadget["Median won deal"] == "none recorded"
    months = content.table("recent_months").frame
    assert list(months.columns) == ["Month", "Deals created", "Won", "Lost", "Revenue won"]
    assert months["Month"].iloc[-1] == "Oct 2026"
    understood = content.table("understood").frame
    assert list(understood.columns) == ["Item", "Value"]


def test_the_headline_leaves_out_what_the_export_cannot_give_and_says_why(tmp_path):
    content = _build(ONLY_OPEN, tmp_path)
    labels = [label for label, _ in content.headline]
    assert labels == ["opportunities", "open deals"]
    assert not [v for _, v in content.headline if _NOT_SHOWN.search(v)]
    gaps = content.note("headline").values["gaps"]
    assert "The open pipeline's value is not shown: no open deal carries an amount." in gaps
    assert "No win rate is shown: no deal has closed yet." in gaps
    assert "No revenue won is shown: the export holds no won deal." in gaps
    full = _build(DEALS, tmp_path / "full")
    assert dict(full.headline)["open pipeline"] == "2.50M USD"
    assert full.note("headline") is None


@pytest.mark.parametrize("rows", [DEALS, ONLY_OPEN])
def test_empty_tables_say_so_and_the_chart_says_what_it_shows(rows, tmp_path):
    content = _build(rows, tmp_path)
    for name, table in content.tables.items():
        if table.frame.empty:
            assert table.empty and not table.empty.startswith("Nothing to show"), name
    chart = content.chart("volume")
    assert chart.alt.startswith("Deals created, won and lost per month")
    assert "Oct 2026" in chart.alt


def test_volume_chart_draws_on_a_money_axis(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = _build(DEALS, tmp_path).chart("volume").draw()
    try:
        axis = figure.axes[1]
        assert axis.get_ylabel().endswith("(USD)")
        figure.canvas.draw()
        ticks = [t.get_text() for t in axis.get_yticklabels()]
        assert not [t for t in ticks if "e" in t.lower()]  # never an offset such as 1e6
    finally:
        plt.close(figure)
