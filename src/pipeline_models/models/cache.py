"""The fit cache: every report of a run that asks for the same fit gets the same saved posterior.

The key is a hash of the model's configuration id (its type, structural ``version`` and settings:
see :mod:`~pipeline_models.models.contract`), the random seed and the model's aggregated inputs (so a change in the data that the model cannot see does not force a refit, and any change
it can see does). A hit loads the saved fit; a miss fits and saves it atomically: the fit is
written to a temporary folder beside the entry and renamed into place, so a reader never sees a
half-written fit and two writers racing leave one complete entry.

Aggregating a large table costs time in every report, so a fit can also be found by the digest
of the table file it came from: after a fit (or a hit by inputs) made with ``table_digest``, a
small file under ``tables/`` names the entry, and a later call with the same model configuration,
seed and table digest loads it without aggregating. The runner hashes the canonical table it
writes, and the reports read that very file, so the digest stands for the inputs exactly.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline_models.data.aggregate import table_hash
from pipeline_models.models.contract import Estimator, FitMismatchError, digest
from pipeline_models.models.hierarchical.base import PipelineModel


@dataclass
class CachedFit[E: Estimator]:
    """What the cache hands back: the fitted estimator and where and how it was obtained."""

    model: E
    path: Path
    hit: bool
    timings: dict[str, float] = field(default_factory=dict)


def _fit_key(model: Estimator, random_seed: int | None, **data: str) -> str:
    """Hex key of a fit: configuration id (type, version, settings), seed and its data."""
    return digest({"config_id": model.config_id, "random_seed": random_seed, **data})


def cache_key(model: PipelineModel, inputs: pd.DataFrame, random_seed: int | None) -> str:
    """Hex key of a fit: model type, configuration, seed and aggregated inputs."""
    return _fit_key(model, random_seed, inputs=table_hash(inputs))


def table_key(model: PipelineModel, table_digest: str, random_seed: int | None) -> str:
    """Hex key of a fit by the digest of the table file it is fitted on (see the module doc)."""
    return _fit_key(model, random_seed, table=table_digest)


def _load_entry[M: Estimator](model: M, entry: Path, data_hash: str | None) -> M | None:
    """The fit saved in ``entry``, or ``None`` (after removing it) when it is stale or damaged."""
    try:
        loaded = type(model).load(entry, data_hash=data_hash, config_id=model.config_id)
    except (FitMismatchError, OSError, ValueError, KeyError, EOFError, AttributeError):
        shutil.rmtree(entry, ignore_errors=True)  # stale or damaged: refit
        return None
    for running in ("progress", "cores"):  # running settings are the caller's, not the fit's
        if hasattr(model, running):
            setattr(loaded, running, getattr(model, running))
    return loaded  # type: ignore[return-value]


def _store(model: Estimator, entry: Path) -> None:
    """Save ``model`` into ``entry`` atomically (a racing writer's complete entry wins)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=entry.parent))
    try:
        model.save(tmp)
        try:
            os.replace(tmp, entry)
        except OSError:  # another process finished the same fit first: keep theirs
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fit_cached[M: PipelineModel](
    model: M,
    frame: pd.DataFrame,
    cache_dir: str | os.PathLike[str],
    random_seed: int | None = None,
    table_digest: str | None = None,
) -> CachedFit[M]:
    """Return ``model`` fitted on ``frame``, from ``cache_dir`` when that fit was made before.

    Parameters
    ----------
    model
        An unfitted model (its configuration is part of the key).
    frame
        Canonical opportunities.
    cache_dir
        Folder shared by the reports of a run; created if missing.
    random_seed
        Seed of the fit (part of the key: an unseeded fit is cached under ``None``).
    table_digest
        SHA-256 of the file ``frame`` was read from, unchanged since: a fit recorded under it is
        loaded without aggregating ``frame``.

    Returns
    -------
    CachedFit
        ``model``: the loaded fit on a hit (a new instance of the model's class), else ``model``
        itself after fitting; ``path``: where the fit lives; ``hit``: whether it was loaded;
        ``timings``: the seconds spent aggregating the inputs and fitting (or loading).
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pointer = None
    if table_digest:
        pointer = (
            cache_dir
            / "tables"
            / f"{model.model_type}-{table_key(model, table_digest, random_seed)[:24]}"
        )
        if pointer.exists():
            name = pointer.read_text(encoding="utf-8").strip()
            entry = cache_dir / name
            if name and "/" not in name and (entry / "fit.json").exists():
                loaded = _load_entry(model, entry, None)
                if loaded is not None:
                    return CachedFit(loaded, entry, True, {"load": time.perf_counter() - t0})
    inputs = model.inputs(frame)
    aggregate_s = time.perf_counter() - t0
    key = cache_key(model, inputs, random_seed)
    entry = cache_dir / f"{model.model_type}-{key[:24]}"
    if (entry / "fit.json").exists():
        loaded = _load_entry(model, entry, table_hash(inputs))
        if loaded is not None:
            _point(pointer, entry)
            load_s = time.perf_counter() - t0 - aggregate_s
            return CachedFit(loaded, entry, True, {"aggregate": aggregate_s, "load": load_s})
    t1 = time.perf_counter()
    model.fit_inputs(inputs, random_seed=random_seed)
    fit_s = time.perf_counter() - t1
    _store(model, entry)
    _point(pointer, entry)
    return CachedFit(model, entry, False, {"aggregate": aggregate_s, "fit": fit_s})


def fit_cached_estimator[E: Estimator](
    estimator: E,
    fit: Callable[[E], E],
    cache_dir: str | os.PathLike[str],
    data: dict[str, str],
    random_seed: int | None = None,
) -> CachedFit[E]:
    """Return ``fit(estimator)`` from ``cache_dir`` when the same fit was made before.

    For estimators that fit on a whole table rather than on sufficient statistics (the
    forecaster, the lead funnel). ``data`` identifies everything the fit reads besides the
    estimator's settings and the seed: the digests of the tables and any date it is fitted as of.
    The key is the estimator's configuration id (type, version, settings), the seed and ``data``.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    key = _fit_key(estimator, random_seed, **data)
    entry = cache_dir / f"{estimator.model_type}-{key[:24]}"
    if (entry / "fit.json").exists():
        loaded = _load_entry(estimator, entry, None)
        if loaded is not None:
            return CachedFit(loaded, entry, True, {"load": time.perf_counter() - t0})
    fitted = fit(estimator)
    fit_s = time.perf_counter() - t0
    _store(fitted, entry)
    return CachedFit(fitted, entry, False, {"fit": fit_s})


def _point(pointer: Path | None, entry: Path) -> None:
    """Record (atomically) that the table behind ``pointer`` was fitted into ``entry``."""
    if pointer is None:
        return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}.tmp")
    tmp.write_text(entry.name, encoding="utf-8")
    os.replace(tmp, pointer)


@dataclass
class CachedTable:
    """A result table from the cache (``table`` ``None``: nothing could be computed)."""

    table: pd.DataFrame | None
    path: Path | None
    hit: bool


def cached_table(
    cache_dir: str | os.PathLike[str],
    name: str,
    key: dict,
    compute: Callable[[], pd.DataFrame | None],
    random_seed: int | None = None,
) -> CachedTable:
    """``compute()`` once per ``key`` and seed, kept as Parquet in ``cache_dir`` (a track record
    made by the run's fit step is loaded by every report that shows it)."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{name}-{digest({'key': key, 'random_seed': random_seed})[:24]}.parquet"
    empty = path.with_suffix(".none")
    if path.exists():
        try:
            return CachedTable(pd.read_parquet(path), path, True)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # damaged: compute again
    if empty.exists():
        return CachedTable(None, None, True)
    table = compute()
    if table is None:
        empty.touch()
        return CachedTable(None, None, False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return CachedTable(table, path, False)
