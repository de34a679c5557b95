"""The contract every pipeline model keeps, and the machinery they share.

``__init__`` only stores configuration. ``fit(frame, random_seed=...)`` aggregates the canonical
frame into the model's sufficient statistics (:meth:`PipelineModel.inputs`), samples the posterior
and returns the model. ``summary()``, ``diagnostics()``, ``save(path)`` and ``load(path)`` work the
same for every model. Predictions are computed from the posterior draws with numpy, so they need
no PyMC model and work the same after :meth:`PipelineModel.load`.

Group terms
-----------
``groups`` names grouping columns (``"product"``) or interactions of them (``"region:product"``,
one level per combination), each a varying intercept ``(1 | term)``. With ``groups=None`` a model
uses its default columns that hold at least one value. A term with fewer than two levels in the
data is dropped (it would only duplicate the intercept) and listed in ``dropped_terms_``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import xarray as xr

from pipeline_models.data.aggregate import table_hash
from pipeline_models.models.contract import (
    TABLE_INTERVAL,
    Estimator,
    FitMismatchError,
    estimator_class,
)
from pipeline_models.models.hierarchical.diagnostics import FitDiagnostics, diagnose
from pipeline_models.models.hierarchical.effects import (
    additive_effects,
    level_draws,
    prefer_centred,
    term_levels,
)
from pipeline_models.models.hierarchical.laplace import (
    LaplaceDraws,
    LaplaceUnsupported,
    LatentModel,
)
from pipeline_models.models.hierarchical.priors import Prior, overrides_to_json, resolve_priors
from pipeline_models.models.hierarchical.sampling import laplace_fit, sample_nuts

SAMPLE_DIMS = ("chain", "draw")
INTERVAL = TABLE_INTERVAL
"""Probability of the equal-tailed intervals the models' tables show."""

PARAMETRIZATIONS = ("auto", "noncentred", "centred")


def stack_draws(tree: xr.DataTree, name: str, dims: Sequence[str] = ()) -> np.ndarray:
    """Posterior draws of ``name`` as an array (sample, *dims), chains concatenated."""
    da = tree["posterior"][name]
    da = da.stack(sample=SAMPLE_DIMS).transpose("sample", *dims)
    return np.asarray(da.values, dtype=float)


class ModelRefused(ValueError):
    """The export holds nothing a model can be fitted on; the message says why, plainly."""


