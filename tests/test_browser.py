"""The page in a real browser: Debian's Chromium opens ``streamlit run app.py``, types a sentence, and the
charts redraw for it. Fixtures (server, browser, page) live in conftest.py; the screenshot is saved to
artifacts/browser.png for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

pytestmark = pytest.mark.slow  # a server and a real browser; still run in CI

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "artifacts" / "browser.png"
SENTENCE = "I love this movie so much but the ending is really boring"
WORDS = ["love", "movie", "ending", "really", "boring"]  # distinctive enough to be found only as labels
CHART = ".stPlotlyChart .js-plotly-plot"
LOAD_TIMEOUT = 90_000  # ms: the first run loads the model on 2 shared cores


def _chart_texts(page) -> list[str]:
    """Every piece of SVG text (tick labels, titles) in the page's Plotly charts."""
    return page.eval_on_selector_all(f"{CHART} svg text", "nodes => nodes.map(n => n.textContent)")


def _open(page, url: str):
    """Load the page and return its first text area; if the page stops early (no model, an exception),
    fail with what it says instead of a bare timeout."""
    page.goto(url)
    page.wait_for_selector('textarea, [data-testid="stAlert"], [data-testid="stException"]', timeout=LOAD_TIMEOUT)
    textarea = page.locator("textarea").first
    try:
        textarea.wait_for(timeout=10_000)  # an early warning can come just before it
        return textarea
    except Exception:  # playwright's TimeoutError; reported below, outside the handler, without its chain
        pass
    pytest.fail("the page shows no text area; it says:\n" + page.locator('[data-testid="stMain"]').inner_text())


def _wait_until_idle(page) -> None:
    """Streamlit shows its status widget and greys stale elements while a run is in progress."""
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=LOAD_TIMEOUT)


def _screenshot_whole_page(page, path: Path) -> None:
    """Streamlit scrolls inside <main>, so grow the viewport to its full height before a full-page shot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        """() => { const main = document.querySelector('[data-testid="stMain"]');
                   return Math.max(document.body.scrollHeight, main ? main.scrollHeight : 0); }""")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height) + 50, 12_000)})
    page.wait_for_timeout(1_000)  # Plotly relayouts on resize
    page.screenshot(path=str(path), full_page=True)


def test_typed_sentence_draws_charts_with_its_words(app_url, page):
    textarea = _open(page, app_url)

    textarea.fill(SENTENCE)
    textarea.press("Control+Enter")  # a text area commits its value on Ctrl+Enter or blur

    page.wait_for_selector(CHART, timeout=LOAD_TIMEOUT)
    page.wait_for_function(  # charts drawn for this sentence, not left over from an earlier one
        """([selector, words]) => {
             const texts = [...document.querySelectorAll(selector + ' svg text')].map(n => n.textContent);
             return words.every(w => texts.some(t => new RegExp('\\\\b' + w + '\\\\b', 'i').test(t)));
           }""",
        arg=[CHART, WORDS], timeout=LOAD_TIMEOUT)
    _wait_until_idle(page)

    texts = _chart_texts(page)
    for word in WORDS:
        assert any(re.search(rf"\b{word}\b", text, re.IGNORECASE) for text in texts), (word, texts)
    assert page.locator(".stPlotlyChart").count() >= 2
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()
    assert textarea.input_value() == SENTENCE
    assert parse_qs(urlparse(page.url).query).get("text") == [SENTENCE]  # the page writes it back to the link
    textarea.blur()  # so the screenshot shows the page at rest, not a focused input
    _screenshot_whole_page(page, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000


def test_text_query_parameter_fills_the_text_area(app_url, page):
    sentence = "But the movie is really boring"
    _open(page, f"{app_url}/?text={quote(sentence)}")
    page.wait_for_function(
        "(text) => document.querySelector('textarea').value === text", arg=sentence, timeout=LOAD_TIMEOUT)
    _wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert parse_qs(urlparse(page.url).query).get("text") == [sentence]
