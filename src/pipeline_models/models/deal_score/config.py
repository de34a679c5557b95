"""The deal score's settings: which attributes it reads and how strongly it smooths the amount."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CANONICAL_ATTRIBUTES = ("product", "region", "segment", "owner", "lead_source", "account")
"""Canonical columns a deal score reads when a table holds them (each is known when a deal is
created). ``account`` enters as a main effect only; the account's past enters as its own term."""


@dataclass(frozen=True)
class DealScoreConfig:
    """Settings of the deal score, each with a default that suits a B2B export.

    ``attributes``: categorical columns read when present. ``amount``: the amount column, or
    ``None`` to leave amounts out. ``amount_bins``: the number of bins of log amount the smooth
    effect moves between (quantiles of the fitted deals). ``bands``: coarse amount bands that meet
    the other attributes in pairwise interactions. ``pair_levels``: a pair of attributes whose
    levels multiply to more than this has no interaction term (an owner x account table would
    be all noise). ``max_levels``: the rarest levels of an attribute beyond this many share one
    level ``(other)``. ``common_amount``: an exact amount shared by at least this many fitted
    deals is a level of its own (a CRM's default or a price list's figure), the rest share one
    level. ``max_deals``: more closed deals than this are fitted on a random subsample of this
    many (seeded): the fit's cost grows with distinct deals, and 100,000 deals pin every term
    down. ``min_sd`` / ``max_sd``: bounds of every term's estimated spread on the
    log-odds scale.
    """

    attributes: tuple[str, ...] = CANONICAL_ATTRIBUTES
    amount: str | None = "amount"
    amount_bins: int = 40
    bands: int = 5
    interactions: bool = True
    pair_levels: int = 400
    max_levels: int = 300
    common_amount: int = 20
    max_deals: int = 100_000
    min_sd: float = 0.01
    max_sd: float = 5.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "attributes", tuple(self.attributes))
        if self.amount_bins < 4:
            raise ValueError("amount_bins must be at least 4 (the smooth needs room to bend)")
        if self.bands < 2:
            raise ValueError("bands must be at least 2")
        if self.max_deals < 100:
            raise ValueError("max_deals must be at least 100")
        if not 0 < self.min_sd < self.max_sd:
            raise ValueError("need 0 < min_sd < max_sd")

    def model_settings(self) -> dict[str, Any]:
        """Everything the score estimates from (JSON-able): all fields."""
        return asdict(self) | {"attributes": list(self.attributes)}


__all__ = ["CANONICAL_ATTRIBUTES", "DealScoreConfig"]
