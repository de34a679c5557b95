"""Hand-made deals and simulated pipelines shared by the patterns tests."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from reader_checks import reader_faults  # noqa: F401 (the cases' tests import it from here)

from pipeline_models.analyses.patterns.stages import StageOrder
from pipeline_models.contract.schema import conform_opportunities
from pipeline_models.data import synthetic as sample

STAGES = ("Qualification", "Discovery", "Proposal", "Negotiation")
ORDER = StageOrder(STAGES, "crm")
PREV_DAY = pd.Timestamp("2026-09-30")
AS_OF = pd.Timestamp("2026-10-31")


def deals(rows: list[tuple]) -> pd.DataFrame:
    """Canonical frame from (id, created, close, stage, status, amount, owner, product) rows."""
    cols = ["opportunity_id", "created_date", "close_date", "stage", "status", "amount", "owner",
            "product"]  # fmt: skip
    return conform_opportunities(pd.DataFrame(rows, columns=cols))


def two_exports() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A previous and a current export holding one deal for every kind of change."""
    c = "2026-01-15"
    prev = deals(
        [
            ("moved", c, "2026-10-31", "Qualification", "open", 1000.10, "ann", "A"),
            ("pushed", c, "2026-09-15", "Proposal", "open", 500.20, "ann", "A"),
            ("raised", c, "2026-11-30", "Discovery", "open", None, "bob", "B"),
            ("cut", c, "2026-11-30", "Negotiation", "open", 300.30, "bob", "B"),
            ("back", c, "2026-11-30", "Proposal", "open", 10.0, "bob", "B"),
            ("won", c, "2026-10-31", "Negotiation", "open", 2000.0, "ann", "A"),
            ("lost", c, "2026-10-31", "Proposal", "open", 700.70, "bob", "B"),
            ("removed", c, "2026-10-31", "Discovery", "open", 90.09, "bob", "B"),
            ("reopened", c, "2026-08-01", "Closed Lost", "lost", 40.0, "ann", "A"),
            ("old", c, "2026-03-01", "Closed Won", "won", 5.0, "ann", "A"),
        ]
    )
    cur = deals(
        [
            ("moved", c, "2026-10-31", "Proposal", "open", 1000.10, "ann", "A"),
            ("pushed", c, "2026-12-31", "Proposal", "open", 500.20, "ann", "A"),
            ("raised", c, "2026-11-30", "Discovery", "open", 250.25, "bob", "B"),
            ("cut", c, "2026-11-15", "Negotiation", "open", 200.10, "bob", "B"),
            ("back", c, "2026-11-30", "Discovery", "open", 10.0, "bob", "B"),
            ("won", c, "2026-10-20", "Closed Won", "won", 2100.0, "ann", "A"),
            ("lost", c, "2026-10-10", "Closed Lost", "lost", 700.70, "bob", "B"),
            ("reopened", c, "2026-12-31", "Qualification", "open", 45.0, "ann", "A"),
            ("old", c, "2026-03-01", "Closed Won", "won", 5.0, "ann", "A"),
            ("new", "2026-10-05", "2026-12-31", "Qualification", "open", 0.1, "ann", "A"),
            ("new-won", "2026-10-05", "2026-10-25", "Closed Won", "won", 60.0, "ann", "A"),
        ]
    )
    return prev, cur


def simulated(seed: int = 7, **knobs) -> sample.SimulatedHistory:
    """A simulated pipeline of 5,000 deals with the given planted patterns."""
    config = replace(sample.SampleConfig(), n_opportunities=5000, with_leads=False, **knobs)
    return sample.simulate_history(config, seed)


def consecutive_snapshots(history: sample.SimulatedHistory):
    """The exports of the last two month-ends and the later one's day."""
    prev_day, day = sample.month_ends(history.config, 2)
    prev, cur = (conform_opportunities(sample.snapshot(history, d)[0]) for d in (prev_day, day))
    return prev, cur, pd.Timestamp(day)
