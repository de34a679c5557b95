"""The CRM's own win probability of a deal, as exports write it: ``0.4``, ``40``, ``40%``, ``40,5``.

A column is read as percent when any of its cells carries a ``%`` sign or a value above 1 (every
CRM we know writes probability in percent: Salesforce ``Probability``, HubSpot ``Deal probability``
in its exports, Pipedrive ``Probability``); a column whose values all lie in 0..1 is read as shares.
The canonical ``probability`` is a share, 0 to 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .amounts import read_amounts
from .cells import is_blank
from .collector import Collector, values_of
from .columns import coalesce


def read_probabilities(source: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``source`` cells as shares 0..1, and the mask of cells that are not a probability (not a
    number, negative, or above 100 percent).

    Parameters
    ----------
    source
        Cells as text (blank: no probability).
    """
    text = source.astype("string").str.strip()
    percent_sign = text.str.endswith("%").fillna(False)
    numbers = read_amounts(text.str.rstrip("%").str.strip())
    value = numbers.amounts.astype(float)
    blank = is_blank(text)
    bad = (numbers.bad | numbers.ambiguous | numbers.negative) & ~blank
    in_percent = bool(percent_sign.any() or (value[~bad] > 1).any())
    share = value / 100 if in_percent else value
    bad = bad | (share > 1).fillna(False)
    return share.where(~bad & ~blank).astype(float), bad


def read_probability_column(
    parse: pd.DataFrame, out: pd.DataFrame, found: dict, col: Collector
) -> None:
    """Add ``probability`` (a share) to ``out`` when the mapping found a column for it, reporting
    cells that are not a probability."""
    if "probability" not in found:
        return
    source = coalesce(parse, found["probability"])
    share, bad = read_probabilities(source)
    col.add(
        "probability is not a number between 0 and 100 percent",
        "probability",
        bad,
        values_of(source, bad),
    )
    out["probability"] = share.to_numpy(dtype=float, na_value=np.nan)


__all__ = ["read_probabilities", "read_probability_column"]
