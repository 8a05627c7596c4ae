"""Figures of any ``GRUTrace``, whatever made it (``trace_gru``, ``capture``, ``model.trace(text).gates``): for
notebooks, where a trace has layers, directions and a batch, and its steps may be words or time.

- ``trace_heatmaps``: the update gate z, reset gate r, candidate n and hidden state h of one layer, one
  direction and one batch item, units × steps, in the house style of ``unit_heatmaps_figure``.
- ``hidden_path``: the hidden state's path h0 → h_T of one or several batch items, on the first two (or three)
  principal axes of the states shown.

Layers are counted from 1 at the bottom and directions are "forward" / "backward", as in the page's links
(``?layer=``, ``?direction=``). The default is the top layer, forward. A packed trace's item is shown up to its
own length.

>>> import torch
>>> from gru_viz import trace_gru
>>> trace = trace_gru(torch.nn.GRU(2, 3, num_layers=2), torch.randn(4, 2))      # unbatched (T, I)
>>> figure = trace_heatmaps(trace, layer=1)
>>> [panel.z.shape for panel in figure.data]                                   # (H, T) each: z, r, n, h
[(3, 4), (3, 4), (3, 4), (3, 4)]
>>> hidden_path(trace).data[0].x.shape                                         # h0 then each step
(5,)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.projection import fit_pca
from gru_viz.figures.sentence import unit_heatmaps_figure
from gru_viz.figures.style import SEQUENTIAL, SERIES_COLORS, new_figure, plotly_text
from gru_viz.trace import GRUTrace

__all__ = ["DIRECTIONS", "hidden_path", "trace_heatmaps"]

DIRECTIONS = ("forward", "backward")  # index 0 and 1 of a trace's direction axis, as the page's links name them
_FIELDS = ("update", "reset", "candidate", "hidden")
_MAX_PATH_LABELS = 30  # beyond this many steps, label every k-th point of a path (hover names all)


def trace_heatmaps(trace: GRUTrace, layer: int | None = None, direction: str = "forward", item: int = 0,
                   tokens: Sequence[str] | None = None, units=None) -> go.Figure:
    """Units × steps heatmaps of z, r, n and h for ``layer`` (1 … L from the bottom; default the top),
    ``direction`` and batch ``item``: one panel each, gates on [0, 1], n and h on [−1, 1]. ``tokens``: a
    label per step (default the step numbers 0 … T−1); ``units``: the rows to show, in order (default all)."""
    layer, index, steps = _pick(trace, layer, direction, item)
    fields = {name: getattr(trace, name)[layer - 1, index, item, :steps] for name in _FIELDS}  # (T, H) each
    labels = _step_labels(tokens, steps)
    units = np.arange(trace.shape[4]) if units is None else np.asarray(units, dtype=np.int64)
    figure = unit_heatmaps_figure(fields, labels, units)
    if tokens is None:  # steps of a time series, not words
        for panel in figure.data:
            panel.hovertemplate = panel.hovertemplate.replace("<br>word ", "<br>step ")
    figure.update_layout(title={"text": _where(trace, layer, direction, item)},
                         margin={"t": 80, "b": 10, "l": 10, "r": 10}, height=figure.layout.height + 50)
    return figure


def hidden_path(trace: GRUTrace, layer: int | None = None, direction: str = "forward",
                item: int | Sequence[int] = 0, tokens: Sequence[str] | None = None, dims: int = 2) -> go.Figure:
    """The hidden state's path h0 → h_1 → … in reading order (the backward direction reads the last step
    first) for one batch ``item`` or several, on the first ``dims`` (2 or 3) principal axes of all the states
    drawn (``gru_viz.analysis.fit_pca``). Points are coloured by step; the start is a diamond, the end a square.
    ``tokens``: a label per step (one item only), written along the path."""
    if dims not in (2, 3):
        raise ValueError("dims must be 2 or 3")
    items = [item] if np.ndim(item) == 0 else list(item)
    if not items:
        raise ValueError("choose at least one batch item")
    if tokens is not None and len(items) > 1:
        raise ValueError("tokens label one item's steps; choose one item to label")
    paths = []
    for chosen in items:
        layer, index, steps = _pick(trace, layer, direction, chosen)
        states = trace.hidden[layer - 1, index, chosen, :steps]  # (T, H), by position
        order = np.arange(steps)[::-1] if index == 1 else np.arange(steps)  # reading order
        start = trace.h0[layer - 1, index, chosen][None]  # (1, H)
        paths.append((chosen, np.concatenate([start, states[order]]), order))  # (T + 1, H)
    axes = fit_pca(np.concatenate([path for _, path, _ in paths]), components=dims)
    if len(axes.explained) < dims:
        raise ValueError(f"a {dims}-D path needs at least {dims} hidden units and {dims + 1} distinct states")
    labels = _step_labels(tokens, paths[0][1].shape[0] - 1) if tokens is not None else None
    lines, ends = [], []  # every path first, then the start and end markers, so the legend lists items together
    for number, (chosen, path, order) in enumerate(paths):
        coords = (path - axes.mean) @ axes.components.T  # (T + 1, dims)
        line, markers = _path_traces(coords, order, chosen, labels, SERIES_COLORS[number % len(SERIES_COLORS)],
                                     first=number == 0)
        lines.append(line)
        ends.extend(markers)
    titles = [f"PC{k + 1} ({axes.explained[k]:.0%} of variance)" for k in range(dims)]
    layout = {"title": {"text": "the hidden state's path: " + _where(trace, layer, direction, items)},
              "height": 520, "margin": {"t": 80, "b": 10, "l": 10, "r": 10},
              "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1}}
    if dims == 2:
        layout["xaxis"] = {"title": {"text": titles[0]}, "zeroline": False}
        layout["yaxis"] = {"title": {"text": titles[1]}, "zeroline": False}
    else:
        layout["scene"] = {f"{axis}axis": {"title": {"text": text}} for axis, text in zip("xyz", titles)}
    return new_figure(lines + ends, layout)


def _path_traces(coords: np.ndarray, order: np.ndarray, item: int, labels, color: str, *,
                 first: bool) -> tuple[dict, list[dict]]:
    """One item's path (the line, its points coloured by step) and its start and end markers, as plain dicts."""
    dims = coords.shape[1]
    kind = "scatter" if dims == 2 else "scatter3d"
    axes = "xyz"[:dims]
    count = len(coords)
    names = ["(start)"] + [f"step {t}" if labels is None else labels[t] for t in order]
    thinned = max(1, math.ceil(count / _MAX_PATH_LABELS))
    path = {"type": kind, "mode": "lines+markers" + ("+text" if labels is not None else ""), "name": f"item {item}",
            "text": [name if k % thinned == 0 or k == count - 1 else "" for k, name in enumerate(names)],
            "customdata": names,
            # labels alternate above and below the path: neighbouring steps often land close together
            "textposition": ["top center" if k % 2 == 0 else "bottom center" for k in range(count)],
            "hovertemplate": f"item {item}, %{{customdata}}<br>"
                             + ", ".join(f"PC{k + 1} = %{{{axis}:.3f}}" for k, axis in enumerate(axes))
                             + "<extra></extra>",
            "line": {"color": color, "width": 2},
            "marker": {"color": np.arange(count) - 1, "cmin": -1, "cmax": count - 2, "colorscale": SEQUENTIAL,
                       "size": 7 if dims == 2 else 4, "showscale": first,
                       "colorbar": {"title": {"text": "step"}, "thickness": 12},
                       "line": {"color": color, "width": 1}}}
    for k, axis in enumerate(axes):
        path[axis] = coords[:, k]
    markers = []
    for where, symbol, name in ((0, "diamond", "start (h₀)"), (count - 1, "square", "end")):
        marker = {"type": kind, "mode": "markers", "name": name, "legendgroup": name, "showlegend": first,
                  "marker": {"symbol": symbol, "size": 13 if dims == 2 else 6, "color": "rgba(0,0,0,0)",
                             "line": {"color": "#000000", "width": 2}}, "hoverinfo": "skip"}
        for k, axis in enumerate(axes):
            marker[axis] = coords[where:where + 1, k]
        markers.append(marker)
    return path, markers


