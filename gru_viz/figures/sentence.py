"""The figures that tell one sentence's story: how the verdict formed, which words decided it, what the
units that carry it did, and one unit's step through the cell. Arrays in, ``go.Figure`` (or a LaTeX
string) out, in the house style of ``gru_viz.style``.

- ``story_figure``: P(positive) after each word above the update gate of the units that carry the verdict.
- ``word_change_figure``: each word's exact change of the logit (and, on request, the retention split).
- ``unit_heatmaps_figure``: z, r, n and h of chosen units, one panel each, one figure.
- ``unit_over_words_figure`` and ``cell_latex``: one unit through the sentence, and its four equations at
  one word with the model's numbers.

>>> import numpy as np
>>> figure = word_change_figure(["not", "bad"], np.array([-0.5, 1.5]), start_logit=0.1)
>>> figure.layout.title.subtitle.text
'start +0.10 + Σ words +1.00 = final +1.10'
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from gru_viz.probe import card_curves
from gru_viz.style import DIVERGING, EXACT, GATE_SCALE, SERIES_COLORS, new_figure, plotly_text, word_axis

__all__ = ["FIELD_TITLES", "MIN_MARKED_MOVE", "cell_latex", "marked_moves", "probe_figure", "story_figure",
           "unit_heatmaps_figure", "unit_over_words_figure", "word_change_figure"]

MIN_MARKED_MOVE = 0.005  # a ringed word moved P by at least this much, so its label never reads +0.00
FIELD_TITLES = {"update": "update gate z", "reset": "reset gate r", "candidate": "candidate n",
                "hidden": "hidden state h"}
_FIELD_RANGE = {"update": (0.0, 1.0), "reset": (0.0, 1.0), "candidate": (-1.0, 1.0), "hidden": (-1.0, 1.0)}
_POSITIVE, _NEGATIVE = DIVERGING[-1][1], DIVERGING[0][1]
_ROW_PX = 17  # pixels per unit row in a heatmap: 12 units read at a glance, 64 still fit a screen


def marked_moves(probability, start_probability: float, count: int = 3) -> np.ndarray:
    """Positions (in reading order) of the ``count`` words that moved P(positive) most, leaving out any
    that moved it by less than ``MIN_MARKED_MOVE`` (a label would read +0.00).

    >>> marked_moves([0.5, 0.9, 0.9, 0.2], 0.5).tolist()
    [1, 3]
    """
    moves = np.diff(np.asarray(probability, dtype=np.float64), prepend=start_probability)  # (T,)
    ranked = np.argsort(-np.abs(moves), kind="stable")[:max(count, 0)]
    return np.sort(ranked[np.abs(moves[ranked]) >= MIN_MARKED_MOVE])


def _unit_labels(units, shares) -> list[str]:
    return [f"unit {int(u)}" + ("" if shares is None else f" ({float(s):+.2f})") for u, s in
            zip(units, shares if shares is not None else [None] * len(units))]


def story_figure(tokens: list[str], probability, start_probability: float, values, units, shares=None, *,
                 field: str = "update", marked=None) -> go.Figure:
    """How the verdict formed: P(positive) after each word (T,) from the start (position −1) on top, and
    below it ``field`` ("update", the default, or "hidden" for a model without gates) of the chosen ``units``
    (K,), ``values`` (T, H), one row per unit, labelled with its share of the logit change (``shares`` (K,),
    optional). ``marked``: positions ringed and labelled with how far they moved P (default
    ``marked_moves``). One shared word axis."""
    probability = np.asarray(probability, dtype=np.float64)
    steps = len(tokens)
    line = np.concatenate([[start_probability], probability])  # (T + 1,)
    moves = np.diff(line)  # (T,)
    marked = marked_moves(probability, start_probability, 3 if steps <= 20 else 5) if marked is None else marked
    marked = np.asarray(marked, dtype=np.int64)
    words = [plotly_text(t) for t in tokens]
    units = np.asarray(units, dtype=np.int64)
    z = np.ascontiguousarray(np.asarray(values)[:, units].T)  # (K, T)
    low, high = _FIELD_RANGE[field]
    symbol = FIELD_TITLES[field].split()[-1]
    labels = _unit_labels(units, shares)
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": "P(positive)", "x": np.arange(-1, steps), "y": line,
         "xaxis": "x", "yaxis": "y", "text": ["(start)"] + words, "customdata": np.concatenate([[0.0], moves]),
         "line": {"color": "#888888", "width": 2},
         "marker": {"color": line, "cmin": 0.0, "cmax": 1.0, "colorscale": DIVERGING, "size": 9,
                    "line": {"color": "#333333", "width": 0.5}},
         "hovertemplate": (f"after %{{text}}<br>P(positive) = %{{y{EXACT}}}<br>moved by %{{customdata:+.4f}}"
                           "<extra></extra>")},
        # the ringed words' labels are the ring trace's own text, not layout annotations: annotations cost the
        # browser more to redraw than the rest of the chart (measured with Plotly.react in Chromium)
        {"type": "scatter", "mode": "markers+text", "name": "moved P most", "x": marked, "y": probability[marked],
         "xaxis": "x", "yaxis": "y", "hoverinfo": "skip", "cliponaxis": False,
         "text": [f"{words[t]} {moves[t]:+.2f}" for t in marked],
         "textposition": ["top center" if probability[t] < 0.5 else "bottom center" for t in marked],
         "textfont": {"size": 12},
         "marker": {"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": "#000000", "width": 2}}},
        {"type": "heatmap", "z": z, "x": np.arange(steps), "y": labels, "xaxis": "x", "yaxis": "y2",
         "text": [words] * len(units), "zmin": low, "zmax": high, "colorscale": GATE_SCALE if low == 0 else DIVERGING,
         "colorbar": {"title": {"text": symbol}, "thickness": 10, "len": 0.42, "y": 0.0, "yanchor": "bottom"},
         "hovertemplate": f"%{{y}}<br>word %{{text}}<br>{symbol} = %{{z{EXACT}}}<extra></extra>"},
    ]
    rows_height = _ROW_PX * len(units)
    layout = {
        "title": {"text": "How the verdict formed",
                  "subtitle": {"text": f"P(positive) after each word; below, the {FIELD_TITLES[field]} of the units "
                                       "that carry it"}},
        "xaxis": {**word_axis(tokens, lead=[(-1, "(start)")]), "anchor": "y2", "title": None},
        "yaxis": {"domain": [0.5, 1.0], "range": [-0.12, 1.12], "title": {"text": "P(positive)"},
                  "tickvals": [0, 0.5, 1]},
        "yaxis2": {"domain": [0.0, 0.44], "autorange": "reversed", "type": "category", "showgrid": False,
                   "title": None},
        "shapes": [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0.5, "y1": 0.5,
                    "line": {"dash": "dot", "color": "#888888", "width": 1}}],
        "showlegend": False,
        "height": int(max(440, 270 + 2 * rows_height)), "margin": {"t": 70, "b": 10, "l": 10, "r": 10},
    }
    return new_figure(data, layout)


def word_change_figure(tokens: list[str], changes, *, start_logit: float, retention=None) -> go.Figure:
    """Each word's exact change of the logit, logit_t − logit_{t−1} (T,), as bars (blue up, red down); the
    title adds them up from the start to the final logit. ``retention`` (T,), optional: the retention
    decomposition's share of each word, drawn beside as a second, paler series."""
    changes = np.asarray(changes, dtype=np.float64)
    words = [plotly_text(t) for t in tokens]
    final = start_logit + changes.sum()
    data = [{"type": "bar", "name": "exact change of the logit", "x": np.arange(len(tokens)), "y": changes,
             "text": words, "marker": {"color": [_POSITIVE if c >= 0 else _NEGATIVE for c in changes]},
             "textposition": "none",
             "hovertemplate": "%{text}<br>the logit changed by %{y:+.4f}<extra></extra>"}]
    if retention is not None:
        retention = np.asarray(retention, dtype=np.float64)
        data.append({"type": "bar", "name": "retention decomposition (what survives of each write)",
                     "x": np.arange(len(tokens)), "y": retention, "text": words, "textposition": "none",
                     "marker": {"color": "rgba(120,120,120,0.45)", "line": {"color": "#555555", "width": 1}},
                     "hovertemplate": "%{text}<br>its write, as it survives to the end: %{y:+.4f}<extra></extra>"})
    layout = {"title": {"text": "Each word’s exact change of the logit",
                        "subtitle": {"text": f"start {start_logit:+.2f} + Σ words {changes.sum():+.2f} = final "
                                             f"{final:+.2f}"}},
              "xaxis": word_axis(tokens, title=""), "yaxis": {"title": {"text": "change of the logit"},
                                                             "zeroline": True, "zerolinecolor": "#888888"},
              "barmode": "group", "bargap": 0.25, "showlegend": retention is not None,
              "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
              "height": 360, "margin": {"t": 90 if retention is not None else 70, "b": 10, "l": 10, "r": 10}}
    return new_figure(data, layout)


