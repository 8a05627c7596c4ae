"""What a link may hold, and what no page shows (AppTest over app.py).

A link holds names and sentences, never paths: ``?model=`` is a name checked against the folders the server lists
(anything else falls back to the default model with a warning that does not repeat it), ``?text=`` and ``?b=`` are
sentences. No widget takes a server path, and no rendered element of any page, with every view switched on,
contains the checkout's absolute path, the models folder's, or /etc, even when a model folder is broken.
"""

from __future__ import annotations

import json

import pytest

from gru_viz.examples import SEED_PAIR
from tests.helpers import (
    PAGES,
    ROOT,
    SENTENCE,
    open_page,
    page_app,
    run,
    switch_on_every_toggle,
    walk,
    write_gru_and_rnn,
)

HOSTILE_NAMES = ["../sst2-rnn", "../../etc", "/etc", "/etc/passwd", "%2e%2e%2fetc", "..%2F..%2Fetc%2Fpasswd",
                 "%252e%252e%252f", "sst2-gru/../sst2-rnn", "sst2-rnn/", "./sst2-rnn", "..\\..\\etc", "sst2-rnn\x00",
                 "~", "~root", "file:///etc/passwd", "sst2-rnn/card.json", "..", "."]
FREE_TEXT_KEYS = {"text", "compare_b", "research_fixed_word"}  # sentences and one word: never read as a path
EVERY_PAGE = {**PAGES, "seeds": "views/pages/seeds.py"}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_gru_and_rnn(tmp_path_factory.mktemp("models"))


@pytest.fixture
def app(models_dir, tmp_path, monkeypatch):
    """app.py over the tiny models, with an index shelf holding only ways out (a link to / and to /etc)."""
    shelf = tmp_path / "indexes"
    shelf.mkdir()
    (shelf / "root").symlink_to("/", target_is_directory=True)
    (shelf / "etc").symlink_to("/etc", target_is_directory=True)
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_dir))
    monkeypatch.setenv("GRU_VIZ_INDEX", str(shelf))
    return page_app()


def _rendered(app) -> str:
    """Every element the browser would receive, as protobuf text (labels, bodies, help, options, chart specs)."""
    return "\n".join(str(node.proto) for node in walk(app._tree) if getattr(node, "proto", None) is not None)


def _assert_no_server_path(app, *folders) -> None:
    shown = _rendered(app) + "\n" + json.dumps(dict(app.query_params), default=str)
    assert len(shown) > 100  # the scan sees the page
    for secret in (str(ROOT), "/etc", *map(str, folders)):
        assert secret not in shown, secret


@pytest.mark.parametrize("asked", HOSTILE_NAMES)
def test_a_link_names_a_model_only_by_a_listed_name(app, models_dir, asked):
    app.query_params["model"] = asked
    run(app)
    assert app.radio(key="model").value == "sst2-gru"
    assert [warning.value for warning in app.warning] == [
        "The link names a model that is not in the models folder; showing sst2-gru instead."]
    assert "model" not in app.query_params  # the default is not written back, nor is what was asked
    _assert_no_server_path(app, models_dir)


def test_a_link_naming_the_absolute_path_of_a_real_model_opens_nothing_from_it(app, models_dir):
    app.query_params["model"] = str(models_dir / "sst2-rnn")
    run(app)
    assert app.radio(key="model").value == "sst2-gru" and len(app.warning) == 1
    _assert_no_server_path(app, models_dir)


def test_paths_in_the_sentences_of_a_link_are_only_text(app, models_dir):
    app.query_params["text"] = "/etc/passwd ../../app.py"
    app.query_params["b"] = str(ROOT / "app.py")
    run(app)
    open_page(app, "compare")
    assert app.text_area(key="text").value == "/etc/passwd ../../app.py"
    assert app.text_area(key="compare_b").value == str(ROOT / "app.py")  # what the reader typed, read as words
    assert not app.error and not app.exception


def test_sentence_b_rides_in_the_link_and_back(app):
    app.query_params["text"] = SENTENCE
    app.query_params["b"] = "a dull and lifeless film"
    run(app)
    open_page(app, "compare")
    assert app.text_area(key="compare_b").value == "a dull and lifeless film"
    app.text_area(key="compare_b").set_value(SEED_PAIR[1])
    run(app)
    assert "b" not in app.query_params  # the default sentence B keeps the link short
    app.text_area(key="compare_b").set_value("the best film of the year")
    run(app)
    open_page(app, "read")  # B is kept in the link on every page, so a link from any page restores it
    assert app.query_params.get("b") == "the best film of the year"


def test_no_page_takes_a_path_or_shows_one_with_every_view_on(app, models_dir):
    app.query_params["model"] = "../../etc/passwd"
    run(app)
    for name in EVERY_PAGE:
        app.switch_page(EVERY_PAGE[name])
        switch_on_every_toggle(run(app))
        assert not app.exception, name
        typed = {element.key for kind in ("text_input", "text_area") for element in getattr(app, kind)}
        assert typed <= FREE_TEXT_KEYS, (name, typed)
        selectable = " ".join(str(option) for kind in ("selectbox", "radio", "multiselect")
                              for element in getattr(app, kind) for option in element.options)
        assert "etc" not in selectable and "root" not in selectable, name  # the index shelf's links are not offered
        _assert_no_server_path(app, models_dir)


def test_a_broken_model_folder_is_a_message_without_the_servers_folders(models_dir, tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "sst2-gru").symlink_to(models_dir / "sst2-gru", target_is_directory=True)
    (folder / "broken").mkdir()
    (folder / "broken" / "card.json").write_text("{not json")
    monkeypatch.setenv("GRU_VIZ_MODELS", str(folder))
    app = page_app()
    app.query_params["model"] = "broken"
    run(app)
    assert [error.value for error in app.error] == ["The model broken could not be loaded:"]
    (message,) = [text.value for text in app.text]
    assert message.startswith("models/broken/card.json: not readable JSON") and "\n" not in message
    _assert_no_server_path(app, folder, models_dir, tmp_path)


def test_an_empty_models_folder_is_a_message_that_names_no_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRU_VIZ_MODELS", str(tmp_path))
    app = run(page_app())
    assert [error.value for error in app.error][0].startswith("This server has no model folders.")
    _assert_no_server_path(app, tmp_path)
