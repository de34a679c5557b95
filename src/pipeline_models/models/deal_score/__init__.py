"""The deal score: a calibrated chance of winning for every deal, from what is known when it is
created (:class:`DealScoreModel`)."""

from pipeline_models.models.deal_score.config import CANONICAL_ATTRIBUTES, DealScoreConfig
from pipeline_models.models.deal_score.model import DealScoreModel, score_frame

__all__ = ["CANONICAL_ATTRIBUTES", "DealScoreConfig", "DealScoreModel", "score_frame"]
