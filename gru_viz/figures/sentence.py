"""Figures of sentences read by the model: how the verdict formed, which words decided it, what the units that
carry it did, the path of the memory, and two readings side by side (two sentences, free against forced gates,
one sentence patched with another's memory). Arrays in, ``go.Figure`` out, in the house style of
``figures.style``; the data hold the values given, in their dtype, and words are shown literally.

- ``story_figure``: P(positive) after each word above the update gate of the units that carry the verdict (the
  Plotly twin of the Vega-Lite story in ``figures.story``, for the HTML download).
- ``word_change_figure``: each word's exact change of the logit (and, on request, the retention split).
- ``unit_heatmaps_figure``: z, r, n or h of chosen units, one panel each, one figure.
- ``trajectory_figure``: the hidden state's path in 2-D or 3-D (``sentence_path`` places a sentence on a basis).
- ``compare_prediction_figure``, ``probability_comparison_figure``, ``difference_heatmap``, ``patching_figure``:
  two sentences, a free and a forced reading, and activation patching.
- ``compare_prediction_spec``, ``models_prediction_spec``, ``unit_heatmap_spec``: the charts *Compare & intervene*
  draws on load as Vega-Lite specs (plain dicts), which Streamlit draws without Plotly's bundle (see
  ``figures.story``); their Plotly twins go to the HTML download.

>>> import numpy as np
>>> figure = word_change_figure(["not", "bad"], np.array([-0.5, 1.5]), start_logit=0.1)
>>> figure.layout.title.subtitle.text
'start +0.10 + Σ words +1.00 = final +1.10'
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.projection import Projection, project
from gru_viz.figures.story import START, field_colour_scale, word_key, word_x
from gru_viz.figures.style import (
    DIVERGING,
    EXACT,
    FIELD_RANGES,
    FIELD_SYMBOLS,
    FIELD_TITLES,
    GATE_SCALE,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    SERIES_COLORS,
    UNIT_ROW_PX,
    marked_moves,
    new_figure,
    plotly_text,
    unit_labels,
    word_axis,
)
from gru_viz.model import VERDICT_THRESHOLD, SentenceTrace

__all__ = ["TrajectoryPath", "compare_prediction_figure", "compare_prediction_spec", "difference_heatmap",
           "models_prediction_figure", "models_prediction_spec", "patching_figure", "probability_comparison_figure",
           "sentence_path", "story_figure", "trajectory_figure", "unit_heatmap_spec", "unit_heatmaps_figure",
           "word_change_figure"]

MAX_PATH_LABELS = 40  # beyond this many words, label every k-th point along a trajectory (hover names all)


def story_figure(tokens: list[str], probability, start_probability: float, values, units, shares=None, *,
                 field: str = "update", marked=None, reset=None) -> go.Figure:
    """How the verdict formed: P(positive) after each word (T,) from the start (position −1) on top, and
    below it ``field`` ("update", the default, or "hidden" for a model without gates) of the chosen ``units``
    (K,), ``values`` (T, H), one row per unit, labelled with its share of the logit change (``shares`` (K,),
    optional); with ``reset`` (T, H), the reset gate of the same units in K more rows under them (rows
    "z · unit …", then "r · unit …"). ``marked``: positions ringed and labelled with how far they moved P
    (default ``marked_moves``). One shared word axis."""
    probability = np.asarray(probability, dtype=np.float64)
    steps = len(tokens)
    line = np.concatenate([[start_probability], probability])  # (T + 1,)
    moves = np.diff(line)  # (T,)
    marked = marked_moves(probability, start_probability) if marked is None else marked
    marked = np.asarray(marked, dtype=np.int64)
    words = [plotly_text(t) for t in tokens]
    units = np.asarray(units, dtype=np.int64)
    z = np.ascontiguousarray(np.asarray(values)[:, units].T)  # (K, T)
    low, high = FIELD_RANGES[field]
    symbol = FIELD_SYMBOLS[field]
    labels = unit_labels(units, shares)
    if reset is not None:  # both gates share 0 … 1: z's rows, then r's, in one heatmap
        z = np.concatenate([z, np.ascontiguousarray(np.asarray(reset)[:, units].T)])  # (2K, T)
        labels = [f"z · {label}" for label in labels] + [f"r · {label}" for label in labels]
        symbol = "z, r"
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
         "textposition": ["top center" if probability[t] < VERDICT_THRESHOLD else "bottom center" for t in marked],
         "textfont": {"size": 12},
         "marker": {"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": "#000000", "width": 2}}},
        {"type": "heatmap", "z": z, "x": np.arange(steps), "y": labels, "xaxis": "x", "yaxis": "y2",
         "text": [words] * len(labels), "zmin": low, "zmax": high, "colorscale": GATE_SCALE if low == 0 else DIVERGING,
         "colorbar": {"title": {"text": symbol}, "thickness": 10, "len": 0.42, "y": 0.0, "yanchor": "bottom"},
         "hovertemplate": f"%{{y}}<br>word %{{text}}<br>{symbol} = %{{z{EXACT}}}<extra></extra>"},
    ]
    rows_height = UNIT_ROW_PX * len(labels)
    layout = {
        "title": {"text": "How the verdict formed",
                  "subtitle": {"text": f"P(positive) after each word; below, the {FIELD_TITLES[field]}"
                                       + ("" if reset is None else f" and the {FIELD_TITLES['reset']}")
                                       + " of the units that carry it"}},
        "xaxis": {**word_axis(tokens, lead=[(-1, "(start)")]), "anchor": "y2", "title": None},
        "yaxis": {"domain": [0.5, 1.0], "range": [-0.12, 1.12], "title": {"text": "P(positive)"},
                  "tickvals": [0, 0.5, 1]},
        "yaxis2": {"domain": [0.0, 0.44], "autorange": "reversed", "type": "category", "showgrid": False,
                   "title": None},
        "shapes": [{"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": VERDICT_THRESHOLD,
                    "y1": VERDICT_THRESHOLD,
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
             "text": words, "marker": {"color": [POSITIVE_COLOR if c >= 0 else NEGATIVE_COLOR for c in changes]},
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



def unit_heatmaps_figure(fields: dict, tokens: list[str], units, shares=None, *, unit_link: str | None = None
                         ) -> go.Figure:
    """Units × words heatmaps of the chosen units (K,) for each field in ``fields`` (name → (T, H); names
    among "update", "reset", "candidate", "hidden"), panels in a grid of two columns sharing the rows.
    Gates on [0, 1], n and h on [−1, 1] centred on 0. Rows are labelled with each unit's share (optional).
    ``unit_link``: a URL with ``{unit}`` in it (e.g. "unit?unit={unit}"): each row label links there."""
    units = np.asarray(units, dtype=np.int64)
    names = list(fields)
    columns = 1 if len(names) == 1 else 2
    rows = math.ceil(len(names) / columns)
    words = [plotly_text(t) for t in tokens]
    labels = unit_labels(units, shares)
    gap_x, gap_y = 0.08, 0.12 if rows > 1 else 0.0
    width, height = (1 - gap_x * (columns - 1)) / columns, (1 - gap_y * (rows - 1)) / rows
    data, layout, seen_scales = [], {"annotations": []}, set()
    for index, name in enumerate(names):
        row, column = divmod(index, columns)
        axis = "" if index == 0 else str(index + 1)
        low, high = FIELD_RANGES[name]
        gate = low == 0.0
        x0, y1 = round(column * (width + gap_x), 6), round(1 - row * (height + gap_y), 6)
        trace = {"type": "heatmap", "z": np.ascontiguousarray(np.asarray(fields[name])[:, units].T),
                 "x": np.arange(len(tokens)), "y": labels, "xaxis": f"x{axis}", "yaxis": f"y{axis}",
                 "text": [words] * len(labels), "zmin": low, "zmax": high,
                 "colorscale": GATE_SCALE if gate else DIVERGING, "showscale": gate not in seen_scales,
                 "colorbar": {"title": {"text": "gate" if gate else "n, h"}, "thickness": 10, "len": 0.45,
                              "y": 1.0 if gate else 0.0, "yanchor": "top" if gate else "bottom"},
                 "hovertemplate": (f"%{{y}}<br>word %{{text}}<br>{FIELD_SYMBOLS[name]} = "
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
        if unit_link is not None:  # Plotly draws <a> in tick labels as links
            layout[f"yaxis{axis}"].update({"tickmode": "array", "tickvals": labels, "ticktext": [
                f'<a href="{html.escape(unit_link.format(unit=int(unit)))}" target="_self">{plotly_text(label)}</a>'
                for unit, label in zip(units, labels)]})
        layout["annotations"].append({"text": f"<b>{FIELD_TITLES[name]}</b>", "xref": "paper", "yref": "paper",
                                      "x": x0, "y": y1, "xanchor": "left", "yanchor": "bottom",
                                      "showarrow": False, "font": {"size": 13}})
    panel = UNIT_ROW_PX * len(units) + 60
    layout.update({"height": int(rows * panel + 40), "margin": {"t": 30, "b": 10, "l": 10, "r": 10},
                   "showlegend": False})
    return new_figure(data, layout)



# ---- the path of the memory ----


@dataclass(frozen=True)
class TrajectoryPath:
    """One sentence's path through the projection: coords (N, 3) for h0 then each word, labels N (the
    first is the start), probability (N,) P(positive) at each point, name shown in the legend."""

    name: str
    coords: np.ndarray
    labels: list[str]
    probability: np.ndarray



def sentence_path(sentence: SentenceTrace, basis: Projection, name: str = "sentence") -> TrajectoryPath:
    """A sentence's path h0 → h_T on the basis: (T + 1, 3) coordinates, the start then each word."""
    return TrajectoryPath(name=name, coords=project(sentence.path, basis), labels=["(start)"] + list(sentence.tokens),
                          probability=np.concatenate([[sentence.start_probability], sentence.probability]))