def unit_heatmaps_figure(fields: dict, tokens: list[str], units, shares=None) -> go.Figure:
    """Units × words heatmaps of the chosen units (K,) for each field in ``fields`` (name → (T, H); names
    among "update", "reset", "candidate", "hidden"), panels in a grid of two columns sharing the rows.
    Gates on [0, 1], n and h on [−1, 1] centred on 0. Rows are labelled with each unit's share (optional)."""
    units = np.asarray(units, dtype=np.int64)
    names = list(fields)
    columns = 1 if len(names) == 1 else 2
    rows = math.ceil(len(names) / columns)
    words = [plotly_text(t) for t in tokens]
    labels = _unit_labels(units, shares)
    gap_x, gap_y = 0.08, 0.12 if rows > 1 else 0.0
    width, height = (1 - gap_x * (columns - 1)) / columns, (1 - gap_y * (rows - 1)) / rows
    data, layout, seen_scales = [], {"annotations": []}, set()
    for index, name in enumerate(names):
        row, column = divmod(index, columns)
        axis = "" if index == 0 else str(index + 1)
        low, high = _FIELD_RANGE[name]
        gate = low == 0.0
        x0, y1 = round(column * (width + gap_x), 6), round(1 - row * (height + gap_y), 6)
        trace = {"type": "heatmap", "z": np.ascontiguousarray(np.asarray(fields[name])[:, units].T),
                 "x": np.arange(len(tokens)), "y": labels, "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                 "text": [words] * len(units), "zmin": low, "zmax": high,
                 "colorscale": GATE_SCALE if gate else DIVERGING, "showscale": gate not in seen_scales,
                 "colorbar": {"title": {"text": "gate" if gate else "n, h"}, "thickness": 10, "len": 0.45,
                              "y": 1.0 if gate else 0.0, "yanchor": "top" if gate else "bottom"},
                 "hovertemplate": (f"%{{y}}<br>word %{{text}}<br>{FIELD_TITLES[name].split()[-1]} = "
                                   f"%{{z{EXACT}}}<extra></extra>")}
        if not gate:
            trace["zmid"] = 0.0
        seen_scales.add(gate)
        data.append(trace)
        layout[f"xaxis{axis}"] = {**word_axis(tokens, title=""), "domain": [x0, min(1.0, round(x0 + width, 6))],
                                  "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"domain": [max(0.0, round(y1 - height, 6)), y1], "autorange": "reversed",
                                  "type": "category", "showgrid": False, "anchor": f"x{axis}",
                                  "showticklabels": column == 0}
        layout["annotations"].append({"text": f"<b>{FIELD_TITLES[name]}</b>", "xref": "paper", "yref": "paper",
                                      "x": x0, "y": y1, "xanchor": "left", "yanchor": "bottom",
                                      "showarrow": False, "font": {"size": 13}})
    panel = _ROW_PX * len(units) + 60
    layout.update({"height": int(rows * panel + 40), "margin": {"t": 30, "b": 10, "l": 10, "r": 10},
                   "showlegend": False})
    return new_figure(data, layout)


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
    layout = {"title": {"text": f"Unit {int(unit)} through the sentence"}, "xaxis": word_axis(tokens, title=""),
              "yaxis": {"range": [-1.05, 1.05], "title": {"text": "value"}}, "shapes": shapes, "height": 330,
              "legend": {"orientation": "h", "y": -0.2}, "margin": {"t": 40, "b": 10, "l": 10, "r": 10}}
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


