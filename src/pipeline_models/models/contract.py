"""The one contract every estimator keeps.

An estimator's ``__init__`` only stores configuration. Its *model settings* decide what is
estimated (groups, priors, bins, windows); its *sampler settings* decide how precisely (draws,
chains); running settings such as cores or progress bars decide neither and are never part of
its identity. ``fit(...)`` returns the estimator itself with its learned state in attributes
ending in ``_``; ``diagnostics()`` says whether the fit can be trusted; ``save(path)`` and
``load(path)`` write and read the fit with its type, ``version``, configuration id and data hash.

``version`` is a per-class integer: bump it whenever the structure of the model changes (a new
term, another likelihood, another way to read the data). It enters the fit cache's key and the
load check, so a fit saved by another structure is refused instead of silently reused. The digest
of the package's own source (:func:`code_digest`) enters them too: a fit made by other code (another
release, a local change) is another fit, even where a change that alters fits left ``version`` as
it was, so a warm cache never gives other figures than a cold run of the same code.

``formula`` states the model in one line, bambi style; it is stored with every saved fit and shown
in the report's method note.

Estimators whose learned state is plain numbers and tables (the forecaster, the lead funnel) get
their persistence from :class:`StateEstimator`; the PyMC models save their posterior as netCDF
(:class:`~pipeline_models.models.hierarchical.base.PipelineModel`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

TABLE_INTERVAL = 0.90
"""Probability of the equal-tailed intervals in every estimator's own tables; the reports show
the same (:data:`pipeline_models.analyses.policy.INTERVAL` is this value)."""

META_FILE = "fit.json"
STATE_FILE = "state.pickle"


class FitMismatchError(ValueError):
    """A saved fit does not match what the caller asked for (type, version, config or data)."""


@dataclass(frozen=True)
class Diagnostics:
    """Whether a fit can be trusted, in one sentence for a report's appendix."""

    ok: bool
    message: str
    figures: dict[str, float]


_REGISTRY: dict[str, type[Estimator]] = {}


def estimator_class(model_type: str) -> type[Estimator]:
    """The estimator class whose saved fits call themselves ``model_type``."""
    try:
        return _REGISTRY[model_type]
    except KeyError:
        raise FitMismatchError(f"unknown model type {model_type!r}") from None


def digest(payload: object) -> str:
    """SHA-256 of a JSON-able value, keys sorted (the same value always gives the same digest)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def code_digest(root: Path | None = None) -> str:
    """SHA-256 of the package's source: every ``.py`` file under ``root`` (default: the
    installed ``pipeline_models``), by relative path and content. Read once per process."""
    root = Path(__file__).resolve().parents[1] if root is None else root
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()


class Estimator:
    """Base of every estimator: identity, configuration id and the load check."""

    model_type: ClassVar[str] = ""
    version: ClassVar[int] = 1
    formula: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("model_type"):
            _REGISTRY[cls.model_type] = cls

    # ----------------------------------------------------------------- identity
    @property
    def model_config(self) -> dict[str, Any]:
        """What the model estimates (JSON-able); subclasses say what belongs here."""
        return {}

    @property
    def sampler_config(self) -> dict[str, Any]:
        """How precisely it is estimated (JSON-able); empty for exact estimators."""
        return {}

    @property
    def config(self) -> dict[str, Any]:
        """Model and sampler settings together: everything that decides a fit."""
        return {**self.model_config, **self.sampler_config}

    @property
    def config_id(self) -> str:
        """Digest of type, version, configuration and the package's code: equal ids give equal
        fits of equal data."""
        return digest(
            {
                "model_type": self.model_type,
                "version": self.version,
                "config": self.config,
                "code": code_digest(),
            }
        )

    def _meta(self, data_hash: str | None, **extra: Any) -> dict[str, Any]:
        return {
            "model_type": self.model_type,
            "version": self.version,
            "formula": self.formula,
            "config_id": self.config_id,
            "config": self.config,
            "code": code_digest(),
            "data_hash": data_hash,
            **extra,
        }

    @classmethod
    def check_meta(
        cls,
        path: Path,
        meta: dict[str, Any],
        data_hash: str | None = None,
        config_id: str | None = None,
    ) -> None:
        """Refuse a saved fit of another type, another structure (version), other settings or
        other data; the message names the folder and what differs."""
        kind = meta.get("model_type")
        if cls.model_type and kind != cls.model_type:
            raise FitMismatchError(f"{path} holds a {kind} fit, not a {cls.model_type}")
        if meta.get("version") != cls.version:
            raise FitMismatchError(
                f"{path} holds a {kind} fit of model version {meta.get('version')}; this is "
                f"version {cls.version} (the model's structure changed): refit"
            )
        if config_id is not None and meta.get("config_id") != config_id:
            if meta.get("code") != code_digest():
                raise FitMismatchError(
                    f"{path} was fitted by other code of the package (another release or a "
                    "local change): refit"
                )
            raise FitMismatchError(f"{path} was fitted with other settings: refit")
        if data_hash is not None and meta.get("data_hash") != data_hash:
            raise FitMismatchError(
                f"{path} was fitted on other data (hash {str(meta.get('data_hash'))[:12]}, "
                f"expected {data_hash[:12]}): refit"
            )

    @staticmethod
    def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
        meta_path = Path(path) / META_FILE
        if not meta_path.exists():
            raise FileNotFoundError(f"no saved fit in {path} ({META_FILE} missing)")
        return json.loads(meta_path.read_text())

    @staticmethod
    def write_meta(path: Path, meta: dict[str, Any]) -> None:
        """Write ``fit.json`` last and atomically: a folder without it is an interrupted save."""
        tmp = path / f"{META_FILE}.tmp"
        tmp.write_text(json.dumps(meta, indent=2, default=str))
        os.replace(tmp, path / META_FILE)


class StateEstimator(Estimator):
    """Persistence for estimators whose learned state is plain numbers, arrays and tables.

    The learned attributes (names ending in ``_``) are pickled beside ``fit.json``. Fits are
    written and read only by this package in the run's own fit cache; ``load`` checks type,
    version and data before it unpickles anything.
    """

    data_hash_: str | None = None

    def _state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def fitted(self) -> bool:
        return bool(self._state())

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fit to folder ``path`` (``state.pickle`` and ``fit.json``)."""
        if not self.fitted():
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() first")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f"{STATE_FILE}.tmp"
        with open(tmp, "wb") as handle:
            pickle.dump(self._state(), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path / STATE_FILE)
        self.write_meta(path, self._meta(self.data_hash_, settings=self._settings()))
        return path

    def _settings(self) -> Any:
        """Hook: what ``load`` passes back to the constructor (JSON-able)."""
        return self.config

    @classmethod
    def _from_settings(cls, settings: Any) -> Self:
        return cls(**settings)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        data_hash: str | None = None,
        config_id: str | None = None,
    ) -> Self:
        """Read a fit written by :meth:`save`; refuse a mismatch (:class:`FitMismatchError`)."""
        path = Path(path)
        meta = cls.read_meta(path)
        cls.check_meta(path, meta, data_hash, config_id)
        model = cls._from_settings(meta["settings"])
        with open(path / STATE_FILE, "rb") as handle:
            state = pickle.load(handle)  # noqa: S301 - the package's own fit, checked above
        vars(model).update(state)
        return model


__all__ = [
    "TABLE_INTERVAL",
    "Diagnostics",
    "Estimator",
    "FitMismatchError",
    "StateEstimator",
    "digest",
    "estimator_class",
]
