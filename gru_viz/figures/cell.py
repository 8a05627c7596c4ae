"""The cell, one unit at a time: the unit's gates, candidate and memory over the sentence, and PyTorch's four GRU
equations at one word with the model's numbers filled in (LaTeX for ``st.latex``), from ``analysis.CellStep``.

The unit's chart comes twice: ``unit_over_words_spec`` (Vega-Lite, a plain dict) is what *Inside the cell* draws
first, because Streamlit draws it without Plotly's 4.7 MB bundle (see ``figures.story``);
``unit_over_words_figure`` (Plotly) is the same chart for the HTML download.

>>> import numpy as np
>>> figure = unit_over_words_figure(["not", "bad"], {"hidden": np.array([[0.1, -0.2], [0.3, 0.4]])}, unit=1)
>>> figure.data[0].y.tolist()
[-0.2, 0.4]
>>> spec = unit_over_words_spec(["not", "bad"], {"hidden": np.array([[0.1, -0.2], [0.3, 0.4]])}, unit=1)
>>> [(row["word"], row["value"]) for row in spec["data"]["values"] if row["series"].startswith("h")]
[('not', -0.2), ('bad', 0.4)]
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.figures.story import word_key
from gru_viz.figures.style import EXACT, FIELD_TITLES, SERIES_COLORS, new_figure, plotly_text, word_axis

__all__ = ["cell_latex", "unit_over_words_figure", "unit_over_words_spec"]

_STYLES = {"update": ("z", SERIES_COLORS[2], "solid"), "reset": ("r", SERIES_COLORS[3], "dot"),
           "candidate": ("n", "#999999", "dash"), "hidden": ("h", "#222222", "solid")}
_DASHES = {"solid": [1, 0], "dot": [2, 3], "dash": [6, 4]}


def unit_over_words_figure(tokens: list[str], fields: dict, unit: int, position: int | None = None) -> go.Figure:
    """One unit through the sentence: each field (name → (T, H)) of unit ``unit`` as a line over the words,
    gates and states on one axis [−1, 1]; the word at ``position`` is shaded."""
    words = [plotly_text(t) for t in tokens]
    data = []
    for name, values in fields.items():
        symbol, color, dash = _STYLES[name]
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


def unit_over_words_spec(tokens: list[str], fields: dict, unit: int, position: int | None = None) -> dict:
    """``unit_over_words_figure`` as one Vega-Lite spec: each field (name → (T, H)) of unit ``unit`` as a line over
    the words on one axis [−1, 1], the word at ``position`` shaded. Words travel as data (never as markup), keyed
    by position (``figures.story.word_key``) so a repeated word keeps its own column."""
    keys = [word_key(t, word) for t, word in enumerate(tokens)]
    names = [f"{_STYLES[name][0]}: {FIELD_TITLES[name]}" for name in fields]
    rows = [{"key": keys[t], "word": word, "series": label, "value": float(np.asarray(values)[t, unit])}
            for label, values in zip(names, fields.values()) for t, word in enumerate(tokens)]
    x = {"field": "key", "type": "ordinal", "scale": {"domain": keys},
         "axis": {"title": None, "labelExpr": "substring(datum.label, 5)", "labelOverlap": True,
                  "labelAngle": -40 if len(tokens) > 12 else 0, "labelLimit": 90, "ticks": False}}
    layers = [{"mark": {"type": "rule", "color": "#bbbbbb"}, "encoding": {"y": {"datum": 0}}}]  # drawn first: below
    if position is not None:
        # one row of the data per series sits at the word: shade the first series' only, not one rect per series
        layers.append({"transform": [{"filter": {"and": [{"field": "key", "equal": keys[position]},
                                                         {"field": "series", "equal": names[0]}]}}],
                       "mark": {"type": "rect", "color": "#ffc800", "opacity": 0.25},
                       "encoding": {"x": x, "y": {"value": 0}, "y2": {"value": "height"}}})
    colours = [_STYLES[name][1] for name in fields]
    dashes = [_DASHES[_STYLES[name][2]] for name in fields]
    layers.append({"mark": {"type": "line", "point": True},
                   "encoding": {"x": x, "y": {"field": "value", "type": "quantitative",
                                              "scale": {"domain": [-1.05, 1.05]}, "axis": {"title": "value"}},
                                "color": {"field": "series", "type": "nominal", "sort": names,
                                          "scale": {"domain": names, "range": colours},
                                          "legend": {"title": None, "orient": "bottom", "direction": "horizontal"}},
                                "strokeDash": {"field": "series", "type": "nominal", "sort": names,
                                               "scale": {"domain": names, "range": dashes}, "legend": None},
                                "strokeWidth": {"condition": {"test": "indexof(datum.series, 'h:') == 0",
                                                              "value": 3}, "value": 2},
                                "tooltip": [{"field": "word", "type": "nominal"},
                                            {"field": "series", "type": "nominal", "title": "value of"},
                                            {"field": "value", "type": "quantitative", "format": ".6f"}]}})
    return {"title": {"text": f"Unit {int(unit)} through the sentence", "anchor": "start"},
            "data": {"values": rows}, "height": 250, "width": "container",
            "autosize": {"type": "fit-x", "contains": "padding"}, "layer": layers,
            "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}



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
