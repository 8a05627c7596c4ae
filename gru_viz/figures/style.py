"""The one look of every gru-viz figure: a Plotly template, named colour scales and the shared axes.

Every figure builder (``figures``, ``figures_analysis``, ``figures_research``) starts its figure with
``new_figure`` and takes its colours from here, so a data-set chart and a sentence chart look alike.

- ``GATE_SCALE``:   values in [0, 1] (the update and reset gates): Viridis, dark = closed, yellow = open.
- ``DIVERGING``:    signed values centred on 0, and P(positive) centred on 0.5: red negative, blue positive.
- ``LIGHT_DIVERGING``: the same, paler, for cells with black words written on them.
- ``SEQUENTIAL``:   non-negative magnitudes (norms, counts, attributions' size): white to dark blue.
- ``SERIES_COLORS``: lines of several series; the first is the GRU / the free run, the second the RNN /
  the clamped run.

>>> figure = new_figure([{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], {"title": {"text": "two bars"}})
>>> figure.layout.template.layout.font.family
'Arial, sans-serif'
>>> plotly_text("<b>bold</b> & co")
'&lt;b&gt;bold&lt;/b&gt; &amp; co'
"""

from __future__ import annotations

import html
import math

import plotly.graph_objects as go

__all__ = ["DIVERGING", "EXACT", "GATE_SCALE", "LABEL_COLORS", "LIGHT_DIVERGING", "MAX_WORD_TICKS", "SEQUENTIAL",
           "SERIES_COLORS", "TEMPLATE", "new_figure", "plotly_text", "word_axis"]

EXACT = ":.9~g"  # hover format: 9 significant digits round-trip a float32 exactly; ~ drops trailing zeros
MAX_WORD_TICKS = 60  # beyond this many words, label every k-th tick (hover still names every word)

# red for negative, blue for positive, everywhere: P(positive), h, n and contributions
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
LIGHT_DIVERGING = [[0.0, "#e08a7e"], [0.5, "#f7f7f7"], [1.0, "#7fb2d9"]]  # black words stay readable
GATE_SCALE = "Viridis"
SEQUENTIAL = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]  # ColorBrewer Blues, 3 stops
SERIES_COLORS = ["#2166ac", "#b2182b", "#1b9e77", "#7570b3"]  # first: GRU / free; second: RNN / clamped
LABEL_COLORS = {"integrator": "#2166ac", "resetter": "#b2182b", "fast": "#ef8a62", "mixed": "#7f7f7f"}

_AXIS = {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True}
# small on purpose: it travels with every figure to the browser (Plotly's own plotly_white is ~10 kB)
TEMPLATE = go.layout.Template(layout={
    "font": {"family": "Arial, sans-serif"}, "colorway": SERIES_COLORS, "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff", "colorscale": {"sequential": SEQUENTIAL, "diverging": DIVERGING},
    "margin": {"t": 50, "b": 10, "l": 50, "r": 10}, "xaxis": _AXIS, "yaxis": _AXIS,
    "scene": {axis: {"gridcolor": "#dfe8f3", "zerolinecolor": "#ebf0f8", "backgroundcolor": "#ffffff",
                     "showbackground": True} for axis in ("xaxis", "yaxis", "zaxis")},
})
_TEMPLATE_JSON = TEMPLATE.to_plotly_json()  # a plain dict: figures are built without validation


def new_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure of plain-dict traces in the house template. Built with ``_validate=False``: Plotly's
    validation costs more than the rest of a page render, so the tests validate every builder instead."""
    return go.Figure({"data": data, "layout": {"template": _TEMPLATE_JSON, **layout}}, _validate=False)


def plotly_text(text: str) -> str:
    """``text`` as Plotly shows it literally: &, < and > escaped (Plotly renders entities back)."""
    return html.escape(str(text), quote=False)


def word_axis(tokens: list[str], positions: int | None = None, title: str = "word", lead: list | None = None) -> dict:
    """A numeric x axis 0 … positions−1 labelled with ``tokens`` as typed (thinned past MAX_WORD_TICKS), so
    a repeated word keeps its own column. ``lead``: extra (position, label) ticks before the words, e.g.
    (−1, "start").

    >>> word_axis(["not", "bad"])["ticktext"]
    ['not', 'bad']
    """
    count = len(tokens) if positions is None else max(positions, len(tokens))
    step = max(1, math.ceil(len(tokens) / MAX_WORD_TICKS))
    shown = range(0, len(tokens), step)
    values = [position for position, _ in lead or []] + list(shown)
    labels = [label for _, label in lead or []] + [plotly_text(tokens[t]) for t in shown]
    first = min([-0.5] + [position - 0.5 for position, _ in lead or []])
    return {"tickmode": "array", "tickvals": values, "ticktext": labels, "range": [first, count - 0.5],
            "title": {"text": title if step == 1 else f"{title} (every {step}th labelled; hover for all)"},
            "showgrid": False, "zeroline": False}
