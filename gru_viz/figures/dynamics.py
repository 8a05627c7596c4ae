"""Figures of the memory's dynamics: how far back a sentence's gradient reaches, T×T connectivity, fixed points drawn
into the sentence's path with their eigenvalues, and integrated gradients beside the exact logit change.
Builders take arrays (and, for the fixed points, the sentence's trajectory figure to draw into) and return
``go.Figure`` in the house style of ``figures.style``.

>>> import numpy as np
>>> figure = connectivity_figure({"GRU": np.array([[2.0, 0.0], [0.5, 2.0]])}, ["not", "bad"])
>>> figure.data[0].type, bool(figure.data[0].z[1][0] == np.log10(0.5)), figure.data[0].z[0][1] is None
('heatmap', True, True)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.projection import Projection, project
from gru_viz.figures.story import word_key, word_x
from gru_viz.figures.style import EXACT, SERIES_COLORS, new_figure, plotly_text, word_axis

__all__ = ["attribution_figure", "connectivity_figure", "eigenvalue_figure", "fixed_points_figure",
           "gradient_flow_figure", "gradient_flow_spec"]

CONNECTIVITY_SCALE = [[0.0, "#fff5eb"], [0.35, "#fdae6b"], [0.7, "#d94801"], [1.0, "#3f0d02"]]  # log10 norm
LOG_FLOOR = 1e-30  # norms below this are drawn as this (a vanilla RNN's fall below 1e-100 on long text)


def gradient_flow_figure(tokens: list[str], gru: np.ndarray, rnn: np.ndarray | None = None, *,
                         names: tuple[str, str] = ("GRU", "vanilla RNN")) -> go.Figure:
    """‖∂h_T/∂h_t‖ at each word position, log y: ``gru`` (T,) and optionally ``rnn`` (T,) on the same
    tokens (``analysis.gradient_flow`` of each model). The last word is √H for both by definition;
    how fast a curve falls to the left is how fast that network forgets what it could learn from."""
    data = []
    for index, norms in enumerate([gru] if rnn is None else [gru, rnn]):
        norms = np.asarray(norms, dtype=np.float64)
        if len(norms) != len(tokens):
            raise ValueError(f"{len(norms)} norms for {len(tokens)} tokens")
        data.append({"type": "scatter", "mode": "lines+markers", "name": names[index],
                     "x": np.arange(len(tokens)), "y": norms, "text": [plotly_text(t) for t in tokens],
                     "customdata": len(tokens) - 1 - np.arange(len(tokens)),
                     "line": {"color": SERIES_COLORS[index]},
                     "hovertemplate": f"{plotly_text(names[index])}: %{{text}} (position %{{x}}, %{{customdata}} "
                                      f"from the end)<br>‖∂h_T/∂h_t‖ = %{{y{EXACT}}}<extra></extra>"})
    layout = {"title": {"text": "How much of a gradient at the last word reaches each word (log scale)"},
              "xaxis": word_axis(tokens), "legend": {"orientation": "h", "y": -0.25},
              "yaxis": {"type": "log", "title": {"text": "‖∂h_T/∂h_t‖ (Frobenius)"}, "exponentformat": "power"}}
    return new_figure(data, layout)



def gradient_flow_spec(tokens: list[str], gru: np.ndarray, rnn: np.ndarray | None = None, *,
                       names: tuple[str, str] = ("GRU", "vanilla RNN")) -> dict:
    """``gradient_flow_figure`` as one Vega-Lite spec (drawn without Plotly's bundle, see ``figures.story``):
    ‖∂h_T/∂h_t‖ at each word, ``gru`` (T,) and optionally ``rnn`` (T,), one line each on a log y axis. Words
    travel as data, keyed by position (``figures.story.word_key``).

    >>> spec = gradient_flow_spec(["not", "bad"], np.array([2.0, 4.0]), np.array([1e-3, 4.0]))
    >>> [(row["series"], row["word"], row["norm"]) for row in spec["data"]["values"]][1:3]
    [('GRU', 'bad', 4.0), ('vanilla RNN', 'not', 0.001)]
    """
    keys = [word_key(t, word) for t, word in enumerate(tokens)]
    series = list(names[:1] if rnn is None else names)
    rows = []
    for name, norms in zip(series, [gru] if rnn is None else [gru, rnn]):
        norms = np.asarray(norms, dtype=np.float64)
        if len(norms) != len(tokens):
            raise ValueError(f"{len(norms)} norms for {len(tokens)} tokens")
        rows += [{"series": name, "key": key, "word": word, "position": t, "back": len(tokens) - 1 - t,
                  "norm": float(norm)} for t, (key, word, norm) in enumerate(zip(keys, tokens, norms))]
    return {"title": {"text": "How much of a gradient at the last word reaches each word (log scale)",
                      "anchor": "start"},
            "data": {"values": rows}, "height": 280, "width": "container",
            "autosize": {"type": "fit-x", "contains": "padding"},
            "mark": {"type": "line", "point": True, "strokeWidth": 2},
            "encoding": {"x": word_x(keys),
                         # a norm that underflows to 0 has no place on a log axis: Vega-Lite leaves it out
                         "y": {"field": "norm", "type": "quantitative", "scale": {"type": "log"},
                               "axis": {"title": "‖∂h_T/∂h_t‖ (Frobenius)", "format": ".0e"}},
                         "color": {"field": "series", "type": "nominal", "sort": series,
                                   "scale": {"domain": series, "range": SERIES_COLORS[:len(series)]},
                                   "legend": {"title": None, "orient": "bottom", "direction": "horizontal",
                                              "labelLimit": 320}},
                         "tooltip": [{"field": "series", "type": "nominal", "title": "network"},
                                     {"field": "word", "type": "nominal"},
                                     {"field": "position", "type": "quantitative"},
                                     {"field": "back", "type": "quantitative", "title": "words from the end"},
                                     {"field": "norm", "type": "quantitative", "title": "‖∂h_T/∂h_t‖",
                                      "format": ".6e"}]},
            "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}


def connectivity_figure(matrices: dict[str, np.ndarray], tokens: list[str] | dict[str, list[str]]) -> go.Figure:
    """T×T connectivity ‖∂h_t/∂h_s‖_F of each model side by side, on one log colour scale (log10 of the
    norm; the empty upper triangle is s > t, or the lower one for a backward direction, whose state depends on
    later words). ``tokens``: the words (one list, or one per model)."""
    if not matrices:
        raise ValueError("give at least one connectivity matrix")
    logs = {}
    for name, matrix in matrices.items():
        matrix = np.asarray(matrix, dtype=np.float64)
        backward = bool(np.triu(matrix, 1).any())  # a backward direction fills the upper triangle instead
        defined = (np.triu if backward else np.tril)(np.ones(matrix.shape, dtype=bool))
        logs[name] = np.where(defined, np.log10(np.maximum(matrix, LOG_FLOOR)), np.nan)  # (T, T)
    finite = np.concatenate([values[np.isfinite(values)] for values in logs.values()])
    low, high = float(finite.min()), float(finite.max())
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    ticks = np.arange(np.floor(low), np.ceil(high) + 1, max(1, int(np.ceil((high - low) / 8))))
    count, gap = len(matrices), 0.06
    width = (1.0 - gap * (count - 1)) / count
    data, layout = [], {"title": {"text": "connectivity ‖∂h_t/∂h_s‖ (log colour scale): which earlier states each "
                                          "state still depends on"},
                        "height": 480, "margin": {"t": 80, "b": 10, "l": 50, "r": 10}}
    for index, (name, values) in enumerate(logs.items()):
        words = tokens[name] if isinstance(tokens, dict) else tokens
        suffix = "" if index == 0 else str(index + 1)
        start = index * (width + gap)
        norms = np.where(np.isfinite(values), 10.0 ** values, np.nan)
        data.append({"type": "heatmap", "z": [[None if np.isnan(v) else float(v) for v in row] for row in values],
                     "zmin": low, "zmax": high, "colorscale": CONNECTIVITY_SCALE, "showscale": index == count - 1,
                     "customdata": [[None if np.isnan(v) else float(v) for v in row] for row in norms],
                     "xaxis": "x" + suffix, "yaxis": "y" + suffix, "name": plotly_text(name),
                     "colorbar": {"title": {"text": "‖∂h_t/∂h_s‖"}, "tickvals": ticks.tolist(),
                                  "ticktext": [f"1e{int(k)}" for k in ticks], "thickness": 12},
                     "hovertemplate": f"<b>{plotly_text(name)}</b><br>t = %{{y}}, s = %{{x}}<br>"
                                      f"‖∂h_t/∂h_s‖ = %{{customdata{EXACT}}}<extra></extra>"})
        x_axis = {**word_axis(words, title="s (earlier state)"), "domain": [start, start + width],
                  "anchor": "y" + suffix}
        y_axis = {**word_axis(words, title="t (later state)" if index == 0 else ""), "autorange": "reversed",
                  "anchor": "x" + suffix, "scaleanchor": "x" + suffix}
        y_axis.pop("range")
        layout["xaxis" + suffix], layout["yaxis" + suffix] = x_axis, y_axis
        layout.setdefault("annotations", []).append(
            {"text": f"<b>{plotly_text(name)}</b>", "x": start + width / 2, "y": 1.0, "xref": "paper",
             "yref": "paper", "yanchor": "bottom", "showarrow": False})
    return new_figure(data, layout)



def fixed_points_figure(trajectory: go.Figure, points: np.ndarray, directions: np.ndarray, slowest: np.ndarray,
                        basis: Projection, *, readout_cosine: np.ndarray | None = None, length: float = 1.0,
                        title: str | None = None) -> go.Figure:
    """The 2-D trajectory figure with fixed points (K, H) drawn in on the same PCA basis: a cross for each
    point (filled when every |λ| < 1, open when a mode grows), and a segment of ``length`` (in state units)
    along each point's slowest direction (K, H), the line attractor's direction where |λ| ≈ 1."""
    figure = go.Figure(trajectory)
    points = np.asarray(points, dtype=np.float64).reshape(-1, basis.mean.shape[0])
    directions = np.asarray(directions, dtype=np.float64).reshape(points.shape)
    slowest = np.asarray(slowest, dtype=np.float64).reshape(-1)
    if len(points):
        where = project(points, basis)[:, :2]  # (K, 2)
        moved = project(points + length / 2 * directions, basis)[:, :2] - where  # (K, 2) half a segment
        cosine = (np.full(len(points), np.nan) if readout_cosine is None
                  else np.asarray(readout_cosine, dtype=np.float64).reshape(-1))
        segments_x, segments_y = [], []
        for (x, y), (dx, dy) in zip(where, moved):
            segments_x += [x - dx, x + dx, None]
            segments_y += [y - dy, y + dy, None]
        figure.add_trace({"type": "scatter", "mode": "lines", "x": segments_x, "y": segments_y,
                          "name": "slowest direction", "line": {"color": SERIES_COLORS[2], "width": 3},
                          "hoverinfo": "skip"})
        stable = slowest < 1.0
        for chosen, name, symbol in ((stable, "fixed point (stable)", "x"),
                                     (~stable, "fixed point (a mode grows)", "x-open")):
            if not chosen.any():
                continue
            with np.errstate(divide="ignore"):
                tau = -1.0 / np.log(slowest[chosen])
            figure.add_trace({
                "type": "scatter", "mode": "markers", "name": name,
                "x": where[chosen, 0].tolist(), "y": where[chosen, 1].tolist(),
                "marker": {"symbol": symbol, "size": 13, "color": SERIES_COLORS[3], "line": {"width": 2}},
                "customdata": [[float(s), float(t), None if np.isnan(c) else float(c)]
                               for s, t, c in zip(slowest[chosen], tau, cosine[chosen])],
                "hovertemplate": "fixed point<br>largest |λ| = %{customdata[0]:.4f}<br>τ = %{customdata[1]:.3g} "
                                 "steps<br>|cos(slow direction, readout)| = %{customdata[2]:.3f}<extra></extra>"})
    if title:
        figure.update_layout(title={"text": title})
    return figure


def eigenvalue_figure(eigenvalues: np.ndarray, labels: list[str] | None = None, *,
                     kinds: list[str] | None = None) -> go.Figure:
    """Eigenvalues of ∂F/∂h at each fixed point (K, H) in the complex plane, with the unit circle: a point
    on the circle at 1 is a direction the memory keeps for ever, inside decays, outside grows. One series
    (and legend entry) per kind of point (``kinds``, e.g. "attractor", "saddle"), not per point; the hover
    names the point (``labels``, default "point k")."""
    eigenvalues = np.asarray(eigenvalues)
    names = list(labels) if labels else [f"point {k}" for k in range(len(eigenvalues))]
    kinds = list(kinds) if kinds is not None else ["fixed point"] * len(eigenvalues)
    angle = np.linspace(0, 2 * np.pi, 181)
    data = [{"type": "scatter", "mode": "lines", "x": np.cos(angle), "y": np.sin(angle), "name": "|λ| = 1",
             "line": {"color": "#999999", "dash": "dot", "width": 1}, "hoverinfo": "skip"}]
    for index, kind in enumerate(dict.fromkeys(kinds)):  # kinds in order of first appearance
        chosen = [k for k in range(len(eigenvalues)) if kinds[k] == kind]
        values = eigenvalues[chosen].reshape(-1)  # (k·H,)
        owner = [plotly_text(names[k]) for k in chosen for _ in range(eigenvalues.shape[1])]
        data.append({"type": "scatter", "mode": "markers", "x": values.real, "y": values.imag,
                     "name": f"{plotly_text(kind)} ({len(chosen)})",
                     "marker": {"size": 7, "opacity": 0.8, "color": SERIES_COLORS[index % len(SERIES_COLORS)]},
                     "customdata": [[name, float(size)] for name, size in zip(owner, np.abs(values))],
                     "hovertemplate": "%{customdata[0]}<br>λ = %{x:.4f} %{y:+.4f}i<br>"
                                      "|λ| = %{customdata[1]:.6f}<extra></extra>"})
    layout = {"title": {"text": "eigenvalues of ∂F/∂h at each fixed point"}, "height": 420,
              "xaxis": {"title": {"text": "Re λ"}, "zeroline": True},
              "yaxis": {"title": {"text": "Im λ"}, "scaleanchor": "x", "zeroline": True}}
    return new_figure(data, layout)



def attribution_figure(tokens: list[str], attributions: np.ndarray, logit_changes: np.ndarray, *, delta: float,
                       logit: float, baseline_logit: float, start_logit: float) -> go.Figure:
    """Integrated gradients per word beside the exact per-word logit change, as paired bars; the title
    gives Captum's completeness delta and what each series sums to."""
    attributions = np.asarray(attributions, dtype=np.float64)
    logit_changes = np.asarray(logit_changes, dtype=np.float64)
    positions = np.arange(len(tokens))
    words = [plotly_text(token) for token in tokens]
    data = [
        {"type": "bar", "x": positions, "y": attributions, "name": "integrated gradients (from padding)",
         "marker": {"color": SERIES_COLORS[0]}, "customdata": words,
         "hovertemplate": "%{customdata} (position %{x})<br>integrated gradients = %{y:.4f}<extra></extra>"},
        {"type": "bar", "x": positions, "y": logit_changes, "name": "exact logit change logit_t − logit_{t−1}",
         "marker": {"color": SERIES_COLORS[1]}, "customdata": words,
         "hovertemplate": "%{customdata} (position %{x})<br>logit change = %{y:.4f}<extra></extra>"},
    ]
    title = (f"integrated gradients sum to f(x) − f(padding) = {logit:.3f} − ({baseline_logit:.3f}), completeness "
             f"delta {delta:.1e}<br>exact logit changes sum to f(x) − head(0) = {logit:.3f} − ({start_logit:.3f})")
    layout = {"title": {"text": title, "font": {"size": 13}}, "barmode": "group", "height": 460,
              "margin": {"t": 80, "b": 10, "l": 50, "r": 10},
              "xaxis": word_axis(tokens), "yaxis": {"title": {"text": "logit units"}},
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "left", "x": 0}}
    return new_figure(data, layout)
