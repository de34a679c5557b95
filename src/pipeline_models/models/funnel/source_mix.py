"""The current source mix and lead volume: where the leads of the last ``mix_months`` came from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_models.models.funnel.groups import codes


def source_mix(
    table: pd.DataFrame, as_of: pd.Timestamp, sources: list[str], mix_months: int
) -> tuple[pd.Series, pd.Series]:
    """Share of each source among the items of ``table`` (leads, or opportunities without a leads
    table) created in the last ``mix_months`` months, and their number per month.

    With no item that recent, the mix is that of all items (with none at all, the sources share
    alike) and the number per month is 0: older items are never counted as recent ones.
    """
    start = np.datetime64(as_of - pd.DateOffset(months=mix_months), "ns")
    source = codes(table["source"], sources)
    recent = table["created"].to_numpy(dtype="datetime64[ns]") > start
    known = source >= 0

    def tally(rows: np.ndarray) -> pd.Series:
        return pd.Series(np.bincount(source[rows & known], minlength=len(sources)), index=sources)

    counts = tally(recent)
    shares = counts if counts.sum() else tally(np.ones(len(source), bool))
    total = shares.sum()
    mix = (shares / total) if total else pd.Series(1 / len(sources), index=sources)
    return mix, counts / mix_months


__all__ = ["source_mix"]
