"""The named datasets of one run folder (kedro's catalog idea): only this module knows where and in
what format they live.

A run folder holds the validated tables and ``catalog.json``, written once by
:func:`pipeline_models.run.inputs.prepare`: the period, the seed, the fit cache and the SHA-256 of
every table (each table is hashed once per run, when it is written). A report notebook asks for
datasets by name and never sees a path:

=========================  =====================================================================
name                       what it is
=========================  =====================================================================
``opportunities``          the canonical opportunities table of the period
``leads``                  the canonical leads table, or ``None``
``history``                the canonical stage history (one row per change of a deal), or ``None``
``previous_opportunities`` last period's canonical table, or ``None``
``validation``             what validation understood and the problems it found
``fits.win_rate`` ...      the period's fitted models (:meth:`Catalog.period_models`)
``fits.forecaster``        the pipeline forecaster fitted at the period's end
``fits.lead_funnel``       the lead funnel fitted at the period's end
``fits.account_products``  what each account may buy next, fitted at the period's end
``fits.deal_score``        every deal's chance of being won, from what was known at its creation
``backtests.forecast``     the forecast's track record over past month-ends
``backtests.leads``        the lead requirement's track record
``derived``                a table computed from the fits, such as the period's forecast draws
=========================  =====================================================================

Fits and track records come from the fit cache: the run's fit step makes each of them once,
before any report, and every report that asks for one loads that same fit. The hierarchical fits
use the sampler budget the folder was prepared with (``--fit``, :mod:`.budget`).

Each fit or track record a catalog obtains is noted in the folder's ``fits.json`` with its place in
the cache. A catalog opened with ``say`` (a notebook's: ``print``) announces a fit the folder has
not noted yet before making it, and says how long it took: an analyst who opens a notebook on a
new run folder sees why the first cell takes a minute, while the reports of a run, whose fit step
made every fit first, print nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline_models.contract.period import reference_date
from pipeline_models.run.fitnotes import fit_words, made_fits, note_fit, still_made
from pipeline_models.run.layout import CATALOG_FILE, sample_work_dir

FORMAT = 1
"""Layout version of ``catalog.json``."""


class CatalogError(Exception):
    """A run folder is missing or incomplete; the message says how to prepare one."""


@dataclass
class Catalog:
    """The datasets of one run folder; tables are read once and kept."""

    folder: Path
    meta: dict[str, Any]
    _tables: dict[str, Any] = field(default_factory=dict, repr=False)
    loaded: dict[str, dict] = field(default_factory=dict)
    """Per fit or track record asked for: whether it came from the cache, and where it lives."""
    say: Callable[[str], None] | None = field(default=None, repr=False)
    """Where a fit this folder has not made yet is announced, with the time it took (``None``:
    silent; the run's fit step says what it fits in its own words)."""

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, run_dir: str | Path, say: Callable[[str], None] | None = print) -> Catalog:
        """The catalog of a prepared run folder.

        An analyst's default folder (``data/work/<period>``) is prepared from the bundled sample
        on first use, when the sample is there. ``say`` announces each fit the folder has not
        made yet (see the module docstring); ``None`` keeps it silent.
        """
        folder = Path(run_dir).resolve()
        path = folder / CATALOG_FILE
        if not path.exists():
            _prepare_sample_if_default(folder)
        if not path.exists():
            raise CatalogError(
                f"{folder} is not a prepared run folder ({CATALOG_FILE} missing). Prepare one with "
                "`pipeline-reports prepare --export FILE --period YYYY-MM --out FOLDER` "
                "(`make lab` prepares the bundled sample)."
            )
        meta = json.loads(path.read_text())
        if meta.get("format") != FORMAT:
            raise CatalogError(
                f"{path} has layout {meta.get('format')}, this version reads {FORMAT}: prepare "
                "the folder again"
            )
        return cls(folder, meta, say=say)

    # ----------------------------------------------------------------- identity
    @property
    def period(self) -> str:
        return self.meta["period"]

    @property
    def random_seed(self) -> int:
        return int(self.meta["random_seed"])

    @property
    def as_of(self) -> pd.Timestamp:
        """The reference date every report of the run counts from (the period's end)."""
        return reference_date(self.period)

    @property
    def cache_dir(self) -> Path:
        return Path(self.meta["cache_dir"])

    @property
    def budget(self) -> dict[str, int | float]:
        """The sampler budget the folder's hierarchical fits use (``--fit``; empty: the models'
        defaults)."""
        return dict(self.meta.get("fit") or {})

    def digest(self, name: str) -> str | None:
        """SHA-256 of a table of the run, recorded when it was written (``None``: no table)."""
        entry = self.meta["datasets"].get(name)
        return None if entry is None else entry["sha256"]

    def has(self, name: str) -> bool:
        return self.meta["datasets"].get(name) is not None

    def settings(self, report: str) -> dict[str, Any] | None:
        """The report parameters the run's fit step used for ``report`` (its track record);
        ``None`` when the run does not include that report."""
        found = self.meta.get("settings", {}).get(report)
        return None if found is None else dict(found)

    # ----------------------------------------------------------------- tables
    def _file(self, name: str) -> Path:
        return self.folder / self.meta["datasets"][name]["file"]

    def opportunities(self) -> pd.DataFrame:
        return self._table("opportunities")

    def leads(self) -> pd.DataFrame | None:
        return self._table("leads") if self.has("leads") else None

    def history(self) -> pd.DataFrame | None:
        return self._table("history") if self.has("history") else None

    def previous_opportunities(self) -> pd.DataFrame | None:
        return self._table("previous_opportunities") if self.has("previous_opportunities") else None

    def _once(self, key: str, make):
        """``make()`` the first time ``key`` is asked for, the kept value after."""
        if key not in self._tables:
            self._tables[key] = make()
        return self._tables[key]

    def release(self) -> None:
        """Forget the tables and fits read so far (they are read again when asked for)."""
        self._tables.clear()

    def _table(self, name: str) -> pd.DataFrame:
        from pipeline_models.io.canonical import (
            read_canonical,
            read_canonical_history,
            read_canonical_leads,
        )

        reader = {"leads": read_canonical_leads, "history": read_canonical_history}.get(
            name, read_canonical
        )
        return self._once(name, lambda: reader(self._file(name)))

    def validation(self) -> dict[str, Any]:
        return self._once("validation", lambda: json.loads(self._file("validation").read_text()))

    def currency(self) -> str:
        """The export's currency code, or ``""`` when it records none."""
        values = self.opportunities()["currency"].dropna()
        return str(values.iloc[0]) if len(values) else ""

    # ----------------------------------------------------------------- fits
    def period_models(self):  # -> PeriodModels
        """The fitted win-rate, deal-size and cycle-time models of the period."""

        def make():
            from pipeline_models.models.period import period_models

            models = period_models(
                self.opportunities(),
                self.cache_dir,
                self.random_seed,
                as_of=self.as_of,
                table_digest=self.digest("opportunities"),
                budget=self.budget,
                watch=lambda name, fit: self._making(f"fits.{name}", fit),
            )
            for name, fit in models.cached.items():
                self._record(f"fits.{name}", fit.hit, fit.path)
            return models

        return self._once("period_models", make)

    def forecaster(self):  # -> PipelineForecaster
        """The pipeline forecaster fitted on what was known at the period's end."""

        def make():
            from pipeline_models.models.period import fit_forecaster

            fit = self._making(
                "fits.forecaster",
                lambda: fit_forecaster(
                    self.opportunities(), self.as_of, self.cache_dir, self.digest("opportunities")
                ),
            )
            return self._record("fits.forecaster", fit.hit, fit.path, fit.model)

        return self._once("forecaster", make)

    def lead_funnel(self):  # -> LeadFunnelModel
        """The lead funnel (leads to opportunities to wins, with lags) at the period's end."""

        def make():
            from pipeline_models.models.period import fit_lead_funnel

            fit = self._making(
                "fits.lead_funnel",
                lambda: fit_lead_funnel(
                    self.opportunities(),
                    self.leads(),
                    self.as_of,
                    self.cache_dir,
                    self._digests("opportunities", "leads"),
                    self.random_seed,
                ),
            )
            return self._record("fits.lead_funnel", fit.hit, fit.path, fit.model)

        return self._once("lead_funnel", make)

    def account_products(self):  # -> AccountProductsModel | None
        """What each account may buy next, and with what chance, at the period's end; ``None``
        when the export cannot support it (``models.period.refusal`` says why)."""

        def make():
            from pipeline_models.models.period import fit_account_products, refusal

            fit = self._making(
                "fits.account_products",
                lambda: fit_account_products(
                    self.opportunities(),
                    self.as_of,
                    self.cache_dir,
                    self.digest("opportunities"),
                    self.random_seed,
                ),
                lambda: refusal("account_products", self.opportunities(), self.as_of),
            )
            if fit is None:
                return None
            return self._record("fits.account_products", fit.hit, fit.path, fit.model)

        return self._once("account_products", make)

    def deal_score(self):  # -> DealScoreModel | None
        """The deal score fitted on the period's closed deals; ``None`` when the export cannot
        support it (``models.period.refusal("deal_score", ...)`` says why)."""

        def make():
            from pipeline_models.models.period import fit_deal_score, refusal

            fit = self._making(
                "fits.deal_score",
                lambda: fit_deal_score(
                    self.opportunities(),
                    self.cache_dir,
                    self.digest("opportunities"),
                    self.random_seed,
                ),
                lambda: refusal("deal_score", self.opportunities()),
            )
            if fit is None:
                return None
            return self._record("fits.deal_score", fit.hit, fit.path, fit.model)

        return self._once("deal_score", make)

    def forecast_track(self, months: int) -> pd.DataFrame | None:
        """One-month-ahead forecasts at the last ``months`` month-ends against what happened;
        ``None`` when the history is too short for any origin."""
        key = f"backtests.forecast.{months}"

        def make():
            from pipeline_models.run.tracks import forecast_track

            track = self._making(
                key,
                lambda: forecast_track(
                    self.opportunities(),
                    self.leads(),
                    self.period,
                    months,
                    self.cache_dir,
                    self._digests("opportunities", "leads"),
                    self.random_seed,
                ),
            )
            return self._record(key, track.hit, track.path, track.table)

        return self._once(key, make)

    def lead_track(self, horizon_months: int, months: int) -> pd.DataFrame | None:
        """The lead requirement's outlook at past month-ends against what was won; ``None`` when
        the history is too short for any origin."""
        key = f"backtests.leads.{horizon_months}.{months}"

        def make():
            from pipeline_models.run.tracks import lead_track

            track = self._making(
                key,
                lambda: lead_track(
                    self.opportunities(),
                    self.leads(),
                    self.period,
                    horizon_months,
                    months,
                    self.cache_dir,
                    self._digests("opportunities", "leads"),
                    self.random_seed,
                ),
            )
            return self._record(key, track.hit, track.path, track.table)

        return self._once(key, make)

    def derived(
        self, name: str, key: dict[str, Any], compute: Callable[[], pd.DataFrame]
    ) -> pd.DataFrame:
        """A table computed from the period's fits (``compute()``), once per run: kept in the
        fit cache under ``key`` with the period, the seed and the tables' digests, so the next
        report (in a kernel of its own) that asks for it with the same ``key`` loads it."""

        def make():
            from pipeline_models.models.cache import cached_table

            full = {
                "kind": name,
                "as_of": str(self.as_of.date()),
                **key,
                **{k: str(v) for k, v in self._digests("opportunities", "leads").items()},
            }
            return cached_table(self.cache_dir, name, full, compute, self.random_seed).table

        return self._once(f"derived.{name}.{sorted(key.items())}", make)

    def period_outlook(self, months: int):  # -> tuple[ForecastResult, pd.DataFrame]
        """The period's forecast for windows of 1 to ``months`` months or more, and the open deals
        it read (:func:`~pipeline_models.analyses.forecast.in_hand.period_outlook`): drawn once
        per run, by the fit step where it can, and kept in the fit cache."""
        from pipeline_models.analyses.forecast.in_hand import period_outlook

        return period_outlook(self, months)

    def _digests(self, *names: str) -> dict[str, str | None]:
        return {name: self.digest(name) for name in names}

    def _record(self, name: str, hit: bool, path: Path | None, value: Any = None) -> Any:
        """Note where ``name`` came from (see :attr:`loaded`), also in the folder's
        ``fits.json``; return ``value``."""
        where = None if path is None else str(path)
        self.loaded[name] = {"cache_hit": bool(hit), "path": where}
        made = made_fits(self.folder)
        if name not in made or made[name].get("path") != where:
            note_fit(self.folder, name, where)
        return value

    def _making(self, name: str, fit: Callable[[], Any], refused: Callable | None = None) -> Any:
        """``fit()``: a fit or track record; when the folder has not made it yet (and
        ``refused()`` gives no reason it cannot be made), announced through :attr:`say` with
        the time it took."""
        if self.say is None or still_made(made_fits(self.folder).get(name)):
            return fit()
        if refused is not None and refused() is not None:
            return fit()
        what, takes = fit_words(name)
        self.say(f"Fitting {what} (first time for this run folder; {takes}) ...")
        t0 = time.perf_counter()
        result = fit()
        seconds = time.perf_counter() - t0
        if getattr(result, "hit", False):  # another folder of the same data made it
            self.say(f"  found in the fit cache ({seconds:.1f} s)")
        else:
            self.say(
                f"  done in {seconds:.0f} s" if seconds >= 10 else f"  done in {seconds:.1f} s"
            )
        return result


def _prepare_sample_if_default(folder: Path) -> None:
    """Prepare an analyst's default folder from the bundled sample (fits come on first use)."""
    period = folder.name
    if folder != sample_work_dir(period).resolve():
        return
    exports = folder.parents[1] / "sample" / "exports"
    export = exports / f"opportunities_{period}.csv"
    if not export.exists():
        raise CatalogError(
            f"{folder} is not prepared and the bundled sample is missing ({export}): run "
            "`make sample` (or `make lab`) first"
        )
    from pipeline_models.run.inputs import Sources, prepare

    leads = exports / f"leads_{period}.csv"
    history = exports / f"stage_history_{period}.csv"
    previous = exports / f"opportunities_{pd.Period(period, 'M') - 1}.csv"
    prepare(
        Sources(
            export=export,
            period=period,
            leads=leads if leads.exists() else None,
            history=history if history.exists() else None,
            previous_export=previous if previous.exists() else None,
            cache_dir=folder.parents[1] / "fits",
        ),
        folder,
    )


__all__ = ["Catalog", "CatalogError"]
