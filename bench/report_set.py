"""Wall and CPU time of what `make report` does after the install: the sample, then the run.

Each repeat starts cold (a new output folder, an empty fit cache and a fresh PyTensor compile
folder) and runs each step in a new process, as `make report` does on a fresh clone. ``--tree``
times another checkout of the project with this environment (its ``src`` first on the path), so
two versions can be compared in one sitting on the same machine.

Usage::

    python bench/report_set.py                       # this checkout, 3 repeats
    python bench/report_set.py --tree ../other --repeats 1
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PERIOD, PREVIOUS, SEED = "2026-10", "2026-09", "20261"


def _breakdown(reports: Path) -> dict[str, tuple[float, float]]:
    """Seconds of the run's fit step and of its reports (execute and render), from its manifest
    (CPU time is not recorded per step: the second figure repeats the first)."""
    import json

    manifest = json.loads((reports / PERIOD / "manifest.json").read_text())
    fits = float(manifest["timings_s"].get("model_fits", 0.0))
    shown = sum(
        r.get("execute_s", 0.0) + r.get("render_s", 0.0) for r in manifest["reports"].values()
    )
    return {"  fits": (fits, fits), "  reports": (shown, shown)}


def _timed(command: list[str], env: dict, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds (this child and its children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def one_repeat(tree: Path) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory(prefix="report-set-") as tmp:
        tmp = Path(tmp)
        env = {
            **os.environ,
            "PYTHONPATH": str(tree / "src"),
            "PYTENSOR_FLAGS": f"base_compiledir={tmp / 'pytensor'}",
            "PIPELINE_NOTEBOOKS": str(tree / "notebooks"),
        }
        cli = [sys.executable, "-m", "pipeline_models.cli"]
        sample = tmp / "sample"
        exports = sample / "exports"
        steps = {
            "sample": _timed([*cli, "sample", "--out", str(sample), "--seed", SEED], env, tree)
        }
        steps["run"] = _timed(
            [
                *cli,
                "run",
                "--export",
                str(exports / f"opportunities_{PERIOD}.csv"),
                "--leads",
                str(exports / f"leads_{PERIOD}.csv"),
                "--previous-export",
                str(exports / f"opportunities_{PREVIOUS}.csv"),
                "--period",
                PERIOD,
                "--out",
                str(tmp / "reports"),
                "--data",
                str(tmp / "data"),
                "--seed",
                SEED,
            ],
            env,
            tree,
        )
        return {**steps, **_breakdown(tmp / "reports")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to time")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = [one_repeat(args.tree.resolve()) for _ in range(args.repeats)]
    print(f"{args.tree.resolve()}: {args.repeats} cold repeat(s), medians")
    print(f"{'step':<8} {'wall s':>8} {'cpu s':>8}")
    for step in ("sample", "run", "  fits", "  reports"):
        wall = statistics.median(r[step][0] for r in runs)
        cpu = statistics.median(r[step][1] for r in runs)
        print(f"{step:<8} {wall:>8.1f} {cpu:>8.1f}")
    total = statistics.median(r["sample"][0] + r["run"][0] for r in runs)
    print(f"{'total':<8} {total:>8.1f}")


if __name__ == "__main__":
    main()
