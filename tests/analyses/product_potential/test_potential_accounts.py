"""The accounts most likely to buy each product: the listing, its reader table and sentence, and
the report's section on the small sample and on an export without accounts."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_models.analyses.product_potential import accounts, narrative, report
from pipeline_models.models.period import PeriodModels
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.inputs import Sources, prepare


def account_table() -> pd.DataFrame:
    """A hand-made ``account_table``: two products, four accounts."""
    rows = [
        # account, product, chance, bought_before, deals_won
        ("a", "X", 0.30, True, 2),
        ("b", "X", 0.30, False, 5),
        ("c", "X", 0.10, False, 1),
        ("d", "X", 0.50, True, 1),
        ("a", "Y", 0.05, False, 2),
        ("b", "Y", 0.02, False, 5),
        ("c", "Y", 0.01, True, 1),
        ("d", "Y", 0.04, False, 1),
    ]
    table = pd.DataFrame(
        rows, columns=["account", "product", "chance", "bought_before", "deals_won"]
    )
    return table.assign(
        segment="S",
        low=table["chance"] / 2,
        high=table["chance"] * 1.5,
        open_deals=0,
    )


def test_top_accounts_per_product_by_chance_ties_to_more_won_deals():
    table = account_table()
    before = table.copy()
    top = accounts.top_accounts(table, 2)
    pd.testing.assert_frame_equal(table, before)
    assert list(top.columns) == list(accounts.COLUMNS)
    # X is expected to be bought most (sum of chances), so it comes first
    assert list(zip(top["product"], top["account"], strict=True)) == [
        ("X", "d"),
        ("X", "b"),  # ties with a at 30%, but has more won deals
        ("Y", "a"),
        ("Y", "d"),
    ]
    assert list(top["new_to_account"]) == [False, True, True, True]
    new = accounts.top_accounts(table, 2, new_only=True)
    assert list(zip(new["product"], new["account"], strict=True)) == [
        ("X", "b"),
        ("X", "c"),
        ("Y", "a"),
        ("Y", "d"),
    ]
    assert new["new_to_account"].all()
    with pytest.raises(ValueError):
        accounts.top_accounts(table, 0)


def test_reader_table_and_sentence():
    top = accounts.top_accounts(account_table(), 2)
    shown = accounts.accounts_reader_table(top, 12, "segment")
    # the product is a first column, not an index a page would show as a header row of its own
    assert isinstance(shown.index, pd.RangeIndex)
    assert list(shown["Product"]) == ["X", "X", "Y", "Y"]
    assert list(shown.columns) == [
        "Product",
        "Account",
        "Segment",
        "Chance to buy within 12 months",
        "New to the account",
        "Won deals",
        "Open deals",
    ]
    assert shown.iloc[0]["Chance to buy within 12 months"] == "50%\u00a0(25%–75%)"
    assert list(shown["New to the account"]) == ["no", "yes", "yes", "yes"]
    assert "Segment" not in accounts.accounts_reader_table(top, 12, None).columns
    values = narrative.accounts_values(top)
    assert values == {
        "listed": "4",
        "new": "3",
        "account": "d",
        "product": "X",
        "chance": "50%\u00a0(25%–75%)",
    }
    assert "90% interval" in accounts.accounts_caption(12)
    assert "never bought" in accounts.accounts_caption(12, new_only=True)


def _catalog(export: pd.DataFrame | None, source, tmp_path) -> Catalog:
    path = source
    if export is not None:
        path = tmp_path / "export.csv"
        export.to_csv(path, index=False)
    sources = Sources(export=path, period="2026-10", random_seed=3, cache_dir=tmp_path / "fits")
    catalog = prepare(sources, tmp_path / "run").catalog
    return Catalog.open(catalog.folder)


def _without_period_models(catalog: Catalog, monkeypatch) -> None:
    """The period's PyMC fits take minutes; the accounts section does not read them, and the
    report built without them (its unavailable form) still holds it."""
    skipped = {name: "left out here" for name in ("win_rate", "revenue", "cycle_time")}
    models = PeriodModels(None, None, None, skipped=skipped)
    monkeypatch.setattr(catalog, "period_models", lambda: models)


def test_the_section_on_the_small_sample(small_sample, tmp_path, monkeypatch):
    catalog = _catalog(None, small_sample / "exports" / "opportunities_2026-10.csv", tmp_path)
    _without_period_models(catalog, monkeypatch)
    content = report.build(catalog, top_accounts=3)
    table = content.table("accounts")
    products = catalog.opportunities()["product"].dropna().unique()
    assert len(table.frame) == 3 * len(products)
    assert set(table.frame["Product"]) == set(products)
    assert "Segment" in table.frame.columns
    assert table.frame["New to the account"].isin(["yes", "no"]).all()
    assert table.caption.startswith("Accounts most likely to buy each product within 12 months")
    new = content.table("accounts_new")
    assert len(new.frame) == 3 * len(products)
    assert (new.frame["New to the account"] == "yes").all()
    assert not content.files["accounts_new"]["new_to_account"].eq(False).any()
    note = content.note("accounts")
    listed = content.files["accounts"]
    assert note.values["account"] in set(listed["account"])
    assert note.values["account"] not in note.template  # a CRM string is a value, escaped
    assert "buy alike" in note.template  # the generator's accounts of a segment buy alike
    figures = content.figures["accounts"]
    assert figures["listed"] == len(listed) and figures["horizon_months"] == 12
    assert "fits.account_products" in content.fits
    chance = listed.groupby("product")["chance"]
    assert (chance.diff().dropna() <= 0).all()  # best first within each product


def test_the_section_says_plainly_what_an_export_without_accounts_cannot_show(
    small_sample, tmp_path, monkeypatch
):
    export = pd.read_csv(small_sample / "exports" / "opportunities_2026-10.csv", dtype=str)
    catalog = _catalog(export.drop(columns=["account"]), None, tmp_path)
    _without_period_models(catalog, monkeypatch)
    content = report.build(catalog)
    assert content.table("accounts") is None and content.table("accounts_new") is None
    note = content.note("accounts")
    assert note.template == narrative.ACCOUNTS_UNAVAILABLE
    assert "records no account on any deal" in note.values["reason"]
    assert content.figures["accounts"] == {"unavailable": note.values["reason"]}
    assert "accounts" not in content.files and "accounts_new" not in content.files
