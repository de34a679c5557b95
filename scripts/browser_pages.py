"""Report pages in headless Chromium, driven over the DevTools protocol (no dependency beyond
tornado, which Jupyter brings).

    with Chromium(find_chromium()) as browser:
        browser.open(Path("reports/2026-10/forecast.html"))
        width = browser.evaluate("document.documentElement.scrollWidth")
        browser.screenshot(Path("forecast.png"))

Used by ``scripts/screenshot_pages.py`` and by the browser tests (``tests/browser.py``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

WIDTH = 1280
"""The viewport width pages are checked at: a laptop screen."""
HEIGHT = 900
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on this machine, if any."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


class BrowserError(RuntimeError):
    """Chromium did not start, or did not answer a command."""


class Chromium:
    """A headless Chromium with one tab of ``width`` CSS pixels, closed on exit."""

    def __init__(self, executable: str, width: int = WIDTH, timeout: float = 60.0) -> None:
        self.executable = executable
        self.width = width
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._ids = 0
        self._socket: Any = None
        self._session = ""
        self._process: subprocess.Popen | None = None
        self._profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))

    def __enter__(self) -> Chromium:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        log = (self._profile / "stderr.log").open("wb")
        self._process = subprocess.Popen(
            [
                self.executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._profile / 'data'}",
                f"--window-size={self.width},{HEIGHT}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = self._devtools_url()
        self._socket = self._run(_connect(url))
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _devtools_url(self) -> str:
        """The browser's DevTools address, from the line Chromium writes to stderr."""
        deadline = time.monotonic() + self.timeout
        log = self._profile / "stderr.log"
        while time.monotonic() < deadline:
            for line in log.read_text(errors="replace").splitlines():
                if "DevTools listening on ws://" in line:
                    return line.split("DevTools listening on ", 1)[1].strip()
            if self._process.poll() is not None:
                break
            time.sleep(0.05)
        tail = log.read_text(errors="replace")[-2000:]
        raise BrowserError(f"{self.executable} gave no DevTools address:\n{tail}")

    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(asyncio.wait_for(coroutine, self.timeout))

    def send(self, method: str, **params: Any) -> dict:
        """Send one command (to the tab, once attached) and return its result."""
        self._ids += 1
        message = {"id": self._ids, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        return self._run(self._call(message))

    async def _call(self, message: dict) -> dict:
        await self._socket.write_message(json.dumps(message))
        while True:
            raw = await self._socket.read_message()
            if raw is None:
                raise BrowserError(f"Chromium closed the connection during {message['method']}")
            reply = json.loads(raw)
            if reply.get("id") != message["id"]:
                continue  # an event: not waited for here
            if "error" in reply:
                raise BrowserError(f"{message['method']}: {reply['error']}")
            return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (DevTools runs it despite the page's
        Content-Security-Policy)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, page: Path) -> None:
        """Load a page from disk and wait until it (and its images) finished loading."""
        url = page.resolve().as_uri()
        self.send("Page.navigate", url=url)
        deadline = time.monotonic() + self.timeout
        ready = f"document.readyState === 'complete' && location.href === {json.dumps(url)}"
        while not self.evaluate(ready):
            if time.monotonic() > deadline:
                raise BrowserError(f"{page} did not finish loading")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page (not only the viewport) at the tab's width."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def pdf(self) -> bytes:
        """The page printed to PDF (A4, its print stylesheet applied)."""
        printed = self.send(
            "Page.printToPDF", paperWidth=8.27, paperHeight=11.69, preferCSSPageSize=True
        )
        return base64.b64decode(printed["data"])

    def close(self) -> None:
        """Close the connection, end this Chromium (by its own process) and drop its profile."""
        if self._socket is not None:
            socket, self._socket = self._socket, None
            try:
                self._loop.run_until_complete(_close(socket))
            except Exception:  # noqa: BLE001 - the browser may be gone already
                pass
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._loop.close()
        shutil.rmtree(self._profile, ignore_errors=True)


async def _close(socket: Any) -> None:
    socket.close()
    await asyncio.sleep(0)


async def _connect(url: str) -> Any:
    from tornado.websocket import websocket_connect

    # a full-page screenshot of a long report is several megabytes of base64
    return await websocket_connect(url, max_message_size=512 * 1024 * 1024)
