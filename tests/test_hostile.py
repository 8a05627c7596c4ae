"""Hostile input and broken files: nothing breaks, nothing runs, nothing leaks.

- Text: arbitrary unicode and targeted nasties (control characters, zero-width and bidirectional marks,
  emoji ZWJ sequences, right-to-left and mixed scripts, HTML / script / markdown, very long pastes) at the
  model API, and through the page (AppTest): a result with capped tokens and finite probabilities, or a
  ValueError that says the text is empty; on the page, no exception, a warning for blank text, and the
  user's text shown literally (never in an element that renders markdown or HTML).
- Links: ``?model=`` may only name a folder under models/; paths are refused with a message.
- Bring-your-own model: the template loads; every broken upload is a ValueError a person can read, and
  nothing in an upload is ever executed or allocated before its shapes are checked.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from streamlit.testing.v1 import AppTest

from gru_viz import model as model_module
from gru_viz.model import MAX_WEIGHTS_BYTES, load_model
from gru_viz.text import MAX_TOKENS, tokenize
from gru_viz.upload import MAX_UPLOAD_BYTES, MODEL_FILES, model_from_uploads, write_template
from tests.helpers import page_app

ROOT = Path(__file__).resolve().parent.parent
APP_TIMEOUT = 120  # seconds per page run: the first imports torch on 2 shared cores
WORDS = "the movie is great but the plot is boring and I did n't love it".split()

# ---- strategies: arbitrary unicode, and the kinds of text that break pages ----

CONTROL = [chr(c) for c in range(0x00, 0x20)] + ["\x7f", "\x85", "\x9b", "\u2028", "\u2029"]
INVISIBLE = ([chr(c) for c in range(0x200B, 0x2010)] + [chr(c) for c in range(0x202A, 0x202F)]
             + [chr(c) for c in range(0x2066, 0x206A)] + ["\ufeff", "\u00ad", "\u2060"])
EMOJI = ["👩\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "👍🏽", "🇫🇷", "🤦\u200d♀\ufe0f", "❤\ufe0f", "😀"]
SCRIPTS = ["مرحبا بالعالم", "שלום עולם", "привет мир", "日本語のテキスト", "नमस्ते दुनिया", "e\u0301te\u0301",
           "Ｆｕｌｌｗｉｄｔｈ", "ﷺ", "𝔤𝔯𝔲", "a\u0300\u0301\u0302\u0303\u0304"]
MARKUP = ["<b>x</b>", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "**bold**", "_it_",
          "[link](javascript:alert(1))", "![img](http://127.0.0.1/x.png)", "$$x^2$$", ":red[warn]", "`code`",
          "# heading", "&lt;b&gt;", "</textarea><b>", "{{7*7}}", "${7*7}", "%s%n", "'; DROP TABLE x; --"]
FRAGMENTS = st.one_of(st.sampled_from(WORDS), st.sampled_from(CONTROL), st.sampled_from(INVISIBLE),
                      st.sampled_from(EMOJI), st.sampled_from(SCRIPTS), st.sampled_from(MARKUP), st.just(" "))
TARGETED = st.lists(FRAGMENTS, max_size=30).map("".join)
LONG = st.builds(lambda word, count, mark: (word + mark) * count, st.sampled_from(WORDS + EMOJI + SCRIPTS),
                 st.integers(900, 3000), st.sampled_from([" ", "\u200b ", "\n", " <b> "]))
SURROGATES = st.lists(st.one_of(FRAGMENTS, st.sampled_from(["\ud800", "\udfff"])), max_size=10).map("".join)
ANY_TEXT = st.one_of(st.text(), TARGETED, LONG, SURROGATES)  # a lone surrogate cannot reach the page, only the API


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """Two small random models named like the shipped ones, written by the template command's code."""
    folder = tmp_path_factory.mktemp("models")
    write_template(folder / "sst2-gru", words=WORDS + ["<", ">", "b", "x"], hidden_size=6, embed_dim=5)
    write_template(folder / "sst2-rnn", words=WORDS, arch="rnn", hidden_size=4, embed_dim=3, seed=1)
    return folder


