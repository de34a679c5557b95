"""Shared fixtures: the project root, the real datasets beside the project, small exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The real public datasets: $PIPELINE_SHARED_DATA, else ../shared/data beside the project."""
    return Path(os.environ.get("PIPELINE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real datasets not found at {path} (set PIPELINE_SHARED_DATA to use them)")
    return path


@pytest.fixture(scope="session")
def maven_pipeline(shared_data: Path) -> Path:
    path = shared_data / "maven-crm" / "sales_pipeline.csv"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory) -> Path:
    """A small synthetic sample (about 2,000 deals, leads, three month-end exports)."""
    from dataclasses import replace

    from pipeline_models.data import synthetic as sample

    out = tmp_path_factory.mktemp("small_sample")
    config = replace(sample.SampleConfig(), n_opportunities=2_000)
    sample.write_sample(out, config=config, random_seed=5, months=3)
    return out


def sample_run_options(sample_dir: Path, out: Path):
    """Runner options for the October period of a sample folder, writing under ``out``."""
    from pipeline_models.run.runner import RunOptions

    exports = sample_dir / "exports"
    return RunOptions(
        export=exports / "opportunities_2026-10.csv",
        leads=exports / "leads_2026-10.csv",
        previous_export=exports / "opportunities_2026-09.csv",
        period="2026-10",
        reports_dir=out / "reports",
        data_dir=out / "data",
        cache_dir=out / "fits",
        notebooks=ROOT / "notebooks",
    )
