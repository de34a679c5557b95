"""Shared fixtures: the project root, the real datasets beside the project, small exports."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
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
    from pipeline_models.data import synthetic as sample

    out = tmp_path_factory.mktemp("small_sample")
    config = replace(sample.SampleConfig(), n_opportunities=2_000)
    sample.write_sample(out, config=config, random_seed=5, months=3)
    return out


@pytest.fixture(scope="session")
def small_sample_catalog(small_sample, tmp_path_factory):
    """The small sample's October export prepared (validated and fitted) with its leads, for
    the tests that build a report's content without running notebooks (do not modify it)."""
    from pipeline_models.run.catalog import Catalog
    from pipeline_models.run.inputs import Sources, prepare

    tmp = tmp_path_factory.mktemp("small_sample_catalog")
    exports = small_sample / "exports"
    sources = Sources(
        export=exports / "opportunities_2026-10.csv",
        leads=exports / "leads_2026-10.csv",
        period="2026-10",
        random_seed=3,
        cache_dir=tmp / "fits",
    )
    return Catalog.open(prepare(sources, tmp / "run").catalog.folder)


def sample_run_options(sample_dir: Path, out: Path, period: str = "2026-10"):
    """Runner options for a period (October by default) of a sample folder, writing under
    ``out``."""
    import pandas as pd

    from pipeline_models.run.runner import RunOptions

    exports = sample_dir / "exports"
    before = pd.Period(period, "M") - 1
    return RunOptions(
        export=exports / f"opportunities_{period}.csv",
        leads=exports / f"leads_{period}.csv",
        history=exports / f"stage_history_{period}.csv",
        previous_export=exports / f"opportunities_{before}.csv",
        period=period,
        reports_dir=out / "reports",
        data_dir=out / "data",
        cache_dir=out / "fits",
        notebooks=ROOT / "notebooks",
    )


@dataclass
class SampleRun:
    """A finished run of the whole report set: its published folder and manifest."""

    published: Path
    manifest: dict
    exit_code: int


def run_in_fresh_process(options, compile_dir: Path) -> SampleRun:
    """Run the report set in a new process with its own, empty PyTensor compile folder.

    The numbers of a run then do not depend on what other tests compiled before it, so they can
    be compared with stored figures to the digit.
    """
    import json
    import subprocess
    import sys

    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={compile_dir}"}
    code = (
        "import pickle, sys\n"
        "from pipeline_models.run.runner import run\n"
        "result = run(pickle.loads(sys.stdin.buffer.read()), progress=None)\n"
        "print(result.published)\n"
    )
    import pickle

    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(options),
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"the sample run failed:\n{done.stderr.decode()[-4000:]}")
    published = Path(done.stdout.decode().strip().splitlines()[-1])
    manifest = json.loads((published / "manifest.json").read_text())
    return SampleRun(published, manifest, done.returncode)


@pytest.fixture(scope="session")
def sample_run(small_sample, tmp_path_factory) -> SampleRun:
    """One run of the report set on the small sample, shared by the end-to-end tests; the run
    of the month before is published first in the same folder, as a monthly schedule leaves it
    (the executive page compares with it)."""
    out = tmp_path_factory.mktemp("sample_run")
    # its fits in a cache of its own: the tests of the run's fits read the cache of 2026-10 alone
    options = replace(sample_run_options(small_sample, out, "2026-09"), cache_dir=out / "fits-09")
    before = run_in_fresh_process(options, out / "pt")
    assert before.exit_code == 0, f"the run of 2026-09 failed: {before.manifest}"
    return run_in_fresh_process(sample_run_options(small_sample, out), out / "pytensor")