def trajectory_figure(paths: list[TrajectoryPath], *, dims: int, explained: np.ndarray,
                      title: str = "the path of the hidden state") -> go.Figure:
    """h_t as a path in 2-D (PC1, PC2) or 3-D (PC1–PC3), points coloured by P(positive) on [0, 1],
    words written along the path, the start (h0) a diamond and the end a square."""
    if dims not in (2, 3):
        raise ValueError("dims must be 2 or 3")
    axes = ["x", "y", "z"][:dims]
    kind = "scatter" if dims == 2 else "scatter3d"
    data = []
    for index, path in enumerate(paths):
        coords = np.asarray(path.coords, dtype=np.float64)
        count = len(coords)
        step = max(1, math.ceil(count / MAX_PATH_LABELS))
        labels = [plotly_text(label) for label in path.labels]
        shown = [label if t % step == 0 or t == count - 1 else "" for t, label in enumerate(labels)]
        positions = np.arange(-1, count - 1)  # the start is position −1: before the first word
        hover = ("%{customdata[0]} (position %{customdata[1]})<br>P(positive) = %{customdata[2]:.4f}<br>"
                 + ", ".join(f"PC{k + 1} = %{{{axis}:.3f}}" for k, axis in enumerate(axes))
                 + f"<extra>{plotly_text(path.name)}</extra>")
        probability = np.asarray(path.probability, dtype=np.float64)
        customdata = [[label, int(position), float(p)]  # lists: Plotly encodes object arrays slowly
                      for label, position, p in zip(labels, positions, probability)]
        show_scale = index == 0
        trace = {
            "type": kind, "mode": "lines+markers+text", "name": path.name, "text": shown,
            # labels alternate above and below the path: neighbouring words often land close together
            "textposition": ["top center" if t % 2 == 0 else "bottom center" for t in range(count)],
            "customdata": customdata, "hovertemplate": hover,
            "line": {"color": "#555555", "width": 2, "dash": "solid" if index == 0 else "dash"},
            "marker": {"color": probability, "cmin": 0.0, "cmax": 1.0,
                       "colorscale": DIVERGING, "size": 8 if dims == 2 else 4, "showscale": show_scale,
                       "colorbar": {"title": {"text": "P(pos)"}, "thickness": 12},
                       "line": {"color": "#333333", "width": 0.5}},
        }
        for k, axis in enumerate(axes):
            trace[axis] = coords[:, k]
        data.append(trace)
        for where, symbol, name in ((0, "diamond", "start (h₀)"), (count - 1, "square", "end")):
            marker = {"type": kind, "mode": "markers", "name": name, "legendgroup": name, "showlegend": index == 0,
                      "marker": {"symbol": symbol, "size": 14 if dims == 2 else 7, "color": "rgba(0,0,0,0)",
                                 "line": {"color": "#000000", "width": 2}},
                      "hoverinfo": "skip"}
            for k, axis in enumerate(axes):
                marker[axis] = coords[where:where + 1, k]
            data.append(marker)
    titles = [f"PC{k + 1} ({explained[k]:.0%} of variance)" for k in range(dims)]
    layout = {"title": {"text": title}, "height": 520, "margin": {"t": 70, "b": 10, "l": 10, "r": 10},
              "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1}}
    if dims == 2:
        layout["xaxis"] = {"title": {"text": titles[0]}, "zeroline": False}
        layout["yaxis"] = {"title": {"text": titles[1]}, "zeroline": False}
    else:
        layout["scene"] = {f"{axis}axis": {"title": {"text": text}} for axis, text in zip(axes, titles)}
    return new_figure(data, layout)



# ---- two readings side by side ----


def _probability_layout(title: str) -> dict:
    # the y range leaves room for the rings at 0 and 1
    return {"title": {"text": title}, "yaxis": {"title": {"text": "P(positive)"}, "range": [-0.08, 1.08]},
            "height": 380, "margin": {"t": 50, "b": 10, "l": 50, "r": 10},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1,  # the verdict line
                        "y0": VERDICT_THRESHOLD, "y1": VERDICT_THRESHOLD,
                        "line": {"dash": "dot", "color": "#888888", "width": 1}}]}



