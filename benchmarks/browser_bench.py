"""How fast every page draws in a real browser: ``python -m benchmarks.browser_bench [--pages read,cell]``.

Starts ``streamlit run app.py`` on a loopback port, opens it in headless Debian Chromium (Playwright) at
1400×900 and measures every page that app.py's ``st.navigation`` lists (read from its source, so a new page is
measured without a change here; ``--pages`` picks some by their URL path). The first page gets all four
measurements below; every other page the last three, on the same running server:

1. **first chart, cold**: from opening the page on a server that has just started until a chart is drawn
   inside the first screen (a Plotly ``.js-plotly-plot .main-svg`` or a Vega-Lite ``svg.marks`` whose top lies
   above the fold). "Started" is when ``/_stcore/health`` first answers: the server has run its warm-up
   (``views/parts/startup.py``: torch, the default model and sentence) by then, and the time from launching
   ``streamlit run`` to that answer is printed as **server start**;
2. **first chart, new tab**: the same in a new tab of a browser that has opened the app before (its HTTP cache
   holds Streamlit's scripts, as a reader's browser does after the first visit), on the running server (its
   caches are full). The goal applies to this one;
3. **first chart, first visit**: the same in a new browser profile with an empty cache (every script is
   downloaded and compiled again): what a reader's very first visit costs;
4. **redraw**: after typing a new sentence (Ctrl+Enter), until every chart on the page has finished
   drawing for it: the last change under any chart (Plotly or Vega-Lite) once Streamlit is idle again, with
   no further change for ``QUIET_MS``. Median over ``--sentences`` new sentences.

A first chart is timed inside the page, on its own clock from the start of the navigation: an observer notes
the first animation frame after a chart's drawing enters the first screen (``_FIRST_CHART_CLOCK``). Polling from
Python would add the wait for the page's main thread, which is busy drawing the rest of the page.

A page that draws no chart in its first screen until asked (a view behind a switch) is reported as such, and one
without a sentence box has no redraw. The table at the end gives every page's medians against the goals
(``GOALS``: first chart ≤ 2 s, redraw ≤ 0.5 s).

A script, not a test: it prints medians (and min/max), it asserts nothing. The machine's load changes
these figures; run it when the machine is quiet and compare runs made in the same conditions.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.browser import APP, chromium, streamlit_server

__all__ = ["GOALS", "SENTENCES", "AppPage", "app_pages", "first_chart_ms", "main", "redraw_ms", "warm_browser_context"]

GOALS = {"first chart": (2000.0, 4000.0), "redraw": (500.0, 1000.0)}  # (median goal, maximum) in ms
BOX_WAIT_MS = 60_000  # a page that shows no text box by then has none (it drew its first chart already)
NO_CHART_MS = 1500  # a page whose script has finished this long with no chart in its first screen draws none
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 120_000  # a cold start imports torch on 2 shared cores
QUIET_MS = 400  # no chart changes for this long after Streamlit is idle: the redraw is over
# 20-word sentences the page has not seen: each one is new to every cache
SENTENCES = (
    "the acting is sharp and warm , but the story drags on and the ending feels dull and slow to me",
    "a clever , funny film with a great cast ; I never expected to love the quiet moments this much",
    "boring from start to end : the jokes fall flat , the plot is thin and the music is far too loud",
    "it is not a bad movie , just a forgettable one with a few good scenes lost in a long middle act",
    "the director has made a warm and honest picture about a family that learns to laugh once again",
    "too long , too loud and too pleased with itself , this sequel wastes a fine cast on weak jokes",
    "I laughed , I cried , and I left the theater wanting to see it again with all of my old friends",
    "a dull , lifeless remake that takes a charming story and turns it into ninety minutes of noise",
    "the first half is slow but the second half is a thrilling ride with a smart and moving finale",
    "never funny , rarely clever and often cruel , the film mistakes shouting for wit at every turn",
    "a small gem : modest , sincere and beautifully played by a cast that clearly loves the material",
    "the plot makes no sense and the actors seem as lost as the audience by the time the credits roll",
)

CHARTS = ".stPlotlyChart, [data-testid=stVegaLiteChart]"  # the containers of a Plotly and a Vega-Lite chart
# The time of the last change inside any chart, kept by one MutationObserver on the document.
_WATCH_CHARTS = """() => {
  if (window.__benchWatch) return;
  window.__benchLast = performance.now();
  window.__benchWatch = new MutationObserver(records => {
    for (const record of records) {
      const node = record.target.nodeType === 1 ? record.target : record.target.parentElement;
      const added = [...record.addedNodes].some(n => n.nodeType === 1 &&
        (n.matches('CHARTS, .js-plotly-plot') || n.querySelector('CHARTS, .js-plotly-plot')));
      if (added || (node && node.closest('CHARTS'))) { window.__benchLast = performance.now(); return; }
    }
  });
  window.__benchWatch.observe(document.body, {subtree: true, childList: true, attributes: true,
                                              characterData: true});
}""".replace("CHARTS", CHARTS)
_IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
              && !document.querySelector('[data-stale="true"]')"""
