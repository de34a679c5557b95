"""Golden figures: every report's headline, warnings, figures and CSV tables on the small sample.

The run is made at a fixed seed in a fresh process (see ``conftest.run_in_fresh_process``), so the
figures are the same to the digit on every run; a change in any of them fails here and must be
explained. After an intended change, write the new figures with::

    PIPELINE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py

and say in the commit which figures changed and why.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "golden" / "small_sample.json"
DIGITS = 10
"""Significant digits kept of every number: the reports show at most six, and the last bits of a
float sum may differ between CPUs."""


def _rounded(value):
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else float(f"{value:.{DIGITS}g}")
    return value


DRAWN = {"draws.csv"}
"""Files of predictive draws, kept in the golden figures by their summary per window."""


def _drawn_summary(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.groupby("window", sort=False)[["count", "revenue"]]
    parts = {
        "mean": grouped.mean(),
        **{f"q{q:02d}": grouped.quantile(q / 100) for q in (10, 50, 90)},
    }
    return (
        pd.concat(parts, axis=1)
        .reset_index()
        .set_axis(["window", *(f"{m}_{k}" for k in parts for m in ("count", "revenue"))], axis=1)
    )


def figures_of(published: Path) -> dict:
    """What every report of a published run says: summary and tables, numbers rounded."""
    out = {}
    for report in sorted(p for p in (published / "files").iterdir() if p.is_dir()):
        if report.name.startswith("_"):
            continue
        summary = json.loads((report / "summary.json").read_text())
        entry = {key: summary[key] for key in ("headline", "warnings", "figures")}
        for csv in sorted(report.glob("*.csv")):
            table = pd.read_csv(csv)
            if csv.name in DRAWN:  # thousands of draws: their mean and quantiles per window
                table = _drawn_summary(table)
            entry[csv.name] = {"columns": list(table.columns), "rows": table.values.tolist()}
        out[report.name] = _rounded(entry)
    return out


def differences(expected, found, path: str = "") -> list[str]:
    if isinstance(expected, dict) and isinstance(found, dict):
        out = [f"{path}/{k}: missing" for k in expected if k not in found]
        out += [f"{path}/{k}: new" for k in found if k not in expected]
        for key in expected:
            if key in found:
                out += differences(expected[key], found[key], f"{path}/{key}")
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [
            d
            for i, (a, b) in enumerate(zip(expected, found, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if expected == found else [f"{path}: {expected!r} -> {found!r}"]


@pytest.mark.slow
def test_the_small_sample_gives_the_golden_figures(sample_run):
    found = figures_of(sample_run.published)
    if os.environ.get("PIPELINE_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
        pytest.skip(f"golden figures written to {GOLDEN}")
    expected = json.loads(GOLDEN.read_text())
    changed = differences(expected, found)
    assert not changed, f"{len(changed)} figures changed:\n" + "\n".join(changed[:40])


def test_differences_name_what_changed():
    assert differences({"a": [1, 2.0]}, {"a": [1, 2.5]}) == ["/a[1]: 2.0 -> 2.5"]
    assert differences({"a": 1}, {"b": 1}) == ["/a: missing", "/b: new"]
    assert _rounded([float("nan"), 1 / 3]) == ["NaN", 0.3333333333]
