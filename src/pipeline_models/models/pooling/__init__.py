"""Empirical-Bayes pooling engines shared by the analyses, one module per engine.

Each engine fits a common prior to the counts (or values) of many groups by maximum marginal
likelihood or moments, then returns every group's posterior summary: a group with little data is
pulled toward the others, a group with much data keeps its own estimate.
"""

from pipeline_models.models.pooling.beta_binomial import beta_binomial_rates
from pipeline_models.models.pooling.censored_beta import censored_beta_rates
from pipeline_models.models.pooling.dirichlet_hazards import dirichlet_draws, pool_hazards
from pipeline_models.models.pooling.dirichlet_multinomial import pool_mixes
from pipeline_models.models.pooling.gamma_poisson import gamma_poisson_rates
from pipeline_models.models.pooling.normal_means import normal_means

__all__ = [
    "beta_binomial_rates",
    "censored_beta_rates",
    "dirichlet_draws",
    "gamma_poisson_rates",
    "normal_means",
    "pool_hazards",
    "pool_mixes",
]
