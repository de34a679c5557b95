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

    With no item that recent, all items count; with none at all, the sources share alike.
    """
    start = np.datetime64(as_of - pd.DateOffset(months=mix_months), "ns")
    source = codes(table["source"], sources)
    recent = table["created"].to_numpy(dtype="datetime64[ns]") > start
    if recent.any():
        source = source[recent]
    counts = pd.Series(np.bincount(source[source >= 0], minlength=len(sources)), index=sources)
    total = counts.sum()
    mix = (counts / total) if total else pd.Series(1 / len(sources), index=sources)
    return mix, counts / mix_months


__all__ = ["source_mix"]
