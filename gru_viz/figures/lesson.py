"""Figures of the lesson (``gru_viz.lesson``): several models reading one sentence on one chart, the update gate
of the units that carry the verdict, and one gate across every unit at one word. Each comes twice: a Vega-Lite
spec (``*_spec``, a plain dict), which is what the page draws, since Streamlit draws it without Plotly's bundle
(see ``figures.story``), and a Plotly ``go.Figure`` (``*_figure``) for the HTML download, both in the house
style of ``figures.style``.

>>> import numpy as np
>>> figure = models_probability_figure(["not", "bad"], [("GRU", np.array([0.2, 0.8]), 0.5),
...                                                     ("RNN", np.array([0.3, 0.4]), 0.5)])
>>> [trace.name for trace in figure.data], figure.data[0].y.tolist()
(['GRU', 'RNN'], [0.5, 0.2, 0.8])
>>> spec = gate_across_units_spec(np.array([0.9, 0.02]), "but", marked=1, shut=0.1)
>>> [(row["unit"], row["value"]) for row in spec["data"]["values"]]
[(0, 0.9), (1, 0.02)]
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.figures.sentence import models_prediction_spec, unit_heatmap_spec, unit_heatmaps_figure
from gru_viz.figures.story import field_colour_scale
from gru_viz.figures.style import EXACT, GATE_SCALE, SERIES_COLORS, UNIT_ROW_PX, new_figure, plotly_text, word_axis
from gru_viz.model import VERDICT_THRESHOLD

__all__ = ["carriers_figure", "carriers_spec", "gate_across_units_figure", "gate_across_units_spec",
           "models_probability_figure", "models_probability_spec", "vanilla_latex"]

MODELS_TITLE = "P(positive) after each word, every model on the same sentence"
MARK_COLOR = "#b2182b"  # the ring and name of the unit a step is about

DASHES = ("solid", "dash", "dot", "dashdot")


def models_probability_figure(tokens: list[str], series: list[tuple[str, np.ndarray, float]], *,
                              title: str = MODELS_TITLE) -> go.Figure:
    """P(positive) after each word of one sentence for several models: ``series`` is (name, probability (T,),
    start probability) each, drawn from "start" (before the first word) on one word axis, with the verdict line."""
    words = ["(start)"] + [plotly_text(token) for token in tokens]
    data = []
    for index, (name, probability, start) in enumerate(series):
        probability = np.asarray(probability, dtype=np.float64)
        if len(probability) != len(tokens):
            raise ValueError(f"{name}: {len(probability)} probabilities for {len(tokens)} words")
        data.append({"type": "scatter", "mode": "lines", "name": plotly_text(name),
                     "x": np.arange(-1, len(tokens)), "y": np.concatenate([[start], probability]), "text": words,
                     "line": {"color": SERIES_COLORS[index % len(SERIES_COLORS)],
                              "dash": DASHES[index % len(DASHES)], "width": 2},
                     "hovertemplate": f"{plotly_text(name)}: after %{{text}} (position %{{x}})<br>"
                                      f"P(positive) = %{{y{EXACT}}}<extra></extra>"})
    axis = {**word_axis(tokens), "range": [-1.5, len(tokens) - 0.5]}  # x = −1 is the start (hover names it)
    layout = {"title": {"text": title}, "xaxis": axis,
              "yaxis": {"range": [0, 1], "title": {"text": "P(positive)"}},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": VERDICT_THRESHOLD,
                          "y1": VERDICT_THRESHOLD, "line": {"color": "#999999", "dash": "dot", "width": 1}}],
              "legend": {"orientation": "h", "y": -0.3}, "height": 380}
    return new_figure(data, layout)


def models_probability_spec(tokens: list[str], series: list[tuple[str, np.ndarray, float]], *,
                            title: str = MODELS_TITLE) -> dict:
    """``models_probability_figure`` as one Vega-Lite spec (``figures.sentence.models_prediction_spec``: the
    chart *Compare* draws for several models), lines without a dot per word, as the lesson's reviews are long."""
    return models_prediction_spec(tokens, series, title=title, points=False)


def gate_across_units_figure(values: np.ndarray, word: str, *, symbol: str = "r", marked: int | None = None,
                             shut: float | None = None) -> go.Figure:
    """One gate's value (H,) for every unit at one word, one dot per unit coloured on the gate scale (a gate at
    0 stays visible); unit ``marked`` is ringed and named, and a dotted line marks ``shut``."""
    values = np.asarray(values, dtype=np.float64)
    units = np.arange(len(values))
    data = [{"type": "scatter", "mode": "markers", "x": units, "y": values, "name": symbol,
             "marker": {"color": values, "colorscale": GATE_SCALE, "cmin": 0, "cmax": 1, "size": 9,
                        "line": {"color": "#555555", "width": 0.5}},
             "hovertemplate": f"unit %{{x}}<br>{symbol} = %{{y{EXACT}}}<extra></extra>"}]
    shapes, annotations = [], []
    if shut is not None:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": shut, "y1": shut,
                       "line": {"color": "#999999", "dash": "dot", "width": 1}})
    if marked is not None:
        data.append({"type": "scatter", "mode": "markers", "x": [int(marked)], "y": [float(values[marked])],
                     "name": f"unit {int(marked)}", "hoverinfo": "skip",
                     "marker": {"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": MARK_COLOR, "width": 2}}})
        annotations.append({"x": int(marked), "y": float(values[marked]), "text": f"unit {int(marked)}",
                            "showarrow": True, "arrowhead": 0, "ax": 30, "ay": -35, "font": {"color": MARK_COLOR}})
    layout = {"title": {"text": f"{symbol} of every unit at “{plotly_text(word)}”"},
              "xaxis": {"title": {"text": "unit"}, "range": [-1, len(values)], "zeroline": False},
              "yaxis": {"range": [-0.05, 1.05], "title": {"text": symbol}}, "height": 300, "showlegend": False,
              "shapes": shapes, "annotations": annotations}
    return new_figure(data, layout)


