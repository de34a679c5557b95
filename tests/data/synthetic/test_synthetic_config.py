"""Tests of the generator's configuration: it refuses what it cannot simulate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from synthetic_cases import SMALL

from pipeline_models.data.synthetic.config import stall_probabilities


def test_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="bottleneck_stage"):
        replace(SMALL, bottleneck_stage="Demo")
    with pytest.raises(ValueError, match="strong_source"):
        replace(SMALL, strong_source="Billboard")
    with pytest.raises(ValueError, match="probability outside"):
        replace(SMALL, stalled_fraction=0.5, stalled_share=1.0)


def test_stall_probabilities_keep_the_stalled_fraction_and_share():
    inside, outside = stall_probabilities(SMALL)
    target = 0.0
    for product in SMALL.products:
        share = product.share / sum(p.share for p in SMALL.products)
        target += share * product.segment_mix[SMALL.segments.index(SMALL.stalled_segment)]
    assert inside * target + outside * (1 - target) == pytest.approx(SMALL.stalled_fraction)
    assert inside * target / SMALL.stalled_fraction == pytest.approx(SMALL.stalled_share)