_FIRST_SCREEN_CHART = """(height) => [...document.querySelectorAll(
    '.js-plotly-plot .main-svg, [data-testid=stVegaLiteChart] svg.marks')].some(svg => {
  const box = svg.getBoundingClientRect();
  return box.height > 0 && box.top < height;
})"""
_CHART_HAS_WORD = """(words) => [...document.querySelectorAll(
    '.js-plotly-plot svg text, [data-testid=stVegaLiteChart] svg text')]
  .some(node => words.some(word => node.textContent.split(/\\s+/).includes(word)))"""


# Set in every new document before its scripts run: performance.now() of the first animation frame painted after a
# chart's drawing entered the first screen (rAF, then a task: the frame is on screen by then).
_FIRST_CHART_CLOCK = """(() => {
  const inFirstScreen = FIRST;
  let pending = false;
  const check = () => {
    pending = false;
    if (window.__firstChart !== undefined || !inFirstScreen(window.innerHeight)) return;
    window.__firstChart = null;
    requestAnimationFrame(() => setTimeout(() => { window.__firstChart = performance.now(); }, 0));
    observer.disconnect();
  };
  const observer = new MutationObserver(() => { if (!pending) { pending = true; queueMicrotask(check); } });
  observer.observe(document, {subtree: true, childList: true, attributes: true});
})();""".replace("FIRST", _FIRST_SCREEN_CHART)


# chart: one is drawn in the first screen; waiting: the page has not begun to draw, its script still runs, an
# element's script chunk is loading, or a chart has not drawn yet (the layout may still move it into the first
# screen)
_PAGE_STATE = """(height) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const undrawn = [...document.querySelectorAll('CHARTS')].filter(box => !box.querySelector('svg'));
  const begun = !!document.querySelector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]');
  // an element whose script chunk is still loading (a chart's, KaTeX's) shows a skeleton meanwhile
  const loading = !!document.querySelector('[data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]');
  return {chart: (FIRST)(height), waiting: !begun || loading || !app
                                          || app.dataset.testScriptState !== 'notRunning' || undrawn.length > 0};
}""".replace("CHARTS", CHARTS).replace("FIRST", _FIRST_SCREEN_CHART)


@dataclass(frozen=True)
class AppPage:
    """A page of app.py's ``st.navigation``: its script, title and URL path ("" for the default page)."""

    script: str
    title: str
    url_path: str


