"""Default priors of every model: values, not code, each with its one-line reason.

A model takes ``priors={name: override}``. An override is a number (the prior's scale, ``sigma``),
a mapping of parameters to change (``{"mu": 4.0}``) or a whole :class:`Prior`. Unknown names are
rejected. Resolving never changes the defaults nor the caller's mapping.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Prior:
    """A named PyMC distribution with fixed parameters and the reason for them.

    Parameters
    ----------
    dist
        Name of a PyMC distribution (``"Normal"``, ``"HalfNormal"``, ...).
    params
        Its parameters by PyMC's names.
    reason
        One line saying why these values.
    """

    dist: str
    params: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def create(self, name: str, dims: str | tuple[str, ...] | None = None) -> Any:
        """Add this prior to the PyMC model in context as variable ``name``."""
        import pymc as pm

        return getattr(pm, self.dist)(name, **self.params, dims=dims)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {"dist": self.dist, "params": dict(self.params), "reason": self.reason}

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.dist}({args})"


WINRATE_PRIORS: Mapping[str, Prior] = MappingProxyType(
    {
        "intercept": Prior(
            "Normal",
            {"mu": 0.0, "sigma": 1.5},
            "logit of the typical win rate: anything from 5% to 95% is plausible a priori",
        ),
        "sd_group": Prior(
            "HalfNormal",
            {"sigma": 1.0},
            "spread of levels on the logit scale: odds up to ~7x apart plausible, 0 (no "
            "difference, full pooling) allowed",
        ),
    }
)
"""Priors of :class:`~pipeline_models.models.WinRateModel`."""

REVENUE_PRIORS: Mapping[str, Prior] = MappingProxyType(
    {
        "intercept": Prior(
            "Normal",
            {"mu": 0.0, "sigma": 1.0},
            "typical log deal size, relative to the export's mean log size: within a factor "
            "e^2 (~7x) of its geometric mean",
        ),
        "sd_group": Prior(
            "HalfNormal",
            {"sigma": 1.0},
            "spread of levels' typical size on the log scale: levels ~7x apart plausible, 0 allowed",
        ),
        "sigma": Prior(
            "HalfNormal",
            {"sigma": 1.5},
            "spread of log size within a cell: deals of one cell may range over a few orders of "
            "magnitude",
        ),
    }
)
"""Priors of :class:`~pipeline_models.models.RevenueModel`."""

CYCLE_PRIORS: Mapping[str, Prior] = MappingProxyType(
    {
        "outcome_intercept": Prior(
            "Normal",
            {"mu": 0.0, "sigma": 1.5},
            "log odds of ending won (or lost) against stalling: any mix of outcomes plausible",
        ),
        "outcome_sd_group": Prior(
            "HalfNormal",
            {"sigma": 1.0},
            "spread of levels' outcome log odds: odds up to ~7x apart plausible, 0 allowed",
        ),
        "duration_intercept": Prior(
            "Normal",
            {"mu": math.log(60.0), "sigma": 1.5},
            "median days to close: about two months, from under a week to over a year plausible",
        ),
        "duration_sd_group": Prior(
            "HalfNormal",
            {"sigma": 0.5},
            "spread of levels' median cycle on the log scale: levels ~3x apart plausible",
        ),
        "duration_sigma": Prior(
            "HalfNormal",
            {"sigma": 1.0},
            "spread of log days to close within a cell: deals of one cell differ a few-fold",
        ),
    }
)
"""Priors of :class:`~pipeline_models.models.CycleTimeModel`."""


def resolve_priors(
    defaults: Mapping[str, Prior], overrides: Mapping[str, Any] | None
) -> dict[str, Prior]:
    """Return a new dict of the defaults with ``overrides`` applied.

    Parameters
    ----------
    defaults
        A model's default priors.
    overrides
        Name -> number (new ``sigma``), mapping of parameters to change, or a :class:`Prior`.

    Returns
    -------
    dict
        Fresh ``{name: Prior}``; neither argument is modified.

    Raises
    ------
    ValueError
        For a name the model does not have, or a parameter its distribution does not take.
    """
    out = dict(defaults)
    for name, value in (overrides or {}).items():
        if name not in defaults:
            known = ", ".join(sorted(defaults))
            raise ValueError(f"unknown prior {name!r}; this model's priors are: {known}")
        base = defaults[name]
        if isinstance(value, Prior):
            out[name] = value
        elif isinstance(value, Mapping):
            if "dist" in value:
                out[name] = Prior(value["dist"], value.get("params", {}), value.get("reason", ""))
                continue
            unknown = set(value) - set(base.params)
            if unknown:
                raise ValueError(f"prior {name!r} ({base}) has no parameter(s) {sorted(unknown)}")
            out[name] = replace(base, params={**base.params, **value}, reason="set by caller")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if "sigma" not in base.params:
                raise ValueError(f"prior {name!r} ({base}) has no scale 'sigma' to set")
            out[name] = replace(
                base, params={**base.params, "sigma": float(value)}, reason="set by caller"
            )
        else:
            raise ValueError(f"prior {name!r}: cannot use {value!r} as an override")
    return out


def overrides_to_json(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """JSON-able copy of a priors override mapping (for saved configurations and cache keys)."""
    out: dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        out[name] = (
            value.to_dict()
            if isinstance(value, Prior)
            else (dict(value) if isinstance(value, Mapping) else value)
        )
    return out
