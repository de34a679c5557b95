"""The sampler budget of a run's hierarchical fits (``--fit NAME=VALUE``): read and checked.

A fit whose sampler did not converge says to refit with more draws; a run or a prepared run folder
does so with ``--fit draws=4000`` (``tune`` and ``target_accept`` likewise). The budget is kept in
the run folder's ``catalog.json``, so every report of the run asks for the fits the fit step
made, and it is part of each model's configuration, so the fit cache keeps a fit of another budget
apart (its key is the model's configuration id). The manifest records the budget the fits used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pipeline_models.run.options import RunError

OPTION = "--fit"

SETTINGS = {
    "sampler": "how the fits are made: laplace (default), nutpie or pymc",
    "draws": "posterior draws per chain",
    "tune": "tuning steps per chain",
    "target_accept": "the sampler's target acceptance (higher: smaller steps, fewer divergences)",
}
"""What ``--fit`` sets, each with what it is."""

LEAST = {"draws": 1, "tune": 1}
"""The smallest whole number each count takes."""

SAMPLERS = ("laplace", "nutpie", "pymc")

Budget = dict[str, int | float | str]


def read_budget(items: Iterable[str] | None) -> Budget:
    """``--fit NAME=VALUE`` options as typed settings; each bad one refused (exit 2) naming it."""
    budget: Budget = {}
    for item in items or []:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunError(f"{OPTION} {item!r}: write it as NAME=VALUE ({_known()})")
        if key in budget:
            raise RunError(f"{OPTION} {key}: given twice")
        budget[key] = budget_value(key, text)
    return budget


def check_budget(budget: Mapping[str, object] | None) -> Budget:
    """A budget given as a mapping (a run's options), each value checked as ``--fit`` checks it."""
    return {key: budget_value(key, value) for key, value in (budget or {}).items()}


def budget_value(name: str, value: object) -> int | float | str:
    """One setting's value, typed; refused (exit 2) naming ``--fit`` and the setting."""
    if name not in SETTINGS:
        raise RunError(f"{OPTION} {name}: unknown setting ({_known()})")
    if isinstance(value, bool):  # True would read as 1
        raise RunError(f"{OPTION} {name}={value}: must be a number")
    text = str(value).strip()
    if name == "sampler":
        if text not in SAMPLERS:
            raise RunError(f"{OPTION} {name}={text}: must be one of {', '.join(SAMPLERS)}")
        return text
    if name == "target_accept":
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not 0 < number < 1:  # NaN fails too
            raise RunError(f"{OPTION} {name}={text}: must be a number between 0 and 1, e.g. 0.99")
        return number
    try:
        count = int(text)
    except ValueError:
        raise RunError(f"{OPTION} {name}={text}: must be a whole number, e.g. 4000") from None
    if count < LEAST[name]:
        raise RunError(f"{OPTION} {name}={text}: must be at least {LEAST[name]}")
    return count


def _known() -> str:
    return "NAME is one of " + ", ".join(SETTINGS)


def effective_budget(budget: Mapping[str, object] | None) -> Budget:
    """Every setting of :data:`SETTINGS` as the fits use it: ``budget`` over the models' defaults."""
    from pipeline_models.models.hierarchical import WinRateModel

    config = WinRateModel(**dict(budget or {})).sampler_config
    return {name: config[name] for name in SETTINGS}


__all__ = [
    "OPTION",
    "SETTINGS",
    "budget_value",
    "check_budget",
    "effective_budget",
    "read_budget",
]