def app_pages(app: Path = APP) -> list[AppPage]:
    """The pages app.py lists in ``st.navigation``, in its order, read from its source (never imported): every
    ``st.Page(script, title=..., url_path=..., default=...)`` call."""
    pages = []
    for node in ast.walk(ast.parse(Path(app).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "Page":
            script = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else ""
            options = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            path = "" if options.get("default") else options.get("url_path", Path(script).stem)
            pages.append(AppPage(script, options.get("title", Path(script).stem), path))
    pages.sort(key=lambda page: page.url_path != "")  # the default page first: its cold start is measured
    return pages


def first_chart_ms(browser, url: str, context=None) -> float | None:
    """Milliseconds from opening ``url`` in a new tab until a chart is drawn in the first screen, on the page's
    clock (``_FIRST_CHART_CLOCK``); None when the page's script has finished and every chart has drawn, and
    ``NO_CHART_MS`` later the first screen holds none (its charts wait for a switch, or lie below the fold).

    In ``context`` (a browser context that has opened the app: a new tab), else in a new context of its own (an
    empty cache: a first visit)."""
    own = context is None
    context = browser.new_context(viewport=VIEWPORT) if own else context
    page = context.new_page()
    try:
        page.add_init_script(_FIRST_CHART_CLOCK)
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        chartless_since = None
        while (time.perf_counter() - started) * 1000 < TIMEOUT_MS:
            drawn = page.evaluate("() => window.__firstChart")
            if drawn:
                return float(drawn)
            seen = page.evaluate(_PAGE_STATE, VIEWPORT["height"])
            now = time.perf_counter()
            chartless_since = None if seen["chart"] or seen["waiting"] else (chartless_since or now)
            if chartless_since and (now - chartless_since) * 1000 >= NO_CHART_MS:
                return None
            page.wait_for_timeout(20)
        raise TimeoutError(f"{url}: no chart and still running after {TIMEOUT_MS / 1000:.0f} s")
    finally:
        page.close()
        if own:
            context.close()


def warm_browser_context(browser, base: str):
    """A browser context that has opened the app once and waited for it to finish: its HTTP cache holds
    Streamlit's scripts, as a returning reader's browser does."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.goto(base, timeout=TIMEOUT_MS)
    page.wait_for_function(_FIRST_SCREEN_CHART, arg=VIEWPORT["height"], timeout=TIMEOUT_MS)
    page.wait_for_function(_IDLE, timeout=TIMEOUT_MS)
    page.close()
    return context


def redraw_ms(browser, url: str, sentences) -> list[float]:
    """Milliseconds per sentence from committing it in the page's text area until every chart has drawn it."""
    context = browser.new_context(viewport=VIEWPORT)
    times = []
    try:
        page = context.new_page()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.wait_for_function(_FIRST_SCREEN_CHART, arg=VIEWPORT["height"], timeout=TIMEOUT_MS)
        page.wait_for_function(_IDLE, timeout=TIMEOUT_MS)
        page.evaluate(_WATCH_CHARTS)
        textarea = page.locator("textarea").first
        for sentence in sentences:
            page.wait_for_timeout(QUIET_MS)  # the previous sentence is settled
            textarea.fill(sentence)
            started = page.evaluate("() => performance.now()")
            textarea.press("Control+Enter")  # a text area commits on Ctrl+Enter
            words = [word for word in sentence.split() if len(word) > 4]
            page.wait_for_function(_CHART_HAS_WORD, arg=words, timeout=TIMEOUT_MS, polling=20)
            # a word may already have been on the page: wait for the first change after the commit too
            page.wait_for_function(f"() => window.__benchLast > {started}", timeout=TIMEOUT_MS, polling=20)
            while True:  # idle, and no chart changed for QUIET_MS
                page.wait_for_function(_IDLE, timeout=TIMEOUT_MS, polling=20)
                quiet = page.evaluate("() => performance.now() - window.__benchLast")
                if quiet >= QUIET_MS:
                    break
                page.wait_for_timeout(QUIET_MS - quiet + 10)
            times.append(page.evaluate("() => window.__benchLast") - started)
        return times
    finally:
        context.close()


def _report(name: str, times: list[float], goal: tuple[float, float]) -> str:
    median = statistics.median(times)
    verdict = "within" if median <= goal[0] and max(times) <= goal[1] else "OVER"
    return (f"{name:<22} median {median:7.0f} ms  (min {min(times):.0f}, max {max(times):.0f}, n={len(times)})"
            f"  {verdict} the goal (median ≤ {goal[0]:.0f}, max ≤ {goal[1]:.0f})")


def _cell(times: list, goal: float) -> str:
    if not times:
        return f"{'-':>18}"
    if any(t is None for t in times):
        return f"{'none until asked':>18}"
    median = statistics.median(times)
    return f"{median:7.0f} ({max(times):5.0f}) {'ok' if median <= goal else '!!'}"


def _has_sentence_box(browser, url: str) -> bool:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_selector("textarea", timeout=BOX_WAIT_MS)
        return True
    except PlaywrightTimeout:
        return False
    finally:
        context.close()


def measure_page(browser, base: str, page: AppPage, warm: int, sentences, context=None) -> dict:
    """{"first chart": [ms or None per new tab], "first visit": [ms or None per empty cache], "redraw": [ms per
    sentence]} of one page on a running server; new tabs open in ``context`` (``warm_browser_context``)."""
    url = f"{base}/{page.url_path}"
    context = context or warm_browser_context(browser, base)
    first = [first_chart_ms(browser, url, context) for _ in range(warm)]
    visit = [first_chart_ms(browser, url) for _ in range(warm)]
    charted = all(t is not None for t in first)
    redraw = redraw_ms(browser, url, sentences) if charted and sentences and _has_sentence_box(browser, url) else []
    return {"first chart": first, "first visit": visit, "redraw": redraw}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.browser_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=1, help="server starts for the first page's cold measurement")
    parser.add_argument("--warm", type=int, default=3, help="new tabs per page on the running server")
    parser.add_argument("--sentences", type=int, default=5, help="new sentences typed per page for the redraw")
    parser.add_argument("--pages", default="", help="URL paths to measure, comma-separated, e.g. 'cell,compare' "
                                                    "('' for the default page; default: every page)")
    parser.add_argument("--app", type=Path, default=APP, help="the Streamlit script")
    args = parser.parse_args(argv)
    pages = app_pages(args.app)
    if args.pages:
        wanted = [name.strip().strip("/") for name in args.pages.split(",")]
        unknown = [name for name in wanted if name not in {p.url_path for p in pages}]
        if unknown:
            parser.error(f"no page at {', '.join(unknown)}; the app has {', '.join(p.url_path or '/' for p in pages)}")
        pages = [p for p in pages if p.url_path in wanted]

    starts: list[float] = []
    cold: list = []
    figures: dict[AppPage, dict] = {}
    typed = iter(range(10**6))
    with chromium() as browser:
        for start in range(max(args.cold, 1)):
            launched = time.perf_counter()
            with streamlit_server(args.app) as server:  # returns once /_stcore/health answers
                starts.append((time.perf_counter() - launched) * 1000)
                cold.append(first_chart_ms(browser, f"{server.url}/{pages[0].url_path}"))
                if start == 0:
                    context = warm_browser_context(browser, server.url)
                    for page in pages:  # every page gets sentences no page has seen
                        chosen = [(SENTENCES * 100)[next(typed)] for _ in range(args.sentences)]
                        figures[page] = measure_page(browser, server.url, page, args.warm, chosen, context)
                    context.close()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{args.app.name}: {len(pages)} pages at {VIEWPORT['width']}×{VIEWPORT['height']} in headless Chromium "
          f"(load average {load} on {os.cpu_count()} cores)")
    print(f"{'server start':<22} median {statistics.median(starts):7.0f} ms  (min {min(starts):.0f}, max "
          f"{max(starts):.0f}, n={len(starts)})  launch to the first health answer, warm-up included")
    if all(t is not None for t in cold):
        print(_report(f"first chart, cold /{pages[0].url_path}", cold, GOALS["first chart"]))
    print(f"\n{'page':<12}{'url':<14}{'first chart, new tab':>22}{'redraw ms':>20}{'first visit ms':>22}   "
          f"median (max), vs goals {GOALS['first chart'][0]:.0f} / {GOALS['redraw'][0]:.0f} ms")
    for page, measured in figures.items():
        first, redraw = _cell(measured["first chart"], GOALS["first chart"][0]), _cell(measured["redraw"],
                                                                                      GOALS["redraw"][0])
        visit = _cell(measured["first visit"], GOALS["first chart"][0])
        print(f"{page.title[:11]:<12}{'/' + page.url_path:<14}{first:>22}{redraw:>20}{visit:>22}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