def compare_prediction_figure(series: list[tuple[str, list[str], np.ndarray, float]]) -> go.Figure:
    """P(positive) of several sentences by position, overlaid: ``series`` is (name, tokens, probability (T,),
    start_probability) each. The x axis is the position (words differ); hover names each word."""
    data = []
    for index, (name, tokens, probability, start) in enumerate(series):
        values = np.concatenate([[start], np.asarray(probability, dtype=np.float64)])
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": np.arange(-1, len(tokens)),
                     "y": values, "text": ["(start)"] + [plotly_text(token) for token in tokens],
                     "line": {"dash": "solid" if index == 0 else "dash"},
                     "hovertemplate": f"{plotly_text(name)}: after %{{text}} (position %{{x}})<br>"
                                      f"P(positive) = %{{y{EXACT}}}<extra></extra>"})
    layout = _probability_layout("P(positive) after each word, position by position")
    layout["xaxis"] = {"title": {"text": "position (−1 = before the first word)"}, "zeroline": False}
    layout["legend"] = {"orientation": "h", "y": -0.2}
    return new_figure(data, layout)



def models_prediction_figure(tokens: list[str], readings: list[tuple[str, np.ndarray, float]]) -> go.Figure:
    """One sentence read by several models: P(positive) after each word, one line per model, on one word axis.
    ``readings`` is (model name, probability (T,), start_probability) each; the start is drawn at −1."""
    data = []
    for index, (name, probability, start) in enumerate(readings):
        probability = np.asarray(probability, dtype=np.float64)
        if len(probability) != len(tokens):
            raise ValueError(f"{name} read {len(probability)} words where the sentence has {len(tokens)}")
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": np.arange(-1, len(tokens)),
                     "y": np.concatenate([[start], probability]),
                     "text": ["(start)"] + [plotly_text(token) for token in tokens],
                     "line": {"color": SERIES_COLORS[index % len(SERIES_COLORS)]},
                     "hovertemplate": f"{plotly_text(name)}: after %{{text}}<br>P(positive) = %{{y{EXACT}}}"
                                      f"<extra></extra>"})
    layout = _probability_layout("P(positive) after each word, one line per model")
    layout["xaxis"] = word_axis(tokens, lead=[(-1, "(start)")], title="")
    layout["legend"] = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0}
    layout["margin"] = {"t": 80, "b": 10, "l": 50, "r": 10}
    return new_figure(data, layout)


