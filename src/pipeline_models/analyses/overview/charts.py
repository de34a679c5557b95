"""Charts of the pipeline overview."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from pipeline_models.analyses.overview.figures import level_labels
from pipeline_models.present import palette
from pipeline_models.present.labels import chart_label


def plot_monthly_volume(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Deals created, won and lost per month."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    x = table.index.to_timestamp()
    ax.plot(x, table["created"], label="created", color=palette.ESTIMATE)
    ax.plot(x, table["won"], label="won", color=palette.GAIN)
    ax.plot(x, table["lost"], label="lost", color=palette.LOSS)
    ax.set_ylabel("deals per month")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax


def plot_revenue_by_product(frame: pd.DataFrame, ax: Axes | None = None, top: int = 8) -> Axes:
    """Revenue won per close month, stacked by product (the largest ``top`` products)."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    won = frame[frame["status"] == "won"]
    product = level_labels(won["product"])
    keep = won.groupby(product)["amount"].sum().nlargest(top).index
    product = product.where(product.isin(keep), "other")
    table = (
        won.groupby([won["close_date"].dt.to_period("M"), product])["amount"]
        .sum()
        .unstack(fill_value=0)
    )
    if len(table):
        table.index = table.index.to_timestamp()
        ax.stackplot(
            table.index,
            table.T.to_numpy(),
            labels=[chart_label(c) for c in table.columns],
            alpha=0.85,
        )
        ax.legend(frameon=False, fontsize=8, loc="upper left", ncols=2)
    ax.set_ylabel("revenue won")
    ax.grid(alpha=0.3)
    return ax
