"""What a hostile export costs `pipeline-reports validate`: wall time, peak memory, output size.

Each case writes one file that used to take minutes and gigabytes, then runs `validate` on it in a
fresh process, sampling the resident memory of the process tree every 50 ms (the sampler of
``bench/monthly_run.py``). Printed per case: the exit code, wall seconds, peak memory, bytes
printed, and the first line of the message. A bounded loader refuses each with exit 2 in seconds
and a short message.

Usage::

    python bench/bounded_inputs.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from monthly_run import tree_rss  # noqa: E402

HEADER = "opportunity_id,created_date,close_date,stage,status,amount"


def wide_header(folder: Path) -> Path:
    """About 14 MB: 10^6 header columns."""
    path = folder / "wide_header.csv"
    names = ",".join(f"column_{i:07d}" for i in range(1_000_000))
    path.write_text(f"{HEADER},{names}\nA1,2025-01-05,2025-02-10,Won,won,10\n")
    return path


def long_labels(folder: Path) -> Path:
    """1,000 deals whose product names are 100 KB each."""
    path = folder / "long_labels.csv"
    label = "x" * 100_000
    rows = [f"A{i},2025-01-05,2025-02-10,Closed Won,won,10,{label}{i % 7}" for i in range(1_000)]
    path.write_text(f"{HEADER},product\n" + "\n".join(rows) + "\n")
    return path


def repeated_parquet(folder: Path) -> Path:
    """A small Parquet file (dictionary-encoded) of 2 million 1,000-character strings."""
    path = folder / "repeated.parquet"
    n = 2_000_000
    frame = pd.DataFrame(
        {
            "opportunity_id": pd.RangeIndex(n).astype(str),
            "created_date": "2025-01-05",
            "close_date": "2025-02-10",
            "stage": "s" * 1_000,
            "status": "won",
            "amount": 10.0,
        }
    )
    frame.to_parquet(path, index=False)
    return path


def many_rows_xlsx(folder: Path) -> Path:
    """An Excel sheet of 600,000 rows, over the sheet limit."""
    from openpyxl import Workbook

    path = folder / "many_rows.xlsx"
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER.split(","))
    for i in range(600_000):
        sheet.append([f"A{i}", "2025-01-05", "2025-02-10", "Closed Won", "won", 10])
    book.save(path)
    return path


def named_pipe(folder: Path) -> Path:
    path = folder / "pipe.csv"
    os.mkfifo(path)
    return path


CASES = {
    "10^6 header columns": wide_header,
    "100 KB labels": long_labels,
    "Parquet, 2M repeated 1 KB strings": repeated_parquet,
    "Excel, 600,000 rows": many_rows_xlsx,
    "named pipe": named_pipe,
}


def measure(path: Path) -> tuple[int, float, int, int, str]:
    """Exit code, wall seconds, peak tree memory, bytes printed and first line of a validate."""
    command = [sys.executable, "-m", "pipeline_models.cli", "validate", "--export", str(path)]
    t0 = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate(timeout=600)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - t0
    said = (err or out).decode(errors="replace").strip().splitlines()
    return process.returncode, seconds, peak, len(out) + len(err), " ".join(said[:2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bounded_"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'case':<36} {'exit':>4} {'seconds':>8} {'peak MiB':>9} {'printed':>8}  message")
    for name, make in CASES.items():
        t0 = time.perf_counter()
        path = make(folder)
        size = path.stat().st_size if path.is_file() else 0
        code, seconds, peak, printed, first = measure(path)
        print(
            f"{name:<36} {code:>4} {seconds:>8.1f} {peak / 2**20:>9.0f} {printed:>8,}  "
            f"{first[:140]}   (file {size / 2**20:.1f} MiB, written in "
            f"{time.perf_counter() - t0 - seconds:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
