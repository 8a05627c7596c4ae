"""Restart without loss, in a real browser: a reader types two sentences on *Compare & intervene* and chooses a model
other than the default; the server is killed (SIGKILL, no goodbye) and started again on the same port; the reader's
tab comes back with the same page, sentences, model and numbers, read from its link alone.
"""

from __future__ import annotations

import signal
from urllib.parse import parse_qs, urlparse

import pytest

from benchmarks.browser import APP, StreamlitServer
from tests.test_browser import LOAD_TIMEOUT, _open, _wait_until_idle

SENTENCE_A = "the plot is dull but the acting is wonderful"
SENTENCE_B = "a lovely film that turns boring"
MODEL = "sst2-gru-noreset"
# the units of A and of B beside each other, under the first chart: Vega-Lite rect marks, each bound to its row
HEATMAPS = "[data-testid=stVegaLiteChart]:has(g.mark-rect path)"

pytestmark = pytest.mark.slow


def _state(page) -> dict:
    """What the reader sees: the page, both sentences, the chosen model and the numbers of both sentences' unit
    heatmaps, as drawn: the data row Vega binds to each cell."""
    page.wait_for_selector(HEATMAPS, timeout=LOAD_TIMEOUT)
    return {
        "page": urlparse(page.url).path,
        "sentences": [area.input_value() for area in page.locator("textarea").all()],
        "model": page.locator('[data-testid="stRadio"] label:has(input:checked)').first.inner_text(),
        "heatmaps": page.eval_on_selector_all(
            HEATMAPS, "charts => charts.map(chart => [...chart.querySelectorAll('g.mark-rect path')]"
                      "  .map(cell => cell.__data__ && cell.__data__.datum)"
                      "  .filter(row => row && 'value' in row).map(row => [row.unit, row.key, row.value]))"),
    }


def _type(page, index: int, text: str) -> None:
    area = page.locator("textarea").nth(index)
    area.fill(text)
    area.press("Control+Enter")  # a text area commits its value on Ctrl+Enter or blur
    _wait_until_idle(page)


def test_a_killed_server_comes_back_with_the_readers_page_sentences_model_and_numbers(browser, tmp_path):
    server = StreamlitServer(APP, log=tmp_path / "first.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    try:
        server.wait_ready()
        _open(page, f"{server.url}/compare")
        _type(page, 0, SENTENCE_A)
        _type(page, 1, SENTENCE_B)
        page.locator('[data-testid="stRadio"] label').filter(has_text=MODEL).click()
        _wait_until_idle(page)
        before = _state(page)
        assert before["page"] == "/compare" and before["sentences"] == [SENTENCE_A, SENTENCE_B]
        assert before["model"] == MODEL and len(before["heatmaps"]) >= 2 and all(before["heatmaps"])
        link = parse_qs(urlparse(page.url).query)
        assert link == {"text": [SENTENCE_A], "b": [SENTENCE_B], "model": [MODEL]}

        server.stop(signals=((signal.SIGKILL, 10),))  # the server dies mid-session: nothing is saved on the way out
        page.wait_for_timeout(1_000)
        server = StreamlitServer(APP, log=tmp_path / "second.log", port=server.port)
        server.wait_ready()
        page.reload(wait_until="commit")  # a reader's reload, or their next visit with the same link
        page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]',
                               timeout=LOAD_TIMEOUT)
        _wait_until_idle(page)
        after = _state(page)
        assert after == before
        assert parse_qs(urlparse(page.url).query) == link
    finally:
        context.close()
        server.stop()
