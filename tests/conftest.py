"""Fixtures for the real-browser test: a live ``streamlit run app.py`` and Debian's Chromium via Playwright,
from ``benchmarks.browser`` (the helper the load test and the page benchmarks share).

Neither fixture skips: CI installs Chromium and Playwright, so a missing one is a failure with a message.
"""

from __future__ import annotations

import pytest

from benchmarks.browser import APP, StreamlitServer, chromium, require_chromium


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Base URL of ``streamlit run app.py`` on 127.0.0.1; the server and its children stop at teardown."""
    server = StreamlitServer(APP, log=tmp_path_factory.mktemp("streamlit") / "streamlit.log")
    try:
        try:
            server.wait_ready()
        except RuntimeError as error:
            pytest.fail(str(error))
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; fails (never skips) when either is missing."""
    try:
        require_chromium()
    except RuntimeError as error:
        pytest.fail(str(error))
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A fresh page with a wide viewport, so the page's wide layout is what gets drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="module")
def model():
    """The small gated model the library tests share (a test module may define its own ``model``)."""
    from tests.library_helpers import gated_model

    return gated_model()


@pytest.fixture(scope="module")
def texts():
    """Random texts over that model's vocabulary."""
    from tests.library_helpers import random_texts

    return random_texts()


@pytest.fixture(scope="module")
def view(model):
    """The module's ``model`` reading a sentence that turns around after "but"."""
    return model.trace("I love this movie but the movie is really boring")