def _pick(trace: GRUTrace, layer, direction: str, item) -> tuple[int, int, int]:
    """(layer 1 … L, direction index 0 | 1, steps of the item) after checking each against the trace."""
    layers, directions, batch, steps, _ = trace.shape
    layer = layers if layer is None else layer
    if not isinstance(layer, (int, np.integer)) or not 1 <= layer <= layers:
        raise ValueError(f"layer must be 1 … {layers}, counted from the bottom; got {layer!r}")
    if direction not in DIRECTIONS[:directions]:
        choices = " or ".join(repr(name) for name in DIRECTIONS[:directions])
        raise ValueError(f"direction must be {choices} for this trace; got {direction!r}")
    if not isinstance(item, (int, np.integer)) or not 0 <= item < batch:
        raise ValueError(f"item must be a batch index 0 … {batch - 1}; got {item!r}")
    if trace.lengths is not None:
        steps = int(trace.lengths[item])  # a packed sequence ends here; the rest is NaN
    return int(layer), DIRECTIONS.index(direction), steps


def _step_labels(tokens, steps: int) -> list[str]:
    if tokens is None:
        return [str(t) for t in range(steps)]
    tokens = [str(token) for token in tokens]
    if len(tokens) != steps:
        raise ValueError(f"need one token per step: {steps} steps, {len(tokens)} tokens")
    return tokens


def _where(trace: GRUTrace, layer: int, direction: str, items) -> str:
    """What a figure shows, for its title: "layer 2 of 2, backward, item 0"."""
    items = [items] if np.ndim(items) == 0 else list(items)
    which = f"item {items[0]}" if len(items) == 1 else f"items {', '.join(map(str, items))}"
    return plotly_text(f"layer {layer} of {trace.shape[0]}, {direction}, {which}")
