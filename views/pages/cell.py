"""Inside the cell: PyTorch's four GRU equations with the model's real numbers, for one word and one unit."""

from __future__ import annotations

from functools import partial

import streamlit as st

from gru_viz import analysis, figures
from views.parts import caches, first_screen, state
from views.parts.charts import vega_chart

GRU_EQUATIONS = r"""
\begin{aligned}
r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) && \text{reset gate} \\
z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) && \text{update gate} \\
n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) && \text{candidate} \\
h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t && \text{hidden state}
\end{aligned}
"""
RNN_EQUATION = (r"h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"
                r" \qquad \text{(a GRU with } z_t = 0,\ r_t = 1)")


model_key, model, text, sentence = state.sentence_header()
changes = caches.unit_changes(model_key, text, sentence)
steps, units = len(sentence.tokens), model.gru.hidden_size
ranked, shares = caches.unit_ranking(changes, units)
ranked = [int(u) for u in ranked]

if shares is None:
    st.caption("The units are listed by index: their share of the verdict is defined only where the head reads this "
               "layer's states (a one-direction \"last\" readout, at its top layer).")

# ---- choose a word and a unit ----
if st.session_state.get("cell_position", 0) >= steps:
    del st.session_state["cell_position"]  # a shorter sentence was typed
if st.session_state.get("cell_unit") not in (None, *range(units)):
    del st.session_state["cell_unit"]  # a model with fewer units was chosen
word_column, unit_column = st.columns([2, 1])
if "cell_position" not in st.session_state:  # start at the word that moved the verdict most
    st.session_state["cell_position"] = int((analysis.largest_moves(sentence.logit_changes, 1).tolist() or [0])[0])
position = word_column.select_slider("Word", options=list(range(steps)), key="cell_position",
                                     format_func=lambda t: f"{t}: {sentence.tokens[t]}")
unit = unit_column.selectbox("Unit (ranked by its share of the verdict)" if shares is not None else "Unit", ranked,
                             key="cell_unit", format_func=lambda u: f"unit {u}" + (f" (share {shares[u]:+.2f})"
                                                                                   if shares is not None else ""))

unit_column.page_link("views/pages/unit.py", label=f"Unit {unit}'s page", icon=":material/arrow_forward:",
                      query_params={"unit": unit, "model": model.name})
# ---- the unit through the sentence, in the first screen: Vega-Lite, so it waits for no Plotly bundle ----
vega_chart(caches.unit_spec(model_key, text, unit, position, _sentence=sentence), "chart_cell_unit",
           partial(caches.unit_figure, model_key, text, unit, position, _sentence=sentence))
st.caption("The chosen unit's gates, candidate and memory after every word; the shaded column is the chosen word.")
first_screen.rest_of_page()

# ---- the equations in general, folded: the same equations with the model's numbers follow ----
with st.expander("PyTorch's GRU equations, in general" if model.arch == "gru"
                 else "The vanilla RNN's equation, in general"):
    st.markdown("A GRU reads one word x_t at a time and updates its memory h_t with two gates (PyTorch's equations "
                "and gate order; σ is the logistic function, ⊙ multiplies unit by unit):")
    st.latex(GRU_EQUATIONS if model.arch == "gru" else RNN_EQUATION)
if sentence.layer > 0 or sentence.direction == 1:
    st.info(f"Layer {sentence.layer + 1}, {('forward', 'backward')[sentence.direction]}: "
            + ("x_t is the layer below's output at the word (forward, then backward states)" if sentence.layer
               else "x_t is the word's embedding")
            + ("; this direction reads the sentence from its end, so h_{t−1} stands for the state after the next "
               "word, h_{t+1}." if sentence.direction == 1 else "."))

step = analysis.sentence_cell_step(model, sentence, position, unit)
st.markdown(f"**Unit {unit} at word {position}, “{step.token}”**, with the model's own numbers (each brace is the "
            f"value of the term above it):")
st.latex(figures.cell_latex(step))
if model.arch == "gru":
    terms = step.update_terms
    st.caption(f"Inside σ, z's input is the word's term `W_iz x_t + b_iz` = {terms.from_input:+.3f} plus the "
               f"memory's term `W_hz h_{{t−1}} + b_hz` = {terms.from_memory:+.3f}: "
               f"σ({terms.from_input + terms.from_memory:+.3f}) = {step.update:.3f}. Both are contributions to z's "
               f"input before σ, not changes of the memory. With z = {step.update:.3f} the unit keeps that share of "
               f"its old value {step.previous:+.3f} ({step.kept:+.3f}) and writes the rest of the candidate "
               f"{step.candidate:+.3f} ({step.written:+.3f}).")

# ---- every unit that matters, at this word ----
st.subheader(f"The {min(caches.TOP_UNITS, units)} units that carry the verdict, at “{step.token}”" if shares is not None
             else f"Units 0 to {min(caches.TOP_UNITS, units) - 1}, at “{step.token}”")
rows = caches.step_rows(model_key, text, position, tuple(ranked[:caches.TOP_UNITS]), _model=model, _sentence=sentence)
# a plain HTML table: st.dataframe's grid code delayed this page's first chart by 0.3 s (benchmarks/first_chart_ab)
st.html(figures.values_table_html(rows, {name: "+.4f" for name in rows[0] if name != "unit"}))
st.caption("h_t = kept + written: what the unit keeps of its memory plus what the word writes. Computed in float64 "
           "from the weights, the word's embedding and the state `h_{t−1}` the trace holds; equal to the trace to "
           "1e-6.")