def gate_across_units_spec(values: np.ndarray, word: str, *, symbol: str = "r", marked: int | None = None,
                           shut: float | None = None) -> dict:
    """``gate_across_units_figure`` as one Vega-Lite spec: one gate's value (H,) for every unit at ``word``, one
    dot per unit on the gate's colours; unit ``marked`` ringed and named, a dotted line at ``shut``. The word
    is drawn as text (Vega never reads it as markup)."""
    values = np.asarray(values, dtype=np.float64)
    rows = [{"unit": unit, "value": float(value)} for unit, value in enumerate(values)]
    x = {"field": "unit", "type": "quantitative", "scale": {"domain": [-1, len(values)], "nice": False},
         "axis": {"title": "unit", "tickMinStep": 1, "grid": False}}
    y = {"field": "value", "type": "quantitative", "scale": {"domain": [-0.05, 1.05], "nice": False},
         "axis": {"title": symbol, "values": [0, 0.25, 0.5, 0.75, 1], "format": ".2~f"}}
    layers = []
    if shut is not None:
        layers.append({"mark": {"type": "rule", "strokeDash": [2, 3], "color": "#999999"},
                       "encoding": {"y": {"datum": float(shut), "scale": y["scale"]}}})
    layers.append({"mark": {"type": "circle", "size": 70, "opacity": 1, "stroke": "#555555", "strokeWidth": 0.5},
                   "encoding": {"x": x, "y": y,
                                "color": {"field": "value", "type": "quantitative", "legend": None,
                                          "scale": field_colour_scale("reset")},
                                "tooltip": [{"field": "unit", "type": "quantitative"},
                                            {"field": "value", "type": "quantitative", "title": symbol,
                                             "format": ".6g"}]}})
    if marked is not None:
        only = [{"filter": {"field": "unit", "equal": int(marked)}}]
        layers.append({"transform": only, "mark": {"type": "point", "shape": "circle", "size": 330, "filled": False,
                                                   "color": MARK_COLOR, "strokeWidth": 2},
                       "encoding": {"x": x, "y": y}})
        layers.append({"transform": only, "mark": {"type": "text", "align": "left", "dx": 12, "dy": -16,
                                                   "fontSize": 13, "color": MARK_COLOR},
                       "encoding": {"x": x, "y": y, "text": {"value": f"unit {int(marked)}"}}})
    return {"title": {"text": f"{symbol} of every unit at “{word}”", "anchor": "start"}, "data": {"values": rows},
            "height": 220, "width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
            "layer": layers, "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}


def carriers_figure(update: np.ndarray, tokens: list[str], carriers, shares) -> go.Figure:
    """The update gate (T, H) of the units that carry the verdict, one row each, over the words: the house
    heatmap, tall enough that every row keeps its label above rotated word labels."""
    figure = unit_heatmaps_figure({"update": update}, tokens, carriers, shares)
    figure.layout.height = UNIT_ROW_PX * 2 * len(carriers) + 170
    return figure


def carriers_spec(update: np.ndarray, tokens: list[str], carriers, shares) -> dict:
    """``carriers_figure`` as one Vega-Lite spec: the house unit heatmap (``figures.sentence.unit_heatmap_spec``)
    of the update gate (T, H) of the ``carriers`` (K,), labelled with their ``shares`` (K,)."""
    return unit_heatmap_spec(tokens, update, carriers, shares, field="update",
                             title="Update gate z of the units that carry the verdict")


def vanilla_latex(from_word: float, from_memory: float, forced: float, vanilla: float, unit: int) -> str:
    """The clamped GRU step and the tanh RNN step for one unit with the same numbers (LaTeX, for ``st.latex``):
    ``from_word`` = W_in x_t + b_in, ``from_memory`` = W_hn h_{t−1} + b_hn, and the two results. On short lines,
    since KaTeX does not wrap."""
    word, memory = f"{from_word:+.4f}", f"{from_memory:+.4f}"
    return (r"\begin{gathered}"
            rf"\text{{unit {unit} of the GRU with }} r \equiv 1,\ z \equiv 0:\quad "
            r"h_t = 0 \cdot h_{t-1} + (1 - 0) \cdot n_t, \\"
            rf"n_t = \tanh(\underbrace{{W_{{in}}x_t + b_{{in}}}}_{{{word}}} + 1 \cdot "
            rf"\underbrace{{(W_{{hn}}h_{{t-1}} + b_{{hn}})}}_{{{memory}}}) = {forced:.10f} \\[8pt]"
            rf"\text{{unit {unit} of the tanh RNN with }} W_{{ih}} = W_{{in}},\ W_{{hh}} = W_{{hn}}: \\"
            rf"h_t = \tanh(\underbrace{{W_{{ih}}x_t + b_{{ih}}}}_{{{word}}} + "
            rf"\underbrace{{W_{{hh}}h_{{t-1}} + b_{{hh}}}}_{{{memory}}}) = {vanilla:.10f}"
            r"\end{gathered}")
