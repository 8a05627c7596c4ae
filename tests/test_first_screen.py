"""A page's first screen first (``views/parts/first_screen.py``): a session's first run of a page ends after its
first screen, with the browser's signal in the place of the rest; once the signal has reported, the page is whole,
and the first screen was exactly its beginning. The real browser's side (the signal reports after the first chart
has drawn, and the rest follows by itself) is in ``test_browser.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import APP, ROOT, TIMEOUT, run
from views.parts import first_screen

# each page's charts in its first screen: the story's four rows on Read; the prediction and both sentences' units on
# Compare; the saturation and timescale charts on Data set; the h, z and r histograms on Units; the first section's
# three claims on Seeds; the step's chart on Lesson
FIRST_SCREEN_CHARTS = {"read": 4, "cell": 1, "compare": 3, "dataset": 2, "unit": 3, "seeds": 3, "lesson": 1}


def _elements(app: AppTest) -> list[tuple[str, bytes]]:
    """Every element and block of the page in order: a widget by its id (its value travels apart from the page),
    anything else by its whole message."""
    return [(node.type, (node.proto.id.encode() if getattr(node.proto, "id", "") else node.proto.SerializeToString())
             if node.proto is not None else b"") for node in app.main]


def _charts(elements) -> int:
    return sum(kind == "vega_lite_chart" for kind, _ in elements)


@pytest.fixture
def shipped_models(monkeypatch):
    monkeypatch.setenv("GRU_VIZ_MODELS", str(ROOT / "models"))  # the shipped models, their index and the study
    monkeypatch.delenv("GRU_VIZ_INDEX", raising=False)


@pytest.mark.parametrize("page", list(FIRST_SCREEN_CHARTS))
def test_a_new_sessions_first_run_is_the_pages_beginning_and_the_signal_brings_the_rest(shipped_models, page):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)  # no WHOLE_PAGES_KEY: as in a new tab
    run(app)
    app.switch_page(f"views/pages/{page}.py")
    run(app)
    staged = _elements(app)
    assert staged[-1][0] == "bidi_component"  # the browser's signal ends the first screen
    assert first_screen.SIGNAL_KEY in staged[-1][1].decode("utf-8", "replace")
    assert _charts(staged) == FIRST_SCREEN_CHARTS[page]
    assert not app.get("download_button")  # the page's download comes with the rest
    assert app.query_params  # app.py still wrote the link

    app.session_state[first_screen.WHOLE_PAGES_KEY] = True  # what the signal's callback sets
    run(app)
    whole = _elements(app)
    assert "bidi_component" not in {kind for kind, _ in whole}
    assert len(whole) > len(staged) and _charts(whole) >= _charts(staged)
    assert whole[:len(staged) - 1] == staged[:-1]  # the first screen, element for element, then the rest


def _signal_callback_script():
    import streamlit as st

    from views.parts import first_screen

    first_screen._whole_pages()
    st.text(repr(st.session_state[first_screen.WHOLE_PAGES_KEY]))


def test_the_signals_callback_makes_every_later_page_whole():
    app = AppTest.from_function(_signal_callback_script, default_timeout=TIMEOUT).run()
    assert not app.exception and app.text[0].value == "True"


def test_a_session_whose_browser_has_painted_draws_every_page_whole_at_once(shipped_models):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.session_state[first_screen.WHOLE_PAGES_KEY] = True
    run(app)
    for page in ("unit", "seeds", "cell"):
        app.switch_page(f"views/pages/{page}.py")
        run(app)
        assert "bidi_component" not in {node.type for node in app.main}, page


def test_app_py_ends_a_first_screen_quietly_and_still_writes_the_link():
    source = Path(APP).read_text(encoding="utf-8")
    assert "except first_screen.FirstScreenOnly:" in source
    assert source.index("except first_screen.FirstScreenOnly:") < source.index("state.write_link()")


def test_a_bad_links_notice_stays_through_the_rest_of_the_page_and_then_goes(shipped_models):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["unit"] = "<i>9999"
    app.query_params["model"] = "no-such-model"
    app.switch_page("views/pages/unit.py")  # the session's first run: a link to the unit page
    run(app)
    said = [element.value for element in (*app.error, *app.warning)]
    assert any("showing unit 0" in text for text in said) and any("not in the models folder" in text for text in said)
    assert "bidi_component" in {node.type for node in app.main}  # the first screen only

    app.session_state[first_screen.WHOLE_PAGES_KEY] = True  # the browser has painted it
    run(app)
    assert [element.value for element in (*app.error, *app.warning)] == said  # the same notices, with the rest
    assert "bidi_component" not in {node.type for node in app.main}
    run(app)
    assert not app.error and not app.warning  # said once, as a link is read once a session


def test_a_page_with_no_chart_to_wait_for_is_drawn_whole_in_its_first_run(shipped_models):
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params["step"] = "5"  # the lesson's last step: the seed study's answers as tables, no chart
    app.switch_page("views/pages/lesson.py")
    run(app)
    assert "bidi_component" not in {node.type for node in app.main}
    assert app.button  # its buttons at the end are there at once