_CONFIG = {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}
_DASHES = [[1, 0], [6, 4], [2, 3], [6, 3, 2, 3]]  # solid, dash, dot, dash-dot: the Plotly twins' line dashes


def _probability_lines_spec(rows: list[dict], names: list[str], x: dict, *, title: str, series_title: str,
                            points: bool, dashes: list) -> dict:
    """P(positive) of several series as lines on one chart, the verdict line dotted: ``rows`` hold "series",
    "word", "position" and "p" each, plus the field ``x`` encodes; one colour (and dash) per name."""
    legend = {"title": None, "orient": "bottom", "direction": "horizontal", "labelLimit": 320, "symbolType": "stroke",
              "symbolStrokeWidth": 2, "symbolSize": 400}
    return {"title": {"text": title, "anchor": "start"}, "data": {"values": rows}, "height": 260,
            "width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
            "layer": [
                {"mark": {"type": "rule", "strokeDash": [2, 3], "color": "#888888"},
                 "encoding": {"y": {"datum": VERDICT_THRESHOLD}}},
                {"mark": {"type": "line", "point": points, "strokeWidth": 2},
                 "encoding": {"x": x,
                              "y": {"field": "p", "type": "quantitative", "scale": {"domain": [0, 1]},
                                    "axis": {"title": "P(positive)"}},
                              "color": {"field": "series", "type": "nominal", "sort": names,
                                        "scale": {"domain": names, "range": [
                                            SERIES_COLORS[index % len(SERIES_COLORS)]
                                            for index in range(len(names))]},
                                        "legend": legend},
                              # one legend of both: its symbols are the lines, colour and dash
                              "strokeDash": {"field": "series", "type": "nominal", "sort": names, "legend": legend,
                                             "scale": {"domain": names, "range": [
                                                 dashes[index % len(dashes)] for index in range(len(names))]}},
                              "tooltip": [{"field": "series", "type": "nominal", "title": series_title},
                                          {"field": "word", "type": "nominal", "title": "after"},
                                          {"field": "position", "type": "quantitative"},
                                          {"field": "p", "type": "quantitative", "title": "P(positive)",
                                           "format": ".6f"}]}}],
            "config": _CONFIG}


