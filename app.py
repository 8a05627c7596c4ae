"""gru-viz: type a sentence, watch a trained GRU read it.  ``streamlit run app.py``

The page runs top to bottom: cached loaders, the query string read once into keyed widgets (and written
back when they change), then one section per view. Numbers come from ``gru_viz.page_data`` and figures
from ``gru_viz.figures``; this file only wires widgets to them. Model folders are listed from ``models/``
next to this file, or from the folder named by the environment variable GRU_VIZ_MODELS (the tests use it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from gru_viz import figures, page_data
from gru_viz.examples import EXAMPLES, SEED_PAIR
from gru_viz.model import load_model

MODELS_DIR = Path(os.environ.get("GRU_VIZ_MODELS") or Path(__file__).resolve().parent / "models")
DEFAULT_MODEL = "sst2-gru"
DEFAULT_TEXT = SEED_PAIR[0]
PAGE_MAX_TOKENS = 300  # a 2,000-word paste is cut here: the page stays quick to draw and to read
URL_MAX_CHARACTERS = 2000  # longer text stays out of the link (browsers and proxies cap URL length)

GRU_EQUATIONS = r"""
\begin{aligned}
r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset gate} \\
z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update gate} \\
n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) && \text{candidate} \\
h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t && \text{hidden state}
\end{aligned}
"""

st.set_page_config(page_title="gru-viz: watch a GRU read", layout="wide")


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


@st.cache_data(max_entries=256, show_spinner=False)
def get_view(model_key: tuple, text: str, _model) -> page_data.SentenceView:
    return page_data.read_sentence(_model, text, max_tokens=PAGE_MAX_TOKENS)


# Figures are cached as resources: st.cache_data would unpickle them on every hit, and unpickling
# re-validates a Plotly figure (~30 ms each), slower than building it. Nothing mutates a cached figure.
@st.cache_resource(max_entries=32, show_spinner=False)
def get_gate_figures(model_key: tuple, text: str, order_method: str, _view):
    return figures.sentence_gate_figures(_view, page_data.unit_order(_view, order_method))


@st.cache_resource(max_entries=32, show_spinner=False)
def get_trajectory_figures(model_key: tuple, text: str, _view, _card):
    return figures.sentence_trajectory_figures(_view, page_data.projection_basis(_card, _view.path))


@st.cache_resource(max_entries=32, show_spinner=False)
def get_unit_lines(model_key: tuple, text: str, units: tuple, _view):
    return figures.unit_lines_figure(_view.hidden, _view.tokens, list(units))


@st.cache_resource(max_entries=32, show_spinner=False)
def get_reading_figures(model_key: tuple, text: str, _view):
    return figures.sentence_reading_figures(_view)


@st.cache_resource(max_entries=16, show_spinner=False)
def get_compare_figures(model_key: tuple, texts: tuple, order_method: str, _views, _card):
    basis = page_data.projection_basis(_card, np.vstack([view.path for view in _views]))
    return figures.compare_figures(_views, basis, page_data.unit_order(_views, order_method))


def use_example(text: str) -> None:
    st.session_state["text"] = text


def chart(figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config={"displaylogo": False})


# ---- query string, read once into the widgets ----

folders = model_folders(MODELS_DIR)
if not folders:
    st.error(f"No model folders under {MODELS_DIR}. Train one: python -m gru_viz.train --out models/sst2-gru")
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
    st.selectbox("Model", folders, key="model",
                 help="sst2-gru is the GRU; sst2-rnn is a vanilla RNN baseline of the same size (no gates).")
    st.radio("Unit order (rows of every heatmap)", page_data.UNIT_ORDERS, key="unit_order", horizontal=True,
             help="index: 0, 1, 2, …; mean z: the units that keep their memory most on top; clustered: "
                  "units that behave alike next to each other.")

text, model_name = st.session_state["text"], st.session_state["model"]
if len(text) <= URL_MAX_CHARACTERS:
    if st.query_params.get("text") != text:
        st.query_params["text"] = text
else:
    st.query_params.pop("text", None)
    st.caption(f"The text is longer than {URL_MAX_CHARACTERS:,} characters, so it is not put in the link.")
if model_name == DEFAULT_MODEL:
    st.query_params.pop("model", None)
elif st.query_params.get("model") != model_name:
    st.query_params["model"] = model_name

try:
    model = get_model(str(MODELS_DIR), model_name, model_version(MODELS_DIR, model_name))
except (ValueError, OSError) as error:
    st.error(f"The model {model_name} could not be loaded: {error}")
    st.stop()
model_key = (str(MODELS_DIR), model_name, model_version(MODELS_DIR, model_name))
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
    verdict.metric("Verdict after the last word", "positive" if final >= 0.5 else "negative")
    probability.metric("P(positive)", f"{final:.3f}", help="The classifier's probability that the sentence is "
                       "positive, read from the memory after the last word.")

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
    trajectory = get_trajectory_figures(model_key, text, _view=view, _card=model.card)
    flat, solid, units_tab = st.tabs(["2-D", "3-D", "Units over the words"])
    basis_source = page_data.projection_basis(model.card, view.path).source
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
                               default=page_data.head_units(view.head_weight),
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
