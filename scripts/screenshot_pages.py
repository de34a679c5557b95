"""Full-page screenshots of every page of a report folder, as a laptop shows them (1280 px wide).

    .venv/bin/python scripts/screenshot_pages.py reports/2026-10 --out /tmp/shots

writes ``<page>.png`` for each ``<page>.html`` of the folder (and, with ``--pdf``, ``<page>.pdf``
as the page prints on A4). Needs Chromium (``chromium`` on the PATH, or ``--chromium``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from browser_pages import WIDTH, Chromium, find_chromium


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a report folder (holds index.html)")
    parser.add_argument("--out", type=Path, help="where the PNGs go (default: the folder)")
    parser.add_argument("--width", type=int, default=WIDTH, help="viewport width in CSS pixels")
    parser.add_argument("--pdf", action="store_true", help="also print each page to PDF")
    parser.add_argument("--chromium", help="the Chromium executable")
    args = parser.parse_args(argv)

    pages = sorted(args.folder.glob("*.html"))
    if not pages:
        print(f"screenshot_pages: no .html page in {args.folder}", file=sys.stderr)
        return 2
    executable = args.chromium or find_chromium()
    if not executable:
        print("screenshot_pages: Chromium not found (give --chromium)", file=sys.stderr)
        return 2
    out = args.out or args.folder
    out.mkdir(parents=True, exist_ok=True)
    with Chromium(executable, width=args.width) as browser:
        for page in pages:
            t0 = time.perf_counter()
            browser.open(page)
            shot = browser.screenshot(out / f"{page.stem}.png")
            if args.pdf:
                (out / f"{page.stem}.pdf").write_bytes(browser.pdf())
            print(f"{shot}  ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
