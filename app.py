"""gru-viz: type a sentence, watch a trained GRU read it.  ``streamlit run app.py``

The page runs top to bottom: cached loaders, the query string read once into keyed widgets (and written
back when they change), then one section per view. Numbers come from ``gru_viz.page_data`` and figures
from ``gru_viz.figures``; this file only wires widgets to them. Model folders are listed from ``models/``
next to this file, or from the folder named by the environment variable GRU_VIZ_MODELS (the tests use it).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz import analysis, export, figures, figures_analysis, paths, upload
from gru_viz.examples import EXAMPLES, SEED_PAIR
from gru_viz.model import SentenceTrace, load_model
from gru_viz.text import parse_labelled_tsv

MODELS_DIR = Path(os.environ.get("GRU_VIZ_MODELS") or Path(__file__).resolve().parent / "models")
DEFAULT_MODEL = "sst2-gru"
DEFAULT_TEXT = SEED_PAIR[0]
PAGE_MAX_TOKENS = 300  # a 2,000-word paste is cut here: the page stays quick to draw and to read
URL_MAX_CHARACTERS = 2000  # longer text stays out of the link (browsers and proxies cap URL length)
DATA_PATH = paths.default_data_file("val", start=Path(__file__).resolve().parent)  # $GRU_VIZ_DATA or data/sst2
DATASET_ROWS = 872  # data-set sections read the first rows only: the size of GLUE's SST-2 dev set, ~1 s a view
FLOW_SENTENCES = 400  # the data-set gradient flow (two models, O(T·H³) per sentence) reads fewer still
FLOW_MIN_COUNT = 10  # distances from the end reached by fewer sentences are left out: a noisy tail
UPLOAD_MAX_MB = 1  # ~10,000 sentences: far more than the page reads
TOP_K = 10  # contexts shown by the unit search, one per sentence
TOP_POOL = 50 * TOP_K  # the strongest words searched for them: a saturated unit fills many words of one sentence
FLIP_EXAMPLES = 5  # sentences shown whose verdict the reset gate decides
GRU_NAME, RNN_NAME = "sst2-gru", "sst2-rnn"  # the pair the gradient-flow section compares
UPLOADED = "your uploaded model"  # the model choice for a model uploaded in this session (never in the link)
MODE_LABELS = {"free": "free (as trained)", "vanilla-RNN mode": "vanilla-RNN mode (r ≡ 1, z ≡ 0)",
               "frozen memory": "frozen memory (z ≡ 1)", "custom": "custom"}

GRU_EQUATIONS = r"""
\begin{aligned}
r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset gate} \\
z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update gate} \\
n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) && \text{candidate} \\
h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t && \text{hidden state}
\end{aligned}
"""

st.set_page_config(page_title="gru-viz: watch a GRU read", layout="wide",
                   initial_sidebar_state="collapsed")  # the sidebar holds only the model upload


# ---- cached loaders: the model once per process, views and figures once per (model, text, settings) ----


def model_folders(models_dir: Path) -> list[str]:
    """Names of the model folders (those with a card.json); read on every run so a new one appears."""
    if not models_dir.is_dir():
        return []
    return sorted(path.name for path in models_dir.iterdir() if (path / "card.json").is_file())


def model_version(models_dir: Path, name: str) -> int:
    """Changes when the folder's files change, so a retrained model replaces the cached one."""
    return sum(path.stat().st_mtime_ns for path in (models_dir / name).iterdir() if path.is_file())


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def get_model(models_dir: str, name: str, version: int):
    return load_model(Path(models_dir) / name)


@st.cache_resource(max_entries=4, show_spinner="Checking the uploaded model…")
def get_uploaded_model(digest: str, _files: tuple):
    """A model built from uploaded files, cached by the SHA-256 of their names and bytes."""
    return upload.model_from_uploads(list(_files))


@st.cache_data(max_entries=256, show_spinner=False)
def get_view(model_key: tuple, text: str, _model) -> SentenceTrace:
    return _model.trace(text, max_tokens=PAGE_MAX_TOKENS)


# Figures are cached as resources: st.cache_data would unpickle them on every hit, and unpickling
# re-validates a Plotly figure (~30 ms each), slower than building it. Nothing mutates a cached figure.
@st.cache_resource(max_entries=32, show_spinner=False)
def get_gate_figures(model_key: tuple, text: str, order_method: str, _view):
    return figures.sentence_gate_figures(_view, analysis.unit_order(_view, order_method))


@st.cache_resource(max_entries=32, show_spinner=False)
def get_trajectory_figures(model_key: tuple, text: str, _view, _card):
    """(figures, what the PCA basis was fitted on)."""
    basis = analysis.projection_basis(_card, _view.path)
    return figures.sentence_trajectory_figures(_view, basis), basis.source


@st.cache_resource(max_entries=32, show_spinner=False)
def get_unit_lines(model_key: tuple, text: str, units: tuple, _view):
    return figures.unit_lines_figure(_view.hidden, _view.tokens, list(units))


