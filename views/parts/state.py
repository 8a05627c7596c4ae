"""The sentence and the model every page shares: kept in the session across pages and written into the link
(``?text=``, ``?model=``), and the sentence box and model picker the pages open with.

Session keys shared by the pages: ``text`` (the sentence), ``model`` (a folder name under models/, or
``UPLOADED``), ``uploaded`` (the model uploaded on *Your model*: (digest, SentimentModel)), ``compare_b`` (the
second sentence of *Compare & intervene*).
"""

from __future__ import annotations

import streamlit as st

from gru_viz import paths
from gru_viz.examples import SEED_PAIR
from views.parts import caches

DEFAULT_MODEL = paths.DEFAULT_MODEL
DEFAULT_TEXT = SEED_PAIR[0]
URL_MAX_CHARACTERS = 2000  # longer text stays out of the link (browsers and proxies cap URL length)
UPLOADED = "your uploaded model"  # the model choice for a model uploaded in this session (never in the link)
# kept when a page does not draw their widgets
SHARED_KEYS = ("text", "model", "compare_b", "unit_field", "unit_scope", "unit_order")


def _fallback_model(folders: list[str]) -> str:
    return DEFAULT_MODEL if DEFAULT_MODEL in folders else (folders or [DEFAULT_MODEL])[0]


def init_session() -> None:
    """Run first on every rerun (app.py): the link's ``?text=`` and ``?model=`` are read once per session;
    the shared keys are re-set so that a page which does not draw their widget keeps them."""
    state = st.session_state
    folders = caches.model_folders(caches.models_root())
    if "text" not in state:
        state["text"] = st.query_params.get("text", DEFAULT_TEXT)
    if "model" not in state:
        asked = st.query_params.get("model", DEFAULT_MODEL)
        state["model"] = asked if asked in folders else _fallback_model(folders)  # a folder name only, never a path
        if asked not in folders and "model" in st.query_params:  # the name is the link's: never echoed
            st.warning(f"The link names a model that is not in the models folder; showing {state['model']} instead.")
    if state.get("model") == UPLOADED and state.get("uploaded") is None:
        state["model"] = _fallback_model(folders)
    if "compare_b" not in state:
        state["compare_b"] = SEED_PAIR[1]
    for key in SHARED_KEYS:  # Streamlit forgets a widget's value on a page that does not draw it
        if key in state:
            state[key] = state[key]


def write_link() -> None:
    """The sentence and the model into the link, so that any page can be shared (an upload never is)."""
    text, model = st.session_state.get("text", ""), st.session_state.get("model", DEFAULT_MODEL)
    if len(text) <= URL_MAX_CHARACTERS:
        if st.query_params.get("text") != text:
            st.query_params["text"] = text
    else:
        st.query_params.pop("text", None)
    if model in (DEFAULT_MODEL, UPLOADED):
        st.query_params.pop("model", None)
    elif st.query_params.get("model") != model:
        st.query_params["model"] = model


def model_choices() -> list[str]:
    """The models a reader can choose: the folders under models/, then this session's upload if there is one."""
    folders = caches.model_folders(caches.models_root())
    return folders + ([UPLOADED] if st.session_state.get("uploaded") is not None else [])


def model_by_choice(name: str):
    """(cache key, model) of one of ``model_choices()``; ``ValueError``/``OSError`` when a folder cannot be read."""
    if name == UPLOADED and st.session_state.get("uploaded") is not None:
        digest, model = st.session_state["uploaded"]
        return ("upload", digest), model
    return caches.named_model(name)


def model_picker(container=st) -> None:
    options = model_choices()
    # a radio, not a select box: the select box's three script chunks cost the first screen ~0.3 s in Chromium
    container.radio("Model", options, key="model",
                    help="sst2-gru is the GRU; sst2-rnn a vanilla RNN of the same size (no gates); "
                         "sst2-gru-noreset a GRU whose reset gate is always 1. Upload your own on *Your model*.")


def current_model():
    """(cache key, model) of the chosen model; stops the page with a message when there is none."""
    name = st.session_state.get("model", DEFAULT_MODEL)
    if name == UPLOADED and st.session_state.get("uploaded") is not None:
        return model_by_choice(name)
    if not caches.model_folders(caches.models_root()):
        st.error(f"No model folders under {caches.models_root()}. Train one: "
                 "python -m gru_viz.train --data data/sst2 --out models/sst2-gru")
        st.stop()
    try:
        return caches.named_model(name)
    except (ValueError, OSError) as error:
        st.error(f"The model {name} could not be loaded:")
        st.text(str(error))  # the message may quote a file name: shown literally
        st.stop()


def read_sentence(model_key: tuple, model, text: str):
    """The ``SentenceTrace`` of ``text`` (cached; immutable), or None after saying why (blank text)."""
    try:
        sentence = caches.trace(model_key, text, model)
    except ValueError as error:  # blank text: the tokenizer says what to do
        st.warning(str(error))
        return None
    if sentence.note:
        st.info(f"{sentence.note} The page reads at most {caches.PAGE_MAX_TOKENS} words so that a long paste stays "
                f"usable.")
    unknown = sorted({token for token, known in zip(sentence.tokens, sentence.known) if not known})
    if unknown:  # st.text shows the words literally: no markdown, no HTML
        st.text("Words the model never saw in training (read as <unk>): " + ", ".join(unknown))
    return sentence


def sentence_header():
    """The sentence box and model picker the inner pages open with: (model_key, model, text, sentence). Stops
    the page, after its message, when the text reads as no words."""
    model_key, model = current_model()
    typing, side = st.columns([3, 1])
    typing.text_area("Sentence", key="text", height=68, help="The same sentence on every page; Ctrl+Enter applies it.")
    with side:
        model_picker()
    text = st.session_state["text"]
    sentence = read_sentence(model_key, model, text)
    if sentence is None:
        st.stop()
    return model_key, model, text, sentence
