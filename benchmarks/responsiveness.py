"""Does one heavy session stall the others? ``python -m benchmarks.responsiveness [--workers 1]``

Starts ``streamlit run app.py`` (``$GRU_VIZ_HEAVY_WORKERS`` = ``--workers``: 0 computes the heavy views in the
sessions' own threads, as the server did before its worker) and two headless Chromium browsers at 1400×900:

- the **heavy** session opens *Memory dynamics*, types a new 250-word text and switches on every view (gradient
  flow, connectivity, fixed points, integrated gradients), then every view of *Across the data set* (memory
  statistics, the unit search, the forced gates, the data-set gradient flow), then goes back to *Memory dynamics*
  and types a new 250-word text again and again, every view switched on (leaving the page resets its switches),
  so its views are computed afresh until the reader is done;
- the **reader** types new 20-word sentences on *Read a sentence* and times each redraw as
  ``benchmarks.browser_bench`` does (from Ctrl+Enter until every chart has drawn it): first ``--alone`` sentences
  with the heavy session idle, then ``--sentences`` while it computes.

It prints the reader's median and worst redraw, alone and beside the heavy session, against the goal (median
≤ 0.5 s, worst ≤ 1 s), and how many 250-word rounds the heavy session finished meanwhile. A script, not a test;
on a machine other jobs share, its figures are pessimistic: compare runs made in the same conditions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

from benchmarks.browser import APP, StreamlitServer, chromium
from benchmarks.browser_bench import SENTENCES, TIMEOUT_MS, VIEWPORT, redraw_ms
from benchmarks.texts import sentences

__all__ = ["GOAL_MEDIAN_MS", "GOAL_WORST_MS", "HEAVY_VIEWS", "main"]

GOAL_MEDIAN_MS, GOAL_WORST_MS = 500.0, 1000.0
HEAVY_WORDS = 250
HEAVY_VIEWS = {  # page → the toggles of its heavy views, in the page's order
    "dataset": ("memory_on", "search_on", "ablation_on", "flow_on"),
    "dynamics": ("sentence_flow_on", "research_connectivity_on", "research_fixed_on", "research_ig_on"),
}
_IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
              && !document.querySelector('[data-stale="true"]')"""


class HeavySession(threading.Thread):
    """The session that computes every heavy view, on new 250-word texts until ``stop`` is set."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url, self.stop, self.computing = url, threading.Event(), threading.Event()
        self.rounds: list[float] = []  # seconds per 250-word round on Memory dynamics, every view on
        self.dataset_seconds = float("nan")  # the data-set views, switched on one after the other
        self.error: str | None = None
        self.exceptions = 0  # exception boxes on its page at the end: a view that failed

    def run(self) -> None:
        try:
            with chromium() as browser:
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.set_default_timeout(TIMEOUT_MS * 3)
                texts = iter(sentences(1000, HEAVY_WORDS, seed=7))
                page.goto(f"{self.url}/dynamics", wait_until="commit")
                page.wait_for_selector(".st-key-" + HEAVY_VIEWS["dynamics"][0])
                self.computing.set()
                self._new_text(page, next(texts), HEAVY_VIEWS["dynamics"])
                page.locator('a[href$="/dataset"]').first.click()
                page.wait_for_selector(".st-key-" + HEAVY_VIEWS["dataset"][0])
                started = time.perf_counter()
                for key in HEAVY_VIEWS["dataset"]:
                    self._switch_on(page, key)
                self.dataset_seconds = time.perf_counter() - started
                page.locator('a[href$="/dynamics"]').first.click()
                page.wait_for_selector(".st-key-" + HEAVY_VIEWS["dynamics"][0])
                while not self.stop.is_set():  # the switches were reset by leaving the page: each round sees to them
                    self._new_text(page, next(texts), HEAVY_VIEWS["dynamics"])
                self.exceptions = page.locator('[data-testid="stException"]').count()
        except Exception as error:  # reported with the figures, never a traceback
            self.error = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
        finally:
            self.computing.set()

    def _switch_on(self, page, key: str) -> None:
        if page.locator(f".st-key-{key} input").first.is_checked():
            return  # already on: a click would switch it off
        page.locator(f".st-key-{key} label").first.click()
        page.wait_for_timeout(300)  # the rerun has started
        page.wait_for_function(_IDLE, polling=100)

    def _new_text(self, page, text: str, toggles=()) -> None:
        started = time.perf_counter()
        area = page.locator("textarea").first
        area.fill(text)
        area.press("Control+Enter")
        page.wait_for_timeout(300)
        page.wait_for_function(_IDLE, polling=100)
        for key in toggles:
            self._switch_on(page, key)
        self.rounds.append(time.perf_counter() - started)


def _line(name: str, times: list[float]) -> str:
    if not times:
        return f"{name:<34} no redraws measured"
    median, worst = statistics.median(times), max(times)
    verdict = "within" if median <= GOAL_MEDIAN_MS and worst <= GOAL_WORST_MS else "OVER"
    return (f"{name:<34} median {median:6.0f} ms, worst {worst:6.0f} ms (n={len(times)})  {verdict} the goal "
            f"(median ≤ {GOAL_MEDIAN_MS:.0f}, worst ≤ {GOAL_WORST_MS:.0f})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.responsiveness", description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="the server's heavy-view workers (0: in the "
                                                               "sessions' threads; default: %(default)s)")
    parser.add_argument("--alone", type=int, default=5, help="sentences typed with the heavy session idle")
    parser.add_argument("--sentences", type=int, default=15, help="sentences typed while it computes")
    args = parser.parse_args(argv)
    if not 0 <= args.workers <= 4 or not 1 <= args.alone <= 50 or not 1 <= args.sentences <= 100:
        parser.error("workers must lie in 0 … 4, alone and sentences in 1 … 50 and 1 … 100")

    pool = list(sentences(args.alone + args.sentences, seed=11)) + list(SENTENCES)
    server = StreamlitServer(APP, env={"GRU_VIZ_HEAVY_WORKERS": str(args.workers)})
    started = time.perf_counter()
    try:
        server.wait_ready()
        with chromium() as browser:
            alone = redraw_ms(browser, f"{server.url}/", pool[:args.alone])
            heavy = HeavySession(server.url)
            heavy.start()
            heavy.computing.wait()
            time.sleep(2)  # its first view is under way
            beside = redraw_ms(browser, f"{server.url}/", pool[args.alone:args.alone + args.sentences])
            heavy.stop.set()
            heavy.join(timeout=TIMEOUT_MS / 1000)
    finally:
        server.stop()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"app.py with {args.workers} heavy-view worker(s), {VIEWPORT['width']}×{VIEWPORT['height']} headless "
          f"Chromium, load average {load} on {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s in all")
    print(_line("reader's redraw, alone", alone))
    print(_line("reader's redraw, beside the heavy", beside))
    rounds = ", ".join(f"{seconds:.1f}" for seconds in heavy.rounds) or "still in the first when the reader finished"
    print(f"heavy session: {len(heavy.rounds)} rounds of every view on a {HEAVY_WORDS}-word text meanwhile "
          f"(seconds each, the first switching them on: {rounds}); the data-set views "
          f"{heavy.dataset_seconds:.1f} s")
    if heavy.error:
        print(f"heavy session stopped: {heavy.error}")
    if heavy.exceptions:
        print(f"heavy session: {heavy.exceptions} exception box(es) on its page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
