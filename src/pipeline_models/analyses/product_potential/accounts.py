"""The accounts most likely to buy each product: from the period's account model, per product the
accounts with the highest chance to buy it within the model's horizon, whether it would be new to
them, and the reader's table of them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from pipeline_models.analyses.policy import INTERVAL
from pipeline_models.present.formats import format_count, format_pct

if TYPE_CHECKING:
    from pipeline_models.models.accounts import AccountProductsModel

TOP_ACCOUNTS = 5
"""Accounts listed per product: a short list a seller can act on."""

COLUMNS = (
    "product",
    "account",
    "segment",
    "chance",
    "low",
    "high",
    "new_to_account",
    "deals_won",
    "open_deals",
)
"""Columns of :func:`top_accounts` (the report's CSV file)."""


def top_accounts(
    table: pd.DataFrame, top: int = TOP_ACCOUNTS, new_only: bool = False
) -> pd.DataFrame:
    """Per product, the ``top`` accounts by chance to buy it; the input is not modified.

    ``table``: :meth:`AccountProductsModel.account_table`. Ties go to the account with more won
    deals, then by name. Products come in the order of the accounts expected to buy them (the sum
    of their chances), most first. ``new_only``: only accounts that never bought the product.
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    expected = table.groupby("product")["chance"].sum().sort_values(ascending=False, kind="stable")
    rank = pd.Series(range(len(expected)), index=expected.index)
    if new_only:
        table = table[~table["bought_before"].astype(bool)]
    ordered = table.assign(
        _product=table["product"].map(rank), new_to_account=~table["bought_before"].astype(bool)
    ).sort_values(
        ["_product", "chance", "deals_won", "account"],
        ascending=[True, False, False, True],
        kind="stable",
    )
    shown = ordered.groupby("_product", sort=True).head(top)
    return shown[list(COLUMNS)].reset_index(drop=True)


def with_intervals(shown: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`top_accounts` rows with ``low`` and ``high`` from ``table`` (the intervals of
    these accounts, :meth:`AccountProductsModel.account_intervals`), in the same order."""
    bounds = table.set_index(["account", "product"])[["low", "high"]]
    keys = pd.MultiIndex.from_frame(shown[["account", "product"]])
    out = shown.copy()
    out[["low", "high"]] = bounds.reindex(keys).to_numpy()
    return out


def chance_text(chance: float, low: float, high: float) -> str:
    """``mean (low–high)`` as percentages, with non-breaking spaces so a cell never wraps."""
    return f"{format_pct(chance)}\u00a0({format_pct(low)}–{format_pct(high)})"


def accounts_reader_table(
    top: pd.DataFrame, horizon_months: int, segment_label: str | None
) -> pd.DataFrame:
    """:func:`top_accounts` for readers: the product a first column, the chance with its
    interval, "yes" where the product would be new to the account; ``segment_label`` names the
    grouping (``None``: left out)."""
    out = pd.DataFrame({"Product": top["product"].to_numpy(), "Account": top["account"].to_numpy()})
    if segment_label is not None:
        out[segment_label[:1].upper() + segment_label[1:]] = top["segment"].to_numpy()
    out[f"Chance to buy within {horizon_months} months"] = [
        chance_text(c, lo, hi)
        for c, lo, hi in zip(top["chance"], top["low"], top["high"], strict=True)
    ]
    out["New to the account"] = ["yes" if new else "no" for new in top["new_to_account"]]
    out["Won deals"] = top["deals_won"].map(format_count).to_numpy()
    out["Open deals"] = top["open_deals"].map(format_count).to_numpy()
    return out


def accounts_caption(horizon_months: int, new_only: bool = False) -> str:
    """Caption of :func:`accounts_reader_table` (of the accounts new to each product)."""
    what = "each product they never bought" if new_only else "each product"
    return (
        f"Accounts most likely to buy {what} within {horizon_months} months "
        f"(chance: mean and {INTERVAL:.0%} interval)"
    )


def accounts_figures(model: AccountProductsModel, top: pd.DataFrame) -> dict:
    """Machine-readable figures of the section (``summary.json``)."""
    return {
        "horizon_months": model.accounts_config.horizon_months,
        "accounts": len(model.purchases_.accounts),
        "segment_column": model.purchases_.segment_column,
        "account_concentration": float(model.account_concentration_),
        "listed": len(top),
        "new_to_account": int(top["new_to_account"].sum()),
        "top": {
            str(product): [str(a) for a in group["account"]]
            for product, group in top.groupby("product", sort=False)
        },
    }


__all__ = [
    "COLUMNS",
    "TOP_ACCOUNTS",
    "accounts_caption",
    "accounts_figures",
    "accounts_reader_table",
    "chance_text",
    "top_accounts",
    "with_intervals",
]
