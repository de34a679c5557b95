"""What each account may buy next: the product of its next won deal and the chance it buys within
a horizon, pooled over the accounts of its segment.

``AccountProductsModel(AccountsConfig(...)).fit(frame, as_of, random_seed=...)`` keeps the
estimator contract of :mod:`pipeline_models.models.contract`; its parts are one module each:
settings (``config``), each account's deals by product (``purchases``), the chance to buy at all
(``buying``) and the model (``model``).
"""

from pipeline_models.models.accounts.buying import buy_counts, buy_rates
from pipeline_models.models.accounts.config import AccountsConfig
from pipeline_models.models.accounts.model import AccountProductsModel
from pipeline_models.models.accounts.purchases import (
    Purchases,
    account_purchases,
    refusal,
    segment_column,
)

__all__ = [
    "AccountProductsModel",
    "AccountsConfig",
    "Purchases",
    "account_purchases",
    "buy_counts",
    "buy_rates",
    "refusal",
    "segment_column",
]