@pytest.fixture(scope="module")
def gru(models_dir):
    return load_model(models_dir / "sst2-gru")


# ---- the model API ----

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT)
@example(text="")
@example(text="\u200b\u200f\u202e\u2066 \x00\t")
@example(text="word " * 5000)
@example(text="the " * 1000)
def test_any_text_is_a_capped_finite_trace_or_says_empty(gru, text):
    try:
        sentence = gru.trace(text)
    except ValueError as error:
        assert "empty" in str(error)
        with pytest.raises(ValueError, match="empty"):
            gru.predict_proba([text])
        return
    steps = len(sentence.tokens)
    assert 1 <= steps <= MAX_TOKENS and sentence.probability.shape == (steps,)
    assert np.isfinite(sentence.probability).all() and np.isfinite(sentence.hidden).all()
    assert all(0.0 <= p <= 1.0 for p in sentence.probability)
    assert not any(c in INVISIBLE or c in CONTROL for token in sentence.tokens for c in token)
    if len(tokenize(text, MAX_TOKENS + 1).tokens) > MAX_TOKENS:
        assert sentence.note and steps == MAX_TOKENS  # a cut is always said
    (probability,) = gru.predict_proba([text])
    assert math.isfinite(probability) and probability == pytest.approx(sentence.probability[-1], abs=1e-6)


def test_a_smaller_cap_is_honoured_and_said(gru):
    sentence = gru.trace("great " * 50, max_tokens=7)
    assert len(sentence.tokens) == 7 and "7" in sentence.note


# ---- the page (AppTest) ----

@pytest.fixture(scope="module")
def page_env(models_dir):
    """GRU_VIZ_MODELS for the whole module (hypothesis cannot take function-scoped fixtures)."""
    before = os.environ.get("GRU_VIZ_MODELS")
    os.environ["GRU_VIZ_MODELS"] = str(models_dir)
    yield models_dir
    if before is None:
        del os.environ["GRU_VIZ_MODELS"]
    else:
        os.environ["GRU_VIZ_MODELS"] = before


