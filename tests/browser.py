"""Report pages as a reader's browser shows them: what the browser tests check, and Chromium.

The DevTools client is ``scripts/browser_pages.py`` (also used by ``scripts/screenshot_pages.py``),
loaded here by its path. :func:`page_problems` lists what is wrong with one page at 1280 px:
a page wider than the window, words a reader should not meet outside the appendix, an image
without alt text; each with enough of its surroundings to find it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _browser_pages():
    path = ROOT / "scripts" / "browser_pages.py"
    spec = importlib.util.spec_from_file_location("browser_pages", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


browser_pages = _browser_pages()
Chromium = browser_pages.Chromium
WIDTH = browser_pages.WIDTH
INSTALL_SECONDS = 600


def chromium_or_skip() -> str:
    """The Chromium executable; installed with apt-get where missing (as root), else a skip."""
    found = browser_pages.find_chromium()
    if found:
        return found
    reason = _install_chromium()
    found = browser_pages.find_chromium()
    if not found:
        pytest.skip(f"Chromium is not installed: {reason}")
    return found


def _install_chromium() -> str:
    apt = shutil.which("apt-get")
    if not apt:
        return "no apt-get to install it with"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not running as root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "--no-install-recommends", "chromium"]
    try:
        done = subprocess.run(
            install, capture_output=True, text=True, timeout=INSTALL_SECONDS, env=env
        )
        if done.returncode != 0:  # empty package lists: read them once, then try again
            subprocess.run([apt, "update"], capture_output=True, timeout=INSTALL_SECONDS, env=env)
            done = subprocess.run(
                install, capture_output=True, text=True, timeout=INSTALL_SECONDS, env=env
            )
    except subprocess.TimeoutExpired:
        return f"apt-get took more than {INSTALL_SECONDS} s"
    return "installed" if done.returncode == 0 else f"apt-get failed: {done.stderr[-400:]}"


# ---------------------------------------------------------------------------------------------
# What one page shows

FACTS = """(() => {
  const appendix = [...document.querySelectorAll('section.appendix')];
  appendix.forEach(s => { s.style.display = 'none'; });
  const text = document.body.innerText;
  appendix.forEach(s => { s.style.display = ''; });
  const limit = document.documentElement.clientWidth;
  const describe = e => e.tagName.toLowerCase() + [...e.classList].map(c => '.' + c).join('');
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > limit + 0.5)
    .filter(e => !(e.parentElement && e.parentElement.closest('.table-wrap')))
    .slice(0, 5)
    .map(e => `${describe(e)} (right edge ${Math.round(e.getBoundingClientRect().right)} px): `
      + e.innerText.replace(/\\s+/g, ' ').slice(0, 80));
  let heading = '(top of the page)';
  const images = [];
  for (const e of document.querySelectorAll('h1, h2, h3, img')) {
    if (e.tagName !== 'IMG') { heading = e.innerText.trim(); continue; }
    images.push({alt: e.getAttribute('alt'), heading});
  }
  return {scrollWidth: document.documentElement.scrollWidth, text, wide, images};
})()"""
"""The page's width, its visible text outside the appendix, what sticks out, and its images."""

STRAY_WORDS = (
    ("nan", re.compile(r"\b(?:nan|NaN|NAN)\b")),
    ("None", re.compile(r"\bNone\b")),
    ("bare n/a", re.compile(r"(?<![\w/])n/a(?![\w/])", re.IGNORECASE)),
    ("sampler word", re.compile(r"\bR-?hat\b", re.IGNORECASE)),
    ("sampler word", re.compile(r"\bESS\b")),
    ("sampler word", re.compile(r"\bdivergen(?:t|ces?)\b", re.IGNORECASE)),
    ("trailing .0", re.compile(r"(?<![\w.])\d[\d,]*\.0\b(?!\.\d)")),
)
"""Words a reader should not meet outside the appendix, with the name a failure gives them."""
CONTEXT = 45
"""Characters shown either side of a stray word."""


def page_facts(browser, page: Path) -> dict:
    """What the page shows at the browser's width (see :data:`FACTS`)."""
    browser.open(page)
    return browser.evaluate(FACTS)


def stray_words(text: str) -> list[str]:
    """Each stray word of ``text`` with its surroundings, in page order."""
    found = []
    for name, pattern in STRAY_WORDS:
        for match in pattern.finditer(text):
            before = text[max(match.start() - CONTEXT, 0) : match.start()]
            after = text[match.end() : match.end() + CONTEXT]
            snippet = re.sub(r"\s+", " ", f"{before}[{match.group(0)}]{after}").strip()
            found.append((match.start(), f"{name}: ...{snippet}..."))
    return [message for _, message in sorted(found)]


def width_problems(facts: dict, width: int = WIDTH) -> list[str]:
    if facts["scrollWidth"] <= width:
        return []
    return [f"the page is {facts['scrollWidth']} px wide at {width} px; sticking out:"] + [
        f"  {element}" for element in facts["wide"]
    ]


def image_problems(facts: dict) -> list[str]:
    return [
        f"image {i + 1} (under '{image['heading']}') has no alt text"
        for i, image in enumerate(facts["images"])
        if not (image["alt"] or "").strip()
    ]


def page_problems(browser, page: Path) -> list[str]:
    """Everything wrong with one page at 1280 px: width, stray words, images without alt text."""
    facts = page_facts(browser, page)
    return width_problems(facts) + stray_words(facts["text"]) + image_problems(facts)
