"""Compare & intervene: two sentences side by side, the gates forced, and activations patched from one into
the other."""

from __future__ import annotations

from functools import partial

import streamlit as st

from gru_viz import analysis, paths
from gru_viz.model import is_positive
from views.parts import caches, first_screen, research, state
from views.parts import unit as unit_sections
from views.parts.charts import chart, figure_download, vega_chart
from views.parts.models_side_by_side import models_side_by_side

MODE_LABELS = {"free": "free (as trained)", "vanilla-RNN mode": "vanilla-RNN mode (r ≡ 1, z ≡ 0)",
               "frozen memory": "frozen memory (z ≡ 1)", "custom": "custom"}


def trained_counterpart(setting: tuple, current: str, steps: int) -> str | None:
    """The shipped model trained the way a forced setting runs the current one, if it ships: the vanilla RNN for
    r ≡ 1 and z ≡ 0, the GRU without a reset gate for r ≡ 1 on every unit and word."""
    mode, gate, value, units, words = setting
    if mode == "vanilla-RNN mode":
        name = paths.RNN_MODEL
    elif mode == "custom" and gate == "reset" and value == 1.0 and not units and tuple(words) == (0, steps - 1):
        name = paths.NO_RESET_MODEL
    else:
        return None
    return name if name != current and name in caches.model_folders(caches.models_root()) else None


model_key, model = state.current_model()
first, second, side = st.columns([2, 2, 1])
first.text_area("Sentence A (the one you typed)", key="text", height=68)
second.text_area("Sentence B", key="compare_b", height=68)
with side:
    state.model_picker()
    state.view_picker(model)
texts = (st.session_state["text"], st.session_state["compare_b"])
sentences = [state.read_sentence(model_key, model, text) for text in texts]
if any(sentence is None for sentence in sentences):
    st.stop()
changes = [caches.unit_changes(model_key, text, sentence) for text, sentence in zip(texts, sentences)]

# ---- side by side ----
# every chart drawn on load is Vega-Lite: a Plotly chart makes the browser load Plotly's bundle before it paints
# the page; the Plotly twins are built only when the HTML download asks for them
twins = partial(caches.compare_figures, model_key, texts, _sentences=sentences, _changes=changes)
if model.num_classes == 1:
    vega_chart(caches.compare_prediction_spec(model_key, texts, _sentences=sentences), "chart_compare_prediction",
               lambda: twins()["prediction"])
else:  # each sentence's line would follow its own predicted class: not one scale to compare on
    st.text("  ·  ".join(f"{name}: {s.labels[s.predicted]} (P = {s.probability[-1]:.3f})"
                         for name, s in zip("AB", sentences)))
specs = caches.compare_unit_specs(model_key, texts, _sentences=sentences, _changes=changes)
for column, name in zip(st.columns(2), "AB"):
    with column:
        vega_chart(specs[f"units_{name}"], f"chart_compare_{name}", lambda name=name: twins()[f"units_{name}"])
st.caption(f"Both sentences read by the same model. Rows: the {caches.TOP_UNITS} units with the largest share of the "
           f"two verdicts together, in the same order on both sides (in brackets: each unit's share in that sentence). "
           "A click on a row opens its unit's page."
           if all(c is not None for c in changes) else
           f"Both sentences read by the same model. Rows: units 0 to {caches.TOP_UNITS - 1} by index (the verdict "
           f"splits by unit only for a one-direction \"last\" readout at its top layer). A click on a row opens its "
           "unit's page.")

first_screen.rest_of_page()

# ---- one sentence, several models ----
models_side_by_side(texts[0])

# ---- interventions ----
st.subheader("Force the gates")
sentence = sentences[0]
if model.arch != "gru":
    st.info("The vanilla RNN has no gates to force: it already is what vanilla-RNN mode makes of a GRU.")
elif not model.single_path:
    st.info("Forcing the gates is shown for one layer, one direction and one logit read from the last state; this "
            "model's shape is not supported here.")