def compare_prediction_spec(series: list[tuple[str, list[str], np.ndarray, float]]) -> dict:
    """``compare_prediction_figure`` as one Vega-Lite spec: P(positive) of each of ``series`` ((name, tokens,
    probability (T,), start_probability) each) by position from −1 (the start), one line each, the verdict line
    dotted. Words travel as data, never as markup.

    >>> spec = compare_prediction_spec([("A", ["a", "triumph"], np.array([0.6, 0.9]), 0.5)])
    >>> [(row["position"], row["word"], row["p"]) for row in spec["data"]["values"]]
    [(-1, '(start)', 0.5), (0, 'a', 0.6), (1, 'triumph', 0.9)]
    """
    rows = []
    for name, tokens, probability, start in series:
        values = np.concatenate([[start], np.asarray(probability, dtype=np.float64)])  # (T + 1,)
        rows += [{"series": name, "position": t - 1, "word": word, "p": float(value)}
                 for t, (word, value) in enumerate(zip([START, *tokens], values))]
    x = {"field": "position", "type": "quantitative",
         "axis": {"title": "position (−1 = before the first word)", "tickMinStep": 1}}
    return _probability_lines_spec(rows, [name for name, *_ in series], x, series_title="sentence", points=True,
                                   title="P(positive) after each word, position by position",
                                   dashes=[[1, 0], [6, 4]])


def models_prediction_spec(tokens: list[str], readings: list[tuple[str, np.ndarray, float]], *,
                           title: str = "P(positive) after each word, one line per model",
                           points: bool = True) -> dict:
    """``models_prediction_figure`` as one Vega-Lite spec: one sentence read by several models, P(positive) after
    each word from the start, one line (its own colour and dash) per model on one word axis. ``readings`` is
    (model name, probability (T,), start_probability) each. ``points``: a dot on every word (off for long text).
    Words travel as data, keyed by position (``figures.story.word_key``) so a repeated word keeps its column.

    >>> spec = models_prediction_spec(["not", "bad"], [("GRU", np.array([0.2, 0.8]), 0.5)])
    >>> [(row["word"], row["p"]) for row in spec["data"]["values"]]
    [('(start)', 0.5), ('not', 0.2), ('bad', 0.8)]
    """
    keys = [word_key(t - 1, word) for t, word in enumerate([START, *tokens])]
    rows = []
    for name, probability, start in readings:
        probability = np.asarray(probability, dtype=np.float64)
        if len(probability) != len(tokens):
            raise ValueError(f"{name} read {len(probability)} words where the sentence has {len(tokens)}")
        values = np.concatenate([[start], probability])  # (T + 1,)
        rows += [{"series": name, "key": key, "position": t - 1, "word": word, "p": float(value)}
                 for t, (key, word, value) in enumerate(zip(keys, [START, *tokens], values))]
    return _probability_lines_spec(rows, [name for name, *_ in readings], word_x(keys), title=title,
                                   series_title="model", points=points, dashes=_DASHES)


