"""*Compare*: one sentence read by two or three models at once (shipped or this session's upload): P(positive)
after each word of each model on one chart, and each model's verdict."""

from __future__ import annotations

from functools import partial

import streamlit as st

from gru_viz import figures
from gru_viz.model import is_positive
from views.parts import caches, state
from views.parts.charts import vega_chart

MAX_MODELS = 3  # more lines than this on one chart stop reading as a comparison


def _default_models(current: str, options: list[str]) -> list[str]:
    """The chosen model first, then the other shipped models, up to MAX_MODELS."""
    return ([current] if current in options else []) + [name for name in options if name != current][
        :MAX_MODELS - (current in options)]


def models_side_by_side(text: str) -> None:
    """The section: a model multiselect (``compare_models``), the chart ``chart_compare_models`` and one verdict
    per model. Draws nothing but a hint until two models are chosen."""
    st.subheader("One sentence, several models")
    options = state.model_choices()
    chosen = [name for name in st.session_state.get("compare_models", []) if name in options]
    if "compare_models" not in st.session_state or chosen != st.session_state["compare_models"]:
        # first visit, or an upload that is gone: start from the chosen model and the shipped ones
        st.session_state["compare_models"] = chosen or _default_models(st.session_state.get("model", ""), options)
    names = st.multiselect(f"Models reading sentence A (two to {MAX_MODELS})", options, key="compare_models",
                           max_selections=MAX_MODELS)
    if len(names) < 2:
        st.caption("Choose at least two models to read sentence A side by side.")
        return
    readings = []
    for name in names:
        try:
            key, model = state.model_by_choice(name)
        except (ValueError, OSError):
            st.error(f"The model {name} could not be loaded.")
            return
        readings.append((name, caches.trace(key, text, model)))
    tokens = readings[0][1].tokens
    series = [(name, sentence.probability, sentence.start_probability) for name, sentence in readings]
    vega_chart(figures.models_prediction_spec(tokens, series), "chart_compare_models",
               partial(figures.models_prediction_figure, tokens, series))
    for column, (name, sentence) in zip(st.columns(len(readings)), readings):
        final = float(sentence.probability[-1])
        column.metric(f"{name}: P(positive) = {final:.3f}", "positive" if is_positive(final) else "negative")
    st.caption("Each model reads the same words from its own start: “(start)” is the readout of its memory before "
               "the first word. The dotted line is the verdict threshold.")
