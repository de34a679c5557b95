"""Wall time and peak memory of `pipeline-reports run` as the export grows.

For each size a synthetic export is generated (the sample generator, without leads), then the full
monthly run is timed twice in fresh processes:

* cold: empty fit cache and a fresh PyTensor compile folder,
* warm: the same period again (fits come from the cache; only the reports run).

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
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _tree_rss(pid: int) -> int:
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


def import_seconds(env: dict) -> float:
    """Seconds a fresh interpreter takes to import what a report notebook imports."""
    code = (
        "import matplotlib.pyplot, pandas, pymc, arviz_base; "
        "from pipeline_models import fits, report, potential, leads, patterns, forecast, backtest"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def timed_run(export: Path, work: Path, label: str, jobs: int, env: dict) -> dict:
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
            peak = max(peak, _tree_rss(proc.pid))
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
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_gib": peak / 2**30,
        "steps": steps,
        "cache_hits": manifest.get("models", {}).get("cache_hits"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    results = []
    print(
        f"importing what a report imports takes {import_seconds(dict(os.environ)):.1f} s "
        "in a fresh interpreter (part of every report's first cell)",
        flush=True,
    )
    for size in args.sizes:
        n = int(size)
        with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
            tmp = Path(tmp)
            export = tmp / "opportunities_2026-10.csv"
            seconds = write_export(n, export)
            print(
                f"{n:>10,} rows: export written in {seconds:.1f} s "
                f"({export.stat().st_size / 2**20:.0f} MiB)",
                flush=True,
            )
            env = dict(os.environ)
            env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp / 'pytensor'}"
            for label in ("cold", "warm"):
                result = timed_run(export, tmp / "work", label, args.jobs, env)
                result["rows"] = n
                results.append(result)
                print(
                    f"{n:>10,} rows {label}: {result['wall_s']:.1f} s, "
                    f"CPU {result['cpu_s']:.1f} s, peak {result['peak_gib']:.2f} GiB",
                    flush=True,
                )
    print()
    steps = list(dict.fromkeys(k for r in results for k in r["steps"]))
    header = f"{'step':<34}" + "".join(f"{r['rows']:>11,} {r['label']:<5}" for r in results)
    print(header)
    print("-" * len(header))
    for step in steps:
        cells = "".join(f"{r['steps'].get(step, float('nan')):>17.1f}" for r in results)
        print(f"{step:<34}{cells}")
    print(f"{'wall time (s)':<34}" + "".join(f"{r['wall_s']:>17.1f}" for r in results))
    print(f"{'CPU time, all processes (s)':<34}" + "".join(f"{r['cpu_s']:>17.1f}" for r in results))
    print(f"{'peak memory (GiB)':<34}" + "".join(f"{r['peak_gib']:>17.2f}" for r in results))
    base = next(
        (
            r
            for r in results
            if r["rows"] == min(int(s) for s in args.sizes) and r["label"] == "cold"
        ),
        None,
    )
    if base:
        for r in results:
            if r["label"] == "cold":
                print(
                    f"cold run at {r['rows']:,} rows / at {base['rows']:,} rows: "
                    f"wall {r['wall_s'] / base['wall_s']:.2f}x, CPU {r['cpu_s'] / base['cpu_s']:.2f}x"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
