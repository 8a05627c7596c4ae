"""Read a sentence: the verdict, how it formed, which words decided it, and the units that carry it."""

from __future__ import annotations

import streamlit as st

from gru_viz import analysis, export, figures, figures_story
from gru_viz.examples import EXAMPLES, SEED_PAIR
from gru_viz.model import is_positive
from views import shared

TOP_UNITS = 12  # rows of the story and the heatmaps by default: the units that carry the verdict
STORY_UNITS = 8  # rows under the P(positive) line in the first chart
SCOPES = {"top": f"the {TOP_UNITS} units that carry the verdict", "all": "all units"}
ORDERS = {"verdict": "by share of the verdict", "index": "by index", "clustered": "clustered (alike together)"}
# one field at a time: four panels took the browser ~0.4 s to redraw for each new sentence, one takes ~0.15 s
FIELDS = {"hidden": "memory h", "reset": "reset r", "candidate": "candidate n", "update": "update z"}
LONG_RANGE = [example for example in EXAMPLES if example.text not in SEED_PAIR]  # the memory probe's tests


def use_example(text: str) -> None:
    st.session_state["text"] = text


@st.cache_resource(max_entries=64, show_spinner=False)
def story_figure(model_key: tuple, text: str, _sentence, _changes):
    units = analysis.rank_units(_changes, STORY_UNITS)
    field = "update" if _sentence.arch == "gru" else "hidden"  # the vanilla RNN has no gates
    return figures_story.story_figure(_sentence.tokens, _sentence.probability, _sentence.start_probability,
                                      getattr(_sentence, field), units, analysis.unit_shares(_changes)[units],
                                      field=field)


@st.cache_resource(max_entries=64, show_spinner=False)
def word_figure(model_key: tuple, text: str, retention: bool, _sentence):
    return figures_story.word_change_figure(_sentence.tokens, _sentence.logit_changes,
                                            start_logit=_sentence.start_logit,
                                            retention=_sentence.logit_split.words if retention else None)


@st.cache_resource(max_entries=64, show_spinner=False)
def units_figure(model_key: tuple, text: str, field: str, scope: str, order: str, _sentence, _changes):
    units = analysis.shown_units(_sentence, None if scope == "all" else TOP_UNITS, order)
    return figures_story.unit_heatmaps_figure({field: getattr(_sentence, field)}, _sentence.tokens, units,
                                              analysis.unit_shares(_changes)[units])


@st.cache_resource(max_entries=64, show_spinner=False)
def trajectory_figure(model_key: tuple, text: str, dims: int, _sentence, _card):
    basis = analysis.projection_basis(_card, _sentence.path)
    return (figures.trajectory_figure([figures.sentence_path(_sentence, basis)], dims=dims,
                                      explained=basis.explained), basis.source)


# ---- the sentence, the model and the verdict ----
model_key, model = shared.current_model()
typing, side = st.columns([3, 1])
with typing:
    st.text_area("Type a sentence and watch a GRU read it, word by word", key="text", height=68,
                 help=f"Any text; the page reads the first {shared.PAGE_MAX_TOKENS} words. Ctrl+Enter applies it.")
    with st.container(horizontal=True):  # wraps at narrow widths instead of cutting the labels
        for index, example in enumerate(EXAMPLES):
            if example not in LONG_RANGE:
                st.button(example.label, key=f"example_{index}", help=example.why, on_click=use_example,
                          args=(example.text,), width="content")
with side:
    shared.model_picker()
    verdict_slot = st.empty()

sentence = shared.read_sentence(model_key, model, st.session_state["text"])
if sentence is None:
    st.stop()
final = float(sentence.probability[-1])
verdict_slot.metric(f"Verdict, P(positive) = {final:.2f}", "positive" if is_positive(final) else "negative",
                    help="P(positive) after the last word: the classifier reads only the memory at the end.")

# ---- how the verdict formed ----
text = st.session_state["text"]
changes = shared.unit_changes(model_key, text, sentence)
shared.chart(story_figure(model_key, text, _sentence=sentence, _changes=changes), "chart_story")
st.caption(f"Top: P(positive) had the sentence ended after each word; the ringed words moved it most. Bottom: the "
           f"update gate z of the {STORY_UNITS} units with the largest share of the verdict (in brackets: each "
           f"unit's exact share of the logit's change). z near 1 keeps a unit's memory through the word; near 0 "
           f"the word overwrites it.")

