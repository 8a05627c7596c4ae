"""Across the data set: how the units use their gates, where a unit fires, what each gate is worth, and how
far the gradient reaches back: first over the whole corpus, read from the index that ships with the model (drawn on
load, Vega-Lite only, so the first screen paints quickly), then computed on request on the shipped validation data or
a TSV of your own."""

from __future__ import annotations

import streamlit as st

from gru_viz import analysis, figures, paths
from views.parts import caches, corpus, first_screen, state
from views.parts.charts import FIELD_LABELS, chart, figure_download, memory_charts
from views.parts.labelled_data import UPLOAD_MAX_MB, labelled_data

FLOW_SENTENCES = 400  # the data-set gradient flow (two models, O(T·H³) per sentence) reads fewer sentences still
FLIP_EXAMPLES = 5  # sentences shown whose verdict the reset gate decides

model_key, model = state.current_model()
index_column, model_column = st.columns([3, 1])
with model_column:
    state.model_picker()
if not model.single_path:
    st.info("The data-set views read one layer, one direction and one logit from the last state (the shipped models' "
            "shape); pick such a model for them. Read a sentence shows any shape.")
    st.stop()

# ---- the corpus index, when one is built: first, so its charts are on the first screen ----
indexed = corpus.corpus_section(model, model_key=model_key, picker=index_column,
                                 after_first_charts=first_screen.rest_of_page)

# ---- the data the views below compute on, on request ----
st.subheader("On the validation file or a TSV of your own")
# no type= filter: Streamlit would raise on another extension; the parser says what is wrong in words
upload = st.file_uploader(f"Data: the shipped SST-2 validation file, or a TSV of your own (sentence, a tab, then 0 or "
                          f"1; at most {UPLOAD_MAX_MB} MB)", key="dataset_upload", max_upload_size=UPLOAD_MAX_MB)
st.caption(state.UPLOAD_NOTE)
dataset, problem = labelled_data(upload)
if dataset is None:
    st.error(problem)
    st.stop()
st.caption(f"Every view below reads {dataset.description}.")
if not indexed:
    st.caption("No corpus index is built for this model, so every view here computes live on these sentences.")
is_gru = model.arch == "gru"

# ---- memory statistics ----
st.subheader("How each unit uses its gates")
if not is_gru:
    st.caption("The vanilla RNN has no gates (z ≡ 0, r ≡ 1): every unit rewrites its memory at every word.")
elif st.toggle("Compute the memory statistics", key="memory_on", help="One batched reading of the data: ~1 s."):
    stats = caches.memory_statistics(model_key, dataset.key, _model=model, _texts=dataset.texts)
    counts = memory_charts(stats, "")
    st.caption(f"Over {stats.steps:,} words, as in Karpathy, Johnson & Fei-Fei (2015): how often z and r are shut "
               f"(< 0.1) or open (> 0.9), and the memory timescale τ = −1/ln(mean z). integrator "
               f"({counts['integrator']} units): z > 0.9 on at least {analysis.INTEGRATOR_FRACTION:.0%} of words; "
               f"resetter ({counts['resetter']}): r < 0.1 on at least {analysis.RESETTER_FRACTION:.0%}; fast "
               f"({counts['fast']}): τ < {analysis.FAST_TIMESCALE} words; mixed ({counts['mixed']}): none of these.")

# ---- unit search ----
st.subheader("Where a unit fires")
if st.toggle("Search the data set for a unit's strongest contexts", key="search_on"):
    units = model.gru.hidden_size
    if st.session_state.get("search_unit") not in (None, *range(units)):
        del st.session_state["search_unit"]  # a model with fewer units was chosen
    fields = analysis.FIELDS if is_gru else ("hidden",)
    if st.session_state.get("search_field") not in (None, *fields):
        del st.session_state["search_field"]
    ranked = caches.ranked_units(model_key, model, st.session_state.get("text", ""))
    options = [int(u) for u in ranked] if ranked is not None else list(range(units))
    unit_column, field_column, direction_column = st.columns(3)
    unit = unit_column.selectbox("Unit (ranked by its share of your sentence's verdict)", options, key="search_unit")
    field = field_column.selectbox("Value", fields, index=fields.index("hidden"), key="search_field",
                                   format_func=FIELD_LABELS.get)
    direction = direction_column.radio("Find", ("highest", "lowest"), key="search_direction", horizontal=True)
    hits = caches.top_activations(model_key, dataset.key, unit, field, direction == "highest", _model=model,
                           _texts=dataset.texts)
    chart(figures.top_activations_figure(hits, window=5, field=field), "chart_top_activations")
    st.caption(f"The {len(hits)} sentences where unit {unit}'s {field} is {direction}, each at its strongest word "
               f"(boxed), shaded by the unit's value, as LSTMVis does.")

