"""Wall time of `pipeline-reports run-many` against the same units run one after another.

N business units of about D deals each are generated with the sample generator (each unit its
own seed; its opportunities export and leads of 2026-10), with a units file listing them. Then,
in one invocation, each mode runs every unit on fresh folders (reports, archive, fit cache and
PyTensor compile folder of its own, so no unit is skipped as unchanged and every mode starts
equally cold):

* sequential: each unit's exact ``pipeline-reports run`` (:meth:`Unit.command`) in a process of
  its own, one after another, as a shell loop or a cron job per unit would do;
* 1 worker: ``run_many`` (in this process, as ``run-many --workers 1`` does) on a local Dask
  cluster of one worker: the units still one after another, plus the cluster and the roll-up;
* W workers: the same on W workers, the units side by side.

Printed: each unit's time in each mode (for run-many, its run on the worker, its wait from
submission to start, and which worker ran it), the totals, the speed-up of W workers against
sequential, and the scheduling overhead per unit, that is (1-worker wall - roll-up - sequential
wall) / N, also as a share of the median unit time of the sequential mode. The instrumented parts
of each run-many are printed beside it: the local cluster's start, the median wait from
submission to start of the units that started at once, the span from submission to the last
unit's end, and the roll-up. The imports run-many needs in this process (Dask distributed, the
roll-up) are done once before any mode is timed, and said. Before the modes, W busy processes
are run side by side for two seconds against one alone, and again after the modes: the work they
do together is the ceiling of the speed-up the machine gives at that moment (a shared or
oversubscribed machine gives less than W). Peak memory is the largest resident set of this
process and all its children (the cluster's workers, the units' runs and their notebook kernels),
sampled every 0.2 s; CPU time is of the same processes. The modes run in the order above.

The figures are from one run on a shared machine: other work on it moves every wall time, so
quote the ratios within one run (speed-up, overhead against the unit time), not the seconds.
A unit that fails in any mode stops the benchmark with its reason (exit 3): then the figures
would be meaningless.

Usage::

    python bench/run_many.py                          # 4 units of 10^4 deals, 2 workers
    python bench/run_many.py --units 2 --deals 800    # a small check (minutes per mode)
    python bench/run_many.py --modes cluster          # only run-many on W workers
    python bench/run_many.py --workers 4 --keep /tmp/run-many-bench   # keep every output
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monthly_run import tree_rss  # noqa: E402  (resident memory of a process tree)

PERIOD = "2026-10"
MODES = ("sequential", "one-worker", "cluster")
"""The modes, in the order they run: units one after another, run-many on 1 worker, on W."""


@dataclass
class UnitTime:
    name: str
    seconds: float
    waited: float | None = None  # run-many: from submission to start on a worker
    worker: str = ""


@dataclass
class ModeResult:
    mode: str
    label: str
    wall: float
    cpu: float
    peak_gib: float
    units: list[UnitTime]
    timings: dict[str, float] = field(default_factory=dict)  # run-many's instrumented parts


class Failed(Exception):
    """A unit failed (or the roll-up did): the figures of the run are meaningless."""


class Measured:
    """Wall time, CPU time (this process and its reaped children) and the peak resident memory
    of this process's tree over a ``with`` block."""

    def __enter__(self) -> Measured:
        self.peak = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._cpu0 = self._cpu()
        self._t0 = time.perf_counter()
        self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._t0
        self._stop.set()
        self._sampler.join()
        self.cpu = self._cpu() - self._cpu0

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(os.getpid()))
            time.sleep(0.2)

    @staticmethod
    def _cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def write_units(work: Path, n_units: int, deals: int, seed: int) -> tuple[Path, dict[str, int]]:
    """Generate each unit's exports (its own seed) and the units file; the units file's path
    and each unit's number of opportunities in its export."""
    import pandas as pd

    from pipeline_models.data import synthetic as sample

    config = replace(sample.SampleConfig(), n_opportunities=deals)
    lines, rows = ["units:"], {}
    for i in range(n_units):
        name = f"unit{i + 1}"
        out = work / "samples" / name
        sample.write_sample(
            out, config=config, random_seed=seed + i, months=[PERIOD], stage_history=False
        )
        export = out / sample.EXPORTS_DIR / f"opportunities_{PERIOD}.csv"
        leads = out / sample.EXPORTS_DIR / f"leads_{PERIOD}.csv"
        if not export.exists() or not leads.exists():
            raise SystemExit(f"the sample generator wrote no export or leads of {PERIOD} in {out}")
        rows[name] = len(pd.read_csv(export, usecols=[0]))
        lines += [f"  - name: {name}", f"    export: {export}", f"    leads: {leads}"]
    units = work / "units.yml"
    units.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return units, rows


