"""What a report shows where the export cannot support one of its parts: the plain reason, and
the counts the export still holds."""

from __future__ import annotations

import pandas as pd

from pipeline_models.present.formats import format_count

MODEL_LABELS = {"win_rate": "win rate", "revenue": "deal size", "cycle_time": "time to close"}
"""The period's models by what a reader knows them as."""


def missing_models(models, names: tuple[str, ...] = tuple(MODEL_LABELS)) -> list[str]:
    """The reason each of ``names`` was not fitted, one sentence each (empty: all fitted)."""
    skipped = getattr(models, "skipped", {}) or {}
    return [f"{MODEL_LABELS.get(name, name)}: {skipped[name]}" for name in names if name in skipped]


def status_counts(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Deals by status (open, won, lost, all), in total or per level of ``by``."""
    status = frame["status"].astype(str)
    keys = (
        pd.Series("all", index=frame.index)
        if by is None
        else frame[by].astype("string").fillna("(blank)")
    )
    counts = pd.crosstab(keys.rename(by or "deals"), status)
    counts = counts.reindex(columns=["open", "won", "lost"], fill_value=0)
    counts["all"] = counts.sum(axis=1)
    return counts.astype(int)


def status_reader_table(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """:func:`status_counts` for readers: the level (when ``by`` is given) a first column, then
    the deals open, won, lost and in all, with thousands separators."""
    counts = status_counts(frame, by)
    out = pd.DataFrame(
        {
            "Open": counts["open"].map(format_count).to_numpy(),
            "Won": counts["won"].map(format_count).to_numpy(),
            "Lost": counts["lost"].map(format_count).to_numpy(),
            "All deals": counts["all"].map(format_count).to_numpy(),
        }
    )
    if by is not None:
        out.insert(0, by[:1].upper() + by[1:].replace("_", " "), counts.index.astype(str))
    return out


def count_headline(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """Headline pairs that every export can show: deals in all and by status."""
    counts = status_counts(frame)
    row = counts.iloc[0] if len(counts) else pd.Series(0, index=counts.columns)
    return [
        ("opportunities", format_count(len(frame))),
        ("open deals", format_count(row["open"])),
        ("won deals", format_count(row["won"])),
        ("lost deals", format_count(row["lost"])),
    ]


def reasons_sentence(reasons: list[str]) -> str:
    """``reasons`` joined into one sentence for a note's ``{reasons}`` value."""
    return "; ".join(reasons)


__all__ = [
    "MODEL_LABELS",
    "count_headline",
    "missing_models",
    "reasons_sentence",
    "status_counts",
    "status_reader_table",
]
