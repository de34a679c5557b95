"""Who sells to whom: the owners of each region and the accounts of each segment and region.

Owners are split over regions by region share (every region has at least one), accounts over
(segment, region) cells by the cell's expected share of deals; both depend on the configuration
only, never on a draw, so the ground truth can name them without simulating.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import SampleConfig
from .draws import normalised

_FIRST_NAMES = (
    "Ada", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kemi", "Luis", "Maya", "Nils", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf",
)  # fmt: skip
_LAST_NAMES = (
    "Moreno", "Okafor", "Lindqvist", "Tanaka", "Novak", "Haddad", "Fischer", "Silva",
    "Kowalski", "Nguyen", "Brennan", "Petrov", "Adeyemi", "Costa", "Ibsen", "Mehta",
    "Laurent", "Schmidt", "Park", "Duarte", "Walsh", "Rossi", "Chen", "Varga", "Eriksen",
)  # fmt: skip


def owner_layout(config: SampleConfig) -> tuple[list[str], np.ndarray]:
    """Owner names and each owner's region; owners split by region share (largest remainder)."""
    shares = normalised([r.share for r in config.regions])
    extra = config.n_owners - len(config.regions)
    raw = shares * extra
    counts = np.floor(raw).astype(int) + 1
    remainder = config.n_owners - counts.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    counts[order[:remainder]] += 1
    region_of_owner = np.repeat(np.arange(len(config.regions)), counts)
    return _owner_names(config.n_owners), region_of_owner


def _owner_names(n_owners: int) -> list[str]:
    """``n_owners`` distinct names: first names cycle, last names shift each round, then number."""
    firsts = _FIRST_NAMES
    lasts = _LAST_NAMES
    names = []
    for i in range(n_owners):
        a, b = i % len(firsts), i // len(firsts)
        name = f"{firsts[a]} {lasts[(a + b) % len(lasts)]}"
        if b >= len(lasts):
            name = f"{name} {b // len(lasts) + 1}"
        names.append(name)
    return names


def account_layout(config: SampleConfig, region_share: np.ndarray) -> dict[str, Any]:
    """Accounts per (segment, region) cell, sized by the cell's expected share of deals."""
    shares = normalised([p.share for p in config.products])
    segment_share = np.sum(
        [s * normalised(p.segment_mix) for s, p in zip(shares, config.products, strict=True)],
        axis=0,
    )
    cell_share = (segment_share[:, None] * region_share[None, :]).ravel()
    n_accounts = max(len(cell_share), int(round(config.accounts_per_deal * config.n_opportunities)))
    size = np.maximum(1, np.rint(cell_share * n_accounts)).astype(int)
    offset = np.concatenate([[0], np.cumsum(size)[:-1]])
    width = max(5, len(str(int(size.sum()))))
    names = [f"Account {i:0{width}d}" for i in range(1, int(size.sum()) + 1)]
    return {"size": size, "offset": offset, "names": names}


__all__ = ["account_layout", "owner_layout"]
