"""Memory dynamics: how far back the verdict's gradient reaches, which past states each state depends on, the
fixed points the memory settles into, and integrated gradients beside the exact logit change. Each view
draws on request."""

from __future__ import annotations

import streamlit as st

from gru_viz import figures, paths
from views.parts import caches, research, state
from views.parts.charts import chart, figure_download

GRU_NAME, RNN_NAME = paths.DEFAULT_MODEL, paths.RNN_MODEL  # the pair the gradient-flow view compares


model_key, model, text, sentence = state.sentence_header()
st.caption(f"Each view reads at most the first {caches.PAGE_MAX_TOKENS} words (integrated gradients "
           f"{research.ATTRIBUTION_MAX_WORDS}) and is computed beside the server, one request at a time for all "
           "readers: a long text may wait its turn, and never slows anyone's page.")

# ---- gradient flow on this sentence ----
st.subheader("How far back the verdict's gradient reaches")
folders = caches.model_folders(caches.models_root())
if GRU_NAME not in folders or RNN_NAME not in folders:
    st.caption(f"This view compares the shipped models {GRU_NAME} and {RNN_NAME}; the models folder lacks one.")
elif st.toggle("Compute the gradient flow, GRU vs vanilla RNN", key="sentence_flow_on",
               help="Exact Jacobians in float64: about a second for a new sentence."):
    pair = {name: caches.named_model(name) for name in (GRU_NAME, RNN_NAME)}
    norms = [caches.sentence_flow(key, text, _model=pair_model) for key, pair_model in pair.values()]
    chart(figures.gradient_flow_figure(sentence.tokens, *norms,
                                       names=(f"GRU ({GRU_NAME})", f"vanilla RNN ({RNN_NAME})")), "chart_sentence_flow")
    st.caption("‖∂h_T/∂h_t‖: how much of a gradient arriving at the last word reaches word t. At the last word both "
               "are √H; the steeper a curve falls to the left, the less an early word can learn from the verdict.")

# ---- connectivity, fixed points, integrated gradients ----
research.dynamics_sections(model, text, model_key=model_key)
figure_download()
