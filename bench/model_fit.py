"""Benchmark of the model fits: time and peak memory by export size, sufficient statistics against
one Bernoulli row per deal, and the Laplace fit against nutpie and PyMC's own NUTS sampler.

Each measurement runs in a fresh Python process (as each report notebook does), so compile time is
included and peak memory (``ru_maxrss``) belongs to that measurement alone. Exports come from the
synthetic generator (:mod:`pipeline_models.data.synthetic`).

Usage::

    python bench/model_fit.py                       # 10^4, 10^5, 10^6 rows; all three models
    python bench/model_fit.py --with-10m            # add 10^7 rows (several minutes, ~15 GB)
    python bench/model_fit.py --repeats 1 --skip-bernoulli --skip-samplers   # quick look

Figures are wall-clock seconds on whatever else the machine is doing; CPU seconds are printed
beside them because a shared machine inflates wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import time

MODELS = ("win_rate", "revenue", "cycle_time")


def export(n_rows: int, n_owners: int = 25, seed: int = 1):  # noqa: ANN201 - pandas.DataFrame
    """A canonical synthetic export of about ``n_rows`` deals, seen at the history's end."""
    from pipeline_models.contract.schema import conform_opportunities
    from pipeline_models.data.synthetic import SampleConfig, simulate_history, snapshot

    config = dataclasses.replace(
        SampleConfig(), n_opportunities=n_rows, n_owners=n_owners, with_leads=False
    )
    history = simulate_history(config, random_seed=seed)
    opportunities, _ = snapshot(history, config.end)
    return conform_opportunities(opportunities)


def make_model(name: str, sampler: str = "laplace"):  # noqa: ANN201 - a PipelineModel
    from pipeline_models.models import CycleTimeModel, RevenueModel, WinRateModel

    kind = {"win_rate": WinRateModel, "revenue": RevenueModel, "cycle_time": CycleTimeModel}
    return kind[name](sampler=sampler)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------ one measurement
def measure_fit(n_rows: int, model_name: str, repeats: int, sampler: str) -> dict:
    frame = export(n_rows)
    base_rss = peak_rss_mb()
    agg_times, fit_times, fit_cpu = [], [], []
    for i in range(repeats):
        model = make_model(model_name, sampler)
        t0 = time.perf_counter()
        inputs = model.inputs(frame)
        agg_times.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit_inputs(inputs, random_seed=i)
        fit_times.append(time.perf_counter() - t0)
        fit_cpu.append(time.process_time() - c0)
    diag = model.diagnostics()
    return {
        "rows": len(frame),
        "model": model_name,
        "sampler": sampler,
        "cells": len(inputs),
        "aggregate_s": statistics.median(agg_times),
        "fit_s": statistics.median(fit_times),
        "fit_cpu_s": statistics.median(fit_cpu),
        "peak_rss_mb": peak_rss_mb(),
        "export_rss_mb": base_rss,
        "ok": diag.ok,
        "min_ess": diag.min_ess_bulk,
        "method": model.sampling_.get("method", sampler),
    }