# ---- long range: the memory probe's examples beside its curve (below the story: it draws after it) ----
with st.expander("Long range: does a verdict survive plot sentences? The memory probe's examples and curve"):
    buttons, curve = st.columns([1, 2])
    with buttons:
        for index, example in enumerate(EXAMPLES):
            if example in LONG_RANGE:
                st.button(example.label, key=f"example_{index}", help=example.why, on_click=use_example,
                          args=(example.text,), width="stretch")
        st.caption("Each example is built as the memory probe builds its tests, so the probe's accuracy at the same "
                   "number of plot sentences says how typical the model's reading of it is.")
    with curve:
        probe = figures_story.probe_figure(model.card, model.name)
        if probe is None:
            st.caption("This model's card holds no memory-probe curves (`python -m gru_viz probe --record` "
                       "measures and records them).")
        else:
            shared.chart(probe, "chart_probe")

# ---- which words decided ----
st.subheader("Which words decided")
retention = st.toggle("Compare with the retention decomposition", key="show_retention",
                      disabled=model.arch != "gru", help="GRU only: the vanilla RNN has no update gate to split by.")
shared.chart(word_figure(model_key, text, retention and model.arch == "gru", _sentence=sentence), "chart_words")
st.caption("Each bar is exactly how much the logit moved at that word, logit_t − logit_{t−1} = w · (h_t − h_{t−1}): "
           "the bars add up to the final logit minus the start. A word's bar includes what it made the memory "
           "forget as well as what it wrote.")
if retention and model.arch == "gru":
    st.caption("Grey: the retention decomposition h_T = Σ_t (∏_{s>t} z_s)(1 − z_t) n_t, read by the head. It "
               "measures what survives to the end of each word's *write*. Because n_t is computed from h_{t−1}, a "
               "later word that re-writes what memory already held is credited with it: neutral words late in a "
               "sentence can collect large shares. It does not say which words changed the verdict; the blue and "
               "red bars do.")

# ---- the units that carry it ----
st.subheader("The units that carry it")
field_column, scope_column, order_column = st.columns([5, 4, 6])
fields = list(FIELDS) if model.arch == "gru" else ["hidden"]  # the vanilla RNN has no gates, and its n is h
if st.session_state.get("unit_field") not in fields:  # a gate chosen for a GRU, then an RNN picked
    st.session_state["unit_field"] = "hidden"
field = field_column.radio("Show", fields, format_func=FIELDS.get, key="unit_field", horizontal=True)
scope = scope_column.radio("Units", list(SCOPES), format_func=SCOPES.get, key="unit_scope", horizontal=True)
order = order_column.radio("Rows", list(ORDERS), format_func=ORDERS.get, key="unit_order", horizontal=True)
shared.chart(units_figure(model_key, text, field, scope, order, _sentence=sentence, _changes=changes), "chart_units")
st.caption("Units ranked by the size of their exact share of the logit's change, w_u · (h_{T,u} − h_{0,u}) (shown in "
           "brackets). Gates on 0 … 1; the candidate n (what the word would write) and the memory h on −1 … 1. The "
           "update gate z of the top units is the story chart's lower half.")

# ---- the path of the memory (drawn on request: every chart on the page is redrawn for each new sentence) ----
st.subheader("The path of the memory")
path_column, solid_column = st.columns([1, 3])
drawn = path_column.toggle("Draw the path", key="trajectory", help="The memory after each word, in 2-D or 3-D.")
if drawn:
    solid = solid_column.toggle("3-D", key="trajectory_3d", help="Draws a WebGL scene: slower to draw than 2-D.")
    trajectory, source = trajectory_figure(model_key, text, 3 if solid else 2, _sentence=sentence, _card=model.card)
    shared.chart(trajectory, "chart_trajectory")
    st.caption(f"Each point is the memory after a word, seen along the directions in which memory varies most (PCA "
               f"fitted on {source}). Colour is P(positive) at that point; ◇ marks the start, □ the end.")
else:
    st.caption("Where the memory goes, word by word, seen along its main directions: switch it on to draw it.")

# ---- downloads ----
st.divider()
for column, item in zip(st.columns(3), export.trace_downloads(sentence, model.name)):
    extension = item.file_name.rsplit(".", 1)[1]
    column.download_button(f"Download the trace as {extension.upper()}", item.data, file_name=item.file_name,
                           mime=item.mime, key=f"download_{extension}", on_click="ignore", width="stretch",
                           help=item.label)
shared.figure_download()