def _cold_compile(folder: Path) -> dict[str, str]:
    """The environment of a mode's runs: a PyTensor compile folder of its own (starts empty)."""
    return {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={folder / 'pytensor'}"}


def run_sequential(units_file: Path, folder: Path, seed: int) -> ModeResult:
    """Each unit's exact ``pipeline-reports run``, one after another, each in its own process
    (its console in ``<reports>/<unit>/.logs/<period>.log``, as run-many keeps it)."""
    from pipeline_models.run.many import ENTRY, failure_reason
    from pipeline_models.run.units import read_units

    units = read_units(units_file)
    reports, data = (folder / "reports").resolve(), (folder / "data").resolve()
    env = _cold_compile(folder)
    times = []
    with Measured() as measured:
        for unit in units:
            log = reports / unit.name / ".logs" / f"{PERIOD}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            with open(log, "w", encoding="utf-8") as out:
                code = subprocess.run(
                    [sys.executable, "-c", ENTRY, *unit.command(PERIOD, reports, data, seed)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    check=False,
                ).returncode
            seconds = time.perf_counter() - t0
            if code != 0:
                raise Failed(
                    f"sequential: {unit.name} failed after {seconds:.0f} s: "
                    f"{failure_reason(log, code)} (log: {log})"
                )
            times.append(UnitTime(unit.name, seconds))
            print(f"  sequential: {unit.name} published in {seconds:.1f} s", flush=True)
    return ModeResult(
        "sequential", "sequential", measured.wall, measured.cpu, measured.peak / 2**30, times
    )


def run_cluster(units_file: Path, folder: Path, seed: int, workers: int, mode: str) -> ModeResult:
    """``run_many`` on a local cluster of ``workers`` worker processes (what ``run-many
    --workers N`` does), its console lines indented."""
    from pipeline_models.run.many import ManyOptions, run_many

    label = f"{workers} worker" + ("s" if workers > 1 else "")
    options = ManyOptions(
        units=units_file,
        period=PERIOD,
        reports_dir=folder / "reports",
        data_dir=folder / "data",
        workers=workers,
        random_seed=seed,
    )
    saved = os.environ.get("PYTENSOR_FLAGS")
    os.environ["PYTENSOR_FLAGS"] = _cold_compile(folder)["PYTENSOR_FLAGS"]  # the workers' own
    try:
        with Measured() as measured:
            result = run_many(options, lambda line: print(f"  {label}: {line}", flush=True))
    finally:
        if saved is None:
            os.environ.pop("PYTENSOR_FLAGS", None)
        else:
            os.environ["PYTENSOR_FLAGS"] = saved
    bad = [o for o in result.outcomes if o.status != "published"]
    if bad:
        raise Failed(
            "\n".join(
                f"{label}: {o.name} {o.status}"
                + (f" after {o.seconds:.0f} s: {o.reason} (log: {o.log})" if o.reason else "")
                for o in bad
            )
        )
    if result.company is None:
        raise Failed(f"{label}: the company roll-up failed (see its lines above)")
    times = [UnitTime(o.name, o.seconds, o.waited, o.worker) for o in result.outcomes]
    return ModeResult(
        mode, label, measured.wall, measured.cpu, measured.peak / 2**30, times, result.timings
    )


BURN = """
import sys, time
start, end = float(sys.argv[1]), float(sys.argv[2])
time.sleep(max(start - time.time(), 0))
n = 0
while time.time() < end:
    n += 1
print(n)
"""
"""A busy loop from ``start`` to ``end`` (epoch seconds); prints its iterations."""


def parallel_capacity(processes: int, seconds: float = 2.0) -> float:
    """How many times the work of one busy process ``processes`` busy processes do side by side
    (at most ``processes``): on a shared or oversubscribed machine, the ceiling of a speed-up."""

    def burn(count: int) -> int:
        start = time.time() + 0.5
        children = [
            subprocess.Popen(
                [sys.executable, "-c", BURN, str(start), str(start + seconds)],
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        return sum(int(child.communicate()[0]) for child in children)

    return burn(processes) / burn(1)


def started_at_once(result: ModeResult) -> list[UnitTime]:
    """The units that started before any unit ended: those the cluster took at once."""
    first_end = min(u.waited + u.seconds for u in result.units)
    return [u for u in result.units if u.waited < first_end]


def span(result: ModeResult) -> float:
    """Seconds from the submission of the units to the end of the last one."""
    return max(u.waited + u.seconds for u in result.units)


def worker_names(result: ModeResult) -> dict[str, str]:
    """Short names of a run-many's workers (w1, w2, ...), by address."""
    return {a: f"w{i + 1}" for i, a in enumerate(sorted({u.worker for u in result.units}))}


def print_units(results: dict[str, ModeResult], rows: dict[str, int]) -> None:
    """Each unit's times in each mode, with the run-many's wait and worker."""
    names = {mode: worker_names(r) for mode, r in results.items() if r.mode != "sequential"}
    header = f"{'unit':<10}{'deals':>8}"
    for r in results.values():
        header += f"{r.label + ' (s)':>17}"
        if r.mode != "sequential":
            header += f"{'wait (s)':>10}{'worker':>8}"
    print(header)
    print("-" * len(header))
    for name in rows:
        line = f"{name:<10}{rows[name]:>8,}"
        for r in results.values():
            u = next(x for x in r.units if x.name == name)
            line += f"{u.seconds:>17.1f}"
            if r.mode != "sequential":
                line += f"{u.waited:>10.1f}{names[r.mode][u.worker]:>8}"
        print(line)
    print("-" * len(header))
    for title, figure in (("sum", sum), ("median", statistics.median)):
        line = f"{title:<10}" + (f"{sum(rows.values()):>8,}" if title == "sum" else " " * 8)
        for r in results.values():
            line += f"{figure([u.seconds for u in r.units]):>17.1f}"
        print(line.rstrip())
    for mode, short in names.items():
        legend = ", ".join(f"{n} = {a}" for a, n in short.items())
        print(f"{results[mode].label}: {legend}")


def print_modes(results: dict[str, ModeResult]) -> None:
    header = f"{'':<44}" + "".join(f"{r.label:>14}" for r in results.values())
    print(header)
    print("-" * len(header))

    def row(title: str, values: list[float | None], fmt: str = ".1f") -> None:
        cells = "".join(f"{v:>14{fmt}}" if v is not None else f"{'':>14}" for v in values)
        print(f"{title:<44}{cells}")

    modes = list(results.values())
    many = [r if r.mode != "sequential" else None for r in modes]
    row("wall time (s)", [r.wall for r in modes])
    row("CPU time, all processes (s)", [r.cpu for r in modes])
    row("peak memory, all processes (GiB)", [r.peak_gib for r in modes], ".2f")
    row("  cluster start (s)", [r.timings.get("cluster start") if r else None for r in many])
    row(
        "  median wait, units started at once (s)",
        [statistics.median(u.waited for u in started_at_once(r)) if r else None for r in many],
    )
    row("  submission to the last unit's end (s)", [span(r) if r else None for r in many])
    row("  roll-up (s)", [r.timings.get("roll-up") if r else None for r in many])
    row(
        "  rest: planning, results, cluster close (s)",
        [
            r.wall - r.timings.get("cluster start", 0) - span(r) - r.timings.get("roll-up", 0)
            if r
            else None
            for r in many
        ],
    )
    row("units started at once", [len(started_at_once(r)) if r else None for r in many], "d")


def print_ratios(results: dict[str, ModeResult], workers: int, capacity: list[float]) -> None:
    seq, one, cluster = (results.get(m) for m in MODES)
    n = len(next(iter(results.values())).units)
    if cluster is not None:
        short = worker_names(cluster)
        counts = {name: 0 for name in short.values()}
        for u in cluster.units:
            counts[short[u.worker]] += 1
        spread = ", ".join(f"{w}: {c} unit(s)" for w, c in counts.items())
        print(f"{cluster.label}: units per worker: {spread}")
        if len(counts) < min(workers, n):
            print(f"  NOTE: the units ran on {len(counts)} of {workers} workers")
    if seq is not None and cluster is not None:
        rollup = cluster.timings.get("roll-up", 0.0)
        ceiling = (
            "; this machine's ceiling before and after the modes "
            + " and ".join(f"{c:.2f}x" for c in capacity)
            if capacity
            else ""
        )
        print(
            f"speed-up, {cluster.label} against sequential: {seq.wall / cluster.wall:.2f}x "
            f"(the whole command), {seq.wall / (cluster.wall - rollup):.2f}x without the roll-up "
            f"(ideal {min(workers, n)}x{ceiling})"
        )
    if seq is not None and one is not None:
        rollup = one.timings.get("roll-up", 0.0)
        overhead = (one.wall - rollup - seq.wall) / n
        median = statistics.median(u.seconds for u in seq.units)
        print(
            f"scheduling overhead per unit, (1-worker wall - roll-up - sequential wall) / N = "
            f"({one.wall:.1f} - {rollup:.1f} - {seq.wall:.1f}) / {n} = {overhead:.1f} s, "
            f"{100 * overhead / median:.1f}% of the median unit time in sequential ({median:.1f} s)"
        )
        runs = (sum(u.seconds for u in one.units) - sum(u.seconds for u in seq.units)) / n
        print(
            f"  of which the units' own runs: {runs:+.1f} s per unit on 1 worker against "
            "sequential (inside each run: the worker's environment or noise, not the scheduler); "
            f"the rest, {overhead - runs:+.1f} s per unit: the cluster's start, the gaps between "
            "units, the close"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=4, help="business units (default 4)")
    parser.add_argument(
        "--deals", type=int, default=10_000, help="opportunities of each unit (default 10000)"
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="workers of the cluster mode (default 2)"
    )
    parser.add_argument(
        "--seed", type=int, default=20261, help="seed of the runs; unit i's sample has seed + i"
    )
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="write everything into DIR (new or empty) and keep it (default: a temporary folder, "
        "removed at the end)",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        help="modes to run (default all): sequential, one-worker (run-many --workers 1), "
        "cluster (run-many --workers W)",
    )
    args = parser.parse_args()
    for option, value in (("--units", args.units), ("--deals", args.deals)):
        if value < 1:
            parser.error(f"{option} must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty; give a new or empty folder")
    modes = [m for m in MODES if m in args.modes]
    from pipeline_models.run.options import RunError

    print(
        "Figures from one run on a shared machine: other work moves the seconds; quote the "
        "ratios within one run.",
        flush=True,
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        work, cleanup = args.keep.resolve(), None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="bench-run-many-")
        work = Path(cleanup.name)
    try:
        t0 = time.perf_counter()
        units_file, rows = write_units(work, args.units, args.deals, args.seed)
        print(
            f"{args.units} unit(s) of about {args.deals:,} deals written in "
            f"{time.perf_counter() - t0:.1f} s ({units_file})",
            flush=True,
        )
        if any(m != "sequential" for m in modes):
            t0 = time.perf_counter()
            import distributed  # noqa: F401  (imported once, outside every timed mode)

            import pipeline_models.run.company  # noqa: F401
            import pipeline_models.run.many  # noqa: F401

            print(
                f"imports of run-many in this process (Dask distributed, the roll-up): "
                f"{time.perf_counter() - t0:.1f} s, before any mode is timed",
                flush=True,
            )
        side_by_side = min(args.workers, args.units)
        capacity = []
        if "cluster" in modes and side_by_side > 1:
            capacity.append(parallel_capacity(side_by_side))
            print(
                f"{side_by_side} busy processes side by side do {capacity[0]:.2f}x the work of "
                f"one ({os.cpu_count()} cores): the ceiling of the speed-up now",
                flush=True,
            )
        results: dict[str, ModeResult] = {}
        for mode in modes:
            folder = work / mode
            print(f"{mode}: outputs in {folder}", flush=True)
            if mode == "sequential":
                results[mode] = run_sequential(units_file, folder, args.seed)
            else:
                workers = 1 if mode == "one-worker" else args.workers
                results[mode] = run_cluster(units_file, folder, args.seed, workers, mode)
            print(f"{mode}: {results[mode].wall:.1f} s", flush=True)
        if capacity:
            capacity.append(parallel_capacity(side_by_side))
            print(
                f"{side_by_side} busy processes side by side, after the modes: "
                f"{capacity[1]:.2f}x the work of one",
                flush=True,
            )
    except Failed as exc:
        print(f"\nA unit failed, so the figures are meaningless:\n{exc}", file=sys.stderr)
        return 3
    except RunError as exc:
        print(f"\nrun-many refused to run: {exc}", file=sys.stderr)
        return 3
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    print(
        f"\n{args.units} unit(s) of about {args.deals:,} deals, period {PERIOD}, "
        f"{os.cpu_count()} cores; one run on a shared machine: quote the ratios, not the seconds\n"
    )
    print_units(results, rows)
    print()
    print_modes(results)
    print()
    print_ratios(results, args.workers, capacity)
    return 0


if __name__ == "__main__":
    sys.exit(main())
