"""Memory dynamics: how far back the verdict's gradient reaches, which past states each state depends on, the
fixed points the memory settles into, and integrated gradients beside the exact logit change. Each view
draws on request."""

from __future__ import annotations

import streamlit as st

from gru_viz import analysis, figures
from views import research, shared

GRU_NAME, RNN_NAME = "sst2-gru", "sst2-rnn"  # the pair the gradient-flow view compares


@st.cache_data(max_entries=64, show_spinner="Following the gradient back through both networks…")
def sentence_flow(model_key: tuple, text: str, _model):
    return analysis.sentence_gradient_flow(_model, text, max_tokens=shared.PAGE_MAX_TOKENS)


model_key, model, text, sentence = shared.sentence_header()

# ---- gradient flow on this sentence ----
st.subheader("How far back the verdict's gradient reaches")
folders = shared.model_folders(shared.models_root())
if GRU_NAME not in folders or RNN_NAME not in folders:
    st.caption(f"This view compares the shipped models {GRU_NAME} and {RNN_NAME}; the models folder lacks one.")
elif st.toggle("Compute the gradient flow, GRU vs vanilla RNN", key="sentence_flow_on",
               help="Exact Jacobians in float64: about a second for a new sentence."):
    pair = {name: shared.named_model(name) for name in (GRU_NAME, RNN_NAME)}
    norms = [sentence_flow(key, text, _model=pair_model) for key, pair_model in pair.values()]
    shared.chart(figures.gradient_flow_figure(sentence.tokens, *norms,
                                                       names=(f"GRU ({GRU_NAME})", f"vanilla RNN ({RNN_NAME})")),
                 "chart_sentence_flow")
    st.caption("‖∂h_T/∂h_t‖: how much of a gradient arriving at the last word reaches word t. At the last word both "
               "are √H; the steeper a curve falls to the left, the less an early word can learn from the verdict.")

# ---- research views (issue 12) ----
research.dynamics_sections(model, text, model_key=model_key)
shared.figure_download()
