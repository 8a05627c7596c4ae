"""The cell, one unit at a time: the unit's gates, candidate and memory over the sentence, and PyTorch's four GRU
equations at one word with the model's numbers filled in (LaTeX for ``st.latex``), from ``analysis.CellStep``.

>>> import numpy as np
>>> figure = unit_over_words_figure(["not", "bad"], {"hidden": np.array([[0.1, -0.2], [0.3, 0.4]])}, unit=1)
>>> figure.data[0].y.tolist()
[-0.2, 0.4]
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.figures.style import EXACT, FIELD_TITLES, SERIES_COLORS, new_figure, plotly_text, word_axis

__all__ = ["cell_latex", "unit_over_words_figure"]


def unit_over_words_figure(tokens: list[str], fields: dict, unit: int, position: int | None = None) -> go.Figure:
    """One unit through the sentence: each field (name → (T, H)) of unit ``unit`` as a line over the words,
    gates and states on one axis [−1, 1]; the word at ``position`` is shaded."""
    words = [plotly_text(t) for t in tokens]
    styles = {"update": ("z", SERIES_COLORS[2], "solid"), "reset": ("r", SERIES_COLORS[3], "dot"),
              "candidate": ("n", "#999999", "dash"), "hidden": ("h", "#222222", "solid")}
    data = []
    for name, values in fields.items():
        symbol, color, dash = styles[name]
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"{symbol}: {FIELD_TITLES[name]}",
                     "x": np.arange(len(tokens)), "y": np.ascontiguousarray(np.asarray(values)[:, unit]),
                     "text": words, "line": {"color": color, "dash": dash, "width": 3 if name == "hidden" else 2},
                     "hovertemplate": f"%{{text}}<br>{symbol} = %{{y{EXACT}}}<extra></extra>"})
    shapes = [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
               "line": {"color": "#bbbbbb", "width": 1}}]
    if position is not None:
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": position - 0.5, "x1": position + 0.5,
                       "y0": 0, "y1": 1, "fillcolor": "rgba(255,200,0,0.25)", "line": {"width": 0}, "layer": "below"})
    # the legend sits above the plot, under the title: below it, it would print over a thinned word axis's title
    layout = {"title": {"text": f"Unit {int(unit)} through the sentence", "y": 0.97, "yanchor": "top"},
              "xaxis": word_axis(tokens, title=""),
              "yaxis": {"range": [-1.05, 1.05], "title": {"text": "value"}}, "shapes": shapes, "height": 360,
              "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"},
              "margin": {"t": 75, "b": 10, "l": 10, "r": 10}}
    return new_figure(data, layout)



def _number(value: float) -> str:
    """A signed term under a brace: +0.250 or −0.250."""
    return f"{value:+.3f}".replace("-", "-\\,").replace("+", "+\\,")



def _value(value: float) -> str:
    """A result after "=": 0.250 or −0.250."""
    return f"{value:.3f}".replace("-", "-\\,")



def cell_latex(step) -> str:
    """The four GRU equations of ``analysis.CellStep`` ``step`` with its numbers filled in (LaTeX, for
    ``st.latex``): each gate's input and memory terms, r, z, n, and h_{t−1} → h_t."""
    r, z, n = step.reset_terms, step.update_terms, step.candidate_terms
    if step.arch == "rnn":
        return (r"\begin{aligned} h_t &= \tanh(\underbrace{W_{ih}x_t}_{" + _number(n.input) + r"}"
                r" + \underbrace{b_{ih}}_{" + _number(n.input_bias) + r"} + \underbrace{W_{hh}h_{t-1}}_{"
                + _number(n.hidden) + r"} + \underbrace{b_{hh}}_{" + _number(n.hidden_bias) + r"}) = "
                + _value(step.hidden) + r"\end{aligned}")

    def inside(terms) -> str:
        return (r"\underbrace{W_{i}x_t}_{" + _number(terms.input) + r"} + \underbrace{b_{i}}_{"
                + _number(terms.input_bias) + r"} + \underbrace{W_{h}h_{t-1}}_{" + _number(terms.hidden)
                + r"} + \underbrace{b_{h}}_{" + _number(terms.hidden_bias) + "}")

    candidate = (r"\underbrace{W_{in}x_t}_{" + _number(n.input) + r"} + \underbrace{b_{in}}_{"
                 + _number(n.input_bias) + r"} + \underbrace{r_t}_{" + _number(step.reset)
                 + r"} \cdot (\underbrace{W_{hn}h_{t-1}}_{" + _number(n.hidden) + r"} + \underbrace{b_{hn}}_{"
                 + _number(n.hidden_bias) + "})")
    return (r"\begin{aligned}"
            r"r_t &= \sigma(" + inside(r).replace("W_{i}", "W_{ir}").replace("W_{h}", "W_{hr}")
            .replace("b_{i}", "b_{ir}").replace("b_{h}", "b_{hr}") + ") &&= " + _value(step.reset) + r"\\[4pt]"
            r"z_t &= \sigma(" + inside(z).replace("W_{i}", "W_{iz}").replace("W_{h}", "W_{hz}")
            .replace("b_{i}", "b_{iz}").replace("b_{h}", "b_{hz}") + ") &&= " + _value(step.update) + r"\\[4pt]"
            r"n_t &= \tanh(" + candidate + ") &&= " + _value(step.candidate) + r"\\[4pt]"
            r"h_t &= \underbrace{z_t}_{" + _number(step.update) + r"} \cdot \underbrace{h_{t-1}}_{"
            + _number(step.previous) + r"} + (1 - z_t) \cdot \underbrace{n_t}_{" + _number(step.candidate)
            + r"} = \underbrace{" + _number(step.kept) + r"}_{\text{kept}} + \underbrace{" + _number(step.written)
            + r"}_{\text{written}} &&= " + _value(step.hidden) + r"\end{aligned}")
