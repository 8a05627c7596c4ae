"""Compare & intervene: two sentences side by side, the gates forced, and activations patched from one into
the other."""

from __future__ import annotations

import streamlit as st

from gru_viz import analysis, figures
from views import research, shared

TOP_UNITS = 12  # heatmap rows: the units that carry the two verdicts together
MODE_LABELS = {"free": "free (as trained)", "vanilla-RNN mode": "vanilla-RNN mode (r ≡ 1, z ≡ 0)",
               "frozen memory": "frozen memory (z ≡ 1)", "custom": "custom"}


@st.cache_resource(max_entries=32, show_spinner=False)
def compare_figures(model_key: tuple, texts: tuple, _sentences, _changes) -> dict:
    units = analysis.rank_units(list(_changes), TOP_UNITS)
    field = "update" if _sentences[0].arch == "gru" else "hidden"  # the vanilla RNN has no gates
    series = [(name, sentence.tokens, sentence.probability, sentence.start_probability)
              for name, sentence in zip("AB", _sentences)]
    return {"prediction": figures.compare_prediction_figure(series),
            **{f"units_{name}": figures.unit_heatmaps_figure({field: getattr(sentence, field)}, sentence.tokens,
                                                                   units, analysis.unit_shares(changes)[units])
               for name, sentence, changes in zip("AB", _sentences, _changes)}}


@st.cache_resource(max_entries=64, show_spinner="Reading the sentence with the gates forced…")
def clamped_trace(model_key: tuple, text: str, setting: tuple, _model, _steps: int):
    """The sentence read under one clamp setting (mode, gate, value, units, words): part of the cache key,
    so sessions never see each other's clamps; clamps go through ``model.trace`` and never touch the model."""
    mode, gate, value, units, words = setting
    clamps = analysis.intervention_clamps(mode, _steps, _model.gru.hidden_size, gate=gate or "update",
                                        value=1.0 if value is None else value, chosen_units=units, words=words)
    return _model.trace(text, max_tokens=shared.PAGE_MAX_TOKENS, **clamps)


@st.cache_resource(max_entries=32, show_spinner=False)
def intervention_figures(model_key: tuple, text: str, setting: tuple, _free, _clamped, _units) -> dict:
    return {"probability": figures.probability_comparison_figure(_free.tokens, _free.probability,
                                                                          _clamped.probability),
            "hidden": figures.difference_heatmap(_free.tokens, _free.hidden, _clamped.hidden, field="hidden",
                                                          units=_units)}


model_key, model = shared.current_model()
first, second, side = st.columns([2, 2, 1])
first.text_area("Sentence A (the one you typed)", key="text", height=68)
second.text_area("Sentence B", key="compare_b", height=68)
with side:
    shared.model_picker()
texts = (st.session_state["text"], st.session_state["compare_b"])
sentences = [shared.read_sentence(model_key, model, text) for text in texts]
if any(sentence is None for sentence in sentences):
    st.stop()
changes = [shared.unit_changes(model_key, text, sentence) for text, sentence in zip(texts, sentences)]

# ---- side by side ----
shown = compare_figures(model_key, texts, _sentences=sentences, _changes=changes)
shared.chart(shown["prediction"], "chart_compare_prediction")
left, right = st.columns(2)
with left:
    shared.chart(shown["units_A"], "chart_compare_A")
with right:
    shared.chart(shown["units_B"], "chart_compare_B")
st.caption(f"Both sentences read by the same model. Rows: the {TOP_UNITS} units with the largest share of the two "
           f"verdicts together, in the same order on both sides (in brackets: each unit's share in that sentence).")

# ---- interventions ----
st.subheader("Force the gates")
sentence = sentences[0]
if model.arch != "gru":
    st.info("The vanilla RNN has no gates to force: it already is what vanilla-RNN mode makes of a GRU.")
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
        clamped = clamped_trace(model_key, texts[0], setting, _model=model, _steps=steps)
        free_p, clamped_p = float(sentence.probability[-1]), float(clamped.probability[-1])
        free_metric, clamped_metric, note = st.columns([1, 1, 2])
        free_metric.metric("P(positive), free", f"{free_p:.3f}")
        clamped_metric.metric("P(positive), forced", f"{clamped_p:.3f}", delta=f"{clamped_p - free_p:+.3f}")
        if (free_p > 0.5) != (clamped_p > 0.5):
            note.markdown("**The intervention flips the verdict.**")
        shown = intervention_figures(model_key, texts[0], setting, _free=sentence, _clamped=clamped,
                                     _units=analysis.rank_units(changes[0], TOP_UNITS))
        left, right = st.columns(2)
        with left:
            shared.chart(shown["probability"], "chart_intervention_probability")
        with right:
            shared.chart(shown["hidden"], "chart_intervention_hidden")
        st.caption("Left: P(positive) after each word, free and forced. Right: how far the memory of the units that "
                   "carry the verdict moved, forced − free.")

# ---- activation patching (issue 12's section) ----
st.divider()
if st.toggle("Activation patching: carry B's memory into A", key="patching_on",
             help="One run of A from every state of B: about a second for two short sentences."):
    research.patching_section(model, texts[0], texts[1], model_key=model_key)
shared.figure_download()
