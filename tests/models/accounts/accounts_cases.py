"""Simulated accounts with known product preferences by segment, for the account model's tests.

Each account of segment ``s`` draws its own mix ``theta ~ Dirichlet(A_TRUE pi_s)`` and creates
deals as a Poisson process of rate ``RATE[s]`` a year; a deal's product is drawn from ``theta``, it
is won with chance ``WIN`` and closes ``CYCLE_DAYS`` after creation. Deals not closed by the end
are open. Everything the model should recover is known: the segments' mixes, each account's mix,
and the chance to buy within twelve months with and without an open deal (below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline_models.contract import schema

SEGMENTS = ("Small", "Medium", "Large")
PRODUCTS = ("Core", "Plus", "Cloud", "Support", "Suite")
MIX = np.array(
    [
        [0.55, 0.25, 0.10, 0.07, 0.03],
        [0.25, 0.30, 0.20, 0.15, 0.10],
        [0.05, 0.15, 0.25, 0.25, 0.30],
    ]
)
"""True mix of each segment's purchases (rows: segments)."""
A_TRUE = 3.0
"""True concentration of an account's mix around its segment's: accounts differ a lot."""
RATE = np.array([1.5, 2.5, 3.5])
"""Deals created per account and year, by segment."""
WIN = 0.5
CYCLE_DAYS = 30
START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2026-10-31")
HORIZON_DAYS = (END - (END - pd.DateOffset(months=12))).days


@dataclass(frozen=True)
class SimulatedAccounts:
    """The export and its truth."""

    frame: pd.DataFrame
    theta: pd.DataFrame
    """Each account's true mix (accounts x products)."""
    segment: pd.Series
    """Each account's segment."""

    def buy_chance(self, open_deal: bool) -> pd.Series:
        """True chance to win a deal closing within the coming twelve months, by segment, for an
        account without (or with) a deal open now."""
        per_day = RATE / 365.25
        new = np.exp(-WIN * per_day * (HORIZON_DAYS - CYCLE_DAYS))
        if not open_deal:
            return pd.Series(1 - new, index=SEGMENTS)
        mu = per_day * CYCLE_DAYS  # deals created in the cycle before now: open now
        none_won = (np.exp(-mu * (1 - WIN)) - np.exp(-mu)) / (1 - np.exp(-mu))
        return pd.Series(1 - none_won * new, index=SEGMENTS)


def simulate_accounts(per_segment: int = 400, seed: int = 7) -> SimulatedAccounts:
    """``per_segment`` accounts in each segment, their deals from :data:`START` to :data:`END`."""
    rng = np.random.default_rng(seed)
    days = (END - START).days + 1
    rows, thetas, segments = [], {}, {}
    for s, segment in enumerate(SEGMENTS):
        for i in range(per_segment):
            name = f"{segment} account {i:04d}"
            theta = rng.dirichlet(A_TRUE * MIX[s])
            thetas[name], segments[name] = theta, segment
            n = rng.poisson(RATE[s] * days / 365.25)
            created = START + pd.to_timedelta(np.sort(rng.integers(0, days, n)), unit="D")
            product = rng.choice(len(PRODUCTS), size=n, p=theta)
            won = rng.random(n) < WIN
            for c, j, w in zip(created, product, won, strict=True):
                rows.append((name, segment, PRODUCTS[j], c, w))
    deals = pd.DataFrame(rows, columns=["account", "segment", "product", "created_date", "won"])
    close = deals["created_date"] + pd.Timedelta(days=CYCLE_DAYS)
    is_open = close > END
    status = np.where(is_open, "open", np.where(deals["won"], "won", "lost"))
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"D{i:06d}" for i in range(len(deals))],
            "created_date": deals["created_date"],
            "close_date": close.where(~is_open),
            "stage": status,
            "status": status,
            "amount": 1000.0,
            "product": deals["product"],
            "segment": deals["segment"],
            "account": deals["account"],
        }
    )
    theta = pd.DataFrame.from_dict(thetas, orient="index", columns=list(PRODUCTS))
    return SimulatedAccounts(
        schema.conform_opportunities(frame), theta.sort_index(), pd.Series(segments).sort_index()
    )


HAND_AS_OF = pd.Timestamp("2026-10-31")


def hand_frame() -> pd.DataFrame:
    """Nine deals of five accounts (and one without an account) whose counts can be read off."""
    rows = [
        # id, created, closed, status, product, segment, region, account
        ("1", "2024-12-01", "2025-01-15", "won", "Core", "Small", "North", "A1"),
        ("2", "2026-02-01", "2026-03-01", "won", "Core", "Small", "North", "A1"),
        ("3", "2026-04-01", "2026-05-01", "lost", "Plus", "Small", "North", "A1"),
        ("4", "2025-05-01", "2025-06-01", "won", "Plus", "Small", "South", "A2"),
        ("5", "2026-09-01", None, "open", "Core", "Small", "South", "A2"),
        ("6", "2026-08-01", None, "open", "Suite", "Large", "South", "A3"),
        ("7", "2025-01-10", "2025-02-10", "won", "Suite", "Large", "North", "A4"),
        ("8", "2026-05-01", "2026-06-01", "won", "Cloud", "Large", "North", "A4"),
        ("9", "2025-12-01", "2026-01-05", "won", "Core", "Small", "North", None),
        ("10", "2025-02-01", "2025-03-01", "won", None, "Small", "North", "A5"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "created_date",
            "close_date",
            "status",
            "product",
            "segment",
            "region",
            "account",
        ],
    )
    frame["stage"] = frame["status"]
    frame["amount"] = 100.0
    return schema.conform_opportunities(frame)
