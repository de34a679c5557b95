"""Normal-normal pooling: a tiny group's mean shrinks toward the grand mean."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_models.models.pooling import normal_means


def test_pooled_means_shrink_toward_the_grand_mean():
    rng = np.random.default_rng(1)
    values = pd.Series(np.r_[rng.normal(0, 1, 300), rng.normal(1.0, 1, 300), [3.0, 3.2]])
    groups = pd.Series(["a"] * 300 + ["b"] * 300 + ["tiny"] * 2)
    table = normal_means(values, groups, ["a", "b", "tiny", "absent"])
    assert table.loc["tiny", "observed"] > 3
    assert table.loc["tiny", "mean"] < 2.5
    assert table.loc["a", "mean"] == pytest.approx(table.loc["a", "observed"], abs=0.05)
    assert table.loc["absent", "n"] == 0
