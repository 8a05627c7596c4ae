"""The first chart of *Read a sentence* as Vega-Lite specs (plain dicts): how the verdict formed, word by word.

It is Vega-Lite, as every chart a page draws when it opens is, because Streamlit draws a Vega-Lite chart without
Plotly's 4.7 MB bundle, and a page whose first render holds a Plotly chart paints nothing until Chromium has
evaluated that bundle (about 1 s on a quiet 2-core machine; ``benchmarks/browser_bench.py``).
``figures.sentence.story_figure`` draws the same story with Plotly for the HTML download; both take their colours,
ranges and ringed words from ``figures.style``.

Its rows share one word axis:

1. P(positive) had the sentence ended after each word, from the start; the words that moved it most ringed;
2. each word's exact change of the logit, w · (h_t − h_{t−1}): the bars add up to logit_T − logit_start;
3. the update gate z (or, for a model without gates, the memory h) of the units that carry the verdict;
4. for a GRU (``reset`` given), the reset gate r of the same units, in the same order.

Words travel as data (Vega draws text as text, never as markup), keyed ``"007 word"`` so a repeated word keeps
its own column; the axis shows the word alone.

>>> specs = story_specs(["not", "bad"], [0.3, 0.8], 0.5, [-0.8, 2.2], [[0.9, 0.1], [0.2, 0.7]], [1, 0])
>>> [row["word"] for row in specs["probability"]["data"]["values"]]
['(start)', 'not', 'bad']
>>> [row["change"] for row in specs["changes"]["data"]["values"]]
[-0.8, 2.2]
"""

from __future__ import annotations

import numpy as np

from gru_viz.figures.style import (
    DIVERGING,
    FIELD_RANGES,
    FIELD_SYMBOLS,
    FIELD_TITLES,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    UNIT_ROW_PX,
    marked_moves,
    unit_labels,
)
from gru_viz.model import VERDICT_THRESHOLD

__all__ = ["START", "field_colour_scale", "story_specs", "word_key", "word_x"]

START = "(start)"
# every row's y axis takes the same room, so the three rows' columns line up
_Y_AXIS = {"minExtent": 110, "maxExtent": 110}
_KEY_DIGITS = 4  # word keys "0007 word": the page reads at most a few hundred words
_ROW_PX = 14  # per unit row: z and r of six units, under the P line, fit the first screen at 900 px
_RIGHT_ALIGNED = 0.15  # ringed labels in the last 15% of the columns end at their word, so none runs off the edge


def word_key(position: int, word: str) -> str:
    """The column key of the word at ``position`` (−1: the start): zero-padded so keys sort in reading order."""
    return f"{position + 1:0{_KEY_DIGITS}d} {word}"


def word_x(keys: list[str], *, labelled: bool = True) -> dict:
    """The x encoding of a word axis whose columns are ``keys`` (``word_key`` each, in reading order): the axis
    shows the word alone, slanted past 12 words; ``labelled=False`` hides it (a row above another's words)."""
    if not labelled:
        return {"field": "key", "type": "ordinal", "scale": {"domain": keys}, "axis": None}
    return {"field": "key", "type": "ordinal", "scale": {"domain": keys},
            "axis": {"title": None, "labelExpr": f"substring(datum.label, {_KEY_DIGITS + 1})", "labelOverlap": True,
                     "labelAngle": -40 if len(keys) > 12 else 0, "labelLimit": 90, "ticks": False, "domain": False}}


def field_colour_scale(field: str) -> dict:
    """The Vega-Lite colour scale of a trace field, as the Plotly figures draw it: a gate on Viridis over 0 … 1,
    n and h red–white–blue over −1 … 1."""
    low, high = FIELD_RANGES[field]
    return {"scheme": "viridis", "domain": [low, high]} if low == 0 else _colour_scale(DIVERGING, low, high)


def _colour_scale(stops, low: float, high: float) -> dict:
    """A Plotly-style list of [fraction, colour] stops as a piecewise Vega-Lite scale on low … high."""
    return {"domain": [low + (high - low) * fraction for fraction, _ in stops],
            "range": [colour for _, colour in stops], "clamp": True}


