"""The chance of each open deal being won by each coming month, against the formula written out
with fresh arrays at every step."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_models.models.forecaster.hazards import won_by


def _written_out(haz, factor, g, age0, first, odds=None):
    S, months = factor.shape
    K = haz.shape[2]
    out = np.zeros((len(g), S, months))
    alive, won = np.ones((S, len(g))), np.zeros((S, len(g)))
    for step in range(first, months):
        h = haz[:, g, np.minimum(age0 + step - first, K - 1), :]
        hl = h[..., 1]
        hw = np.minimum(h[..., 0] * factor[:, step, None], 1.0 - hl)
        if odds is not None:
            scale = 1.0 + (odds - 1.0) * hw
            hw, hl = odds * hw / scale, hl / scale
        won += alive * hw
        alive *= 1.0 - hw - hl
        out[:, :, step] = won.T
    return out


@pytest.mark.parametrize("first", [0, 2])
@pytest.mark.parametrize("scored", [False, True], ids=["group chances", "deal scores"])
def test_won_by_is_the_formula_bit_for_bit(first, scored):
    rng = np.random.default_rng(11)
    S, G, K, months, N = 40, 3, 7, 5, 60
    raw = rng.dirichlet([1.0, 1.0, 6.0], size=(S, G, K))  # won, lost, still open per month
    raw[:, 0, -1, :2] = [1e-320, 0.0]  # a hazard small enough to be subnormal
    factor = rng.gamma(8.0, 1.0 / 8.0, size=(S, months))
    g, age0 = rng.integers(0, G, N), rng.integers(0, K + 3, N)
    odds = np.exp(rng.normal(0.0, 0.8, N)) if scored else None
    found = won_by(raw, factor, g, age0, first, odds)
    np.testing.assert_array_equal(found, _written_out(raw, factor, g, age0, first, odds))
    assert found.shape == (N, S, months) and np.all(np.diff(found, axis=2) >= 0)
