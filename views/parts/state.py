"""What every page shares: the sentence and the model (kept across pages and in the link), cached loaders,
and the chart helper. Pages import this module; it only wires Streamlit to ``gru_viz``.

Session keys shared by the pages: ``text`` (the sentence), ``model`` (a folder name under models/, or
``UPLOADED``), ``uploaded`` (the model uploaded on *Your model*: (digest, SentimentModel)).
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import streamlit as st

from gru_viz import analysis, export, figures, paths, upload
from gru_viz.examples import SEED_PAIR
from gru_viz.model import load_model

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "sst2-gru"
DEFAULT_TEXT = SEED_PAIR[0]
PAGE_MAX_TOKENS = 300  # a 2,000-word paste is cut here: the page stays quick to draw and to read
URL_MAX_CHARACTERS = 2000  # longer text stays out of the link (browsers and proxies cap URL length)
UPLOADED = "your uploaded model"  # the model choice for a model uploaded in this session (never in the link)
# kept when a page does not draw their widgets
SHARED_KEYS = ("text", "model", "compare_b", "unit_field", "unit_scope", "unit_order")


def models_root() -> Path:
    """``$GRU_VIZ_MODELS``, else models/ beside app.py (this checkout's, whatever the working folder)."""
    try:
        return paths.default_models_root(start=ROOT)
    except ValueError:
        return ROOT / "models"


def model_folders(root: Path) -> list[str]:
    """Names of the model folders (those with a card.json); read on every run so a new one appears."""
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if (path / "card.json").is_file())


def _model_version(root: Path, name: str) -> int:
    """Changes when the folder's files change, so a retrained model replaces the cached one."""
    return sum(path.stat().st_mtime_ns for path in (root / name).iterdir() if path.is_file())


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load(root: str, name: str, version: int):
    return load_model(Path(root) / name)


def named_model(name: str):
    """(cache key, model) of a folder under models/; ``ValueError``/``OSError`` when it cannot be read."""
    root = models_root()
    key = (str(root), name, _model_version(root, name))
    return key, _load(*key)


@st.cache_resource(max_entries=4, show_spinner="Checking the uploaded model…")
def uploaded_model(digest: str, _files: tuple):
    """A model built from uploaded files, cached by the SHA-256 of their names and bytes."""
    return upload.model_from_uploads(list(_files))


def upload_digest(named: tuple) -> str:
    return hashlib.sha256(repr([(name, len(data), hashlib.sha256(data).hexdigest())
                                for name, data in named]).encode()).hexdigest()


def init_session() -> None:
    """Run first on every rerun (app.py): the link's ``?text=`` and ``?model=`` are read once per session;
    the shared keys are re-set so that a page which does not draw their widget keeps them."""
    state = st.session_state
    folders = model_folders(models_root())
    if "text" not in state:
        state["text"] = st.query_params.get("text", DEFAULT_TEXT)
    if "model" not in state:
        asked = st.query_params.get("model", DEFAULT_MODEL)
        fallback = DEFAULT_MODEL if DEFAULT_MODEL in folders else (folders or [DEFAULT_MODEL])[0]
        state["model"] = asked if asked in folders else fallback  # a folder name only, never a path
        if asked not in folders and "model" in st.query_params:  # the name is the link's: never echoed
            st.warning(f"The link names a model that is not in the models folder; showing {fallback} instead.")
    if state.get("model") == UPLOADED and state.get("uploaded") is None:
        state["model"] = DEFAULT_MODEL if DEFAULT_MODEL in folders else (folders or [DEFAULT_MODEL])[0]
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


def model_picker(container=st) -> None:
    folders = model_folders(models_root())
    options = folders + ([UPLOADED] if st.session_state.get("uploaded") is not None else [])
    # a radio, not a select box: the select box's three script chunks cost the first screen ~0.3 s in Chromium
    container.radio("Model", options, key="model",
                    help="sst2-gru is the GRU; sst2-rnn a vanilla RNN of the same size (no gates); "
                         "sst2-gru-noreset a GRU whose reset gate is always 1. Upload your own on *Your model*.")


