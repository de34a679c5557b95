"""The product mix over time: each product's share of the pipeline created, or of the revenue won,
per month."""

from __future__ import annotations

import pandas as pd

from .levels import level_labels

OTHER = "other"
"""Column that sums the products beyond the largest ones."""


def amount_recorded_share(frame: pd.DataFrame) -> float:
    """Share of deals with a recorded amount (an amount mix means little when most lack one)."""
    if not len(frame):
        return float("nan")
    return float(pd.to_numeric(frame["amount"], errors="coerce").notna().mean())


def mix_by_month(
    frame: pd.DataFrame,
    kind: str = "created",
    measure: str = "count",
    column: str = "product",
    top: int = 8,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Share of each product per month: of the pipeline created, or of the revenue won.

    Parameters
    ----------
    kind
        ``"created"`` (deals by creation month) or ``"won"`` (won deals by close month).
    measure
        ``"count"`` (deals) or ``"amount"`` (their amounts; empty amounts count 0).
    top
        Products beyond the ``top`` largest overall are summed as ``"other"``.
    as_of
        Months after this day are left out.

    Returns
    -------
    pandas.DataFrame
        Index month (Period), one column per product (ordered by the product's deals in the whole
        export, then ``"other"``), rows summing to 1 (months with nothing are left out);
        ``attrs["totals"]`` holds the month totals.
    """
    if kind not in ("created", "won"):
        raise ValueError("kind must be 'created' or 'won'")
    if measure not in ("count", "amount"):
        raise ValueError("measure must be 'count' or 'amount'")
    date_col = "created_date" if kind == "created" else "close_date"
    rows = frame[[date_col, column, "amount"]]
    if kind == "won":
        rows = rows[frame["status"].astype("string").eq("won").fillna(False).to_numpy(bool)]
    dates = pd.to_datetime(rows[date_col], errors="coerce")
    ok = dates.notna()
    if as_of is not None:
        ok &= dates <= pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    rows, dates = rows[ok.to_numpy()], dates[ok]
    label = level_labels(rows, [column])
    value = (
        pd.Series(1.0, index=rows.index)
        if measure == "count"
        else pd.to_numeric(rows["amount"], errors="coerce").fillna(0.0)
    )
    keep = _largest(frame, column, top)
    label = label.where(label.isin(keep), OTHER)
    table = value.groupby([dates.dt.to_period("M"), label]).sum().unstack(fill_value=0.0)
    if table.empty:
        return table
    order = [c for c in [*keep, OTHER] if c in table.columns]
    table = table[order]
    totals = table.sum(axis=1)
    table = table[totals > 0].div(totals[totals > 0], axis=0)
    table.index.name = "month"
    table.columns.name = column
    table.attrs["totals"] = totals[totals > 0]
    return table


def _largest(frame: pd.DataFrame, column: str, top: int) -> list[str]:
    """The ``top`` levels of ``column`` with the most deals in the whole export (ties by name)."""
    # ranked by deals in the whole export, whatever the kind and measure, so the charts of one
    # report list (and colour) the products in the same order
    everyone = level_labels(frame, [column]).value_counts()
    ranked = sorted(everyone.index, key=lambda lv: (-everyone[lv], str(lv)))
    return ranked[:top]
