"""Figures of the research tools (issue 12): the patching heatmap, T×T connectivity, fixed points in the
trajectory plot with their eigenvalues, and integrated gradients beside the exact logit change.

Builders take arrays (and the sentence's trajectory figure to draw into) and return ``go.Figure`` in the
house style of ``gru_viz.style``.

>>> import numpy as np
>>> figure = connectivity_figure({"GRU": np.array([[2.0, 0.0], [0.5, 2.0]])}, ["not", "bad"])
>>> figure.data[0].type, bool(figure.data[0].z[1][0] == np.log10(0.5)), figure.data[0].z[0][1] is None
('heatmap', True, True)
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.projection import Projection, project
from gru_viz.style import DIVERGING, EXACT, SERIES_COLORS, new_figure, plotly_text, word_axis

__all__ = ["attribution_figure", "connectivity_figure", "eigenvalue_figure", "fixed_points_figure",
           "patching_figure"]

CONNECTIVITY_SCALE = [[0.0, "#fff5eb"], [0.35, "#fdae6b"], [0.7, "#d94801"], [1.0, "#3f0d02"]]  # log10 norm
LOG_FLOOR = 1e-30  # norms below this are drawn as this (a vanilla RNN's fall below 1e-100 on long text)


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


def connectivity_figure(matrices: dict[str, np.ndarray], tokens: list[str] | dict[str, list[str]]) -> go.Figure:
    """T×T connectivity ‖∂h_t/∂h_s‖_F of each model side by side, on one log colour scale (log10 of the
    norm; the empty upper triangle is s > t). ``tokens``: the words (one list, or one per model)."""
    if not matrices:
        raise ValueError("give at least one connectivity matrix")
    logs = {}
    for name, matrix in matrices.items():
        matrix = np.asarray(matrix, dtype=np.float64)
        lower = np.tril(np.ones(matrix.shape, dtype=bool))
        logs[name] = np.where(lower, np.log10(np.maximum(matrix, LOG_FLOOR)), np.nan)  # (T, T)
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


def eigenvalue_figure(eigenvalues: np.ndarray, labels: list[str] | None = None) -> go.Figure:
    """Eigenvalues of ∂F/∂h at each fixed point (K, H) in the complex plane, with the unit circle: a point
    on the circle at 1 is a direction the memory keeps for ever, inside decays, outside grows."""
    eigenvalues = np.asarray(eigenvalues)
    angle = np.linspace(0, 2 * np.pi, 181)
    data = [{"type": "scatter", "mode": "lines", "x": np.cos(angle), "y": np.sin(angle), "name": "|λ| = 1",
             "line": {"color": "#999999", "dash": "dot", "width": 1}, "hoverinfo": "skip"}]
    for k, values in enumerate(eigenvalues):
        name = labels[k] if labels else f"point {k}"
        data.append({"type": "scatter", "mode": "markers", "x": values.real, "y": values.imag,
                     "name": plotly_text(name), "marker": {"size": 7, "opacity": 0.8},
                     "customdata": np.abs(values),
                     "hovertemplate": f"{plotly_text(name)}<br>λ = %{{x:.4f}} %{{y:+.4f}}i<br>"
                                      "|λ| = %{customdata:.4f}<extra></extra>"})
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