@st.cache_resource(max_entries=32, show_spinner=False)
def get_reading_figures(model_key: tuple, text: str, _view):
    return figures.sentence_reading_figures(_view)


@st.cache_resource(max_entries=16, show_spinner=False)
def get_compare_figures(model_key: tuple, texts: tuple, order_method: str, _views, _card):
    basis = analysis.projection_basis(_card, np.vstack([view.path for view in _views]))
    return figures.compare_figures(_views, basis, analysis.unit_order(_views, order_method))


@st.cache_data(max_entries=64, show_spinner="Reading the sentence with the gates forced…")
def get_intervention(model_key: tuple, text: str, setting: tuple, _model) -> SentenceTrace:
    """The sentence read under one clamp setting (mode, gate, value, units, words). The setting is part of
    the cache key and lives in each session's widgets, so sessions never see each other's clamps; the
    clamps go through ``model.trace`` and never touch the cached model."""
    mode, gate, value, units, words = setting
    steps = len(_model.tokenize(text, PAGE_MAX_TOKENS)[0].tokens)
    clamps = analysis.intervention_clamps(mode, steps, _model.gru.hidden_size, gate=gate or "update",
                                           value=1.0 if value is None else value, chosen_units=units, words=words)
    return _model.trace(text, max_tokens=PAGE_MAX_TOKENS, **clamps)


@st.cache_resource(max_entries=32, show_spinner=False)
def get_intervention_figures(model_key: tuple, text: str, setting: tuple, order_method: str, _free, _clamped,
                             _card):
    gate = setting[1] or "update"  # the clamped gate; the global modes both clamp z
    order = analysis.unit_order(_free, order_method)
    basis = analysis.projection_basis(_card, np.vstack([_free.path, _clamped.path]))
    paths = [figures.sentence_path(_free, basis, "free"), figures.sentence_path(_clamped, basis, "clamped")]
    title = figures.GATES[gate].title
    return {"free_gate": figures.gate_heatmap(getattr(_free, gate), _free.tokens, order, gate=gate,
                                              title=f"free: {title}"),
            "clamped_gate": figures.gate_heatmap(getattr(_clamped, gate), _clamped.tokens, order, gate=gate,
                                                 title=f"clamped: {title}"),
            "trajectory": figures.trajectory_figure(paths, dims=2, explained=basis.explained,
                                                    title="free and clamped paths in the same space"),
            "probability": figures_analysis.probability_comparison_figure(_free.tokens, _free.probability,
                                                                          _clamped.probability),
            "hidden_change": figures_analysis.difference_heatmap(_free.tokens, _free.hidden, _clamped.hidden,
                                                                 field="hidden", units=order)}


@st.cache_data(max_entries=64, show_spinner="Following the gradient back through both networks…")
def get_sentence_flow(model_key: tuple, text: str, _model) -> np.ndarray:
    return analysis.sentence_gradient_flow(_model, text, max_tokens=PAGE_MAX_TOKENS)


@st.cache_data(max_entries=8, show_spinner=False)
def read_labelled_file(path: str, version: tuple) -> tuple[list[str], list[int]]:
    return parse_labelled_tsv(Path(path).read_bytes(), Path(path).name)


@st.cache_data(max_entries=8, show_spinner=False)
def read_labelled_upload(data: bytes, name: str) -> tuple[list[str], list[int]]:
    return parse_labelled_tsv(data, name)


@st.cache_data(max_entries=8, show_spinner="Averaging the gradient flow over the data set…")
def get_dataset_flow(model_key: tuple, data_key: tuple, _model, _texts: tuple):
    return analysis.dataset_gradient_flow(_model.gru, analysis.embed_texts(_model, list(_texts)))


@st.cache_data(max_entries=8, show_spinner="Reading the data set four times, with and without the gates…")
def get_ablation(model_key: tuple, data_key: tuple, _model, _texts: tuple) -> dict:
    return analysis.ablation_probabilities(_model, list(_texts))


@st.cache_data(max_entries=8, show_spinner="Counting how every unit uses its gates…")
def get_memory_statistics(model_key: tuple, data_key: tuple, _model, _texts: tuple):
    return analysis.memory_statistics(_model, list(_texts))


@st.cache_data(max_entries=64, show_spinner="Searching the data set…")
def get_top_activations(model_key: tuple, data_key: tuple, unit: int, field: str, largest: bool, k: int, pool: int,
                        _model, _texts: tuple):
    hits = analysis.top_activations(_model, list(_texts), unit, k=pool, field=field, largest=largest)
    return analysis.one_per_sentence(hits, k)


@st.cache_resource(max_entries=16, show_spinner=False)
def get_memory_figures(model_key: tuple, data_key: tuple, _stats):
    return {"saturation": figures_analysis.saturation_figure(_stats),
            "timescale": figures_analysis.timescale_figure(_stats.timescale, _stats.labels)}


@dataclass(frozen=True)
class DataSet:
    """Labelled sentences for the data-set sections: ``key`` identifies the content for the caches."""

    texts: tuple
    labels: tuple
    key: tuple
    description: str  # shown under every view computed from it


