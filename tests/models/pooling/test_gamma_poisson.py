"""Gamma-Poisson pooling: a rate seen over a short exposure shrinks toward the others."""

from __future__ import annotations

import pytest

from pipeline_models.models.pooling import gamma_poisson_rates


def test_pooled_event_rates_shrink_short_exposure():
    table = gamma_poisson_rates([100, 110, 90, 3], [100.0, 100.0, 100.0, 1.0])
    assert table["observed"].iloc[3] == 3.0
    assert table["mean"].iloc[3] < 2.0
    assert table["mean"].iloc[0] == pytest.approx(1.0, abs=0.1)


def test_pooled_event_rates_reject_negative_exposure():
    with pytest.raises(ValueError):
        gamma_poisson_rates([1, 2], [1.0, -1.0])
