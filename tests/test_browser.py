"""Every page in a real browser: Debian's Chromium opens ``streamlit run app.py`` (fixtures in conftest.py),
types a sentence, switches every toggle on, and finds no exception and no warning. A screenshot of each page
goes to artifacts/ for a person to look at, at 1400 and at 800 px, and the first screen of the first page to
artifacts/first-screen.png (copy it to docs/screenshot.png to refresh the README's picture). At 800 px no button
label or chart title is cut, and no chart is wider than its box.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"
FIRST_SCREEN = ARTIFACTS / "first-screen.png"  # the README's picture, docs/screenshot.png, when copied there
PAGES = {"": "read", "cell": "cell", "compare": "compare", "dynamics": "dynamics", "dataset": "dataset",
         "seeds": "seeds", "your-model": "your-model", "unit": "unit"}  # URL path → screenshot name
SENTENCE = "I love this movie so much but the ending is really boring"
WORDS = ["love", "movie", "ending", "really", "boring"]  # distinctive enough to be found only as labels
PLOTLY = ".stPlotlyChart .js-plotly-plot"
VEGA = '[data-testid="stVegaLiteChart"]'  # the Read page's first chart (gru_viz/figures/story.py)
CHART_TEXT = f"{PLOTLY} svg text, {VEGA} svg text"
LOAD_TIMEOUT = 120_000  # ms: the first run loads the model on 2 shared cores
QUIET_MS = 1_000  # no change to the page for this long: the run and the drawing are over
PROBLEMS = '[data-testid="stException"], [data-testid="stAlertContentWarning"], [data-testid="stAlertContentError"]'

pytestmark = pytest.mark.slow


def _wait_until_idle(page) -> None:
    """Until the run is over: Streamlit shows its status widget and greys stale elements while a run is in
    progress, and the page stops changing (no DOM change for QUIET_MS) once everything is drawn."""
    page.wait_for_timeout(300)  # a rerun starts a moment after the click
    page.wait_for_function(
        """() => !document.querySelector('[data-testid="stStatusWidget"]')
                 && !document.querySelector('[data-stale="true"]')""",
        timeout=LOAD_TIMEOUT)
    page.evaluate(
        """(quiet) => new Promise(resolve => {
             let timer = setTimeout(done, quiet);
             const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, quiet); });
             function done() { observer.disconnect(); resolve(); }
             observer.observe(document.body, {subtree: true, childList: true, attributes: true});
           })""", QUIET_MS)


def _open(page, url: str) -> None:
    """Load a page and wait until its script has run; fail with what the page says if it stops early."""
    page.goto(url, wait_until="commit", timeout=LOAD_TIMEOUT)
    page.wait_for_selector('[data-testid="stMainBlockContainer"] [data-testid="stElementContainer"]',
                           timeout=LOAD_TIMEOUT)
    _wait_until_idle(page)


@contextmanager
def _new_tab(browser, width: int = 1400):
    """A page in a browser context of its own (an empty cache, as a new reader's), closed on exit."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def _problems(page) -> list[str]:
    return [node.inner_text() for node in page.locator(PROBLEMS).all()]


def _screenshot_whole_page(page, path: Path) -> None:
    """Streamlit scrolls inside <main>, so grow the viewport to its full height before a full-page shot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    full = page.evaluate(
        """() => { const main = document.querySelector('[data-testid="stMain"]');
                   return Math.max(document.body.scrollHeight, main ? main.scrollHeight : 0); }""")
    page.set_viewport_size({"width": width, "height": min(int(full) + 50, 12_000)})
    page.wait_for_timeout(1_000)  # Plotly relayouts on resize
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": height})


def _chart_texts(page) -> list[str]:
    return page.eval_on_selector_all(CHART_TEXT, "nodes => nodes.map(n => n.textContent)")


def _open_every_section_and_toggle(page) -> None:
    """Open every closed expander and switch on every toggle, one at a time (each can reveal more)."""
    for _ in range(16):
        closed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
        off = page.locator('[data-testid="stCheckbox"] label:has(input[role="switch"]:not(:checked))')
        if closed.count():
            closed.first.click()
        elif off.count():
            off.first.click()  # the label: the input itself is visually hidden
        else:
            break
        _wait_until_idle(page)
    assert not page.locator('[data-testid="stCheckbox"] input[role="switch"]:not(:checked)').count()
    assert not page.locator('[data-testid="stExpander"] details:not([open])').count()


def test_the_first_screen_tells_the_story_and_a_typed_sentence_redraws_it(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        _open(page, app_url)
        page.wait_for_function(  # the story chart, all four rows (P, Δ logit, z, r), is drawn inside the first screen
            """() => { const boxes = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] svg.marks')]
                         .map(svg => svg.getBoundingClientRect()).filter(box => box.height > 0);
                       return boxes.length === 4 && boxes.every(box => box.bottom <= 900); }""",
            timeout=LOAD_TIMEOUT)
        _wait_until_idle(page)
        page.wait_for_timeout(1_000)  # the charts below finish drawing
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        FIRST_SCREEN.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(FIRST_SCREEN))  # the first screen at 1400×900: the README's picture
        assert 20_000 < FIRST_SCREEN.stat().st_size < 300_000

        textarea = page.locator("textarea").first
        textarea.fill(SENTENCE)
        textarea.press("Control+Enter")  # a text area commits its value on Ctrl+Enter or blur
        page.wait_for_function(  # charts drawn for this sentence, not left over from an earlier one
            """([selector, words]) => {
                 const texts = [...document.querySelectorAll(selector)].map(n => n.textContent);
                 return words.every(w => texts.some(t => new RegExp('\\\\b' + w + '\\\\b', 'i').test(t)));
               }""",
            arg=[CHART_TEXT, WORDS], timeout=LOAD_TIMEOUT)
        _wait_until_idle(page)
        texts = _chart_texts(page)
        for word in WORDS:
            assert any(re.search(rf"\b{word}\b", text, re.IGNORECASE) for text in texts), (word, texts)
        assert not _problems(page)
        assert parse_qs(urlparse(page.url).query).get("text") == [SENTENCE]  # written back to the link
    finally:
        context.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_with_every_toggle_on_shows_no_exception_and_no_warning(app_url, page, path):
    sentence = "But the movie is really boring"
    _open(page, f"{app_url}/{path}?text={quote(sentence)}")
    _open_every_section_and_toggle(page)
    if path in ("", "dataset", "dynamics"):  # every view there draws on request: now they are all drawn
        assert page.locator(PLOTLY).count() >= 3
    assert not _problems(page), _problems(page)
    if path != "your-model":  # the sentence followed the reader into the page and its link
        assert parse_qs(urlparse(page.url).query).get("text") == [sentence]
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # nothing focused in the picture
    _screenshot_whole_page(page, ARTIFACTS / f"page-{PAGES[path]}.png")


def test_at_800_px_no_label_or_title_is_cut(app_url, browser):
    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    try:
        _open(page, app_url)
        _open_every_section_and_toggle(page)
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4",
                               timeout=LOAD_TIMEOUT)
        _wait_until_idle(page)
        page.wait_for_timeout(1_000)
        too_wide = page.evaluate(  # each of the story's rows fits its box (Vega-Lite fits its width)
            """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].filter(chart => {
                 const svg = chart.querySelector('svg.marks');
                 return !svg || svg.getBoundingClientRect().right > chart.getBoundingClientRect().right + 1;
               }).length""")
        assert too_wide == 0
        cut = page.evaluate(  # a label cut with an ellipsis overflows its own box
            """() => [...document.querySelectorAll('[data-testid="stMain"] button, [data-testid="stMain"] button *, '
                                                   + '[data-testid="stMetricValue"] *')]
                       .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
        assert not cut, cut
        cut_titles = page.evaluate(
            """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
                 const width = plot.getBoundingClientRect().width;
                 return [...plot.querySelectorAll('.gtitle, .gtitle-subtitle')].filter(title => {
                   const box = title.getBBox(); return box.x < -1 || box.x + box.width > width + 1;
                 }).map(title => title.textContent);
               })""")
        assert not cut_titles, cut_titles
        cut_vega = page.eval_on_selector_all(  # Vega ends a text too wide for the chart with "…"
            '[data-testid="stVegaLiteChart"] svg text',
            "nodes => nodes.map(n => n.textContent).filter(t => t.endsWith('…'))")
        assert not cut_vega, cut_vega
        _screenshot_whole_page(page, ARTIFACTS / "page-read-800.png")
    finally:
        context.close()