# ---- why a reset gate? ----
st.subheader("What each gate is worth")
if not is_gru:
    st.caption("The vanilla RNN has no gates to force; choose a GRU to see what its gates are worth.")
elif st.toggle("Compute accuracy with the gates forced", key="ablation_on", help="Four readings of the data: a few s."):
    probabilities = caches.ablation(model_key, dataset.key, _model=model, _texts=dataset.texts)
    accuracy = analysis.ablation_accuracy(probabilities, dataset.labels)
    left, right = st.columns([1, 1])
    with left:
        chart(figures.ablation_figure(accuracy, size=len(dataset.texts)), "chart_ablation")
    with right:
        st.dataframe([{"condition": name, "accuracy": value, "change": value - accuracy["free"],
                       "meaning": analysis.ABLATION_MEANINGS[name]} for name, value in accuracy.items()],
                     key="table_ablation", hide_index=True,
                     column_config={"accuracy": st.column_config.NumberColumn(format="%.4f"),
                                    "change": st.column_config.NumberColumn(format="%+.4f")})
        st.caption(f"The same numbers as `python -m gru_viz ablate --limit {len(dataset.texts)}` on this file.")
    flips = analysis.verdict_flips(probabilities["free"], probabilities["reset=1"], dataset.labels)
    shift = ("Forcing r ≡ 1 at reading time on a model trained with a reset gate is a distribution shift: it shows "
             "what this model leans on, not whether a GRU needs a reset gate. A GRU trained without one answers "
             f"that: {paths.NO_RESET_MODEL} on *Compare*, and the seed study's gru against gru-noreset on *Seeds*.")
    if len(flips):
        st.markdown(f"**Sentences this model reads wrongly once its reset gate is forced open**: {len(flips):,} read "
                    f"right with free gates are read wrongly with r ≡ 1. The {min(len(flips), FLIP_EXAMPLES)} whose "
                    f"P(positive) moves most:")
        st.dataframe([{"sentence": dataset.texts[i], "label": "positive" if dataset.labels[i] else "negative",
                       "P(positive), free": probabilities["free"][i],
                       "P(positive), r ≡ 1": probabilities["reset=1"][i]} for i in flips[:FLIP_EXAMPLES]],
                     key="table_reset_flips", hide_index=True,
                     column_config={name: st.column_config.NumberColumn(format="%.3f")
                                    for name in ("P(positive), free", "P(positive), r ≡ 1")})
    else:
        st.caption("No sentence here changes from right to wrong when r is forced to 1.")
    st.caption(shift)

# ---- gradient flow: the chosen model, and a shipped reference beside it ----
st.subheader("How far back the gradient reaches: the chosen model beside a shipped reference")
if st.toggle("Compute the gradient flow", key="flow_on", help="Exact Jacobians in float64: a few seconds."):
    shown = caches.flow_models(model_key, model, uploaded=st.session_state.get("model") == state.UPLOADED)
    texts = dataset.texts[:FLOW_SENTENCES]
    flows = {label: caches.dataset_flow(key, dataset.key + ("flow", len(texts)), _model=flow_model, _texts=texts)
             for label, key, flow_model in shown}
    chart(figures.dataset_gradient_flow_figure(flows, min_count=caches.FLOW_MIN_COUNT), "chart_flow")
    caption = (f"‖∂h_T/∂h_t‖ averaged over the first {len(texts):,} sentences of {dataset.source}, by distance "
               f"from the last word; distances fewer than {caches.FLOW_MIN_COUNT} sentences reach are left out.")
    distance = 10
    if all(len(flow.count) > distance and flow.count[distance] >= caches.FLOW_MIN_COUNT for flow in flows.values()):
        caption += " Ten words before the end the typical gradient is " + " and ".join(
            f"{flow.geometric_mean[distance]:.3g} for the {label}" for label, flow in flows.items()) + "."
    st.caption(caption)
figure_download()
