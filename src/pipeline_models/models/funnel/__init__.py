"""The lead funnel model: lead -> opportunity -> won by lead source, with lags and censoring.

``LeadFunnelModel(FunnelConfig(...)).fit(frame, leads, as_of, random_seed=...)`` keeps the
estimator contract of :mod:`pipeline_models.models.contract`; its parts are one module each:
settings (``config``), levels and groups (``groups``), the opportunities table (``opportunities``),
the items on a time line (``items``), lag distributions (``lags``, ``timing``), counts and
censored trials (``tally``), the stalled share (``lost_share``), rates (``rates``), amounts
(``amounts``) and the source mix (``source_mix``).
"""

from pipeline_models.models.funnel.amounts import Amounts, fit_amounts
from pipeline_models.models.funnel.config import THIN_SOURCE, FunnelConfig
from pipeline_models.models.funnel.items import FunnelItems, funnel_items, leads_as_of
from pipeline_models.models.funnel.lags import LagDistribution, truncation_weights
from pipeline_models.models.funnel.model import LeadFunnelModel
from pipeline_models.models.funnel.opportunities import OUTCOMES, opportunity_sources
from pipeline_models.models.funnel.tally import exposure_rows

__all__ = [
    "OUTCOMES",
    "THIN_SOURCE",
    "Amounts",
    "FunnelConfig",
    "FunnelItems",
    "LagDistribution",
    "LeadFunnelModel",
    "exposure_rows",
    "fit_amounts",
    "funnel_items",
    "leads_as_of",
    "opportunity_sources",
    "truncation_weights",
]
