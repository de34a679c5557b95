"""``pipeline_models.patterns`` still offers every name the report notebook and older code use."""

from __future__ import annotations

from pipeline_models import patterns
from pipeline_models.analyses import patterns as analyses_patterns
from pipeline_models.models import pooling


def test_every_old_name_resolves():
    missing = [name for name in patterns.__all__ if not hasattr(patterns, name)]
    assert missing == []


def test_old_names_are_the_new_objects():
    assert patterns.pooled_rates is pooling.beta_binomial_rates
    assert patterns.pooled_event_rates is pooling.gamma_poisson_rates
    assert patterns.pooled_means is pooling.normal_means
    for name in analyses_patterns.__all__:
        if name in patterns.__all__:
            assert getattr(patterns, name) is getattr(analyses_patterns, name), name
