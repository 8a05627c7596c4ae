"""A page's first screen first: in a reader's first run of a session (a new tab), a page ends after its first screen,
and the rest follows in a second run that the browser asks for once it has painted that screen.

Why: Streamlit's browser code builds every element a run sends before a chart's own drawing gets its turn, so a
page's first chart waited for everything below it: contexts, tables, equations, a dozen charts on *Seeds*
(``benchmarks/first_chart_ab``: first charts 0.09–0.48 s sooner by page, the whole page no later; figures in
docs/performance.md). The second run reads the same caches and costs the server a few tens of ms; every later run of
the session (a new sentence, another page) draws the whole page at once.

The browser's signal is a Streamlit component of a few lines (``st.components.v2``): it waits until a chart in the
page has drawn, or 2 s if none does, lets that frame reach the screen, and reports (at once in a tab opened in the
background, which paints nothing). A run with no browser behind it (``AppTest``) never reports: tests start with
``WHOLE_PAGES_KEY`` set (``tests/helpers.page_app``) unless they test this.
"""

from __future__ import annotations

import streamlit as st

from views.parts.charts import forget_figures

__all__ = ["SIGNAL_KEY", "WHOLE_PAGES_KEY", "FirstScreenOnly", "rest_of_page"]

WHOLE_PAGES_KEY = "whole_pages"  # set once this session's browser has painted a first screen
SIGNAL_KEY = "first_screen_painted"
SIGNAL_WAIT_MS = 2000  # a page whose first screen holds no chart reports after this long

_SIGNAL_JS = """
export default function ({ setTriggerValue }) {
  let sent = false, reported = false;
  const report = () => { if (!reported) { reported = true; setTriggerValue("painted", true); } };
  const drawn = () => document.querySelector(
    '[data-testid="stVegaLiteChart"] svg.marks, .js-plotly-plot .main-svg');
  const send = () => {
    if (sent) return;
    sent = true;
    observer.disconnect();
    clearTimeout(timer);
    if (document.hidden) { report(); return; }  // a tab in the background has no screen to paint first
    // after the frame that shows the chart, so the rest's elements do not delay its paint; a tab hidden meanwhile
    // gets no animation frames, hence the timeout
    requestAnimationFrame(() => setTimeout(report, 0));
    setTimeout(report, 500);
  };
  const observer = new MutationObserver(() => { if (drawn()) send(); });
  const timer = setTimeout(send, WAIT);
  observer.observe(document.body, { subtree: true, childList: true });
  if (drawn() || document.hidden) send();
  return () => { observer.disconnect(); clearTimeout(timer); };
}
""".replace("WAIT", str(SIGNAL_WAIT_MS))

_painted_signal = st.components.v2.component("gru_viz_first_screen_painted", js=_SIGNAL_JS)


class FirstScreenOnly(Exception):  # not an error: the run ends early on purpose
    """Raised by ``rest_of_page`` to end a session's first run after the page's first screen; app.py catches it."""


def _whole_pages() -> None:
    st.session_state[WHOLE_PAGES_KEY] = True


def rest_of_page() -> None:
    """Call where a page's first screen ends. Returns at once when this session's browser has painted a first screen
    before; otherwise places the browser's signal and ends this run (``FirstScreenOnly``): the signal reruns the
    page, whole, after the browser has painted what was sent."""
    if st.session_state.get(WHOLE_PAGES_KEY):
        return
    _painted_signal(key=SIGNAL_KEY, on_painted_change=_whole_pages)
    forget_figures()  # the second run offers the page's downloads
    raise FirstScreenOnly
