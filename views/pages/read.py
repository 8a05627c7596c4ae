"""Read a sentence: the verdict and how it formed, word by word, in the first screen; the rest on request.

Only the first chart draws by default. Each section below it is an expander that runs only while it is open
(``on_change="rerun"``): every chart on the page is redrawn for each new sentence, and the browser's time per
chart, not the server's, is what a reader waits for (``python -m benchmarks.browser_bench``).
"""

from __future__ import annotations

import streamlit as st

from gru_viz import export, figures
from gru_viz.examples import EXAMPLES, SEED_PAIR, how_it_reads
from gru_viz.model import is_positive
from views.parts import caches, first_screen, state
from views.parts.charts import FIELD_LABELS, chart, figure_download, forget_figures, remember_figure

SCOPES = {"top": f"the {caches.TOP_UNITS} units that carry the verdict", "all": "all units"}
ORDERS = {"verdict": "by share of the verdict", "index": "by index", "clustered": "clustered (alike together)"}
LONG_RANGE = [example for example in EXAMPLES if example.text not in SEED_PAIR]  # the memory probe's tests


def use_example(text: str) -> None:
    st.session_state["text"] = text


def section(label: str, key: str):
    """An expander whose body runs only while it is open: (container, is it open)."""
    expander = st.expander(label, key=key, on_change="rerun")
    return expander, expander.open


# ---- the sentence, the model and the verdict ----
model_key, model = state.current_model()
typing, side = st.columns([3, 1])
with typing:
    st.text_area("Type a sentence and watch a GRU read it, word by word", key="text", height=68,
                 help=f"Any text; the page reads the first {caches.PAGE_MAX_TOKENS} words. Ctrl+Enter applies it.")
    with st.container(horizontal=True):  # wraps at narrow widths instead of cutting the labels
        for index, example in enumerate(EXAMPLES):
            if example not in LONG_RANGE:
                st.button(example.label, key=f"example_{index}", help=example.why, on_click=use_example,
                          args=(example.text,), width="content")
with side:
    state.model_picker()
    state.view_picker(model)
    verdict_slot = st.container()

text = st.session_state["text"]
sentence = state.read_sentence(model_key, model, text)
if sentence is None:
    st.stop()
changes, story = caches.story(model_key, text, sentence)
final = float(sentence.probability[-1])
if model.num_classes == 1:
    verdict_slot.metric(f"Verdict, P(positive) = {final:.2f}", "positive" if is_positive(final) else "negative",
                        help="P(positive) after the last word: the classifier reads only the memory at the end.")
else:  # the class names come from the card: values and table cells, never markdown
    verdict_slot.metric(f"Verdict, P = {final:.2f}", sentence.labels[sentence.predicted],
                        help="The class with the largest probability after the last word, and that probability.")
    with verdict_slot.popover("All classes", key="all_classes"):
        st.dataframe({"class": list(sentence.labels), "P after the last word": sentence.probabilities[-1]},
                     hide_index=True, key="table_classes")

# ---- a probe-built example says how this model reads it, and says so first when the model gets it wrong ----
shown_example = next((example for example in LONG_RANGE if example.text == text), None)
if shown_example is not None:
    reading = how_it_reads(shown_example, final, model.name, model.card)
    (st.caption if "reads this example right" in reading else st.warning)(reading)

# ---- how the verdict formed: rows on one word axis, drawn by Vega-Lite (gru_viz/figures/story.py) ----
with st.container(gap=None):
    for row, spec in story.items():
        st.vega_lite_chart(spec, width="stretch", key=f"story_{row}")
remember_figure("chart_story", lambda: caches.story_figure(sentence, changes))
field = caches.story_field(sentence)
st.caption(f"Top: P(positive) had the sentence ended after each word; the ringed words moved it most. Middle: each "
           f"word's exact change of the logit, `logit_t − logit_{{t−1}} = w · (h_t − h_{{t−1}})`; the bars add up to "
           f"the final logit minus the start, and a word's bar includes what it made the memory forget as well as what "
           f"it wrote. Bottom: the {figures.FIELD_TITLES[field]}"
           + (" and, under it, the reset gate r" if field == "update" else "")
           + f" of the {caches.STORY_UNITS} units with the largest share of the verdict (in brackets: each unit's "
           f"exact share of the logit's change)."
           + (" z near 1 keeps a unit's memory through the word; near 0 the word overwrites it. r near 0 hides the "
              "memory from the candidate the word writes: the unit starts afresh." if field == "update" else ""))
if not sentence.splits_by_unit:
    st.info(state.NO_UNIT_SPLIT)
first_screen.rest_of_page()

