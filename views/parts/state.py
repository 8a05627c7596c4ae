"""The sentence and the model every page shares: kept in the session across pages and written into the link
(``?text=``, ``?model=``, ``?b=``, and for a model of several layers or two directions ``?layer=`` and
``?direction=``), and the sentence box, model picker and layer/direction picker the pages open with.

Session keys shared by the pages: ``text`` (the sentence), ``model`` (a folder name under models/, or
``UPLOADED``), ``uploaded`` (the model uploaded on *Your model*: (digest, SentimentModel)), ``compare_b`` (the
second sentence of *Compare & intervene*), ``layer`` (1 … L from the bottom) and ``direction`` ("forward" or
"backward"): the layer and direction every view that draws gates shows (default: the top layer, forward).

The link holds what a reader typed or chose that the page cannot make again: the sentence, the model (a folder
name, checked against the models folder), sentence B, and the layer and direction; the page itself is the link's
path. So a shared link, or a reload after the server restarts, shows the same numbers. An upload never enters the
link: it lives in the session only. Everything else (open sections, toggles, the unit and word chosen in a view)
is the session's and starts from the page's default in a new one.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from gru_viz import paths
from gru_viz.corpus import parse_unit
from gru_viz.examples import SEED_PAIR
from gru_viz.model import DIRECTIONS
from views.parts import caches, first_screen

DEFAULT_MODEL = paths.DEFAULT_MODEL
DEFAULT_TEXT, DEFAULT_B = SEED_PAIR
URL_MAX_CHARACTERS = 2000  # longer text stays out of the link (browsers and proxies cap URL length)
UPLOADED = "your uploaded model"  # the model choice for a model uploaded in this session (never in the link)
NO_UNIT_SPLIT = ("For this model's shape and view, the middle row is the difference of each prefix's logit (the model "
                 "run on each prefix); it splits by unit only for a one-direction \"last\" readout at its top layer, "
                 "so the units are shown by index, without shares.")
UPLOAD_NOTE = ("Uploads live in this session's memory only: never kept on the server's disk or put in a link, and "
               "gone when the server restarts (upload the file again then).")  # shown under every uploader
# kept when a page does not draw their widgets
SHARED_KEYS = ("text", "model", "compare_b", "unit_field", "unit_scope", "unit_order", "layer", "direction",
               "unit_number")
UNIT_KEY = "unit_number"  # the unit page's unit, 0-based as every "unit N" label in the app
DEFAULT_UNIT = 0  # the unit the unit page opens on without ?unit=


KEPT_NOTICES = "_kept_link_notices"  # what a link's notices say, until the page they belong to is drawn whole


def link_notice(key: str, kind: str, message: str) -> None:
    """Say ``message`` about the link (``kind``: "error" or "warning"). A link is read once a session, in a run that
    may end after the page's first screen (``first_screen``): the notice is kept, under ``key``, for the run that
    draws the page whole (``kept_link_notice``), so it does not vanish a moment after it appeared."""
    getattr(st, kind)(message)
    if not st.session_state.get(first_screen.WHOLE_PAGES_KEY):
        st.session_state.setdefault(KEPT_NOTICES, {})[key] = (kind, message)


def kept_link_notice(key: str) -> None:
    """Say again the notice ``link_notice`` kept under ``key``, once, in the first run that draws pages whole."""
    kept = st.session_state.get(KEPT_NOTICES)
    if kept and key in kept and st.session_state.get(first_screen.WHOLE_PAGES_KEY):
        kind, message = kept.pop(key)
        getattr(st, kind)(message)


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
            link_notice("model", "warning", f"The link names a model that is not in the models folder; showing "
                                            f"{state['model']} instead.")
    else:
        kept_link_notice("model")
    if state.get("model") == UPLOADED and state.get("uploaded") is None:
        state["model"] = _fallback_model(folders)
    if "compare_b" not in state:
        state["compare_b"] = st.query_params.get("b", DEFAULT_B)
    if "layer" not in state:  # checked against the model's layers when it is loaded (current_model)
        asked = st.query_params.get("layer", "")
        state["layer"] = int(asked) if asked.isdecimal() and len(asked) <= 2 else None
    if "direction" not in state:
        asked = st.query_params.get("direction")
        state["direction"] = asked if asked in DIRECTIONS else DIRECTIONS[0]
    for key in SHARED_KEYS:  # Streamlit forgets a widget's value on a page that does not draw it
        if key in state:
            state[key] = state[key]


def _write_text(key: str, text: str, default: str | None = None) -> None:
    if len(text) <= URL_MAX_CHARACTERS and text != default:
        if st.query_params.get(key) != text:
            st.query_params[key] = text
    else:
        st.query_params.pop(key, None)


def write_link() -> None:
    """The sentences and the model into the link, so that any page can be shared (an upload never is)."""
    text, model = st.session_state.get("text", ""), st.session_state.get("model", DEFAULT_MODEL)
    _write_text("text", text)
    _write_text("b", st.session_state.get("compare_b", DEFAULT_B), default=DEFAULT_B)
    if model in (DEFAULT_MODEL, UPLOADED):
        st.query_params.pop("model", None)
    elif st.query_params.get("model") != model:
        st.query_params["model"] = model
    view = st.session_state.get("_view_shown")  # (layer, direction) of a model with a choice; None otherwise
    for name, value in zip(("layer", "direction"), view or (None, None)):
        if value is None:
            st.query_params.pop(name, None)
        elif st.query_params.get(name) != str(value):
            st.query_params[name] = str(value)


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
                         "sst2-gru-noreset a GRU whose reset gate is always 1. Upload your own on *Your model* (any "
                         "number of layers or directions: pick a layer beside it).")


def current_model():
    """(cache key, model) of the chosen model; stops the page with a message when there is none. For a model of
    several layers or two directions the key ends with the chosen view, so every cached chart follows it."""
    key, model = _chosen_model()
    view = _checked_view(model)
    st.session_state["_view_shown"] = view
    return (key if view is None else (*key, "view", *view)), model


def _chosen_model():
    name = st.session_state.get("model", DEFAULT_MODEL)
    if name == UPLOADED and st.session_state.get("uploaded") is not None:
        return model_by_choice(name)
    if not caches.model_folders(caches.models_root()):  # where the server looks is its own business: not named
        st.error("This server has no model folders. Train one: "
                 "python -m gru_viz.train --data data/sst2 --out models/sst2-gru")
        st.stop()
    try:
        return caches.named_model(name)
    except (ValueError, OSError) as error:
        st.error(f"The model {name} could not be loaded:")
        # the message may quote a file name (shown literally) and the server's folders (shown by name only)
        st.text(paths.public_message(error, {caches.models_root(): "models"}))
        st.stop()


def _checked_view(model) -> tuple[int, str] | None:
    """The session's (layer 1 … L, direction) made valid for ``model`` (default: the top layer, forward); None when
    the model has one layer and one direction, so nothing is picked."""
    layers, directions = model.num_layers, DIRECTIONS[:model.num_directions]
    if layers == 1 and len(directions) == 1:
        return None
    state = st.session_state
    if state.get("layer") not in range(1, layers + 1):
        state["layer"] = layers
    if state.get("direction") not in directions:
        state["direction"] = directions[0]
    return state["layer"], state["direction"]


def view_picker(model, container=st) -> None:
    """The layer and direction the gates are drawn for; shown only for a model with a choice."""
    if _checked_view(model) is None:
        return
    layers = model.num_layers
    # one under the other: side by side, an 800 px page cuts the layer's name; a choice of one is not drawn
    if layers > 1:
        names = {1: "1 (bottom)", layers: f"{layers} (top)"}
        container.selectbox("Layer", list(range(1, layers + 1)), key="layer",
                            format_func=lambda k: names.get(k, str(k)),
                            help="Counted from the bottom: layer 1 reads the words, the top layer feeds the "
                                 "classifier.")
    if model.num_directions > 1:
        container.radio("Direction", list(DIRECTIONS), key="direction", horizontal=True,
                        help="The backward direction reads the sentence from its last word; its values stay at the "
                             "word they belong to.")


def shown(sentence):
    """``sentence`` seen at the session's layer and direction (the top layer, forward, by default)."""
    view = st.session_state.get("_view_shown")
    if view is None or sentence.num_layers == 1 and sentence.num_directions == 1:
        return sentence
    return sentence.at(view[0] - 1, DIRECTIONS.index(view[1]))


