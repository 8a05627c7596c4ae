"""The *Lesson* page in a real browser (fixtures in conftest.py, helpers from test_browser.py): every step at 1400
and at 800 px draws its charts with no exception or error, no label or chart title is cut, the row of step links
and the "Next step" button move through the lesson and the link follows. Screenshots of every step go to
artifacts/lesson-step-N-WIDTH.png for a person to look at.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.test_browser import ARTIFACTS, LOAD_TIMEOUT, VEGA, _open, _screenshot_whole_page, _wait_until_idle

pytestmark = pytest.mark.slow

FAULTS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
CHARTS = {1: 1, 2: 2, 3: 1, 4: 1, 5: 0}  # charts each step draws, all Vega-Lite: no step loads Plotly's bundle
FAILED_READINGS = {1: 0, 2: 0, 3: 0, 4: 1, 5: 0}  # warnings: step 4's forced GRU reads the contrast review wrong


def _cut(page) -> list[str]:
    """Button and link labels cut by their box, and chart texts Vega cut with "…" (wider than the chart)."""
    labels = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stMain"] button, [data-testid="stMain"] button *, '
                                               + '[data-testid="stPageLink"] *')]
                   .filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)""")
    titles = page.eval_on_selector_all(f"{VEGA} svg text",
                                       "nodes => nodes.map(n => n.textContent).filter(t => t.endsWith('…'))")
    formulas = page.evaluate(  # KaTeX never wraps: a wider formula scrolls in its box (a 2 px overhang is its own)
        """() => [...document.querySelectorAll('[data-testid="stMain"] .katex-display')]
                   .filter(box => box.scrollWidth > box.clientWidth + 8).map(box => box.textContent.slice(0, 60))""")
    return labels + titles + formulas


@pytest.mark.parametrize("width", [1400, 800])
def test_every_step_draws_at_both_widths_and_cuts_nothing(app_url, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for step, count in CHARTS.items():
            _open(page, f"{app_url}/lesson?step={step}")
            if count:
                page.wait_for_function(f"() => document.querySelectorAll('{VEGA} svg.marks').length >= {count}",
                                       timeout=LOAD_TIMEOUT)
                _wait_until_idle(page)
            assert not page.locator(FAULTS).count(), [n.inner_text() for n in page.locator(FAULTS).all()]
            assert page.get_by_text(f"Step {step} of 5").count() == 1
            assert page.locator(VEGA).count() == count and not page.locator(".stPlotlyChart").count()
            assert page.locator('[data-testid="stAlertContentWarning"]').count() == FAILED_READINGS[step]
            if step in (3, 4):
                assert page.locator(".katex").count() >= 2  # the algebra and the cell, typeset
            assert not _cut(page), _cut(page)
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            _screenshot_whole_page(page, ARTIFACTS / f"lesson-step-{step}-{width}.png")
    finally:
        context.close()


def test_the_next_step_button_and_the_step_links_move_through_the_lesson(app_url, page):
    _open(page, f"{app_url}/lesson")
    assert page.get_by_text("Step 1 of 5").count() == 1
    page.get_by_role("button", name="Next step →").click()
    page.get_by_text("Step 2 of 5").wait_for(timeout=LOAD_TIMEOUT)
    _wait_until_idle(page)
    assert parse_qs(urlparse(page.url).query).get("step") == ["2"]
    page.locator('[data-testid="stPageLink"] a', has_text="4. r ≡ 1, z ≡ 0").click()
    page.get_by_text("Step 4 of 5").wait_for(timeout=LOAD_TIMEOUT)
    _wait_until_idle(page)
    assert parse_qs(urlparse(page.url).query).get("step") == ["4"]
    assert not page.locator(FAULTS).count()