def test_at_800_px_every_page_is_in_the_bar_and_the_first_charts_labels_are_inside_it(app_url, browser):
    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    try:
        long_text = "I love this movie so much . " + "the plot follows a family through a long summer . " * 2 + \
            "it ends with an unforgettable masterpiece"
        _open(page, f"{app_url}/?text={quote(long_text)}")
        page.wait_for_timeout(1_000)
        links = page.eval_on_selector_all(  # every page's link, drawn inside the window; nothing folded away
            '[data-testid="stTopNavLink"]',
            "nodes => nodes.map(n => { const box = n.getBoundingClientRect();"
            " return {text: n.innerText, shown: n.offsetParent !== null && box.right <= window.innerWidth}; })")
        pages_in_app = re.findall(r'url_path="([^"]+)"', (Path(__file__).parents[1] / "app.py").read_text())
        assert len(links) == len(pages_in_app) and all(link["shown"] for link in links), links
        header = page.inner_text("header")
        assert not re.search(r"\d+ more", header), header
        outside = page.evaluate(  # every text of the story's rows lies inside its chart's box, ringed labels too
            """() => [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')].flatMap(chart => {
                 const box = chart.getBoundingClientRect();
                 return [...chart.querySelectorAll('svg text')].filter(text => {
                   const r = text.getBoundingClientRect();
                   return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1);
                 }).map(text => text.textContent);
               })""")
        assert not outside, outside
        _screenshot_whole_page(page, ARTIFACTS / "page-read-long-800.png")
    finally:
        context.close()