def _elements(node):
    """Every element of an AppTest tree, depth first."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for child in children.values():
        yield from _elements(child)


def _rendered_markdown(app) -> list[str]:
    """Bodies of every element whose text the browser renders as markdown (markdown, captions, alerts,
    headings, widget labels and help), and fail if any of them allows raw HTML."""
    bodies = []
    for element in _elements(app._tree):
        proto = getattr(element, "proto", None)
        if proto is None:
            continue
        fields = {descriptor.name for descriptor in proto.DESCRIPTOR.fields}
        assert not ("allow_html" in fields and proto.allow_html), f"{element.type} allows raw HTML"
        if element.type in ("text", "text_area", "text_input", "code"):  # shown literally by the browser
            continue
        bodies += [getattr(proto, name) for name in ("body", "label", "help", "caption") if name in fields]
    return [body for body in bodies if isinstance(body, str)]


def _run_page(text=None, query=None) -> AppTest:
    app = page_app(APP_TIMEOUT)
    if text is not None:
        app.session_state["text"] = text
    for key, value in (query or {}).items():
        app.query_params[key] = value
    app.run(timeout=APP_TIMEOUT)
    assert not app.exception, [e.message for e in app.exception]
    return app


def _assert_literal(app, text: str, marker: str | None = None) -> None:
    """The text area holds the user's text unchanged, and no element that renders markdown or HTML repeats
    it: checked by ``marker`` (a word only the user typed) or, for distinctive text, by the text itself."""
    assert app.text_area(key="text").value == text
    bodies = _rendered_markdown(app)
    if marker is not None:
        assert not any(marker in body for body in bodies)
    if len(text.strip()) >= 12:  # shorter text ("the") can be part of the page's own prose
        assert not any(text.strip() in body for body in bodies)


def _echo_page():
    import streamlit as st

    st.text_area("t", key="text")
    st.markdown(st.session_state["text"])


def _static_html_page():
    import streamlit as st

    st.text_area("t", key="text")
    st.markdown("<i>static</i>", unsafe_allow_html=True)


@pytest.mark.parametrize("script", [_echo_page, _static_html_page])
def test_the_literal_check_catches_a_page_that_renders_user_text(script):
    app = AppTest.from_function(script, default_timeout=APP_TIMEOUT)
    app.session_state["text"] = "**bold** <b>x</b>"
    app.run()
    with pytest.raises(AssertionError):
        _assert_literal(app, "**bold** <b>x</b>")


MARKER = "zqxjvmarker"  # a word no page text contains: wherever it shows, the user's text is shown


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=80), TARGETED))
@example(text="<b>x</b> **bold** [a](javascript:alert(1)) \u202eevil\u202c")
@example(text="<script>alert(1)</script>")
def test_the_page_shows_any_text_literally_without_exceptions(page_env, text):
    typed = f"{text} {MARKER}"
    app = _run_page(typed)
    _assert_literal(app, typed, marker=MARKER)
    assert not any("empty" in warning.value for warning in app.warning)  # the marker is a word: not blank


@pytest.mark.parametrize("blank", ["", "   ", "\u200b\u200d\u202e", "\x00\x07\n\t"])
def test_blank_text_gets_a_clear_warning(page_env, blank):
    app = _run_page(blank)
    assert any("empty" in w.value and "type a sentence" in w.value for w in app.warning)
    assert not app.get("plotly_chart") or all(c.key.startswith("chart_compare") for c in app.get("plotly_chart"))


def test_a_long_paste_is_capped_with_a_visible_note(page_env):
    app = _run_page("great <b> " * 400)
    assert any("cut" in info.value for info in app.info)
    _assert_literal(app, "great <b> " * 400)


def test_markup_in_a_link_is_text(page_env):
    text = "<img src=x onerror=alert(1)> **bold**"
    app = _run_page(query={"text": text})
    _assert_literal(app, text)


@pytest.mark.parametrize("asked", ["../../etc", "/abs/path", "..", "sst2-gru/../../x", "models/sst2-gru",
                                   "%2e%2e%2fetc", "nope"])
def test_a_link_may_only_name_a_model_folder(page_env, asked):
    app = _run_page(query={"model": asked})
    assert app.radio(key="model").value == "sst2-gru"
    assert any("not in the models folder" in w.value for w in app.warning)
    assert not any(asked in body for body in _rendered_markdown(app))


def test_a_link_naming_a_model_folder_opens_it(page_env):
    app = _run_page(query={"model": "sst2-rnn"})
    assert app.radio(key="model").value == "sst2-rnn" and not app.warning


# ---- bring your own model: the template, and every broken upload ----

@pytest.fixture
def template(tmp_path):
    return write_template(tmp_path / "byo", words=WORDS, hidden_size=5, embed_dim=4)[0].parent


def _files(folder: Path) -> list[tuple[str, bytes]]:
    return [(name, (folder / name).read_bytes()) for name in MODEL_FILES]


def _replaced(folder, name, data) -> list[tuple[str, bytes]]:
    return [(n, data if n == name else d) for n, d in _files(folder)]


def test_the_template_uploads_and_reads_like_the_folder(template):
    uploaded, loaded = model_from_uploads(_files(template)[::-1]), load_model(template)
    texts = ["the movie is great", "I did n't love it <b>"]
    assert np.array_equal(uploaded.predict_proba(texts), loaded.predict_proba(texts))
    assert uploaded.name == "byo" and uploaded.path is None and uploaded.card["format"] == "gru-viz/1"


def test_the_template_command_prints_what_it_wrote(tmp_path, capsys):
    from gru_viz import cli

    vocab = tmp_path / "words.txt"
    vocab.write_text("Don't\nLOVE it\n")
    assert cli.main(["template", str(tmp_path / "t"), "--vocab", str(vocab), "--hidden-size", "3",
                     "--embed-dim", "2", "--arch", "rnn"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in MODEL_FILES) and "hidden 3" in printed
    model = load_model(tmp_path / "t")
    assert model.vocab.tokens == ["<pad>", "<unk>", "do", "n't", "love", "it"] and model.arch == "rnn"
    assert cli.main(["template", str(tmp_path / "t")]) == 2  # never over an existing model
    assert "already exists" in capsys.readouterr().err


def _pickle_payload(marker: Path) -> bytes:
    """Protocol-0 pickle that would create ``marker`` if anything ever unpickled it."""
    return f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()


def _torch_checkpoint(folder: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save(load_file(str(folder / "model.safetensors")), buffer)  # a real pickle-based checkpoint
    return buffer.getvalue()


def _card(folder: Path, **config) -> bytes:
    card = json.loads((folder / "card.json").read_text())
    card["config"].update(config)
    return json.dumps(card).encode()


def _weights(folder: Path, change) -> bytes:
    state = load_file(str(folder / "model.safetensors"))
    path = folder / "changed.safetensors"
    save_file(change(state), str(path))
    return path.read_bytes()


BROKEN_UPLOADS = {  # name: (files from the template folder, words the message must contain)
    "a fourth file": (lambda f: _files(f) + [("notes.txt", b"hi")], ["notes.txt", "exactly"]),
    "wrong name": (lambda f: [("weights.bin" if n == "model.safetensors" else n, d) for n, d in _files(f)],
                   ["weights.bin", "not part of a model"]),
    "missing file": (lambda f: _files(f)[:2], ["Missing card.json"]),
    "uploaded twice": (lambda f: _files(f) + _files(f)[:1], ["twice"]),
    "traversal": (lambda f: [("../card.json" if n == "card.json" else n, d) for n, d in _files(f)], ["folder"]),
    "absolute path": (lambda f: [("/etc/vocab.json" if n == "vocab.json" else n, d) for n, d in _files(f)],
                      ["folder"]),
    "windows path": (lambda f: [("..\\model.safetensors" if n == "model.safetensors" else n, d)
                                for n, d in _files(f)], ["folder"]),
    "dot dot": (lambda f: _files(f)[:2] + [("..", b"{}")], ["folder"]),
    "nul in name": (lambda f: [("card.json\x00.png" if n == "card.json" else n, d) for n, d in _files(f)],
                    ["folder"]),
    "empty file": (lambda f: _replaced(f, "vocab.json", b""), ["vocab.json is empty"]),
    "not pairs": (lambda f: ["model.safetensors", "vocab.json", "card.json"], ["pairs"]),
    "corrupt weights": (lambda f: _replaced(f, "model.safetensors", os.urandom(600)),
                        ["model.safetensors", "not a readable safetensors"]),
    "truncated weights": (lambda f: _replaced(f, "model.safetensors", (f / "model.safetensors").read_bytes()[:-9]),
                          ["model.safetensors", "not a readable safetensors"]),
    "torch checkpoint renamed": (lambda f: _replaced(f, "model.safetensors", _torch_checkpoint(f)),
                                 ["model.safetensors", "not a readable safetensors"]),
    "mis-shaped weights": (lambda f: _replaced(f, "card.json", _card(f, hidden_size=7)), ["shape", "card"]),
    "missing tensor": (lambda f: _replaced(f, "model.safetensors", _weights(
        f, lambda s: {k: v for k, v in s.items() if k != "head.weight"})), ["missing", "head.weight"]),
    "integer weights": (lambda f: _replaced(f, "model.safetensors", _weights(
        f, lambda s: {k: v.to(torch.int32) for k, v in s.items()})), ["not floating point"]),
    "infinite weights": (lambda f: _replaced(f, "model.safetensors", _weights(
        f, lambda s: {k: v.fill_(float("inf")) for k, v in s.items()})), ["NaN or infinite"]),
    "card not json": (lambda f: _replaced(f, "card.json", b"\xff\xfe{"), ["card.json", "JSON"]),
    "card nested too deep": (lambda f: _replaced(f, "card.json", b"[" * 200_000), ["card.json", "JSON"]),
    "vocab nested too deep": (lambda f: _replaced(f, "vocab.json", b'{"tokens": ' + b"[" * 200_000),
                              ["vocab.json"]),
    "vocab size differs": (lambda f: _replaced(f, "card.json", _card(f, vocab_size=999)), ["vocab_size"]),
    "unknown arch": (lambda f: _replaced(f, "card.json", _card(f, arch="lstm")), ["arch"]),
    "huge hidden size": (lambda f: _replaced(f, "card.json", _card(f, hidden_size=10**9)), ["hidden_size"]),
    "card too large": (lambda f: _replaced(f, "card.json", b" " * (2**20 + 1)), ["card.json", "1 MiB"]),
    "vocab too large": (lambda f: _replaced(f, "vocab.json", b" " * (16 * 2**20 + 1)), ["vocab.json", "16 MiB"]),
    "card name not text": (lambda f: _replaced(f, "card.json", json.dumps(
        {**json.loads((f / "card.json").read_text()), "name": {"x": 1}}).encode()), ["name"]),
}


@pytest.mark.parametrize("fault", sorted(BROKEN_UPLOADS))
def test_every_broken_upload_is_a_readable_value_error(template, fault, monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "uploads"))  # to see what is left behind
    (tmp_path / "uploads").mkdir()
    files, words = BROKEN_UPLOADS[fault]
    with pytest.raises(ValueError) as raised:
        model_from_uploads(files(template))
    message = str(raised.value)
    assert all(word in message for word in words), message
    assert "gru-viz-upload-" not in message and str(tmp_path) not in message  # no server paths
    assert len(message) <= 400 and "Traceback" not in message
    assert list((tmp_path / "uploads").iterdir()) == []  # the temporary folder is removed


def test_pickle_bytes_are_never_unpickled(template, tmp_path):
    marker = tmp_path / "pwned"
    for name in MODEL_FILES:
        with pytest.raises(ValueError):
            model_from_uploads(_replaced(template, name, _pickle_payload(marker)))
    assert not marker.exists()


def test_oversized_uploads_are_refused_before_reading(template):
    with pytest.raises(ValueError, match="larger than the limit of 1,000 bytes"):
        model_from_uploads(_files(template), max_bytes=1000)
    small = _files(template)
    with pytest.raises(ValueError, match="three files together"):
        model_from_uploads(small, max_bytes=sum(len(data) for _, data in small) - 1)
    huge = [("model.safetensors", bytes(MAX_UPLOAD_BYTES + 1))] + _files(template)[1:]
    with pytest.raises(ValueError, match="50 MiB"):
        model_from_uploads(huge)
    assert MAX_UPLOAD_BYTES <= MAX_WEIGHTS_BYTES


def test_a_hostile_card_allocates_nothing_before_its_shapes_are_checked(template, monkeypatch):
    """vocab_size × embed_dim from the card could ask for terabytes: the shapes are checked from the card's numbers
    (``model.parameter_shapes``) before any module is built."""
    built = []
    real = model_module.SentimentNet

    def spy(config):
        built.append(torch.empty(0).device.type)
        return real(config)

    monkeypatch.setattr(model_module, "SentimentNet", spy)
    vocab = json.dumps({"tokens": ["<pad>", "<unk>"] + [f"w{i}" for i in range(5000)]}).encode()
    files = [("vocab.json", vocab), ("card.json", _card(template, vocab_size=5002, embed_dim=4096)),
             ("model.safetensors", (template / "model.safetensors").read_bytes())]
    with pytest.raises(ValueError, match="shape"):
        model_from_uploads(files)
    assert built == []


def test_float8_weights_load_instead_of_crashing(template):
    data = _weights(template, lambda s: {k: v.to(torch.float8_e4m3fn) for k, v in s.items()})
    model = model_from_uploads(_replaced(template, "model.safetensors", data))
    assert np.isfinite(model.predict_proba(["the movie is great"])).all()


def test_a_long_card_name_is_shortened(template):
    card = json.dumps({**json.loads((template / "card.json").read_text()), "name": "x" * 500}).encode()
    model = model_from_uploads(_replaced(template, "card.json", card))
    assert len(model.name) <= 80