def current_model():
    """(cache key, model) of the chosen model; stops the page with a message when there is none."""
    name = st.session_state.get("model", DEFAULT_MODEL)
    if name == UPLOADED and st.session_state.get("uploaded") is not None:
        digest, model = st.session_state["uploaded"]
        return ("upload", digest), model
    if not model_folders(models_root()):
        st.error(f"No model folders under {models_root()}. Train one: "
                 "python -m gru_viz.train --data data/sst2 --out models/sst2-gru")
        st.stop()
    try:
        return named_model(name)
    except (ValueError, OSError) as error:
        st.error(f"The model {name} could not be loaded:")
        st.text(str(error))  # the message may quote a file name: shown literally
        st.stop()


@st.cache_resource(max_entries=256, show_spinner=False)
def _trace(model_key: tuple, text: str, _model):
    return _model.trace(text, max_tokens=PAGE_MAX_TOKENS)


def trace(model_key: tuple, text: str, model):
    """The cached ``SentenceTrace`` of ``text`` (at most ``PAGE_MAX_TOKENS`` words); ``ValueError`` when the text
    reads as no words."""
    return _trace(model_key, text, _model=model)


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


def read_sentence(model_key: tuple, model, text: str):
    """The ``SentenceTrace`` of ``text`` (cached; immutable), or None after saying why (blank text)."""
    try:
        sentence = trace(model_key, text, model)
    except ValueError as error:  # blank text: the tokenizer says what to do
        st.warning(str(error))
        return None
    if sentence.note:
        st.info(f"{sentence.note} The page reads at most {PAGE_MAX_TOKENS} words so that a long paste stays usable.")
    unknown = sorted({token for token, known in zip(sentence.tokens, sentence.known) if not known})
    if unknown:  # st.text shows the words literally: no markdown, no HTML
        st.text("Words the model never saw in training (read as <unk>): " + ", ".join(unknown))
    return sentence


def chart(figure, key: str) -> None:
    """A Plotly chart whose camera button saves a PNG named after the chart; remembered for the HTML download."""
    remember_figure(key, figure)
    st.plotly_chart(figure, key=key, config=export.plotly_config(key.removeprefix("chart_")), theme=None)


def remember_figure(key: str, figure) -> None:
    """Offer ``figure`` (a ``go.Figure``, or a function that builds one when the download is asked for) in this
    run's HTML download (``figure_download``)."""
    st.session_state.setdefault("_page_figures", {})[key] = figure


def forget_figures() -> None:
    """End this run's list of charts without offering the download (a page whose download section is closed)."""
    st.session_state.pop("_page_figures", None)


def _figure_html(figure) -> bytes:
    return export.figure_to_html(figure() if callable(figure) else figure)


def memory_charts(stats, prefix: str) -> dict[str, int]:
    """The saturation and timescale charts of ``analysis.MemoryStatistics`` side by side (live on *Across the data
    set*, from an index in the corpus view); returns how many units carry each label."""
    left, right = st.columns(2)
    with left:
        chart(figures.saturation_figure(stats), f"chart_{prefix}saturation")
    with right:
        chart(figures.timescale_figure(stats.timescale, stats.labels), f"chart_{prefix}timescale")
    return {label: stats.labels.count(label) for label in ("integrator", "resetter", "fast", "mixed")}


def figure_download() -> None:
    """One HTML download of any chart drawn on this page in this run."""
    shown = st.session_state.pop("_page_figures", {})
    if not shown:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Save a chart as an interactive HTML page (each chart's camera button saves a PNG)",
                            sorted(shown), key="html_figure")
    right.download_button("Download HTML", partial(_figure_html, shown[chosen]), on_click="ignore",
                          file_name=f"{export.safe_file_stem(chosen, 'figure')}.html", mime="text/html",
                          key="download_html", width="stretch")


# ---- a sentence's split of the verdict over words and units, once per (model, sentence) ----


@st.cache_resource(max_entries=256, show_spinner=False)
def _unit_changes(model_key: tuple, text: str, _sentence):
    return analysis.sentence_logit_changes(_sentence)


def unit_changes(model_key: tuple, text: str, sentence):
    """(T, H) the exact change of the logit by word and unit (``analysis.sentence_logit_changes``)."""
    return _unit_changes(model_key, text, _sentence=sentence)


def ranked_units(model_key: tuple, model, text: str):
    """The units by their share of ``text``'s verdict (H,), or None when the text cannot be read; says nothing."""
    try:
        sentence = trace(model_key, text, model)
    except ValueError:
        return None
    return analysis.rank_units(unit_changes(model_key, text, sentence))