class PipelineModel(Estimator):
    """Base of the pipeline models: configuration, sampling, diagnostics, persistence.

    Model settings (``groups``, ``priors``, ``parametrization``) decide what is estimated; sampler
    settings (``draws``, ``tune``, ``chains``, ``sampler``, ``target_accept``) how precisely;
    ``cores`` and ``progress`` decide neither. Each class states its ``response`` (the left side of
    its :attr:`formula`) and a ``version`` to bump whenever its structure changes.

    Parameters
    ----------
    groups
        Grouping columns or ``"a:b"`` interactions; ``None`` for the model's defaults present in
        the data.
    priors
        Overrides of the model's default priors by name (see :mod:`~pipeline_models.models.hierarchical.priors`).
    draws, tune, chains
        Posterior draws per chain, tuning steps, chains (the Laplace fit returns
        ``draws * chains`` draws, from as many weighted proposals). With nutpie, a run that diverged or whose
        bulk ESS fell short of 400 is redone once on the same compiled model (so it costs
        sampling time only) with ``target_accept`` 0.99 or twice the draws; ``sampling_`` says
        what the kept run used, and :meth:`diagnostics` judges that run.
    cores
        Chains run in parallel on this many cores (PyMC would otherwise halve the CPU count).
    sampler
        ``"laplace"`` (default: nested Laplace with importance weights, no compilation, a few
        seconds; see :mod:`~pipeline_models.models.hierarchical.laplace`; where the weights show
        that it missed the posterior, or the model has no Laplace form, the fit samples with
        nutpie instead and says why in ``sampling_``), ``"nutpie"`` (NUTS, compiled) or
        ``"pymc"`` (PyMC's own NUTS).
    target_accept
        NUTS target acceptance; higher means smaller steps and fewer divergences.
    parametrization
        How varying intercepts are sampled: ``"noncentred"`` (``b = sd * z``, ``z`` standard
        normal: right when levels hold little data or hardly differ, as in Maven), ``"centred"``
        (``b ~ Normal(0, sd)``: right when every level holds plenty of data and levels differ
        clearly; the non-centred form then leaves ``sd`` and ``z`` on a curved ridge that NUTS
        samples slowly) or ``"auto"`` (per term, from a quick moment estimate; see
        :func:`prefer_centred`). Both describe the same model; only sampling efficiency differs.
    progress
        Show the sampler's progress bar and log lines (off: reports would show them).
    """

    model_type: ClassVar[str] = ""
    response: ClassVar[str] = ""
    needs: ClassVar[str] = "this model can use"
    """What a deal must be for this model to use it, in words (the refusal names it)."""
    """Left side of the model's formula, e.g. ``won | trials(n)``."""
    default_groups: ClassVar[tuple[str, ...]] = ()
    default_priors: ClassVar[Mapping[str, Prior]] = {}
    _extra_config: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        groups: Sequence[str] | None = None,
        priors: Mapping[str, Any] | None = None,
        *,
        draws: int = 2000,
        tune: int = 1000,
        chains: int = 2,
        cores: int = 2,
        sampler: str = "laplace",
        target_accept: float = 0.95,
        parametrization: str = "auto",
        progress: bool = False,
    ) -> None:
        self.groups = None if groups is None else tuple(groups)
        self.priors = priors
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.sampler = sampler
        self.target_accept = target_accept
        self.parametrization = parametrization
        self.progress = progress
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(f"parametrization must be one of {PARAMETRIZATIONS}")
        resolve_priors(self.default_priors, priors)  # reject unknown names now, keep nothing

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- configuration
    @property
    def model_config(self) -> dict[str, Any]:
        """What the model estimates: its terms, priors and parametrization (JSON-able)."""
        out = {
            "groups": None if self.groups is None else list(self.groups),
            "priors": overrides_to_json(self.priors),
            "parametrization": self.parametrization,
        }
        for name in self._extra_config:
            out[name] = getattr(self, name)
        return out

    @property
    def sampler_config(self) -> dict[str, Any]:
        """How precisely it is estimated (``cores`` and ``progress`` change neither)."""
        return {
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "sampler": self.sampler,
            "target_accept": self.target_accept,
        }

    @property
    def formula(self) -> str:  # type: ignore[override]
        """The model in one line, bambi style; a fitted model names the terms it really used."""
        fitted = getattr(self, "terms_", None)
        terms = list(fitted) if fitted is not None else list(self.groups or self.default_groups)
        return " + ".join([f"{self.response} ~ 1", *(f"(1 | {t})" for t in terms)])

    def resolved_priors(self) -> dict[str, Prior]:
        """The priors this model samples with: defaults with the overrides applied."""
        return resolve_priors(self.default_priors, self.priors)

    def terms(self, frame: pd.DataFrame) -> list[str]:
        """Group terms this model would use on ``frame``."""
        if self.groups is None:
            return [g for g in self.default_groups if g in frame.columns and frame[g].notna().any()]
        for term in self.groups:
            for col in term.split(":"):
                if col not in frame.columns:
                    raise KeyError(f"grouping column {col!r} (term {term!r}) is not in the table")
        return list(self.groups)

    @staticmethod
    def _columns(terms: Sequence[str]) -> list[str]:
        cols: list[str] = []
        for term in terms:
            for col in term.split(":"):
                if col not in cols:
                    cols.append(col)
        return cols

    # ----------------------------------------------------------------- inputs
    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The aggregated table this model fits on (its sufficient statistics); pure."""
        terms = self.terms(frame)
        table = self._aggregate(frame, self._columns(terms))
        table.attrs = {**table.attrs, "terms": terms}
        return table

    def data_hash(self, frame: pd.DataFrame) -> str:
        """Hash of the model's inputs from ``frame`` (what a saved fit is checked against)."""
        return table_hash(self.inputs(frame))

    def _aggregate(self, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        raise NotImplementedError

    # ----------------------------------------------------------------- fitting
    def fit(self, frame: pd.DataFrame, random_seed: int | None = None) -> Self:
        """Fit on a canonical opportunities frame; returns ``self``."""
        return self.fit_inputs(self.inputs(frame), random_seed=random_seed)

    def fit_inputs(self, inputs: pd.DataFrame, random_seed: int | None = None) -> Self:
        """Fit on a table made by :meth:`inputs` (lets a caller aggregate once)."""
        self._set_inputs(inputs, random_seed)
        self.sampling_: dict[str, Any] = {}
        fitted = laplace_fit(self, random_seed) if self.sampler == "laplace" else None
        self.posterior_, self.sampling_ = fitted or sample_nuts(self, random_seed)
        return self

    def _latent_model(self) -> LatentModel:
        """The model as a latent Gaussian model (for ``sampler="laplace"``)."""
        raise LaplaceUnsupported(f"{type(self).__name__} has no Laplace form")

    def _latent_terms(self) -> dict[str, Any]:
        """Each cell's level of every fitted term, and the terms' level counts (the ``terms``
        and ``n_levels`` of a :class:`LatentModel`)."""
        return {
            "terms": self.cell_index_,
            "n_levels": {t: len(levels) for t, levels in self.terms_.items()},
        }

    def _laplace_variables(self, draws: LaplaceDraws) -> dict[str, tuple[np.ndarray, tuple]]:
        """Posterior variables (name -> draws, dims) from the Laplace fit's draws."""
        out = {"intercept": (draws.intercept[:, 0], ())}
        for term in self.terms_:
            out[f"sd_{term}"] = (draws.sd[(0, term)], ())
            out[f"b_{term}"] = (draws.effects[(0, term)], (term,))
        return out

    def _set_inputs(self, inputs: pd.DataFrame, random_seed: int | None) -> None:
        terms = list(inputs.attrs.get("terms", []))
        if len(inputs) == 0:
            raise ModelRefused(f"the export holds no deal {self.needs}")
        self.inputs_ = inputs.copy()
        self.inputs_.attrs = dict(inputs.attrs)
        self.data_hash_ = table_hash(inputs)
        self.random_seed_ = random_seed
        cells = self._cell_table(inputs)
        levels = {t: term_levels(cells, t) for t in terms}
        self.terms_ = {t: sorted(set(lv)) for t, lv in levels.items() if len(set(lv)) >= 2}
        self.dropped_terms_ = [t for t in terms if t not in self.terms_]
        self.columns_ = self._columns(terms)
        self.cells_ = cells
        self.parametrization_: dict[str, str] = {}
        self.cell_index_ = {
            t: np.searchsorted(np.asarray(self.terms_[t], dtype=str), levels[t].astype(str))
            for t in self.terms_
        }
        self._after_inputs()

    def _cell_table(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """Distinct cells (group columns) the likelihood refers to, one row each."""
        cols = self._columns(inputs.attrs.get("terms", []))
        return inputs[cols].drop_duplicates().reset_index(drop=True)

    def _after_inputs(self) -> None:
        """Hook: model-specific fitted state derived from the inputs."""

    def _build(self) -> Any:
        raise NotImplementedError

    def _coords(self) -> dict[str, list[str]]:
        return {t: list(lv) for t, lv in self.terms_.items()}

    def _check_fitted(self) -> None:
        if not hasattr(self, "posterior_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load() first")

    # ----------------------------------------------------------------- predictions
    def _cell_levels(self, cells: pd.DataFrame) -> dict[str, np.ndarray]:
        """Level of every fitted term for each row of ``cells``."""
        return {t: term_levels(cells, t) for t in self.terms_}

    def _decide(self, key: str, estimates: np.ndarray, variances: np.ndarray) -> str:
        """Record and return the parametrization of term ``key`` (see ``parametrization``)."""
        if self.parametrization != "auto":
            choice = self.parametrization
        else:
            choice = "centred" if prefer_centred(estimates, variances) else "noncentred"
        self.parametrization_[key] = choice
        return choice

    def _decide_terms(self, prefix: str, values: np.ndarray, weights: np.ndarray) -> None:
        """Choose every term's parametrization from cell-level estimates ``values`` with
        precisions ``weights`` (cells as in ``cells_``), after separating the terms' effects
        by backfitting: a group that only looks different because it is confounded with
        another (segments that sell different products) is not mistaken for a real one."""
        effects = additive_effects(values, weights, self.cell_index_, self.terms_)
        for term, (est, var) in effects.items():
            self._decide(f"{prefix}{term}", est, var)

    def _effect(
        self, prefix: str, term: str, sd_prior: Prior, extra_dims: tuple[str, ...] = ()
    ) -> Any:
        """Add the varying intercept of ``term`` to the model in context; returns ``b``.

        The effects ``b`` sum to zero over the fitted levels (so the intercept is the average
        level, not a quantity the levels can trade against); ``b`` is in the posterior under
        either parametrization, as is its scale ``sd``.
        """
        import pymc as pm

        dims = (*extra_dims, term)
        sd = sd_prior.create(f"{prefix}sd_{term}", dims=extra_dims or None)
        scale = sd[..., None] if extra_dims else sd
        if self.parametrization_.get(f"{prefix}{term}", "noncentred") == "centred":
            return pm.ZeroSumNormal(f"{prefix}b_{term}", sigma=scale, dims=dims)
        z = pm.ZeroSumNormal(f"{prefix}z_{term}", sigma=1.0, dims=dims)
        return pm.Deterministic(f"{prefix}b_{term}", scale * z, dims=dims)

    def _linear(
        self,
        cells: pd.DataFrame | None,
        prefix: str,
        rng: np.random.Generator,
        extra_dims: Sequence[str] = (),
    ) -> np.ndarray:
        """intercept + sum of term effects for ``cells``: array (sample, *extra, cell).

        ``cells=None`` gives the intercept alone (every group at its average level), one cell.
        """
        tree = self.posterior_
        eta = stack_draws(tree, f"{prefix}intercept", extra_dims)[..., None]
        if cells is None:
            return eta.copy()
        levels = self._cell_levels(cells)
        for term in self.terms_:
            b = stack_draws(tree, f"{prefix}b_{term}", (*extra_dims, term))
            sd = stack_draws(tree, f"{prefix}sd_{term}", extra_dims)
            eta = eta + level_draws(self.terms_[term], levels[term], b, sd, rng)
        return np.broadcast_to(eta, (*eta.shape[:-1], len(cells))).copy()

    # ----------------------------------------------------------------- reading a fit
    def summary(self, var_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Posterior table of the parameters: mean, sd, 90% equal-tailed interval, R-hat, ESS."""
        self._check_fitted()
        import arviz as az

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = az.summary(
                self.posterior_,
                var_names=list(var_names) if var_names else None,
                ci_prob=INTERVAL,
                ci_kind="eti",
                round_to="none",
            )
        return pd.DataFrame(table)

    def diagnostics(self) -> FitDiagnostics:
        """R-hat, bulk ESS and divergences of the fit, with a sentence for a report."""
        self._check_fitted()
        return diagnose(self.posterior_, type(self).__name__, getattr(self, "sampling_", None))

    # ----------------------------------------------------------------- persistence
    def _fitted_extras(self) -> dict[str, Any]:
        """Hook: JSON-able model-specific fitted state to save."""
        return {}

    def _restore_extras(self, extras: Mapping[str, Any]) -> None:
        """Hook: restore what :meth:`_fitted_extras` saved."""

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fit to folder ``path``: ``posterior.nc`` (netCDF) and ``fit.json``.

        ``fit.json`` holds the model type, version, formula, configuration and its id, the data
        hash and the package version; it is written last, so a folder without it is an
        interrupted save.
        """
        self._check_fitted()
        from pipeline_models import __version__

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        inputs = self.inputs_.reset_index(drop=True)
        tree = self.posterior_.copy()
        tree["inputs"] = xr.DataTree(xr.Dataset.from_dataframe(_plain(inputs)))
        tree.to_netcdf(path / "posterior.nc", engine="h5netcdf")
        meta = {
            **self._meta(self.data_hash_),
            "package_version": __version__,
            "random_seed": self.random_seed_,
            "inputs_columns": list(inputs.columns),
            "inputs_dtypes": {c: str(t) for c, t in inputs.dtypes.items()},
            "inputs_attrs": inputs.attrs,
            "parametrization": self.parametrization_,
            "sampling": getattr(self, "sampling_", None),
            "extras": self._fitted_extras(),
        }
        self.write_meta(path, meta)
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        data_hash: str | None = None,
        config_id: str | None = None,
    ) -> PipelineModel:
        """Read a fit written by :meth:`save`.

        Parameters
        ----------
        path
            The folder given to :meth:`save`.
        data_hash
            If given, the fit must have been made on data with this hash (see :meth:`data_hash`).
        config_id
            If given, the fit must have been made with these settings (:attr:`config_id`).

        Raises
        ------
        FitMismatchError
            The folder holds another model type, a fit of another model version (its structure
            changed since), or was fitted with other settings or on other data.
        FileNotFoundError
            No complete fit in ``path``.
        """
        path = Path(path)
        meta = cls.read_meta(path)
        kind = meta.get("model_type")
        if cls.model_type and kind != cls.model_type:
            raise FitMismatchError(f"{path} holds a {kind} fit, not a {cls.model_type}")
        klass = estimator_class(kind)
        if not issubclass(klass, PipelineModel):
            raise FitMismatchError(f"{path} holds a {kind} fit, not a PyMC pipeline model")
        klass.check_meta(path, meta, data_hash, config_id)
        model = klass(**meta["config"])
        with xr.open_datatree(path / "posterior.nc", engine="h5netcdf") as stored:
            tree = stored.load().copy()
        inputs = tree["inputs"].to_dataset().to_dataframe().reset_index(drop=True)
        inputs = inputs[meta["inputs_columns"]].astype(meta["inputs_dtypes"])
        inputs.attrs = meta["inputs_attrs"]
        tree = xr.DataTree.from_dict(
            {
                "posterior": tree["posterior"].to_dataset(),
                "sample_stats": tree["sample_stats"].to_dataset(),
            }
        )
        model._set_inputs(inputs, meta.get("random_seed"))
        model.data_hash_ = meta["data_hash"]
        model.posterior_ = tree
        model.parametrization_ = dict(meta.get("parametrization", {}))
        model.sampling_ = meta.get("sampling")
        model._restore_extras(meta.get("extras", {}))
        return model


def model_class(model_type: str) -> type[PipelineModel]:
    """The model class saved fits call ``model_type``."""
    klass = estimator_class(model_type)
    if not issubclass(klass, PipelineModel):
        raise FitMismatchError(f"{model_type!r} is not a PyMC pipeline model")
    return klass


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Copy with text columns as numpy objects (netCDF writes them as strings)."""
    out = table.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].astype(object)
    out.attrs = {}
    return out