def measure_bernoulli(n_rows: int, draws: int) -> dict:
    """Same win-rate model, aggregated cells against one Bernoulli row per deal."""
    import numpy as np
    import nutpie
    import pymc as pm

    from pipeline_models.data.aggregate import group_levels
    from pipeline_models.models import WinRateModel

    frame = export(n_rows, n_owners=40)
    model = WinRateModel(parametrization="noncentred")
    inputs = model.inputs(frame)
    model._set_inputs(inputs, 1)
    terms = list(model.terms_)
    aggregated = model._build()

    closed = frame[frame["status"].isin(["won", "lost"])].reset_index(drop=True)
    levels = group_levels(closed, terms)
    with pm.Model(coords=model._coords()) as per_deal:
        eta = pm.Normal("intercept", 0.0, 1.5)
        for term in terms:
            idx = np.searchsorted(model.terms_[term], levels[term].to_numpy().astype(str))
            sd = pm.HalfNormal(f"sd_{term}", 1.0)
            z = pm.ZeroSumNormal(f"z_{term}", sigma=1.0, dims=term)
            eta = eta + (sd * z)[idx]
        pm.Bernoulli("won", logit_p=eta, observed=(closed["status"] == "won").to_numpy())

    out = {
        "rows": len(frame),
        "closed": len(closed),
        "cells": len(inputs),
        "levels": sum(len(v) for v in model.terms_.values()),
        "draws": draws,
    }
    for label, pm_model in (("aggregated", aggregated), ("per_deal", per_deal)):
        logp_dlogp = pm_model.logp_dlogp_function(ravel_inputs=True)
        logp_dlogp.set_extra_values({})
        point = np.concatenate([np.ravel(v) for v in pm_model.initial_point().values()])
        logp_dlogp(point)
        t0 = time.perf_counter()
        n_eval = 200 if label == "aggregated" else 20
        for _ in range(n_eval):
            logp_dlogp(point)
        out[f"{label}_grad_ms"] = (time.perf_counter() - t0) / n_eval * 1000
        compiled = nutpie.compile_pymc_model(pm_model, backend="numba")
        t0 = time.perf_counter()
        nutpie.sample(
            compiled, draws=draws, tune=draws, chains=2, cores=2, seed=1, progress_bar=False
        )
        out[f"{label}_sample_s"] = time.perf_counter() - t0
    out["grad_ratio"] = out["per_deal_grad_ms"] / out["aggregated_grad_ms"]
    out["sample_ratio"] = out["per_deal_sample_s"] / out["aggregated_sample_s"]
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# ------------------------------------------------------------------------------ driver
def run_child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10**4, 10**5, 10**6])
    parser.add_argument("--with-10m", action="store_true", help="add an export of 10^7 rows")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-bernoulli", action="store_true")
    parser.add_argument("--bernoulli-rows", type=int, default=10**5)
    parser.add_argument("--bernoulli-draws", type=int, default=300)
    parser.add_argument("--skip-samplers", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "fit":
            result = measure_fit(int(rest[0]), rest[1], int(rest[2]), rest[3])
        else:
            result = measure_bernoulli(int(rest[0]), int(rest[1]))
        print(json.dumps(result))
        return 0

    sizes = list(args.sizes) + ([10**7] if args.with_10m else [])
    print(
        f"{'rows':>10} {'model':<11} {'cells':>6} {'aggregate s':>11} {'fit s':>7} "
        f"{'fit cpu s':>9} {'peak MB':>8}  converged"
    )
    for n in sizes:
        for name in args.models:
            r = run_child(["fit", str(n), name, str(args.repeats), "laplace"])
            print(
                f"{r['rows']:>10} {name:<11} {r['cells']:>6} {r['aggregate_s']:>11.3f} "
                f"{r['fit_s']:>7.1f} {r['fit_cpu_s']:>9.1f} {r['peak_rss_mb']:>8.0f}  "
                f"{r['ok']} (min ESS {r['min_ess']:.0f})",
                flush=True,
            )

    if not args.skip_samplers:
        print(
            "\nsampler comparison (10^4-row export, one fit each, wall s / CPU s of this process)"
        )
        for name in args.models:
            for sampler in ("laplace", "nutpie", "pymc"):
                r = run_child(["fit", str(10**4), name, "1", sampler])
                print(
                    f"  {name:<11} {sampler:<7} fit {r['fit_s']:6.1f} s  cpu {r['fit_cpu_s']:6.1f}"
                    f" s  peak {r['peak_rss_mb']:5.0f} MB  min bulk ESS {r['min_ess']:6.0f}"
                    f" ({r['min_ess'] / r['fit_s']:5.1f} per s)  converged {r['ok']} ({r['method']})",
                    flush=True,
                )

    if not args.skip_bernoulli:
        r = run_child(["bernoulli", str(args.bernoulli_rows), str(args.bernoulli_draws)])
        print(
            f"\nwin-rate model, {r['rows']} rows ({r['closed']} closed), {r['levels']} group "
            f"levels, {r['cells']} cells; {r['draws']} tune + {r['draws']} draws x 2 chains"
        )
        print(
            f"  logp+gradient: aggregated {r['aggregated_grad_ms']:.3f} ms, per deal "
            f"{r['per_deal_grad_ms']:.2f} ms (x{r['grad_ratio']:.0f})"
        )
        print(
            f"  sampling:      aggregated {r['aggregated_sample_s']:.1f} s, per deal "
            f"{r['per_deal_sample_s']:.1f} s (x{r['sample_ratio']:.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
