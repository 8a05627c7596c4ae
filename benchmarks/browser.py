"""A live page and a real browser, for the browser test, the load test and the page benchmarks.

- ``StreamlitServer`` / ``streamlit_server()``: ``streamlit run app.py`` on a free 127.0.0.1 port (loopback
  only) in its own process group, so stopping it ends its children too; it is ready once
  ``/_stcore/health`` answers.
- ``chromium()``: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright's sync API, with the flags
  this sandbox needs; ``CHROMIUM_LAUNCH`` holds the same options for Playwright's async API.

Nothing here is part of ``gru_viz``: the package never imports Streamlit or Playwright.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["APP", "CHROMIUM", "CHROMIUM_ARGS", "CHROMIUM_LAUNCH", "ROOT", "STARTUP_TIMEOUT", "StreamlitServer",
           "chromium", "free_port", "require_chromium", "streamlit_server"]

ROOT = Path(__file__).resolve().parent.parent  # the checkout: benchmarks/ sits beside app.py
APP = ROOT / "app.py"
CHROMIUM = "/usr/bin/chromium"  # Debian's build; `playwright install` cannot download a browser here
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # without these Chromium keeps trying outside connections the machine does not allow
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CHROMIUM_LAUNCH = {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}
STARTUP_TIMEOUT = 90  # seconds: a cold start imports torch on 2 shared cores


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamlitServer:
    """``streamlit run <app>`` on 127.0.0.1:<free port>, started at construction; ``wait_ready`` waits for
    its health check, ``stop`` ends the whole process group. ``env``: extra environment variables (e.g.
    ``GRU_VIZ_MODELS``); ``log``: where its output goes (default: a temporary file); ``port``: a given port (a
    restarted server on its predecessor's port), else a free one."""

    def __init__(self, app: Path = APP, *, env: dict | None = None, log: Path | None = None, port: int | None = None):
        app = Path(app)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(log) if log else Path(tempfile.mkstemp(prefix="streamlit-", suffix=".log")[1])
        command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(self.port),
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, cwd=app.parent, stdout=out, stderr=subprocess.STDOUT,
                                            env={**os.environ, **(env or {})},
                                            start_new_session=True)  # own process group: stop ends children

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Return once ``/_stcore/health`` answers 200; ``RuntimeError`` (with the log) if the server exits
        or does not answer within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.process.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer {self.url}/_stcore/health within {timeout:.0f} s:\n"
                                   f"{self.log_text()[-4000:]}")
            time.sleep(0.5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, signals=((signal.SIGTERM, 10), (signal.SIGKILL, 5))) -> None:
        """Signal the server's process group, escalating until it has exited."""
        for sig, wait in signals:
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=wait)
                return
            except ProcessLookupError:
                return
            except subprocess.TimeoutExpired:
                continue


@contextmanager
def streamlit_server(app: Path = APP, *, env: dict | None = None, log: Path | None = None,
                     timeout: float = STARTUP_TIMEOUT) -> Iterator[StreamlitServer]:
    """A ready ``StreamlitServer`` for the ``with`` block; it is stopped (with its children) on exit."""
    server = StreamlitServer(app, env=env, log=log)
    try:
        server.wait_ready(timeout)
        yield server
    finally:
        server.stop()


def require_chromium() -> None:
    """``RuntimeError`` naming the fix when Playwright or Debian's Chromium is missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise RuntimeError("the browser needs the playwright package: pip install -r requirements-dev.txt") from None
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"the browser needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")


@contextmanager
def chromium():
    """Headless Debian Chromium through Playwright's sync API (a ``playwright`` ``Browser``), closed on exit."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**CHROMIUM_LAUNCH)
        try:
            yield browser
        finally:
            browser.close()