@pytest.mark.parametrize("path", [path for path in PAGES if path])
def test_every_other_page_at_800_px_cuts_no_chart_text(app_url, browser, path):
    context = browser.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    try:
        _open(page, f"{app_url}/{path}?text={quote('But the movie is really boring')}")
        page.wait_for_timeout(1_000)
        assert not _problems(page), _problems(page)
        cut_vega = page.eval_on_selector_all(
            '[data-testid="stVegaLiteChart"] svg text',
            "nodes => nodes.map(n => n.textContent).filter(t => t.endsWith('…'))")
        assert not cut_vega, cut_vega
        _screenshot_whole_page(page, ARTIFACTS / f"page-{PAGES[path]}-800.png")
    finally:
        context.close()


MARKUP = "<b>bold</b> & <script>alert(1)</script> a gorgeous movie"  # typed text that looks like HTML


@pytest.mark.parametrize("width", [1400, 800])
def test_the_unit_page_shows_markup_literally_and_links_to_its_neighbours_and_sentences(app_url, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        _open(page, f"{app_url}/unit?unit=7&text={quote(MARKUP)}")
        assert not _problems(page), _problems(page)
        assert page.get_by_text("Unit 7 of 64 in sst2-gru").count() == 1
        shaded = page.locator(".unit-words")  # 20 top and 20 bottom contexts, then the typed sentence
        assert shaded.count() == 41
        typed = shaded.last
        assert "<" in typed.inner_text() and "script" in typed.inner_text()  # the characters, as typed
        assert typed.locator("b, script").count() == 0  # and no element made of them
        assert page.locator(".unit-contexts a[href^='read?text=']").count() == 40
        # h, z and r histograms and the sentence through the unit: all Vega-Lite, no Plotly bundle on load
        page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] svg.marks')"
                               ".length >= 4", timeout=LOAD_TIMEOUT)
        assert page.locator(PLOTLY).count() == 0
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        _screenshot_whole_page(page, ARTIFACTS / f"unit-page-{width}.png")
        if width == 1400:
            page.screenshot(path=str(ARTIFACTS / "unit-page-first-screen.png"))  # docs/unit-page.png, when copied
            page.get_by_text("unit 8 →").click()
            _wait_until_idle(page)
            assert page.get_by_text("Unit 8 of 64 in sst2-gru").count() == 1
            assert parse_qs(urlparse(page.url).query).get("unit") == ["8"]
            first = page.locator(".unit-contexts a").first
            text = parse_qs(urlparse(first.get_attribute("href")).query)["text"][0]
            first.click()
            page.wait_for_url(re.compile(r"/read\?"), timeout=LOAD_TIMEOUT)
            _wait_until_idle(page)
            assert parse_qs(urlparse(page.url).query).get("text") == [text]
    finally:
        context.close()


