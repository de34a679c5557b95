"""Valid but odd exports, drawn with hypothesis: canonical opportunities tables that a CRM may
really give and that a model or report cannot always use.

Each drawn export is an :class:`OddExport`: the rows as text cells (what a CSV holds), the kind of
oddity it was drawn for and the status counts it was built with, so a test can check what loading
understood against what was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

PERIOD = "2026-10"
PERIOD_END = pd.Timestamp("2026-10-31")
HEADER = (
    "opportunity_id",
    "created_date",
    "close_date",
    "stage",
    "status",
    "amount",
    "currency",
    "product",
    "region",
    "segment",
    "owner",
    "lead_source",
)
KINDS = (
    "mixed",
    "only_open",
    "no_lost",
    "no_closed_won",
    "no_amounts",
    "zero_won_amounts",
    "one_product",
    "one_deal",
    "shared_created",
    "after_period",
    "single_stage",
    "blank_groups",
    "huge_tiny_amounts",
    "very_old",
    "same_cycle",
)
"""The oddities drawn; ``mixed`` is an ordinary export for contrast."""

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
CLOSED_STAGE = {"won": "Closed Won", "lost": "Closed Lost"}
PRODUCTS = ("Core", "Team", "Add-on")
REGIONS = ("EMEA", "APAC", "Americas")
OWNERS = ("Ann", "Bob", "Chen", "Dee")


@dataclass(frozen=True)
class OddExport:
    kind: str
    rows: tuple[dict[str, str], ...]
    statuses: dict[str, int]
    """Deals per status as written (after the period's end, as the export shows them)."""

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(HEADER))

    def write(self, path: Path) -> Path:
        self.frame().to_csv(path, index=False)
        return path


def _statuses(kind: str, n: int) -> st.SearchStrategy[list[str]]:
    pool = {
        "only_open": ["open"],
        "no_lost": ["won", "open"],
        "no_closed_won": ["lost", "open"],
        "same_cycle": ["won", "lost"],
    }.get(kind, ["won", "lost", "open"])
    return st.lists(st.sampled_from(pool), min_size=n, max_size=n)


def _amount(draw, kind: str, status: str) -> str:
    if kind == "no_amounts":
        return ""
    if kind == "zero_won_amounts" and status == "won":
        return "0"
    if kind == "huge_tiny_amounts":
        return draw(st.sampled_from(["0.01", "0.5", "987654321098.75", "1"]))
    if draw(st.integers(0, 9)) == 0:
        return ""  # a few deals without an amount, as real exports hold
    return f"{draw(st.integers(1, 500_000))}.00"


def _dates(draw, kind: str, status: str, shared: pd.Timestamp) -> tuple[pd.Timestamp, str]:
    """Creation date and close date text of one deal."""
    if kind == "shared_created":
        created = shared
    elif kind == "very_old":
        created = pd.Timestamp("1995-01-01") + pd.Timedelta(days=draw(st.integers(0, 9000)))
    else:
        created = PERIOD_END - pd.Timedelta(days=draw(st.integers(0, 900)))
    if kind == "same_cycle":
        cycle = 30  # every deal closes after exactly the same number of days
    else:
        cycle = draw(st.integers(0, 400))
    close = created + pd.Timedelta(days=cycle)
    limit = PERIOD_END + pd.Timedelta(days=5 if kind == "after_period" else 0)
    if status != "open" and close > limit:
        close = max(created, limit - pd.Timedelta(days=draw(st.integers(0, 3))))
    if status == "open":
        # an open deal's close date is its expected close date: later than the period's end
        expected = PERIOD_END + pd.Timedelta(days=draw(st.integers(1, 120)))
        return created, "" if draw(st.booleans()) else str(expected.date())
    return created, str(close.date())


@st.composite
def odd_exports(draw, kinds: tuple[str, ...] = KINDS) -> OddExport:
    """One valid but odd export of ``kind`` (drawn from ``kinds``)."""
    kind = draw(st.sampled_from(kinds))
    n = 1 if kind == "one_deal" else draw(st.integers(2, 25))
    statuses = draw(_statuses(kind, n))
    shared = PERIOD_END - pd.Timedelta(days=draw(st.integers(0, 60)))
    rows = []
    for i, status in enumerate(statuses):
        created, close = _dates(draw, kind, status, shared)
        if i == 0 and kind != "shared_created":
            # the export describes the period: its latest deal was created in the period's month
            created = PERIOD_END - pd.Timedelta(days=draw(st.integers(0, 27)))
            close = "" if status == "open" else str(min(created, PERIOD_END).date())
        if kind == "after_period" and i == 0:
            created, close, status = PERIOD_END + pd.Timedelta(days=2), "", "open"
            statuses[i] = status
        stage = (
            "Pipeline"
            if kind == "single_stage" and status == "open"
            else CLOSED_STAGE.get(status) or draw(st.sampled_from(OPEN_STAGES))
        )
        blank = kind == "blank_groups"
        rows.append(
            {
                "opportunity_id": f"OPP-{i + 1:05d}",
                "created_date": str(created.date()),
                "close_date": close,
                "stage": stage,
                "status": status,
                "amount": _amount(draw, kind, status),
                "currency": "USD",
                "product": "Core" if kind == "one_product" else draw(st.sampled_from(PRODUCTS)),
                "region": "" if blank else draw(st.sampled_from(REGIONS)),
                "segment": "" if blank else draw(st.sampled_from(("SMB", "Enterprise"))),
                "owner": "" if blank else draw(st.sampled_from(OWNERS)),
                "lead_source": "" if blank else draw(st.sampled_from(("Web", "Event"))),
            }
        )
    counts = pd.Series(statuses).value_counts().to_dict()
    return OddExport(kind, tuple(rows), {s: int(counts.get(s, 0)) for s in ("open", "won", "lost")})


__all__ = ["HEADER", "KINDS", "PERIOD", "PERIOD_END", "OddExport", "odd_exports"]