def _label_align(position: int, steps: int) -> str:
    """Where a ringed word's label sits against its point: centred, or ending at it near the right edge."""
    return "right" if position >= steps - max(1, round(steps * _RIGHT_ALIGNED)) else "center"


def story_specs(tokens: list[str], probability, start_probability: float, changes, values, units, shares=None, *,
                field: str = "update", marked=None, probability_title: str = "P(positive)",
                unit_link: str | None = None, reset=None) -> dict[str, dict]:
    """How the verdict formed, as Vega-Lite specs drawn one under the other ("probability", "changes",
    "units", and "reset" when ``reset`` is given; each one view, so each fits its container's width):
    P(positive) (T,) after each word from ``start_probability``;
    each word's exact logit change ``changes`` (T,); ``field`` ("update" or "hidden") of ``units`` (K,) from
    ``values`` (T, H), one row per unit labelled with its share of the logit change ``shares`` (K,), optional;
    ``reset`` (T, H): the reset gate of the same units, drawn in a fourth row that carries the word labels.
    ``marked``: the positions ringed (default ``figures.style.marked_moves``). ``probability_title`` names the
    line (with C ≥ 2 classes, the predicted class's probability). ``unit_link``: a URL with ``{unit}`` in it; a
    click on a unit's row opens it (Vega-Lite's href channel)."""
    probability = np.asarray(probability, dtype=np.float64)
    changes = np.asarray(changes, dtype=np.float64)
    steps = len(tokens)
    line = np.concatenate([[start_probability], probability])  # (T + 1,)
    moves = np.diff(line)  # (T,)
    marked = marked_moves(probability, start_probability) if marked is None else marked
    marked = {int(t) for t in np.asarray(marked, dtype=np.int64)}
    units = np.asarray(units, dtype=np.int64)
    keys = [word_key(-1, START)] + [word_key(t, word) for t, word in enumerate(tokens)]
    labels = unit_labels(units, shares)
    words = [{"key": keys[0], "word": START, "p": float(line[0]), "moved": 0.0, "change": None, "ring": False,
              "label": ""}]
    for t, word in enumerate(tokens):
        words.append({"key": keys[t + 1], "word": word, "p": float(probability[t]), "moved": float(moves[t]),
                      "change": float(changes[t]), "ring": t in marked, "label": f"{word} {moves[t]:+.2f}",
                      "align": _label_align(t, steps)})
    # the words label the lowest row only; the rows above share its columns (same keys, same y-axis room)
    x_hidden, x_words = word_x(keys, labelled=False), word_x(keys)
    y_probability = {"field": "p", "type": "quantitative", "scale": {"domain": [0, 1]},
                     "axis": {"title": probability_title, "values": [0, VERDICT_THRESHOLD, 1], "grid": False,
                              **_Y_AXIS}}
    ringed = {"x": x_hidden, "y": {"field": "p", "type": "quantitative"}}
    labels_layers = [  # below the point when it sits high, above it when low: away from the edge near it
        {"transform": [{"filter": f"datum.ring && datum.p {side} {VERDICT_THRESHOLD} && datum.align == '{align}'"}],
         "mark": {"type": "text", "dy": dy, "fontSize": 12, "fontWeight": "bold", "align": align,
                  **({"dx": 12} if align == "right" else {})},
         "encoding": {**ringed, "text": {"field": "label"}}}
        for side, dy in (("<", -19), (">=", 19)) for align in ("center", "right")]
    probability_row = {
        "title": {"text": "How the verdict formed", "anchor": "start",
                  # short lines: Vega cuts a line wider than the chart with "…" (the page works at 800 px)
                  "subtitle": [f"{probability_title} had the sentence ended after each word; below it, each word's",
                               f"exact change of the logit and the {FIELD_TITLES[field]}"
                               + ("" if reset is None else f" and {FIELD_TITLES['reset']}")
                               + (" of the units that carry the verdict" if shares is not None else
                                  f" of units {units.min()} to {units.max()}, by index")]},
        "data": {"values": words}, "height": 140 if reset is None else 115,
        "layer": [
            {"mark": {"type": "rule", "strokeDash": [3, 3], "color": "#888888"},
             "encoding": {"y": {"datum": VERDICT_THRESHOLD}}},
            {"mark": {"type": "line", "color": "#888888", "strokeWidth": 2},
             "encoding": {"x": x_hidden, "y": y_probability}},
            {"mark": {"type": "circle", "size": 70, "opacity": 1, "stroke": "#333333", "strokeWidth": 0.5},
             "encoding": {"x": x_hidden, "y": y_probability,
                          "color": {"field": "p", "type": "quantitative", "legend": None,
                                    "scale": _colour_scale(DIVERGING, 0.0, 1.0)},
                          "tooltip": [{"field": "word", "type": "nominal", "title": "after"},
                                      {"field": "p", "type": "quantitative", "title": probability_title,
                                       "format": ".6f"},
                                      {"field": "moved", "type": "quantitative", "title": "moved by",
                                       "format": "+.4f"}]}},
            {"transform": [{"filter": "datum.ring"}],
             "mark": {"type": "point", "shape": "circle", "size": 380, "filled": False, "color": "#000000",
                      "strokeWidth": 2},
             "encoding": ringed},
            *labels_layers,
        ]}
    change_row = {
        "data": {"values": words[1:]}, "height": 64, "mark": {"type": "bar"},
        "encoding": {"x": x_hidden,
                     "y": {"field": "change", "type": "quantitative",
                           "axis": {"title": "Δ logit", "tickCount": 3, "grid": False, **_Y_AXIS}},
                     "color": {"condition": {"test": "datum.change >= 0", "value": POSITIVE_COLOR},
                               "value": NEGATIVE_COLOR},
                     "tooltip": [{"field": "word", "type": "nominal", "title": "word"},
                                 {"field": "change", "type": "quantitative", "title": "logit changed by",
                                  "format": "+.6f"}]}}
    colour_scale = field_colour_scale(field)
    legend_title = FIELD_SYMBOLS[field] if reset is None else f"{FIELD_SYMBOLS[field]}, {FIELD_SYMBOLS['reset']}"
    legend = {"title": legend_title, "orient": "top", "direction": "horizontal", "titleOrient": "left",
              "gradientLength": 120, "gradientThickness": 8, "offset": 4, "padding": 0}

    def unit_row(field_values, symbol: str, x: dict, colour_legend) -> dict:
        shown = np.asarray(field_values, dtype=np.float64)[:, units]  # (T, K)
        cells = [{"key": keys[t + 1], "word": word, "unit": labels[k], "value": float(shown[t, k]),
                  **({"href": unit_link.format(unit=int(units[k]))} if unit_link else {})}
                 for t, word in enumerate(tokens) for k in range(len(units))]
        return {
            "data": {"values": cells}, "height": (UNIT_ROW_PX if reset is None else _ROW_PX) * max(len(units), 1),
            "mark": {"type": "rect"},
            "encoding": {"x": x,
                         "y": {"field": "unit", "type": "nominal", "scale": {"domain": labels},
                               # the field's symbol beside its block of units, so z and r never read as one
                               "axis": {"title": symbol, "labelLimit": _Y_AXIS["minExtent"] - 8,
                                        "labelOverlap": False, **_Y_AXIS}},
                         "color": {"field": "value", "type": "quantitative", "scale": colour_scale,
                                   "legend": colour_legend},
                         "tooltip": [{"field": "unit", "type": "nominal"}, {"field": "word", "type": "nominal"},
                                     {"field": "value", "type": "quantitative", "title": symbol,
                                      "format": ".6f"}],
                         **({"href": {"field": "href", "type": "nominal"}} if unit_link else {})}}

    rows = [("probability", probability_row), ("changes", change_row)]
    if reset is None:
        rows.append(("units", unit_row(values, FIELD_SYMBOLS[field], x_words, legend)))
    else:  # both gates: z without word labels, r under it with them, one legend for both (both on 0 … 1)
        rows.append(("units", unit_row(values, FIELD_SYMBOLS[field], x_hidden, legend)))
        rows.append(("reset", unit_row(reset, FIELD_SYMBOLS["reset"], x_words, None)))
    common = {"width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
              "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}
    # the rows sit close, as one chart; the P row keeps room under 0 for a ring, so the two y axes stay apart
    padding = {"left": 5, "right": 5, "top": 4, "bottom": 2}
    return {name: {**row, **common, "padding": {**padding, "bottom": 14} if name == "probability" else padding}
            for name, row in rows}
