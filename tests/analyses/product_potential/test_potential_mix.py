"""The product mix per month (:mod:`pipeline_models.analyses.product_potential.mix`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from potential_cases import hand_frame

from pipeline_models.analyses.product_potential.mix import amount_recorded_share, mix_by_month


def test_mix_by_month_shares_add_to_one_in_the_same_product_order():
    frame = hand_frame()
    created = mix_by_month(frame, "created", "count", as_of="2026-09-30")
    won = mix_by_month(frame, "won", "amount", as_of="2026-09-30")
    np.testing.assert_allclose(created.sum(axis=1), 1.0)
    np.testing.assert_allclose(won.sum(axis=1), 1.0)
    assert list(created.columns) == ["X", "Y", "(none)"]  # by deals in the whole export
    assert list(won.columns) == [c for c in created.columns if c in won.columns]
    assert won.loc[pd.Period("2026-06", "M"), "X"] == 1.0
    top = mix_by_month(frame, "created", "count", top=1)
    assert list(top.columns) == ["X", "other"]


def test_amount_recorded_share_counts_deals_with_an_amount():
    frame = hand_frame()
    assert amount_recorded_share(frame) == pytest.approx(6 / 8)  # deals 2 and 5 lack one
    assert np.isnan(amount_recorded_share(frame.iloc[:0]))