def shown_name(name: str, limit: int = 60) -> str:
    """An uploaded file's name as the page may write it in markdown: letters, digits, '.' and '-' only
    (the name is the user's; '*', '[', '<', ':' and the like would be read as markup)."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in name)[:limit] or "file"


def labelled_data(uploaded) -> tuple[DataSet | None, str | None]:
    """The uploaded TSV if there is one, else the validation file; (None, why) when neither is usable."""
    if uploaded is not None:
        name = shown_name(uploaded.name)
        if uploaded.size > UPLOAD_MAX_MB * 2**20:
            return None, f"{name} is larger than {UPLOAD_MAX_MB} MB; upload a shorter file."
        data = uploaded.getvalue()
        try:
            texts, labels = read_labelled_upload(data, name)
        except ValueError as error:
            return None, f"The uploaded file cannot be used: {error}"
        key = ("upload", hashlib.sha256(data).hexdigest())
        source = f"the uploaded file {name}"
    else:
        if not DATA_PATH.is_file():
            return None, (f"The validation data is not at `{DATA_PATH}`. Put the SST-2 val.tsv there, set the "
                          f"environment variable `GRU_VIZ_DATA` to its path, or upload a TSV under "
                          f"'Why a reset gate?'.")
        stat = DATA_PATH.stat()
        try:
            texts, labels = read_labelled_file(str(DATA_PATH), (stat.st_mtime_ns, stat.st_size))
        except (ValueError, OSError) as error:
            return None, f"The validation data at `{DATA_PATH}` cannot be read: {error}"
        key = ("file", str(DATA_PATH), stat.st_mtime_ns, stat.st_size)
        source = f"the validation file {DATA_PATH.name}"
    rows = min(len(texts), DATASET_ROWS)
    description = (f"{rows:,} sentences: " + (f"all of {source}" if rows == len(texts) else
                   f"the first {rows:,} of the {len(texts):,} in {source}, so that the view stays quick"))
    return DataSet(tuple(texts[:rows]), tuple(labels[:rows]), key + (rows,), description), None


def load_named_model(name: str):
    """(cache key, model) of a model folder, for the sections that compare two models."""
    key = (str(MODELS_DIR), name, model_version(MODELS_DIR, name))
    return key, get_model(*key)


def use_example(text: str) -> None:
    st.session_state["text"] = text


def chart(figure, key: str) -> None:
    """A Plotly chart whose camera button saves a PNG named after the chart."""
    shown_figures[key.removeprefix("chart_")] = figure
    st.plotly_chart(figure, key=key, config=export.plotly_config(key.removeprefix("chart_")))


def uploaded_model():
    """(digest, model) of the model uploaded in the sidebar, or (None, None); faults shown as plain text.
    The outcome is kept in the session per set of uploaded files, so reruns neither re-read nor re-check them."""
    files = st.session_state.get("model_upload") or []
    if not files:
        return None, None
    upload_id = tuple(file.file_id for file in files)
    outcome = st.session_state.get("model_upload_outcome")
    if outcome is None or outcome[0] != upload_id:
        named = tuple((file.name, file.getvalue()) for file in files)
        digest = hashlib.sha256(repr([(name, len(data), hashlib.sha256(data).hexdigest())
                                      for name, data in named]).encode()).hexdigest()
        try:
            outcome = (upload_id, digest, get_uploaded_model(digest, _files=named), None)
        except ValueError as error:
            outcome = (upload_id, None, None, str(error))
        st.session_state["model_upload_outcome"] = outcome
    _, digest, model, problem = outcome
    if problem is not None:  # the message may quote the user's file: shown literally, never as markdown
        st.sidebar.error("That model cannot be used:")
        st.sidebar.text(problem)
    return digest, model


shown_figures: dict = {}  # this run's figures by name, for the HTML download


# ---- bring your own model (sidebar) ----

with st.sidebar:
    st.subheader("Your own model")
    st.caption("Upload the three files of a model folder — model.safetensors, vocab.json and card.json — for "
               f"any classifier of this project's shape (up to {upload.MAX_UPLOAD_BYTES // 2**20} MB; format in "
               "the README; `python -m gru_viz template my-model` writes one). Weights are read with "
               "safetensors only, so no code in a file can run. The model stays in your session.")
    # no type= filter: Streamlit would raise on another extension; upload.py refuses other names in words
    st.file_uploader("Model files", accept_multiple_files=True,
                     key="model_upload", max_upload_size=upload.MAX_UPLOAD_BYTES // 2**20)
upload_digest, upload_model = uploaded_model()
if upload_model is not None:
    st.sidebar.success("Loaded; choose it under Model.")
    st.sidebar.text(f"{upload_model.name}: {upload_model.arch}, {upload_model.config.hidden_size} units, "
                    f"{upload_model.config.vocab_size:,} words")

# ---- query string, read once into the widgets ----

folders = model_folders(MODELS_DIR)
if not folders:
    st.error(f"No model folders under {MODELS_DIR}. Train one: "
             "python -m gru_viz.train --data data/sst2 --out models/sst2-gru")
    st.stop()
if "text" not in st.session_state:
    st.session_state["text"] = st.query_params.get("text", DEFAULT_TEXT)
if "model" not in st.session_state:
    asked = st.query_params.get("model", DEFAULT_MODEL)
    fallback = DEFAULT_MODEL if DEFAULT_MODEL in folders else folders[0]
    st.session_state["model"] = asked if asked in folders else fallback  # a folder name only, never a path
    if asked not in folders and "model" in st.query_params:
        st.warning(f"The link names a model that is not in the models folder; showing {fallback} instead.")
if "compare_a" not in st.session_state:
    st.session_state["compare_a"], st.session_state["compare_b"] = SEED_PAIR

# ---- title and input ----

st.title("gru-viz: watch a GRU read your sentence")
st.markdown("Type a sentence and see a small GRU, trained on movie-review sentiment (SST-2), read it word by "
            "word: its update and reset gates, the path of its memory, and its verdict forming. Hover over "
            "any figure for the exact numbers.")

typing, settings = st.columns([3, 1])
with typing:
    st.text_area("Your sentence", key="text", height=90,
                 help=f"Any text; the page reads the first {PAGE_MAX_TOKENS} words.")
    st.caption("Examples:")
    for column, (index, example) in zip(st.columns(len(EXAMPLES)), enumerate(EXAMPLES)):
        column.button(example.label, key=f"example_{index}", help=example.why, on_click=use_example,
                      args=(example.text,), width="stretch")
with settings:
    if st.session_state.get("model") == UPLOADED and upload_model is None:
        st.session_state["model"] = DEFAULT_MODEL if DEFAULT_MODEL in folders else folders[0]
    st.selectbox("Model", folders + ([UPLOADED] if upload_model is not None else []), key="model",
                 help="sst2-gru is the GRU; sst2-rnn is a vanilla RNN baseline of the same size (no gates). "
                      "To read with your own model, upload it in the sidebar (the » at the top left).")
    st.radio("Unit order (rows of every heatmap)", analysis.UNIT_ORDERS, key="unit_order", horizontal=True,
             help="index: 0, 1, 2, …; mean z: the units that keep their memory most on top; clustered: "
                  "units that behave alike next to each other.")

text, model_name = st.session_state["text"], st.session_state["model"]
if len(text) <= URL_MAX_CHARACTERS:
    if st.query_params.get("text") != text:
        st.query_params["text"] = text
else:
    st.query_params.pop("text", None)
    st.caption(f"The text is longer than {URL_MAX_CHARACTERS:,} characters, so it is not put in the link.")
if model_name in (DEFAULT_MODEL, UPLOADED):  # an upload is private to the session: never in the link
    st.query_params.pop("model", None)
elif st.query_params.get("model") != model_name:
    st.query_params["model"] = model_name

if model_name == UPLOADED:
    model, model_key = upload_model, ("upload", upload_digest)
else:
    try:
        model_key, model = load_named_model(model_name)
    except (ValueError, OSError) as error:
        st.error(f"The model {model_name} could not be loaded: {error}")
        st.stop()
order_method = st.session_state["unit_order"]
is_gru = model.arch == "gru"

try:
    view = get_view(model_key, text, _model=model)
except ValueError as error:  # blank text: the tokenizer says what to do
    view = None
    st.warning(str(error))

if view is not None:
    if view.note:
        st.info(f"{view.note} The page reads at most {PAGE_MAX_TOKENS} words so that a long paste stays usable.")
    unknown = sorted({token for token, known in zip(view.tokens, view.known) if not known})
    if unknown:  # st.text shows the words literally: no markdown, no HTML
        st.text("Words the model never saw in training (it reads each as <unk>): " + ", ".join(unknown))
    final = float(view.probability[-1])
    verdict, probability, _ = st.columns([1, 1, 2])
    verdict.metric("Verdict after the last word", "positive" if final > 0.5 else "negative")
    probability.metric("P(positive)", f"{final:.3f}", help="The classifier's probability that the sentence is "
                       "positive, read from the memory after the last word.")
    for column, item in zip(st.columns(3), export.trace_downloads(view, model.name)):
        column.download_button(f"Download {item.label}", item.data, file_name=item.file_name, mime=item.mime,
                               key="download_" + item.file_name.rsplit(".", 1)[1], on_click="ignore",
                               width="stretch")

    # ---- gates ----
    st.header("Gates")
    if is_gru:
        st.markdown("A GRU reads one word x_t at a time and updates its memory h_t with two gates "
                    "(PyTorch's equations; σ is the logistic function, ⊙ multiplies unit by unit):")
        st.latex(GRU_EQUATIONS)
        gate_figures = get_gate_figures(model_key, text, order_method, _view=view)
        left, right = st.columns(2)
        with left:
            chart(gate_figures["update"], "chart_update")
            st.caption("**Update gate z**: near 1 the unit keeps its memory through this word; near 0 it "
                       "replaces it with the candidate. Rows are units, columns are words.")
        with right:
            chart(gate_figures["reset"], "chart_reset")
            st.caption("**Reset gate r**: near 0 the unit ignores its past memory when it writes the candidate "
                       "for this word; near 1 it uses it.")
    else:
        gate_figures = get_gate_figures(model_key, text, order_method, _view=view)
        st.info("The vanilla RNN has no gates: it rewrites its whole memory at every word, "
                "h_t = tanh(W_ih x_t + b_ih + W_hh h_(t−1) + b_hh), which is a GRU with z = 0 and r = 1.")

    # ---- candidate and hidden state ----
    st.header("Candidate and hidden state")
    if is_gru:
        left, right = st.columns(2)
        with left:
            chart(gate_figures["candidate"], "chart_candidate")
            st.caption("**Candidate n**: what this word would write into each unit (red −1 … blue +1); it is "
                       "written in proportion to 1 − z.")
        with right:
            chart(gate_figures["hidden"], "chart_hidden")
            st.caption("**Hidden state h**: the memory after each word. The last column is all the classifier "
                       "sees.")
    else:
        chart(gate_figures["hidden"], "chart_hidden")
        st.caption("**Hidden state h**: the memory after each word (the RNN's candidate is h itself). The last "
                   "column is all the classifier sees.")

    # ---- trajectory ----
    st.header("Trajectory")
    trajectory, basis_source = get_trajectory_figures(model_key, text, _view=view, _card=model.card)
    flat, solid, units_tab = st.tabs(["2-D", "3-D", "Units over the words"])
    with flat:
        chart(trajectory["trajectory_2d"], "chart_trajectory_2d")
    with solid:
        chart(trajectory["trajectory_3d"], "chart_trajectory_3d")
    st.caption(f"Each point is the memory after a word, seen along the directions in which memory varies most "
               f"(PCA fitted on {basis_source}; the same axes for every sentence, so paths can be compared). "
               f"Colour is P(positive) at that point; ◇ marks the start, □ the end.")
    with units_tab:
        count = view.hidden.shape[1]
        if any(unit not in range(count) for unit in st.session_state.get("units", [])):
            del st.session_state["units"]  # a model with fewer units was chosen
        units = st.multiselect("Units to follow", list(range(count)), key="units",
                               default=analysis.head_units(view.head_weight),
                               help="By default the three units the classifier's head weighs most.")
        chart(get_unit_lines(model_key, text, tuple(units), _view=view), "chart_unit_lines")
        st.caption("The memory of single units after each word, on h's range −1 … 1: a unit that holds a value "
                   "across many words is remembering something.")

    # ---- the prediction forming ----
    st.header("The prediction forming")
    reading = get_reading_figures(model_key, text, _view=view)
    chart(reading["prediction"], "chart_prediction")
    st.caption("P(positive) if the sentence ended after each word. The ringed words moved it most, by the "
               "amount written beside them.")

    # ---- memory ----
    st.header("Memory: what each word wrote")
    if is_gru:
        chart(reading["memory"], "chart_memory")
        st.caption("The final memory is an exact sum of what each word wrote and what of it survived the later "
                   "update gates: h_T = Σ_t (∏_{s>t} z_s)(1 − z_t) n_t. Read by the classifier's linear head, "
                   "each word's part becomes its exact share of the final logit: blue pushes towards positive, "
                   "red towards negative. The shares add up to the logit in the title.")
    else:
        st.info("The vanilla RNN rewrites its whole memory at every word, so its final state cannot be split "
                "into what each word wrote; choose the GRU to see this view.")

# ---- compare ----
st.header("Compare two sentences")
st.caption("Two sentences read by the same model, with the same unit order, word positions and colour scales, "
           "so rows and columns line up. The seed's pair is the default.")
first, second = st.columns(2)
first.text_input("Sentence A", key="compare_a")
second.text_input("Sentence B", key="compare_b")
pair = (st.session_state["compare_a"], st.session_state["compare_b"])
try:
    views = [get_view(model_key, sentence, _model=model) for sentence in pair]
except ValueError as error:
    st.warning(f"Compare: {error}")
else:
    compared = get_compare_figures(model_key, pair, order_method, _views=views, _card=model.card)
    for column, name in zip(st.columns(2), ("A", "B")):
        with column:
            chart(compared[f"heatmap_{name}"], f"chart_compare_{name}")
    chart(compared["prediction"], "chart_compare_prediction")
    chart(compared["trajectory"], "chart_compare_trajectory")

# ---- interventions ----
st.header("Interventions")
st.markdown("Force the gates and let the model read the sentence again, beside its free reading. *Vanilla-RNN "
            "mode* opens the reset gate and shuts the update gate at every word, so memory is rewritten at each "
            "step; *frozen memory* keeps it fixed, so no word is ever written. The model itself is never changed, "
            "and your clamps are seen by you alone.")
if view is None:
    st.caption("Type a sentence above to read it with forced gates.")
elif not is_gru:
    st.info("The vanilla RNN has no gates to force: it already is what vanilla-RNN mode makes of the GRU. "
            "Choose sst2-gru to try the interventions.")
else:
    st.radio("Intervention", analysis.INTERVENTION_MODES, key="intervention_mode", format_func=MODE_LABELS.get,
             horizontal=True, help="custom: force one gate to a value of your choice, for chosen units and words.")
    mode = st.session_state["intervention_mode"]
    steps, unit_count = len(view.tokens), view.hidden.shape[1]
    setting = (mode, None, None, (), None)  # the settings that matter for this mode: the cache key
    if mode == "custom":
        gate_column, value_column = st.columns(2)
        gate_column.radio("Gate to force", ("update", "reset"), key="intervention_gate", horizontal=True,
                          format_func={"update": "update gate z", "reset": "reset gate r"}.get)
        value_column.slider("Forced value", 0.0, 1.0, 1.0, 0.05, key="intervention_value",
                            help="z = 1 keeps a unit's memory; z = 0 writes the candidate. r = 0 makes the "
                                 "candidate ignore the memory; r = 1 lets it read all of it.")
        if any(unit not in range(unit_count) for unit in st.session_state.get("intervention_units", [])):
            del st.session_state["intervention_units"]  # a model with fewer units was chosen
        chosen_units = st.multiselect("Units to clamp (none chosen: every unit)", list(range(unit_count)),
                                      key="intervention_units")
        words = (0, steps - 1)
        if steps > 1:
            stored = st.session_state.get("intervention_words")
            if stored is not None and max(stored) > steps - 1:
                del st.session_state["intervention_words"]  # a shorter sentence was typed
            words = tuple(st.slider("Words to clamp (first and last position)", 0, steps - 1, (0, steps - 1),
                                    key="intervention_words"))
        st.text("Clamped words: " + " ".join(view.tokens[words[0]:words[1] + 1]))  # literal text, no markup
        setting = ("custom", st.session_state["intervention_gate"], float(st.session_state["intervention_value"]),
                   tuple(sorted(chosen_units)), words)
    if mode == "free":
        st.caption("Choose a mode to see the sentence read with forced gates beside its free reading.")
    else:
        clamped = get_intervention(model_key, text, setting, _model=model)
        shown = get_intervention_figures(model_key, text, setting, order_method, _free=view, _clamped=clamped,
                                         _card=model.card)
        free_p, clamped_p = float(view.probability[-1]), float(clamped.probability[-1])
        free_metric, clamped_metric, _ = st.columns([1, 1, 2])
        free_metric.metric("P(positive), free", f"{free_p:.3f}")
        clamped_metric.metric("P(positive), clamped", f"{clamped_p:.3f}", delta=f"{clamped_p - free_p:+.3f}",
                              help="The verdict after the last word with the gates forced.")
        if (free_p > 0.5) != (clamped_p > 0.5):
            st.caption("The intervention flips the verdict.")
        left, right = st.columns(2)
        with left:
            chart(shown["free_gate"], "chart_intervention_free")
        with right:
            chart(shown["clamped_gate"], "chart_intervention_clamped")
        left, right = st.columns(2)
        with left:
            chart(shown["trajectory"], "chart_intervention_trajectory")
        with right:
            chart(shown["probability"], "chart_intervention_probability")
        chart(shown["hidden_change"], "chart_intervention_hidden")
        st.caption("Top: the clamped gate, free and forced, rows in the page's unit order. Middle: both memory "
                   "paths on the same axes, and P(positive) after each word. Bottom: how far each unit's memory "
                   "moved, clamped − free.")

# ---- gradient flow ----
st.header("Gradient flow: GRU vs vanilla RNN")
st.markdown("Training adjusts a word's effect through ∂h_T/∂h_t, the product of one Jacobian per later word. A "
            "vanilla RNN multiplies by its recurrent weights at every step, so this product tends to shrink "
            "geometrically and early words get almost no gradient; an update gate near 1 passes memory, and "
            "gradient, through unchanged. Here is ‖∂h_T/∂h_t‖ measured on the shipped GRU and RNN.")
if GRU_NAME not in folders or RNN_NAME not in folders:
    st.info(f"This section compares the models {GRU_NAME} and {RNN_NAME}; the models folder lacks "
            f"{' and '.join(name for name in (GRU_NAME, RNN_NAME) if name not in folders)}.")
elif st.toggle("Compute the gradient flow", key="gradient_flow_on",
               help="Exact Jacobians in float64: about a second for a new sentence, a few for the data set."):
    try:
        pair = {name: load_named_model(name) for name in (GRU_NAME, RNN_NAME)}
    except (ValueError, OSError) as error:
        st.error(f"A model for the comparison could not be loaded: {error}")
    else:
        names = (f"GRU ({GRU_NAME})", f"vanilla RNN ({RNN_NAME})")
        if view is not None:
            norms = [get_sentence_flow(key, text, _model=pair_model) for key, pair_model in pair.values()]
            chart(figures_analysis.gradient_flow_figure(view.tokens, *norms, names=names), "chart_gradient_flow")
            st.caption("At the last word both are √H by definition; the steeper a curve falls to the left, the "
                       "less an early word can learn from the verdict.")
        dataset, problem = labelled_data(None)  # always the validation data here
        if dataset is None:
            st.warning(problem)
        else:
            texts_used = dataset.texts[:FLOW_SENTENCES]
            flow_key = dataset.key + ("flow", len(texts_used))
            flows = {name: get_dataset_flow(key, flow_key, _model=pair_model, _texts=texts_used)
                     for name, (key, pair_model) in zip(names, pair.values())}
            chart(figures_analysis.dataset_gradient_flow_figure(flows, min_count=FLOW_MIN_COUNT),
                  "chart_gradient_flow_dataset")
            gru_flow, rnn_flow = flows.values()
            caption = (f"Averaged over the first {len(texts_used):,} sentences of the validation file, by distance "
                       f"from the last word; distances fewer than {FLOW_MIN_COUNT} sentences reach are left out.")
            distance = 10
            if len(gru_flow.count) > distance and gru_flow.count[distance] >= FLOW_MIN_COUNT:
                caption += (f" Ten words before the end the typical gradient is "
                            f"{gru_flow.geometric_mean[distance]:.3g} for the GRU and "
                            f"{rnn_flow.geometric_mean[distance]:.3g} for the RNN "
                            f"({gru_flow.count[distance]:,} sentences that long).")
            st.caption(caption)

# ---- why a reset gate? ----
st.header("Why a reset gate?")
st.markdown("Force a gate open on every word of a data set and count how many verdicts stay right. *reset = 1* "
            "lets every candidate read all of the old memory; *update = 0* overwrites the memory at every word; "
            "both at once turn the GRU into a vanilla RNN with the GRU's weights. What accuracy falls by is what "
            "the gate is worth.")
# no type= filter: Streamlit would raise on another extension; the parser says what is wrong in words
dataset_upload = st.file_uploader(f"Your own data set (optional): a TSV of sentence, a tab, then 0 or 1, at "
                                  f"most {UPLOAD_MAX_MB} MB; this section and the next use it instead of the "
                                  f"validation file", key="dataset_upload", max_upload_size=UPLOAD_MAX_MB)
section_data = cache(partial(labelled_data, dataset_upload))  # read at most once per rerun, when first needed
if dataset_upload is not None:
    dataset, problem = section_data()
    if problem:
        st.error(problem)
if not is_gru:
    st.info("The vanilla RNN has no gates to force; choose sst2-gru to see what its gates are worth.")
elif st.toggle("Compute the table", key="ablation_on", help="Four readings of the data set: a few seconds."):
    dataset, problem = section_data()
    if dataset is None:
        if dataset_upload is None:
            st.warning(problem)  # an upload's problem is shown under the uploader
    else:
        probabilities = get_ablation(model_key, dataset.key, _model=model, _texts=dataset.texts)
        accuracy = analysis.ablation_accuracy(probabilities, dataset.labels)
        st.dataframe([{"condition": name, "accuracy": value, "change": value - accuracy["free"],
                       "meaning": analysis.ABLATION_MEANINGS[name]} for name, value in accuracy.items()],
                     key="table_ablation", hide_index=True,
                     column_config={"accuracy": st.column_config.NumberColumn(format="%.4f"),
                                    "change": st.column_config.NumberColumn(format="%+.4f")})
        chart(figures_analysis.ablation_figure(accuracy, size=len(dataset.texts)), "chart_ablation")
        st.caption(f"On {dataset.description}. The same numbers as "
                   f"`python -m gru_viz ablate --data FILE --limit {len(dataset.texts)}`.")
        flips = analysis.verdict_flips(probabilities["free"], probabilities["reset=1"], dataset.labels)
        if not len(flips):
            st.markdown("**Sentences that need the reset gate**: none here; every sentence read correctly with free "
                        "gates is still read correctly with reset = 1.")
        else:
            st.markdown(f"**Sentences that need the reset gate**: {len(flips):,} read correctly with free gates are "
                        f"read wrongly with reset = 1. The {min(len(flips), FLIP_EXAMPLES)} whose P(positive) moves "
                        f"most:")
            st.dataframe([{"sentence": dataset.texts[i], "label": "positive" if dataset.labels[i] else "negative",
                           "P(positive), free": probabilities["free"][i],
                           "P(positive), reset = 1": probabilities["reset=1"][i]} for i in flips[:FLIP_EXAMPLES]],
                         key="table_reset_flips", hide_index=True,
                         column_config={name: st.column_config.NumberColumn(format="%.3f")
                                        for name in ("P(positive), free", "P(positive), reset = 1")})

# ---- memory statistics and unit search ----
st.header("Memory statistics and unit search")
st.markdown("How each unit uses its gates over a whole data set: how often z and r are shut (< 0.1) or open "
            "(> 0.9), as in Karpathy, Johnson & Fei-Fei (2015), and the memory timescale τ = −1/ln(mean z), the "
            "number of words over which a unit's memory fades to 1/e. Then pick a unit and find the contexts "
            "where it is strongest across the data set, as LSTMVis does.")
if st.toggle("Compute over the data set", key="memory_on", help="One batched reading of the data set: about a second."):
    dataset, problem = section_data()
    if dataset is None:
        if dataset_upload is None:
            st.warning(problem)
    else:
        st.caption(f"On {dataset.description}.")
        stats = None
        if is_gru:
            stats = get_memory_statistics(model_key, dataset.key, _model=model, _texts=dataset.texts)
            memory_figures = get_memory_figures(model_key, dataset.key, _stats=stats)
            left, right = st.columns(2)
            with left:
                chart(memory_figures["saturation"], "chart_saturation")
            with right:
                chart(memory_figures["timescale"], "chart_timescale")
            counts = {label: stats.labels.count(label) for label in figures_analysis.LABEL_COLORS}
            st.caption(f"Over {stats.steps:,} words. integrator ({counts['integrator']} units): z > 0.9 on at least "
                       f"{analysis.INTEGRATOR_FRACTION:.0%} of words, it keeps its memory; resetter "
                       f"({counts['resetter']}): r < 0.1 on at least {analysis.RESETTER_FRACTION:.0%}, its candidate "
                       f"often ignores the past; fast ({counts['fast']}): τ < {analysis.FAST_TIMESCALE} words; "
                       f"mixed ({counts['mixed']}): none of these.")
            st.dataframe([{"unit": unit, "label": stats.labels[unit], "τ (words)": stats.timescale[unit],
                           "mean z": stats.update_mean[unit], "z < 0.1": stats.update_low[unit],
                           "z > 0.9": stats.update_high[unit], "mean r": stats.reset_mean[unit],
                           "r < 0.1": stats.reset_low[unit], "r > 0.9": stats.reset_high[unit]}
                          for unit in range(len(stats.labels))], key="table_units", hide_index=True, height=250)
        else:
            st.info("The vanilla RNN has no gates (z ≡ 0, r ≡ 1): every unit rewrites its memory at every word. "
                    "The unit search below still finds where its units are strongest.")
        unit_count = model.gru.hidden_size
        if st.session_state.get("search_unit") not in (None, *range(unit_count)):
            del st.session_state["search_unit"]  # a model with fewer units was chosen
        fields = analysis.FIELDS if is_gru else ("hidden",)
        if st.session_state.get("search_field") not in (None, *fields):
            del st.session_state["search_field"]
        strongest = int(np.argmax(np.abs(model.net.head.weight.detach().numpy()[0])))
        unit_column, field_column, direction_column = st.columns(3)
        unit_column.selectbox("Unit", list(range(unit_count)), index=strongest, key="search_unit",
                              format_func=lambda unit: f"unit {unit}" + (f" ({stats.labels[unit]})" if stats else ""),
                              help="By default the unit the classifier's head weighs most.")
        field_column.selectbox("Value", fields, index=fields.index("hidden"), key="search_field",
                               format_func={"hidden": "memory h", "candidate": "candidate n", "update": "update gate z",
                                            "reset": "reset gate r"}.get)
        direction_column.radio("Find", ("highest", "lowest"), key="search_direction", horizontal=True)
        unit, field = st.session_state["search_unit"], st.session_state["search_field"]
        largest = st.session_state["search_direction"] == "highest"
        hits = get_top_activations(model_key, dataset.key, unit, field, largest, TOP_K, TOP_POOL, _model=model,
                                   _texts=dataset.texts)
        chart(figures_analysis.top_activations_figure(hits, window=5, field=field), "chart_top_activations")
        rows = analysis.activation_rows(hits)
        st.dataframe(rows, key="table_top_activations", hide_index=True,
                     column_order=("rank", "value", "before", "word", "after", "sentence"),
                     column_config={"value": st.column_config.NumberColumn(format="%.4f"),
                                    "word": st.column_config.TextColumn("word (the peak)"),
                                    "sentence": st.column_config.NumberColumn("sentence (index from 0)")})
        st.caption(f"The {len(rows)} sentences of the data set where unit {unit}'s {field} is "
                   f"{st.session_state['search_direction']}, each at its strongest word (the first, on a tie): "
                   f"above, the words around it shaded by the unit's value, the word itself boxed; below, the "
                   f"exact values and up to six words either side.")

# ---- figures as interactive HTML ----
if shown_figures:
    st.divider()
    left, right = st.columns([2, 1])
    chosen = left.selectbox("Save a figure of this page as an interactive HTML page (each chart's camera "
                            "button saves a PNG)", sorted(shown_figures), key="html_figure")
    right.download_button("Download HTML", partial(export.figure_to_html, shown_figures[chosen]), on_click="ignore",
                          file_name=f"{export.safe_file_stem(chosen, 'figure')}.html", mime="text/html",
                          key="download_html", width="stretch")