else:
    st.caption("Sentence A read again with gates forced, beside its free reading. Vanilla-RNN mode opens the reset "
               "gate and shuts the update gate at every word; frozen memory keeps the memory fixed. The model is "
               "never changed, and your clamps are seen by you alone.")
    mode = st.radio("Intervention", list(MODE_LABELS), key="intervention_mode", format_func=MODE_LABELS.get,
                    horizontal=True)
    steps, unit_count = len(sentence.tokens), model.gru.hidden_size
    setting = (mode, None, None, (), None)  # the settings that matter for this mode: the cache key
    if mode == "custom":
        gate_column, value_column = st.columns(2)
        gate = gate_column.radio("Gate to force", ("update", "reset"), key="intervention_gate", horizontal=True,
                                 format_func={"update": "update gate z", "reset": "reset gate r"}.get)
        value = value_column.slider("Forced value", 0.0, 1.0, 1.0, 0.05, key="intervention_value")
        if any(unit not in range(unit_count) for unit in st.session_state.get("intervention_units", [])):
            del st.session_state["intervention_units"]  # a model with fewer units was chosen
        chosen = st.multiselect("Units to clamp (none chosen: every unit)",
                                [int(u) for u in analysis.rank_units(changes[0])], key="intervention_units",
                                help="Listed by their share of the verdict.")
        words = (0, steps - 1)
        if steps > 1:
            stored = st.session_state.get("intervention_words")
            if stored is not None and max(stored) > steps - 1:
                del st.session_state["intervention_words"]  # a shorter sentence was typed
            words = tuple(st.slider("Words to clamp (first and last position)", 0, steps - 1, (0, steps - 1),
                                    key="intervention_words"))
        st.text("Clamped words: " + " ".join(sentence.tokens[words[0]:words[1] + 1]))  # literal, no markup
        setting = ("custom", gate, float(value), tuple(sorted(chosen)), words)
    if mode != "free":
        clamped = caches.clamped_trace(model_key, texts[0], setting, _model=model, _steps=steps)
        free_p, clamped_p = float(sentence.probability[-1]), float(clamped.probability[-1])
        free_metric, clamped_metric, trained_metric, note = st.columns([1, 1, 1, 2])
        free_metric.metric("P(positive), free", f"{free_p:.3f}")
        clamped_metric.metric("P(positive), forced", f"{clamped_p:.3f}", delta=f"{clamped_p - free_p:+.3f}")
        trained = trained_counterpart(setting, model.name, steps)
        trained_p = None
        if trained is not None:
            trained_key, trained_model = caches.named_model(trained)
            trained_p = float(caches.trace(trained_key, texts[0], trained_model).probability[-1])
            trained_metric.metric(f"P(positive), {trained} (trained that way)", f"{trained_p:.3f}")
        st.warning("Forcing gates on a model trained with them is a distribution shift: the forced model is not a "
                   "model trained that way" + (f", which reads this sentence at {trained_p:.3f}." if trained_p
                                               is not None else ", and no model trained that way ships to compare."))
        if is_positive(free_p) != is_positive(clamped_p):
            note.markdown("**The intervention flips this model's verdict**"
                          + ("." if trained_p is None else f"; {trained}, trained that way, reads it as "
                             f"{'positive' if is_positive(trained_p) else 'negative'}."))
        shown = caches.intervention_figures(model_key, texts[0], setting, _free=sentence, _clamped=clamped,
                                     _units=analysis.rank_units(changes[0], caches.TOP_UNITS))
        left, right = st.columns(2)
        with left:
            chart(shown["probability"], "chart_intervention_probability")
        with right:
            chart(shown["hidden"], "chart_intervention_hidden")
        st.caption("Left: P(positive) after each word, free and forced. Right: how far the memory of the units that "
                   "carry the verdict moved, forced − free.")

# ---- activation patching ----
st.divider()
if st.toggle("Activation patching: carry B's memory into A", key="patching_on",
             help="One run of A from every state of B: about a second for two short sentences."):
    research.patching_section(model, texts[0], texts[1], model_key=model_key)

# ---- steering ----
st.divider()
if st.toggle("Steering: push A's memory along a unit or the verdict direction", key="steering_on",
             help="Adds α·direction to h after every word of A and reads on: two readings of A."):
    unit_sections.steering(model_key, model, texts[0], unit=None, key="compare_steer",
                           verdict_direction=unit_sections.verdict_direction(model, model_key))
figure_download()
