"""The canonical export contract: the one definition of what an opportunities and a leads table hold.

Every loader, preset and model speaks these column names. A CRM export is mapped onto them
(see :mod:`pipeline_models.io.presets`) and checked here before anything else reads it.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

STATUSES = ("won", "lost", "open")
"""Allowed values of ``status``: a deal is won, lost, or still open."""

GROUP_COLUMNS = ("product", "region", "segment", "owner", "account", "lead_source")
"""Optional grouping columns; any subset may be present."""

CRM_VIEW_COLUMNS = ("probability", "forecast_category")
"""Optional: the CRM's own view of a deal, its ``probability`` (a share, 0 to 1) and
``forecast_category`` (Commit, Best Case, Pipeline, Omitted, Closed), kept so the weighted
pipeline shown beside the forecast is the number the CRM's users know."""

OPPORTUNITY_COLUMNS = (
    "opportunity_id",
    "created_date",
    "close_date",
    "stage",
    "status",
    "amount",
    "currency",
    *GROUP_COLUMNS,
    "lead_id",
    *CRM_VIEW_COLUMNS,
)
"""Canonical opportunity columns, in display order."""

REQUIRED_OPPORTUNITY_COLUMNS = ("opportunity_id", "created_date", "stage", "status")
"""Columns an export must provide (directly or through a mapping); the rest are optional."""

LEAD_COLUMNS = ("lead_id", "created_date", "source", "opportunity_id", "converted_date")
REQUIRED_LEAD_COLUMNS = ("lead_id", "created_date")

_text = {"nullable": True, "required": False, "coerce": True}

OPPORTUNITIES = pa.DataFrameSchema(
    {
        "opportunity_id": pa.Column(str, unique=True, nullable=False, coerce=True),
        # Open deals may lack a creation date in some CRMs (Maven's "Prospecting" rows);
        # closed deals must have one, checked below.
        "created_date": pa.Column("datetime64[ns]", nullable=True, coerce=True),
        "close_date": pa.Column("datetime64[ns]", nullable=True, coerce=True),
        "stage": pa.Column(str, nullable=False, coerce=True),
        "status": pa.Column(str, pa.Check.isin(STATUSES), nullable=False, coerce=True),
        "amount": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "currency": pa.Column(str, **_text),
        **{name: pa.Column(str, **_text) for name in GROUP_COLUMNS},
        "lead_id": pa.Column(str, **_text),
        "probability": pa.Column(float, pa.Check.in_range(0, 1), nullable=True, coerce=True),
        "forecast_category": pa.Column(str, **_text),
    },
    checks=[
        pa.Check(
            lambda df: ~((df["status"] != "open") & df["created_date"].isna()),
            element_wise=False,
            error="closed deals need a created_date",
        ),
        pa.Check(
            lambda df: ~((df["status"] != "open") & df["close_date"].isna()),
            element_wise=False,
            error="closed deals need a close_date",
        ),
        pa.Check(
            lambda df: ~((df["status"] != "open") & (df["close_date"] < df["created_date"])),
            element_wise=False,
            error="close_date before created_date on a closed deal",
        ),
    ],
    strict="filter",
    name="opportunities",
)
"""pandera schema of the canonical opportunities table."""

HISTORY_COLUMNS = (
    "opportunity_id",
    "changed_date",
    "stage",
    "amount",
    "close_date",
    "probability",
)
"""Canonical stage-history columns: one row per change of a deal, in display order.

``changed_date`` is when the change was made; ``stage``, ``amount``, ``close_date`` and
``probability`` are the deal's values from that moment on, blank where the row does not record
them (a field-history row records one field; the stage is then carried forward from the rows
before it)."""

REQUIRED_HISTORY_COLUMNS = ("opportunity_id", "changed_date")
"""Columns a stage history must provide; each row must also carry at least one value."""

LEADS = pa.DataFrameSchema(
    {
        "lead_id": pa.Column(str, unique=True, nullable=False, coerce=True),
        "created_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
        "source": pa.Column(str, **_text),
        "opportunity_id": pa.Column(str, **_text),
        "converted_date": pa.Column("datetime64[ns]", nullable=True, required=False, coerce=True),
    },
    strict="filter",
    name="leads",
)
"""pandera schema of the canonical leads table."""


HISTORY = pa.DataFrameSchema(
    {
        "opportunity_id": pa.Column(str, nullable=False, coerce=True),
        "changed_date": pa.Column("datetime64[ns]", nullable=False, coerce=True),
        "stage": pa.Column(str, **_text),
        "amount": pa.Column(float, pa.Check.ge(0), nullable=True, coerce=True),
        "close_date": pa.Column("datetime64[ns]", nullable=True, coerce=True),
        "probability": pa.Column(float, pa.Check.in_range(0, 1), nullable=True, coerce=True),
    },
    strict="filter",
    name="history",
)
"""pandera schema of the canonical stage-history table (probability as a share, 0 to 1)."""


def empty_opportunities() -> pd.DataFrame:
    """Return an empty canonical opportunities table with the right dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in OPPORTUNITY_COLUMNS})
    return conform_opportunities(frame)


def conform_opportunities(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every canonical column present and canonical dtypes.

    Missing optional columns are added as empty; columns outside the contract are dropped.
    The input is not modified; a column that already has its canonical dtype is not copied.
    """
    out = pd.DataFrame(index=frame.index)
    for name in OPPORTUNITY_COLUMNS:
        column = frame.get(name)
        if name in ("created_date", "close_date"):
            if column is None or column.dtype != "datetime64[ns]":
                column = pd.to_datetime(column, errors="coerce").astype("datetime64[ns]")
            out[name] = column
        elif name in ("amount", "probability"):
            if column is None or column.dtype != "float64":
                column = pd.to_numeric(column, errors="coerce").astype("float64")
            out[name] = column
        elif name in frame:
            out[name] = frame[name].astype("string")
        else:
            out[name] = pd.Series(pd.NA, index=frame.index, dtype="string")
    if len(frame.index) and "created_date" not in frame:
        out["created_date"] = pd.NaT
    return out.reset_index(drop=True)


def present_groups(frame: pd.DataFrame) -> list[str]:
    """Grouping columns of ``frame`` that hold at least one value."""
    return [c for c in GROUP_COLUMNS if c in frame and frame[c].notna().any()]