def read_sentence(model_key: tuple, model, text: str):
    """The ``SentenceTrace`` of ``text`` (cached; immutable), or None after saying why (blank text)."""
    try:
        sentence = shown(caches.trace(model_key, text, model))
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
        view_picker(model)
    text = st.session_state["text"]
    sentence = read_sentence(model_key, model, text)
    if sentence is None:
        st.stop()
    return model_key, model, text, sentence


def page_link_url(page: str, **params) -> str:
    """A relative link to another page of the app with its query parameters, e.g. ``read?text=…&model=…``;
    the values are URL-encoded here, and the page escapes the whole link where it writes HTML."""
    return f"{page}?{urlencode(params)}"


def unit_link(unit: int, model_name: str) -> str:
    """The unit page of ``unit`` (0-based, as the labels say) for the model ``model_name``."""
    return page_link_url("unit", unit=int(unit), model=model_name)


def unit_from_link(units: int) -> int:
    """The unit page's unit: ``?unit=N`` (0-based) when the link names one it has not read yet, else the box's
    value. A link that names no unit of this model is one message and unit 0; its text is never echoed."""
    state = st.session_state
    asked = st.query_params.get("unit")
    if asked is not None and asked != state.get("_unit_link"):
        state["_unit_link"] = asked
        try:
            state[UNIT_KEY] = parse_unit(asked, units)
        except ValueError as error:
            state[UNIT_KEY] = DEFAULT_UNIT
            link_notice("unit", "error", f"The link's unit is not a unit of this model ({error}); showing unit "
                                         f"{DEFAULT_UNIT}.")
    else:
        kept_link_notice("unit")
    if not isinstance(state.get(UNIT_KEY), int) or not 0 <= state[UNIT_KEY] < units:
        state[UNIT_KEY] = DEFAULT_UNIT  # a model with fewer units was chosen
    return state[UNIT_KEY]


def write_unit_link(unit: int) -> None:
    """The unit into the link, so the page can be shared; remembered so it is not read back as a new link."""
    if st.query_params.get("unit") != str(unit):
        st.query_params["unit"] = str(unit)
    st.session_state["_unit_link"] = str(unit)
