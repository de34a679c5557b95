"""Charts of the pipeline overview, in the report palette, money on a k/M axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from pipeline_models.analyses.overview.figures import level_labels
from pipeline_models.present import palette
from pipeline_models.present.axes import money_axis
from pipeline_models.present.labels import chart_label

OTHER = "other products"
"""The label of the products a chart gathers beyond its largest few."""


def plot_monthly_volume(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Deals created, won and lost per month."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    x = table.index.to_timestamp()
    ax.plot(x, table["created"], label="created", color=palette.ESTIMATE)
    ax.plot(x, table["won"], label="won", color=palette.GAIN)
    ax.plot(x, table["lost"], label="lost", color=palette.LOSS)
    ax.set_ylabel("deals per month")
    ax.set_ylim(0, None)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def revenue_by_product(frame: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """Revenue won per close month (rows) and product (columns): the ``top`` products with the
    most revenue won, the others gathered as :data:`OTHER`."""
    won = frame[frame["status"] == "won"]
    product = level_labels(won["product"])
    keep = won.groupby(product)["amount"].sum().nlargest(top).index
    product = product.where(product.isin(keep), OTHER)
    table = (
        won.groupby([won["close_date"].dt.to_period("M"), product])["amount"]
        .sum()
        .unstack(fill_value=0)
    )
    # products in the order of their deals in the whole export, as the product reports list
    # (and colour) them; the others last
    deals = level_labels(frame["product"]).value_counts()
    rank = {p: (-deals.get(p, 0), str(p)) for p in table.columns if p != OTHER}
    order = sorted(rank, key=rank.__getitem__) + [c for c in table.columns if c == OTHER]
    table = table[order]
    table.index = table.index.to_timestamp() if len(table) else table.index
    return table


def plot_revenue_by_product(
    frame: pd.DataFrame, ax: Axes | None = None, top: int = 8, currency: str = ""
) -> Axes:
    """Revenue won per close month, stacked by product (the largest ``top`` products)."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    table = revenue_by_product(frame, top)
    ax.set_ylabel("revenue won per month")
    if len(table) and table.to_numpy().sum() > 0:
        colors = [
            palette.REFERENCE if c == OTHER else palette.SERIES[i % len(palette.SERIES)]
            for i, c in enumerate(table.columns)
        ]
        ax.stackplot(
            table.index,
            table.T.to_numpy(),
            labels=[chart_label(c) for c in table.columns],
            colors=colors,
            alpha=0.9,
        )
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], frameon=False, fontsize=8, loc="upper left", ncols=2)
    else:
        ax.text(
            0.5,
            0.5,
            "no won deal with an amount",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=palette.REFERENCE,
        )
    money_axis(ax, "y", currency=currency)
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    return ax
