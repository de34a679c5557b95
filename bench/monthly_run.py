"""Wall time and peak memory of `pipeline-reports run` as the export grows.

For each size a synthetic export is generated (the sample generator, without leads), then the full
monthly run is timed twice in fresh processes:

* cold: empty fit cache and a fresh PyTensor compile folder,
* warm: the same period again (fits come from the cache; only the reports run).

With ``--levers`` the smallest size is also run cold with the hierarchical fits sampled by NUTS
(``--fit sampler=nutpie``: the run before the Laplace fit), so the lever's effect is measured in the
same run of the benchmark, and one report is rerun as an analyst does in JupyterLab: a live kernel
runs the forecast notebook on the warm run's folder, then again after a parameter change (fits
cached); the rerun is compared with the report's own cell work (its cells in the live kernel's
first run, less the imports a fresh kernel pays).

The breakdown comes from the run's manifest and executed notebooks: archive, load and validate,
each model's aggregation and fit (or cache load), and for each report the kernel start and
papermill overhead, its first cell (imports, loading the table, loading the fits, the main
computation), its other cells (tables and figures) and the HTML rendering. Peak memory is the largest resident set of the run's process
tree (the runner and its notebook kernels), sampled every 0.2 s. CPU time (user and system, all
processes of the run) is printed beside the wall time: on a shared machine it is the steadier
figure.

Usage::

    python bench/monthly_run.py                  # 10^4, 10^5, 10^6 rows
    python bench/monthly_run.py --sizes 1e4 1e7  # any sizes
    python bench/monthly_run.py --jobs 2         # reports side by side
    python bench/monthly_run.py --sizes 1e4 1e6 --levers --repeats 3   # the figures of docs/performance.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 1_000_000


def write_export(n: int, path: Path, seed: int = 7) -> float:
    """Write a synthetic export of ``n`` opportunities (in chunks of 10^6); return seconds."""
    from pipeline_models.data import synthetic as sample

    t0 = time.perf_counter()
    first = True
    remaining, part = n, 0
    config = sample.SampleConfig()
    with open(path, "w", encoding="utf-8") as handle:
        while remaining > 0:
            size = min(remaining, CHUNK)
            history = sample.simulate_history(
                replace(config, n_opportunities=size, with_leads=False), random_seed=seed + part
            )
            frame, _ = sample.snapshot(history, config.end)
            if part:
                frame["opportunity_id"] = f"C{part}-" + frame["opportunity_id"].astype(str)
            frame.to_csv(handle, index=False, header=first)
            first = False
            remaining -= size
            part += 1
    return time.perf_counter() - t0


def tree_rss(pid: int) -> int:
    """Resident memory in bytes of a process and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().split(")")[-1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
        todo.extend(children.get(current, []))
    return total


def cell_seconds(notebook: Path) -> list[float]:
    """Seconds of each code cell after the parameters, from papermill's metadata."""
    if not notebook.exists():
        return []
    cells = json.loads(notebook.read_text())["cells"]
    times = []
    for cell in cells:
        meta = cell.get("metadata", {})
        tags = meta.get("tags", [])
        if cell["cell_type"] != "code" or "parameters" in tags or "injected-parameters" in tags:
            continue
        times.append(float(meta.get("papermill", {}).get("duration") or 0.0))
    return times


IMPORTS = (
    "import matplotlib.pyplot, pandas\n"
    "from pipeline_models.run.catalog import Catalog\n"
    "from pipeline_models.present.display import quiet, show\n"
    "from pipeline_models.analyses.forecast import report"
)
"""What the forecast notebook imports before its work."""


def import_seconds(env: dict) -> float:
    """Seconds a fresh interpreter takes to import what a report notebook imports."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", IMPORTS], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def lab_rerun(run_dir: Path, out: Path) -> dict:
    """The forecast notebook in a live kernel, as in JupyterLab: first run, then a rerun of its
    cells after a parameter change (the fits are cached). Seconds of each."""
    from jupyter_client.manager import start_new_kernel

    cells = json.loads((ROOT / "notebooks" / "forecast.ipynb").read_text())["cells"]
    code = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and "parameters" not in c.get("metadata", {}).get("tags", [])
    ]
    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT / "notebooks"))
    try:

        def execute(source: str) -> None:
            reply = client.execute_interactive(source, timeout=900, output_hook=lambda _m: None)
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"the notebook failed in the live kernel: {reply['content']}")

        execute(
            f"run_dir = {str(run_dir)!r}\noutput_dir = {str(out)!r}\n"
            "target_revenue = 0.0\nbacktest_months = 6"
        )
        t0 = time.perf_counter()
        for source in code:
            execute(source)
        first = time.perf_counter() - t0
        execute("target_revenue = 5_000_000.0")
        t0 = time.perf_counter()
        for source in code:
            execute(source)
        rerun = time.perf_counter() - t0
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return {"first": first, "rerun": rerun}


def timed_run(
    export: Path, work: Path, label: str, jobs: int, env: dict, extra: tuple[str, ...] = ()
) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "pipeline_models.cli",
        "run",
        "--export",
        str(export),
        "--period",
        "2026-10",
        "--out",
        str(work / "reports"),
        "--data",
        str(work / "data"),
        "--cache",
        str(work / "fits"),
        "--jobs",
        str(jobs),
        *extra,
    ]
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    peak = 0
    stop = threading.Event()

    def sample_memory() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    output = proc.communicate()[0]
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 4):
        print(output)
        raise SystemExit(f"{label}: run failed with exit code {proc.returncode}")
    published = work / "reports" / "2026-10"
    manifest = json.loads((published / "manifest.json").read_text())
    steps = dict(manifest["timings_s"])
    for name, report in manifest["reports"].items():
        execute = report.get("execute_s", float("nan"))
        cells = cell_seconds(published / "files" / name / f"{name}.ipynb")
        if cells:
            # kernel start, papermill and nbformat work: what the cells themselves do not take
            steps[f"{name}: kernel and papermill"] = execute - sum(cells)
            steps[f"{name}: first cell (imports, load, models)"] = cells[0]
            steps[f"{name}: other cells (tables, figures)"] = sum(cells[1:])
        else:
            steps[f"{name}: execute"] = execute
        steps[f"{name}: render HTML"] = report.get("render_s", float("nan"))
    return {
        "label": label,
        "run_dir": manifest["parameters"].get("run_dir"),
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_gib": peak / 2**30,
        "steps": steps,
        "cache_hits": manifest.get("models", {}).get("cache_hits"),
    }


def _median_result(runs: list[dict]) -> dict:
    """Medians over repeats of every figure of a (size, label)."""
    out = dict(runs[0])
    for key in ("wall_s", "cpu_s", "peak_gib"):
        out[key] = statistics.median(r[key] for r in runs)
    steps = dict.fromkeys(k for r in runs for k in r["steps"])
    out["steps"] = {
        k: statistics.median(r["steps"].get(k, float("nan")) for r in runs) for k in steps
    }
    out["repeats"] = len(runs)
    return out


def measure(size: int, args: argparse.Namespace, lab: bool) -> tuple[list[dict], dict | None]:
    """Cold and warm runs (and the levers') of one export size, ``args.repeats`` times each."""
    variants = [("cold", ()), ("warm", ())]
    if args.levers and lab:
        variants.append(("cold NUTS", ("--fit", "sampler=nutpie")))
    runs: dict[str, list[dict]] = {label: [] for label, _ in variants}
    rerun = None
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        tmp = Path(tmp)
        export = tmp / "opportunities_2026-10.csv"
        seconds = write_export(size, export)
        print(
            f"{size:>10,} rows: export written in {seconds:.1f} s "
            f"({export.stat().st_size / 2**20:.0f} MiB)",
            flush=True,
        )
        for repeat in range(args.repeats):
            for label, extra in variants:
                # a cold run gets an empty fit cache and compile folder; warm reuses cold's
                work = tmp / f"work-{repeat}-{label.split()[-1] if label != 'warm' else 'cold'}"
                env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={work / 'pytensor'}"}
                result = timed_run(export, work, label, args.jobs, env, extra)
                result["rows"] = size
                runs[label].append(result)
                print(
                    f"{size:>10,} rows {label} #{repeat + 1}: {result['wall_s']:.1f} s, "
                    f"CPU {result['cpu_s']:.1f} s, peak {result['peak_gib']:.2f} GiB",
                    flush=True,
                )
            if args.levers and lab and repeat == 0:
                rerun = lab_rerun(Path(runs["warm"][0]["run_dir"]), tmp / "lab")
    return [_median_result(r) for r in runs.values()], rerun


def print_table(results: list[dict]) -> None:
    steps = list(dict.fromkeys(k for r in results for k in r["steps"]))
    header = f"{'step':<40}" + "".join(f"{r['rows']:>9,} {r['label']:<9}" for r in results)
    print(header)
    print("-" * len(header))
    for step in steps:
        cells = "".join(f"{r['steps'].get(step, float('nan')):>19.1f}" for r in results)
        print(f"{step:<40}{cells}")
    print(f"{'wall time (s)':<40}" + "".join(f"{r['wall_s']:>19.1f}" for r in results))
    print(f"{'CPU time, all processes (s)':<40}" + "".join(f"{r['cpu_s']:>19.1f}" for r in results))
    print(f"{'peak memory (GiB)':<40}" + "".join(f"{r['peak_gib']:>19.2f}" for r in results))


def print_ratios(results: list[dict], rerun: dict | None, imports: float) -> None:
    by = {(r["rows"], r["label"]): r for r in results}
    sizes = sorted({r["rows"] for r in results})
    print(f"\nmedians of {results[0]['repeats']} run(s); ratios of medians")
    for n in sizes:
        cold, warm = by[(n, "cold")], by[(n, "warm")]
        print(f"{n:>10,} rows: cold / warm wall {cold['wall_s'] / warm['wall_s']:.2f}x")
        nuts = by.get((n, "cold NUTS"))
        if nuts:
            print(
                f"{n:>10,} rows: lever, Laplace fits instead of NUTS: cold wall "
                f"{nuts['wall_s']:.1f} s -> {cold['wall_s']:.1f} s "
                f"({nuts['wall_s'] / cold['wall_s']:.2f}x faster), CPU "
                f"{nuts['cpu_s']:.1f} s -> {cold['cpu_s']:.1f} s; cold / warm with NUTS "
                f"{nuts['wall_s'] / warm['wall_s']:.2f}x"
            )
    base = by[(sizes[0], "cold")]
    for n in sizes[1:]:
        r = by[(n, "cold")]
        print(
            f"cold run at {n:,} rows / at {sizes[0]:,} rows: wall "
            f"{r['wall_s'] / base['wall_s']:.2f}x, CPU {r['cpu_s'] / base['cpu_s']:.2f}x"
        )
    if rerun:
        own = rerun["first"] - imports
        print(
            f"JupyterLab, forecast notebook in a live kernel at {sizes[0]:,} rows: first run "
            f"{rerun['first']:.1f} s (imports about {imports:.1f} s), rerun after a parameter "
            f"change {rerun['rerun']:.1f} s = {rerun['rerun'] / own:.2f}x the report's own cell "
            f"work ({own:.1f} s)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each kind (medians)")
    parser.add_argument(
        "--levers", action="store_true", help="also NUTS fits, and the JupyterLab rerun"
    )
    args = parser.parse_args()
    imports = import_seconds(dict(os.environ))
    print(
        f"importing what a report imports takes {imports:.1f} s in a fresh interpreter "
        "(part of every report's first cell)",
        flush=True,
    )
    results, rerun = [], None
    for i, size in enumerate(sorted(args.sizes)):
        measured, lab = measure(int(size), args, lab=i == 0)
        results.extend(measured)
        rerun = rerun or lab
    print()
    print_table(results)
    print_ratios(results, rerun, imports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