def unit_heatmap_spec(tokens: list[str], values, units, shares=None, *, field: str = "update",
                      unit_link: str | None = None, title: str | None = None) -> dict:
    """``unit_heatmaps_figure`` of one field as a Vega-Lite spec: ``field`` of the chosen ``units`` (K,) from
    ``values`` (T, H), one row per unit labelled with its share (``shares`` (K,), optional), one column per word,
    on the field's range and colours (``figures.story.field_colour_scale``, as the story's unit rows).
    ``unit_link``: a URL with ``{unit}`` in it; a click on a unit's row opens it (Vega-Lite's href channel).
    Words travel as data, keyed by position.

    >>> spec = unit_heatmap_spec(["not", "bad"], np.array([[0.1, 0.9], [0.2, 0.8]]), [1], [0.5])
    >>> [(row["unit"], row["word"], row["value"]) for row in spec["data"]["values"]]
    [('unit 1 (+0.50)', 'not', 0.9), ('unit 1 (+0.50)', 'bad', 0.8)]
    """
    units = np.asarray(units, dtype=np.int64)
    labels = unit_labels(units, shares)
    keys = [word_key(t, word) for t, word in enumerate(tokens)]
    shown = np.asarray(values, dtype=np.float64)[:, units]  # (T, K)
    symbol = FIELD_SYMBOLS[field]
    cells = [{"unit": labels[k], "key": keys[t], "word": word, "position": t, "value": float(shown[t, k]),
              **({"href": unit_link.format(unit=int(units[k]))} if unit_link else {})}
             for k in range(len(units)) for t, word in enumerate(tokens)]
    encoding = {"x": word_x(keys),
                "y": {"field": "unit", "type": "nominal", "scale": {"domain": labels},
                      "axis": {"title": None, "labelOverlap": False, "labelLimit": 130}},
                "color": {"field": "value", "type": "quantitative", "scale": field_colour_scale(field),
                          "legend": {"title": symbol, "orient": "top", "direction": "horizontal",
                                     "titleOrient": "left", "gradientLength": 120, "gradientThickness": 8}},
                "tooltip": [{"field": "unit", "type": "nominal"}, {"field": "word", "type": "nominal"},
                            {"field": "position", "type": "quantitative"},
                            {"field": "value", "type": "quantitative", "title": symbol, "format": ".6f"}]}
    if unit_link:
        encoding["href"] = {"field": "href", "type": "nominal"}
    return {"title": {"text": title or FIELD_TITLES[field][0].upper() + FIELD_TITLES[field][1:], "anchor": "start"},
            "data": {"values": cells}, "height": UNIT_ROW_PX * max(len(units), 1), "width": "container",
            "autosize": {"type": "fit-x", "contains": "padding"},
            "mark": {"type": "rect", **({"cursor": "pointer"} if unit_link else {})}, "encoding": encoding,
            "config": _CONFIG}


def probability_comparison_figure(tokens: list[str], free: np.ndarray, clamped: np.ndarray, *,
                                  names: tuple[str, str] = ("free", "clamped")) -> go.Figure:
    """P(positive) after each word, free run (T,) against clamped run (T,), with the verdict line at
    ``VERDICT_THRESHOLD``.
    Hover gives both values and the change."""
    free, clamped = np.asarray(free, dtype=np.float64), np.asarray(clamped, dtype=np.float64)
    if not len(free) == len(clamped) == len(tokens):
        raise ValueError(f"need one probability per token: {len(tokens)} tokens, {len(free)} and {len(clamped)}")
    words = [plotly_text(t) for t in tokens]
    data = []
    for index, (name, values, other) in enumerate(((names[0], free, clamped), (names[1], clamped, free))):
        data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": np.arange(len(tokens)),
                     "y": values, "text": words, "customdata": values - other if index else other - values,
                     "line": {"color": SERIES_COLORS[index], "dash": "solid" if index == 0 else "dash"},
                     "hovertemplate": (f"{plotly_text(name)}: after %{{text}} (position %{{x}})<br>P(positive) = "
                                       f"%{{y{EXACT}}}<br>{plotly_text(names[1])} − {plotly_text(names[0])} = "
                                       f"%{{customdata:+.6f}}<extra></extra>")})
    layout = {"title": {"text": "P(positive) after each word: free against clamped"}, "xaxis": word_axis(tokens),
              "yaxis": {"range": [0, 1], "title": {"text": "P(positive)"}},
              "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1,  # the verdict line
                          "y0": VERDICT_THRESHOLD, "y1": VERDICT_THRESHOLD,
                          "line": {"color": "#999999", "dash": "dot", "width": 1}}],
              "legend": {"orientation": "h", "y": -0.25}}
    return new_figure(data, layout)