# ---- which words decided: the exact change against the retention decomposition ----
box, open_ = section("Which words decided: the exact change against the retention decomposition", "open_words")
with box:
    if open_ and not sentence.splits_by_unit:
        st.info("The retention decomposition reads the memory the head reads: it needs a one-direction \"last\" "
                "readout, seen at its top layer. The exact change per word is the story chart's middle row.")
    elif open_ and model.arch == "gru":
        chart(caches.retention_figure(model_key, text, _sentence=sentence), "chart_words")
        st.caption("Coloured: each word's exact change of the logit (the story chart's middle row). Grey: the "
                   "retention decomposition `h_T = Σ_t (∏_{s>t} z_s)(1 − z_t) n_t`, read by the head. It measures what "
                   "survives to the end of each word's *write*. Because `n_t` is computed from `h_{t−1}`, a later word "
                   "that re-writes what memory already held is credited with it: neutral words late in a sentence "
                   "can collect large shares. It does not say which words changed the verdict; the coloured bars do.")
    elif open_:
        st.caption("The vanilla RNN has no update gate to split its memory by: the exact change of the logit per "
                   "word is the story chart's middle row.")

# ---- the units that carry it ----
box, open_ = section("The units that carry it: reset, update, candidate and memory, unit by unit", "open_units")
with box:
    if open_:
        field_column, scope_column, order_column = st.columns([5, 4, 6])
        fields = list(FIELD_LABELS) if model.arch == "gru" else ["hidden"]  # the vanilla RNN has no gates; its n is h
        if st.session_state.get("unit_field") not in fields:  # a gate chosen for a GRU, then an RNN picked
            st.session_state["unit_field"] = "hidden"
        shown = field_column.radio("Show", fields, format_func=FIELD_LABELS.get, key="unit_field", horizontal=True)
        scope = scope_column.radio("Units", list(SCOPES), format_func=SCOPES.get, key="unit_scope", horizontal=True)
        order = order_column.radio("Rows", list(ORDERS), format_func=ORDERS.get, key="unit_order", horizontal=True)
        chart(caches.units_figure(model_key, text, shown, scope, order, _sentence=sentence, _changes=changes),
              "chart_units")
        st.caption("Units ranked by the size of their exact share of the logit's change, `w_u · (h_{T,u} − h_{0,u})` "
                   "(in brackets). Gates on 0 … 1; the candidate n (what the word would write) and the memory h on "
                   "−1 … 1. One field at a time: each chart is redrawn for every new sentence.")

# ---- the path of the memory ----
box, open_ = section("The path of the memory, word by word", "open_path")
with box:
    if open_ and sentence.direction == 1:
        st.info("The path is drawn in reading order from the start: pick the forward direction. The backward direction "
                "reads from the last word, so joining its states word by word would draw a path it never took.")
    elif open_:
        solid = st.toggle("3-D", key="trajectory_3d", help="Draws a WebGL scene: slower to draw than 2-D.")
        trajectory, source = caches.trajectory_figure(model_key, text, 3 if solid else 2, _sentence=sentence,
                                                      _card=model.card if model.single_path else {})
        chart(trajectory, "chart_trajectory")
        st.caption(f"Each point is the memory after a word, seen along the directions in which memory varies most "
                   f"(PCA fitted on {source}). Colour is P(positive) at that point; ◇ marks the start, □ the end.")

# ---- long range: the memory probe's examples beside its curve ----
box, open_ = section("Long range: does a verdict survive plot sentences? The memory probe's examples and curve",
                     "open_long_range")
with box:
    if open_:
        buttons, curve = st.columns([1, 2])
        with buttons:
            for index, example in enumerate(EXAMPLES):
                if example in LONG_RANGE:
                    st.button(example.label, key=f"example_{index}", help=example.why, on_click=use_example,
                              args=(example.text,), width="stretch")
                    read = caches.trace(model_key, example.text, model)
                    st.caption(how_it_reads(example, float(read.probability[-1]), model.name, model.card))
            st.caption("Each example is built as the memory probe builds its tests, so the probe's accuracy at the "
                       "same number of plot sentences says how typical the model's reading of it is.")
        with curve:
            probe = figures.probe_figure(model.card, model.name)
            if probe is None:
                st.caption("This model's card holds no memory-probe curves (`python -m gru_viz probe --record` "
                           "measures and records them).")
            else:
                chart(probe, "chart_probe")

# ---- downloads ----
box, open_ = section("Download the trace or a chart", "open_downloads")
with box:
    if open_:
        for column, item in zip(st.columns(3), export.trace_downloads(sentence, model.name)):
            extension = item.file_name.rsplit(".", 1)[1]
            column.download_button(f"Download the trace as {extension.upper()}", item.data,
                                   file_name=item.file_name, mime=item.mime, key=f"download_{extension}",
                                   on_click="ignore", width="stretch", help=item.label)
        figure_download()
    else:
        forget_figures()