def test_a_bad_unit_in_the_link_is_one_message_and_unit_0(app_url, page):
    _open(page, f"{app_url}/unit?unit={quote('<i>9999')}")
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 1 and "<i>" not in errors.inner_text() and "showing unit 0" in errors.inner_text()
    assert page.get_by_text("Unit 0 of 64 in sst2-gru").count() == 1



# Set in a new document before its scripts run: performance.now() when the first chart's drawing appears, and when
# REST (a selector of what lies below the page's first screen) first matches at least COUNT elements.
_ORDER_CLOCK = """(() => {
  window.__order = {};
  new MutationObserver(() => {
    if (window.__order.chart === undefined && document.querySelector('[data-testid="stVegaLiteChart"] svg.marks'))
      window.__order.chart = performance.now();
    if (window.__order.rest === undefined && document.querySelectorAll('REST').length >= COUNT)
      window.__order.rest = performance.now();
  }).observe(document, {subtree: true, childList: true, attributes: true});
})();"""


@pytest.mark.parametrize(("path", "rest", "count"), [
    ("unit", ".unit-contexts", 1),  # the contexts, below the h, z and r histograms
    ("seeds", VEGA, 4),  # a fourth chart: the first section has three
])
def test_a_new_tab_draws_its_first_chart_before_the_rest_of_the_page_which_follows_by_itself(app_url, browser, path,
                                                                                             rest, count):
    with _new_tab(browser) as page:
        page.add_init_script(_ORDER_CLOCK.replace("REST", rest).replace("COUNT", str(count)))
        _open(page, f"{app_url}/{path}")
        page.wait_for_function("() => window.__order.rest !== undefined", timeout=LOAD_TIMEOUT)  # without a click
        _wait_until_idle(page)
        assert not _problems(page), _problems(page)
        order = page.evaluate("() => window.__order")
        assert order["chart"] < order["rest"], order  # the first chart was drawn before the rest existed
        assert page.locator(".st-key-first_screen_painted").count() == 0  # the signal went with the first screen
        if path == "unit":
            assert page.locator(".unit-words").count() == 41  # 20 top and 20 bottom contexts, and the sentence


def test_a_tab_opened_in_the_background_gets_its_whole_page_without_painting_first(app_url, browser):
    with _new_tab(browser) as page:
        # as Chromium treats a tab opened behind the current one: hidden, and no animation frames until it is shown
        page.add_init_script("""Object.defineProperty(document, 'hidden', {get: () => true});
                                window.requestAnimationFrame = () => 0;""")
        page.goto(f"{app_url}/cell", wait_until="commit", timeout=LOAD_TIMEOUT)
        page.get_by_text("PyTorch's GRU equations, in general").wait_for(timeout=LOAD_TIMEOUT)  # below the first screen
        page.wait_for_function("() => !document.querySelector('.st-key-first_screen_painted')", timeout=LOAD_TIMEOUT)
        assert not _problems(page), _problems(page)
