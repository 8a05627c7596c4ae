"""Memory dynamics: how far back the verdict's gradient reaches, which past states each state depends on, the
fixed points the memory settles into, and integrated gradients beside the exact logit change. Each view
draws on request."""

from __future__ import annotations

import streamlit as st

from gru_viz import figures
from views.parts import caches, research, state
from views.parts.charts import chart, figure_download

model_key, model, text, sentence = state.sentence_header()
st.caption(f"Each view reads at most the first {caches.PAGE_MAX_TOKENS} words (integrated gradients "
           f"{research.ATTRIBUTION_MAX_WORDS}) and is computed beside the server, one request at a time for all "
           "readers: a long text may wait its turn, and never slows anyone's page.")

# ---- gradient flow on this sentence: the chosen model, and a shipped reference beside it ----
st.subheader("How far back the verdict's gradient reaches")
if not model.single_path:
    st.info(research.SHAPE_NOTE.format(view="Gradient flow"))
elif st.toggle("Compute the gradient flow of the chosen model, beside a shipped reference", key="sentence_flow_on",
               help="Exact Jacobians in float64: about a second for a new sentence."):
    shown = caches.flow_models(model_key, model, uploaded=st.session_state.get("model") == state.UPLOADED)
    norms = [caches.sentence_flow(key, text, _model=flow_model) for _, key, flow_model in shown]
    # a model with its own tokenizer may split the text into other words: its curve would not share the axis
    kept = [index for index, norm in enumerate(norms) if len(norm) == len(sentence.tokens)]
    shown, norms = [shown[index] for index in kept], [norms[index] for index in kept]
    chart(figures.gradient_flow_figure(sentence.tokens, *norms, names=tuple(label for label, _, _ in shown)),
          "chart_sentence_flow")
    st.caption("‖∂h_T/∂h_t‖: how much of a gradient arriving at the last word reaches word t, for the chosen model"
               + (" and, as a reference, a shipped model of the other kind." if len(shown) > 1 else
                  " (no shipped reference of the other kind is in the models folder).")
               + " At the last word each is √H; the steeper a curve falls to the left, the less an early word can "
                 "learn from the verdict.")

# ---- connectivity, fixed points, integrated gradients ----
research.dynamics_sections(model, text, model_key=model_key, view=(sentence.layer, sentence.direction))
figure_download()