def difference_heatmap(tokens: list[str], free: np.ndarray, clamped: np.ndarray, *, field: str = "hidden",
                       units: np.ndarray | None = None) -> go.Figure:
    """Units × words heatmap of clamped − free for one trace field (free, clamped (T, H), e.g.
    ``run.free.gates.hidden[0, 0, 0]``): where the intervention moved the gates or the hidden path.
    units: the rows to show, in order (default all). Hover gives free, clamped and the difference."""
    free, clamped = np.asarray(free, dtype=np.float64), np.asarray(clamped, dtype=np.float64)
    if free.shape != clamped.shape or free.ndim != 2 or free.shape[0] != len(tokens):
        raise ValueError(f"need free and clamped (T, H) for {len(tokens)} tokens, got {free.shape}, {clamped.shape}")
    units = np.arange(free.shape[1]) if units is None else np.asarray(units)
    difference = (clamped - free)[:, units].T  # (U, T)
    reach = float(np.abs(difference).max()) or 1.0
    extra = np.stack([free[:, units].T, clamped[:, units].T], axis=-1)  # (U, T, 2)
    words = [[plotly_text(t) for t in tokens]] * len(units)
    data = [{"type": "heatmap", "z": difference, "x": np.arange(len(tokens)), "y": [f"unit {u}" for u in units],
             "text": words, "customdata": extra, "zmid": 0.0, "zmin": -reach, "zmax": reach,
             "colorscale": DIVERGING, "colorbar": {"title": {"text": "clamped − free"}, "thickness": 12},
             "hovertemplate": (f"%{{y}}, %{{text}} (position %{{x}})<br>free {field} = %{{customdata[0]{EXACT}}}"
                               f"<br>clamped = %{{customdata[1]{EXACT}}}<br>difference = %{{z:+.6g}}<extra></extra>")}]
    layout = {"title": {"text": f"{field}: clamped − free"}, "xaxis": word_axis(tokens),
              "yaxis": {"autorange": "reversed", "type": "category"}}
    return new_figure(data, layout)



def patching_figure(probability: np.ndarray, base_tokens: list[str], columns: list[str], *,
                    base_probability: float, source_probability: float, column_title: str = "source word",
                    title: str | None = None) -> go.Figure:
    """Heatmap of P(positive) of the base after each patch: rows = base word after which the state was
    replaced (T_b), columns = source word whose state was copied in, or unit group (C).

    Colour: P on [0, 1], red negative, blue positive. Hover adds the share of the way from the base's
    verdict to the source's that the patch carried: (P − P_base) / (P_source − P_base).
    """
    probability = np.asarray(probability, dtype=np.float64)
    rows, count = probability.shape
    if rows != len(base_tokens) or count != len(columns):
        raise ValueError(f"probability is {probability.shape} but there are {len(base_tokens)} base words and "
                         f"{len(columns)} columns")
    gap = source_probability - base_probability
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (probability - base_probability) / gap if abs(gap) > 1e-12 else np.full_like(probability, np.nan)
    customdata = [[[plotly_text(base_tokens[t]), plotly_text(columns[c]), None if np.isnan(share[t, c])
                    else float(share[t, c])] for c in range(count)] for t in range(rows)]
    heatmap = {"type": "heatmap", "z": probability.tolist(), "zmin": 0.0, "zmax": 1.0, "colorscale": DIVERGING,
               "customdata": customdata, "colorbar": {"title": {"text": "P(pos)"}, "thickness": 12},
               "hovertemplate": "patched after base word %{customdata[0]} (position %{y})<br>"
                                f"{column_title}: %{{customdata[1]}}<br>P(positive) = %{{z:.4f}}<br>"
                                "share of the source's verdict carried: %{customdata[2]:.2f}<extra></extra>"}
    x_axis = word_axis(columns, title=column_title)
    y_axis = {**word_axis(base_tokens, title="base word after which the state is replaced"), "autorange": "reversed"}
    y_axis.pop("range")
    text = title or (f"P(positive) of the base with its state patched (base alone {base_probability:.3f}, "
                     f"source alone {source_probability:.3f})")
    layout = {"title": {"text": text}, "xaxis": x_axis, "yaxis": y_axis,
              "height": max(320, min(900, 120 + 22 * rows))}
    return new_figure([heatmap], layout)