_PROBE_SERIES = {"verdict_first": "verdict first, then k plot sentences",
                 "verdict_last": "k plot sentences, then the verdict",
                 "contrast": "verdict, k plot sentences, then “but” and the opposite"}


def probe_figure(card, name: str = "") -> go.Figure | None:
    """The memory probe's accuracy against k, the plot sentences between the verdict and the end, as a model
    card records it (``python -m gru_viz probe --record``; read by ``probe.card_curves``). None when the card
    has no probe curves, or holds something else under "probe" (cards come from files: never raised).

    >>> probe_figure({"probe": {"retention": {"verdict_first": {"0": 1.0, "4": 0.8}}, "contrast": {}}}).data[0].y
    (1.0, 0.8)
    >>> probe_figure({"probe": {"retention": "garbage"}}) is None
    True
    """
    try:
        curves = card_curves(card) if isinstance(card, dict) else None
    except (AttributeError, TypeError, ValueError):
        return None
    data = []
    for index, (test, label) in enumerate(_PROBE_SERIES.items()):
        points = sorted((curves or {}).get(test, {}).items())
        if not points:
            continue
        data.append({"type": "scatter", "mode": "lines+markers", "name": label, "x": [k for k, _ in points],
                     "y": [accuracy for _, accuracy in points], "line": {"color": SERIES_COLORS[index]},
                     "hovertemplate": "k = %{x}<br>accuracy %{y:.3f}<extra>" + plotly_text(label) + "</extra>"})
    if not data:
        return None
    layout = {"title": {"text": "Memory probe" + (f" of {plotly_text(name)}" if name else ""),
                        "subtitle": {"text": "accuracy with k plot sentences in between"}},
              "xaxis": {"title": {"text": "k plot sentences"}},
              "yaxis": {"range": [0, 1.05], "title": {"text": "accuracy"}}, "height": 300,
              # the legend's top below the axis title (at y −0.3 its first row covered the title at 800 px)
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.38},
              "margin": {"t": 70, "b": 10, "l": 10, "r": 10}}
    return new_figure(data, layout)
