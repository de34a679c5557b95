"""Owners against the team, on a win-rate posterior whose owner effects are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from patterns_cases import deals

from pipeline_models.analyses.patterns.owners import owner_table


class KnownOwners:
    """A fitted win-rate model's interface, with owner effects fixed: +1.5, -1.5 and 0 on the
    log-odds scale around an average rate of 50%."""

    def __init__(self, terms: tuple[str, ...] = ("owner",)) -> None:
        rng = np.random.default_rng(0)
        owners = ["high", "low", "mid"]
        effect = np.array([1.5, -1.5, 0.0]) + rng.normal(0, 0.05, (2, 100, 3))
        posterior = xr.Dataset(
            {
                "intercept": (("chain", "draw"), rng.normal(0, 0.05, (2, 100))),
                "b_owner": (("chain", "draw", "owner"), effect),
            }
        )
        self.posterior_ = xr.DataTree.from_dict({"posterior": posterior})
        self.terms_ = {t: owners for t in terms}


def closed_deals() -> pd.DataFrame:
    rows = []
    for owner, won_share, amount in (
        ("high", 0.8, 2000.0),
        ("low", 0.2, 1000.0),
        ("mid", 0.5, 1000.0),
    ):
        for i in range(100):
            won = i < 100 * won_share
            rows.append((f"{owner}{i}", "2026-01-01", "2026-03-01",
                         "Closed Won" if won else "Closed Lost", "won" if won else "lost",
                         amount, owner, "p"))  # fmt: skip
    return deals(rows)


def test_owner_table_names_owners_above_and_below_the_team():
    owners = owner_table(closed_deals(), KnownOwners(), random_seed=1)
    assert owners.index.tolist() == ["high", "mid", "low"]  # by pooled win rate
    assert owners["win rate vs team"].to_dict() == {
        "high": "higher",
        "mid": "in line",
        "low": "lower",
    }
    assert owners.attrs["team_rate"] == pytest.approx(0.5, abs=0.02)
    assert owners.loc["high", "closed"] == 100 and owners.loc["high", "won"] == 80
    assert owners.loc["high", "revenue won"] == 80 * 2000.0
    # the high owner's deals are twice the size of the others' in the same product
    assert owners.loc["high", "size index"] > owners.loc["mid", "size index"]
    assert owners.loc["high", "revenue vs team"] == "higher"


def test_owner_table_needs_an_owner_term():
    assert owner_table(closed_deals(), KnownOwners(terms=("product",))) is None
