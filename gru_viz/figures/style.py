"""The one look of every gru-viz figure: a Plotly template, named colour scales, the shared axes, the titles and
ranges of the trace's fields, and the rule for which words a chart rings.

Every Plotly builder in ``gru_viz.figures`` starts its figure with ``new_figure`` and takes its colours from here,
so a data-set chart and a sentence chart look alike; the Vega-Lite story (``figures.story``) reads the same
colours, ranges and rings, so its first chart and its Plotly twin agree.

- ``GATE_SCALE``:   values in [0, 1] (the update and reset gates): Viridis, dark = closed, yellow = open.
- ``DIVERGING``:    signed values centred on 0, and P(positive) centred on 0.5: red negative, blue positive.
- ``SEQUENTIAL``:   non-negative magnitudes (norms, counts, attributions' size): white to dark blue.
- ``SERIES_COLORS``: lines of several series; the first is the GRU / the free run, the second the RNN /
  the clamped run.

>>> figure = new_figure([{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], {"title": {"text": "two bars"}})
>>> figure.layout.template.layout.font.family
'Arial, sans-serif'
>>> plotly_text("<b>bold</b> & co")
'&lt;b&gt;bold&lt;/b&gt; &amp; co'
>>> FIELD_SYMBOLS["update"], FIELD_RANGES["hidden"]
('z', (-1.0, 1.0))
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.decomposition import largest_moves, probability_moves

__all__ = ["DIVERGING", "EXACT", "FIELD_RANGES", "FIELD_SYMBOLS", "FIELD_TITLES", "GATE_SCALE", "LABEL_COLORS",
           "MAX_WORD_TICKS", "MIN_MARKED_MOVE", "MOVE_DIGITS", "NEGATIVE_COLOR", "POSITIVE_COLOR", "SEQUENTIAL",
           "SERIES_COLORS", "TEMPLATE", "UNIT_ROW_PX", "marked_moves", "new_figure", "ordinal", "plotly_text",
           "unit_labels", "word_axis"]

EXACT = ":.9~g"  # hover format: 9 significant digits round-trip a float32 exactly; ~ drops trailing zeros
MAX_WORD_TICKS = 60  # beyond this many words, label every k-th tick (hover still names every word)

# red for negative, blue for positive, everywhere: P(positive), h, n and contributions
DIVERGING = [[0.0, "#b2182b"], [0.25, "#ef8a62"], [0.5, "#f7f7f7"], [0.75, "#67a9cf"], [1.0, "#2166ac"]]
POSITIVE_COLOR, NEGATIVE_COLOR = DIVERGING[-1][1], DIVERGING[0][1]  # a bar that pushes the verdict up, or down
GATE_SCALE = "Viridis"
SEQUENTIAL = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]  # ColorBrewer Blues, 3 stops
SERIES_COLORS = ["#2166ac", "#b2182b", "#1b9e77", "#7570b3"]  # first: GRU / free; second: RNN / clamped
LABEL_COLORS = {"integrator": "#2166ac", "resetter": "#b2182b", "fast": "#ef8a62", "mixed": "#7f7f7f"}

# the four fields of a trace: their names on the page, their symbols and the range every chart draws them on
FIELD_TITLES = {"update": "update gate z", "reset": "reset gate r", "candidate": "candidate n",
                "hidden": "hidden state h"}
FIELD_SYMBOLS = {field: title.split()[-1] for field, title in FIELD_TITLES.items()}
FIELD_RANGES = {"update": (0.0, 1.0), "reset": (0.0, 1.0), "candidate": (-1.0, 1.0), "hidden": (-1.0, 1.0)}
UNIT_ROW_PX = 17  # pixels per unit row in a heatmap: 12 units read at a glance, 64 still fit a screen
MIN_MARKED_MOVE = 0.005  # the smallest move that can read non-zero at MOVE_DIGITS (a label never reads +0.00)
MOVE_DIGITS = 2  # a ringed word's label shows its move of P to this many decimals

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


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 22nd …

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 102, 111)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '102nd', '111th']
    """
    suffix = "th" if number % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


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
            "title": {"text": title if step == 1
                      else f"{title} (every {ordinal(step)} labelled; hover for all)".strip()},
            "showgrid": False, "zeroline": False}


def marked_moves(probability, start_probability: float, count: int | None = None) -> np.ndarray:
    """The words a chart rings: positions (in reading order) of the ``count`` words that moved P(positive) most
    (default 3, or 5 past 20 words), leaving out any whose move reads 0 at ``MOVE_DIGITS`` decimals, as its
    label prints it (a label would read +0.00).

    >>> marked_moves([0.5, 0.9, 0.9, 0.2], 0.5).tolist()
    [1, 3]
    >>> marked_moves([0.5, 0.504999, 0.51], 0.5).tolist()  # moves 0, +0.004999 (prints +0.00), +0.005001
    [2]
    """
    moves = probability_moves(probability, start_probability)  # (T,)
    if count is None:
        count = 3 if len(moves) <= 20 else 5
    chosen = largest_moves(moves, count)
    reads_non_zero = [float(f"{abs(move):.{MOVE_DIGITS}f}") > 0 for move in moves[chosen]]
    return chosen[np.asarray(reads_non_zero, dtype=bool)]


def unit_labels(units, shares=None) -> list[str]:
    """Row labels of chosen units: "unit 7", or "unit 7 (+0.91)" with each unit's share of the logit change.

    >>> unit_labels([7, 2], [0.912, -0.5])
    ['unit 7 (+0.91)', 'unit 2 (-0.50)']
    """
    if shares is None:
        return [f"unit {int(unit)}" for unit in units]
    return [f"unit {int(unit)} ({float(share):+.2f})" for unit, share in zip(units, shares)]
