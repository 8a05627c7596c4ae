"""When each part of a page appears in a new tab: ``python -m benchmarks.page_timeline [--pages unit,dataset]``.

Starts ``streamlit run app.py``, opens it once in headless Chromium at 1400×900 (so the browser's cache holds
Streamlit's scripts, as a returning reader's does), then opens each page ``--repeat`` times in a new tab and prints,
in ms since the navigation began, when each of these first appeared: an element of the page, the script running,
the script done, a text area, a Vega-Lite chart's box and its drawn marks, a Plotly chart's box and its drawn
plot, a data frame. It is how the page's first paint was taken apart: on these pages the first chart came 0.3–0.5 s
after the script had finished, and a page whose first render holds a Plotly chart paints nothing until Chromium
has evaluated Plotly's bundle. ``benchmarks.browser_bench`` gives the figures the goals are judged on; this one says
where the time goes. A script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse

from benchmarks.browser import APP, chromium, streamlit_server
from benchmarks.browser_bench import _IDLE, TIMEOUT_MS, VIEWPORT, app_pages

__all__ = ["main"]

# Set in every new document before its scripts run: the first time each part appears, on the page's clock.
_TIMELINE = """
window.__timeline = [];
const seen = new Set();
const mark = (name) => {
  if (!seen.has(name)) { seen.add(name); window.__timeline.push([name, Math.round(performance.now())]); }
};
new MutationObserver(() => {
  const has = (selector) => !!document.querySelector(selector);
  if (has('[data-testid=stElementContainer]')) mark('first element');
  const app = document.querySelector('[data-testid=stApp]');
  if (app && app.dataset.testScriptState === 'running') mark('script running');
  if (app && app.dataset.testScriptState === 'notRunning' && seen.has('script running')) mark('script done');
  if (has('textarea')) mark('text area');
  if (has('[data-testid=stVegaLiteChart]')) mark('Vega-Lite box');
  if (has('[data-testid=stVegaLiteChart] svg.marks')) mark('Vega-Lite drawn');
  if (has('.stPlotlyChart')) mark('Plotly box');
  if (has('.js-plotly-plot .main-svg')) mark('Plotly drawn');
  if (has('[data-testid=stDataFrame]')) mark('data frame');
}).observe(document, {subtree: true, childList: true, attributes: true});
"""
SETTLE_MS = 2500  # after Streamlit is idle: charts still drawing are noted


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_timeline", description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="", help="URL paths, comma-separated ('' for the default page; default: "
                                                    "every page app.py lists)")
    parser.add_argument("--repeat", type=int, default=2, help="new tabs per page")
    args = parser.parse_args(argv)
    paths = ([name.strip().strip("/") for name in args.pages.split(",")] if args.pages
             else [page.url_path for page in app_pages(APP)])
    with chromium() as browser, streamlit_server(APP) as server:
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(_TIMELINE)
        warm = context.new_page()
        warm.goto(server.url, timeout=TIMEOUT_MS)
        warm.wait_for_function(_IDLE, timeout=TIMEOUT_MS)
        warm.close()
        for path in paths:
            for _ in range(max(args.repeat, 1)):
                page = context.new_page()
                page.goto(f"{server.url}/{path}", timeout=TIMEOUT_MS)
                page.wait_for_function(_IDLE, timeout=TIMEOUT_MS)
                page.wait_for_timeout(SETTLE_MS)
                shown = ", ".join(f"{name} {ms}" for name, ms in page.evaluate("window.__timeline"))
                print(f"/{path:<12} {shown}", flush=True)
                page.close()
        context.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
