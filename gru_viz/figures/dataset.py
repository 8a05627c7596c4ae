"""Figures over a data set: how each unit uses its gates (saturation, timescales), where a unit fires most, what
each gate is worth (the ablation), how far back a gradient reaches on average, and the memory probe's curves.
Builders take arrays or the analyses' result objects (named arrays) and return ``go.Figure``; nothing here
computes a number the page shows. Each chart *Across the data set* draws on load has a Vega-Lite twin
(``<name>_spec``, a plain dict) that the page draws without Plotly's 4.7 MB bundle (see ``figures.story``); the
Plotly figure is the same chart for the HTML download.

>>> figure = ablation_figure({"free": 0.9, "reset=1": 0.85})
>>> list(figure.data[0].x), figure.data[0].text
(['free', 'reset=1'], ('0.9000', '0.8500 (-0.0500)'))
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from gru_viz.figures.story import _colour_scale
from gru_viz.figures.style import (
    DIVERGING,
    EXACT,
    GATE_SCALE,
    LABEL_COLORS,
    SERIES_COLORS,
    new_figure,
    plotly_text,
)
from gru_viz.probe import card_curves, card_tests, wilson_interval

__all__ = ["ablation_figure", "ablation_spec", "dataset_gradient_flow_figure", "dataset_gradient_flow_spec",
           "probe_figure", "saturation_figure", "saturation_spec", "timescale_figure", "timescale_spec",
           "top_activations_figure", "top_activations_spec"]

# what every spec here shares: the container's width, no frame, the house's axis labels
_COMMON = {"width": "container", "autosize": {"type": "fit-x", "contains": "padding"},
           "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}
_GATES = (("update", "z"), ("reset", "r"))


def _link(unit_link: str | None, unit: int) -> dict:
    """{"href": the unit page's link} when ``unit_link`` (a URL with ``{unit}``) is given, else {}."""
    return {"href": unit_link.format(unit=int(unit))} if unit_link else {}


def _href(unit_link: str | None) -> dict:
    return {"href": {"field": "href", "type": "nominal"}} if unit_link else {}


def dataset_gradient_flow_figure(flows: dict, *, statistic: str = "geometric_mean", min_count: int = 1) -> go.Figure:
    """The data-set average of ‖∂h_T/∂h_t‖ by distance from the end, one line per model, log y.

    flows: {name: ``analysis.GradientFlowByDistance``} (fields distance, mean, geometric_mean, count,
    each (D,)); statistic: "geometric_mean" (the typical sentence) or "mean"; distances reached by fewer
    than ``min_count`` sentences are left out (a handful of long sentences make a noisy tail).
    Hover gives both averages and the count."""
    if statistic not in ("geometric_mean", "mean"):
        raise ValueError(f"statistic must be 'geometric_mean' or 'mean', got {statistic!r}")
    data = []
    for index, (name, flow) in enumerate(flows.items()):
        kept = np.asarray(flow.count) >= min_count
        extra = np.stack([np.asarray(flow.mean)[kept], np.asarray(flow.geometric_mean)[kept],
                          np.asarray(flow.count)[kept]], axis=-1)  # (D', 3)
        data.append({"type": "scatter", "mode": "lines+markers", "name": plotly_text(name),
                     "x": np.asarray(flow.distance)[kept], "y": np.asarray(getattr(flow, statistic))[kept],
                     "customdata": extra, "line": {"color": SERIES_COLORS[index % len(SERIES_COLORS)]},
                     "hovertemplate": (f"{plotly_text(name)}: %{{x}} words before the end<br>"
                                       f"mean ‖∂h_T/∂h_t‖ = %{{customdata[0]{EXACT}}}<br>"
                                       f"geometric mean = %{{customdata[1]{EXACT}}}<br>"
                                       "over %{customdata[2]} sentences<extra></extra>")})
    title = "geometric mean" if statistic == "geometric_mean" else "mean"
    layout = {"title": {"text": f"Gradient reaching t words before the end, {title} over the data set"},
              "xaxis": {"title": {"text": "distance from the last word (T − 1 − t)"}, "zeroline": False},
              "yaxis": {"type": "log", "title": {"text": f"{title} ‖∂h_T/∂h_t‖"}, "exponentformat": "power"},
              "legend": {"orientation": "h", "y": -0.2}}
    return new_figure(data, layout)



def dataset_gradient_flow_spec(flows: dict, *, statistic: str = "geometric_mean", min_count: int = 1) -> dict:
    """``dataset_gradient_flow_figure`` as one Vega-Lite spec: one line per model (``flows`` {name:
    ``analysis.GradientFlowByDistance``}) over the distance from the last word, log y; distances fewer than
    ``min_count`` sentences reach are left out; the tooltip gives both averages and the count."""
    if statistic not in ("geometric_mean", "mean"):
        raise ValueError(f"statistic must be 'geometric_mean' or 'mean', got {statistic!r}")
    rows = []
    for name, flow in flows.items():
        count = np.asarray(flow.count)
        for d in np.flatnonzero(count >= min_count):
            rows.append({"model": name, "distance": int(np.asarray(flow.distance)[d]),
                         "value": float(np.asarray(getattr(flow, statistic))[d]),
                         "mean": float(np.asarray(flow.mean)[d]),
                         "geometric_mean": float(np.asarray(flow.geometric_mean)[d]), "count": int(count[d])})
    names = list(flows)
    title = "geometric mean" if statistic == "geometric_mean" else "mean"
    return {"title": {"text": f"Gradient reaching t words before the end, {title} over the data set",
                      "anchor": "start"},
            "data": {"values": rows}, "height": 300, **_COMMON,
            "mark": {"type": "line", "point": True},
            "encoding": {"x": {"field": "distance", "type": "quantitative",
                               "axis": {"title": "distance from the last word (T − 1 − t)", "tickMinStep": 1}},
                         "y": {"field": "value", "type": "quantitative", "scale": {"type": "log"},
                               "axis": {"title": f"{title} ‖∂h_T/∂h_t‖", "format": "~g"}},
                         "color": {"field": "model", "type": "nominal", "sort": names,
                                   "scale": {"domain": names,
                                             "range": [SERIES_COLORS[i % len(SERIES_COLORS)]
                                                       for i in range(len(names))]},
                                   "legend": {"title": None, "orient": "bottom", "direction": "vertical",
                                              "labelLimit": 500}},
                         "tooltip": [{"field": "model", "type": "nominal"},
                                     {"field": "distance", "type": "quantitative", "title": "words before the end"},
                                     {"field": "mean", "type": "quantitative", "title": "mean ‖∂h_T/∂h_t‖",
                                      "format": ".6g"},
                                     {"field": "geometric_mean", "type": "quantitative", "title": "geometric mean",
                                      "format": ".6g"},
                                     {"field": "count", "type": "quantitative", "title": "sentences"}]}}


def saturation_figure(stats) -> go.Figure:
    """Per unit, the fraction of steps a gate is closed (< 0.1, x) against open (> 0.9, y), for the
    update gate z and the reset gate r: the saturation plot of Karpathy, Johnson & Fei-Fei (2015).

    stats: ``analysis.MemoryStatistics`` (fields update_low, update_high, reset_low, reset_high (H,),
    update_mean, reset_mean, timescale (H,), labels H str). Points lie in the triangle x + y ≤ 1; a unit
    near (0, 1) keeps its memory (integrator), near (1, 0) overwrites it; the middle is unsaturated."""
    units = np.arange(len(stats.labels))
    data = []
    for index, (gate, symbol) in enumerate((("update", "z"), ("reset", "r"))):
        extra = np.stack([units, getattr(stats, gate + "_mean"), stats.timescale], axis=-1).astype(object)  # (H, 3)
        data.append({"type": "scatter", "mode": "markers", "name": f"{gate} gate {symbol}",
                     "x": getattr(stats, gate + "_low"), "y": getattr(stats, gate + "_high"),
                     "text": list(stats.labels), "customdata": extra,
                     "marker": {"color": SERIES_COLORS[index], "size": 8, "opacity": 0.75,
                                "symbol": "circle" if gate == "update" else "diamond"},
                     "hovertemplate": (f"unit %{{customdata[0]}} (%{{text}})<br>{symbol} < 0.1 on %{{x{EXACT}}} "
                                       f"of steps<br>{symbol} > 0.9 on %{{y{EXACT}}} of steps<br>mean {symbol} = "
                                       f"%{{customdata[1]{EXACT}}}<br>τ = %{{customdata[2]{EXACT}}} steps"
                                       "<extra></extra>")})
    layout = {"title": {"text": "Gate saturation per unit"},
              "xaxis": {"title": {"text": "fraction of steps with gate < 0.1 (closed)"}, "range": [-0.02, 1.02]},
              "yaxis": {"title": {"text": "fraction of steps with gate > 0.9 (open)"}, "range": [-0.02, 1.02],
                        "scaleanchor": "x"},
              "shapes": [{"type": "line", "x0": 0, "y0": 1, "x1": 1, "y1": 0,
                          "line": {"color": "#bbbbbb", "dash": "dot", "width": 1}}],
              "legend": {"orientation": "h", "y": -0.2}}
    return new_figure(data, layout)



def saturation_spec(stats, *, unit_link: str | None = None) -> dict:
    """``saturation_figure`` as one Vega-Lite spec: per unit and gate (z circles, r diamonds), the fraction of
    steps the gate is closed (< 0.1, x) against open (> 0.9, y), over the dotted line x + y = 1. ``unit_link``: a
    URL with ``{unit}`` in it; a click on a point opens that unit (Vega-Lite's href channel).

    >>> from types import SimpleNamespace as S
    >>> stats = S(labels=["mixed"], update_low=[0.1], update_high=[0.7], reset_low=[0.2], reset_high=[0.3],
    ...           update_mean=[0.8], reset_mean=[0.4], timescale=[4.48])
    >>> [(row["gate"], row["closed"], row["open"]) for row in saturation_spec(stats)["layer"][1]["data"]["values"]]
    [('update gate z', 0.1, 0.7), ('reset gate r', 0.2, 0.3)]
    """
    names = [f"{gate} gate {symbol}" for gate, symbol in _GATES]
    rows = [{"unit": unit, "label": label, "gate": name, "closed": float(getattr(stats, gate + "_low")[unit]),
             "open": float(getattr(stats, gate + "_high")[unit]), "mean": float(getattr(stats, gate + "_mean")[unit]),
             "tau": _tau_text(stats.timescale[unit]), **_link(unit_link, unit)}
            for (gate, _), name in zip(_GATES, names) for unit, label in enumerate(stats.labels)]
    axis = {"type": "quantitative", "scale": {"domain": [-0.02, 1.02], "nice": False}}
    return {"title": {"text": "Gate saturation per unit", "anchor": "start"}, "height": 340, **_COMMON,
            "layer": [
                {"data": {"values": [{"closed": 0.0, "open": 1.0}, {"closed": 1.0, "open": 0.0}]},
                 "mark": {"type": "line", "color": "#bbbbbb", "strokeDash": [2, 3], "strokeWidth": 1},
                 "encoding": {"x": {"field": "closed", **axis}, "y": {"field": "open", **axis}}},
                {"data": {"values": rows},
                 "mark": {"type": "point", "filled": True, "size": 60, "opacity": 0.75},
                 "encoding": {"x": {"field": "closed", **axis,
                                    "axis": {"title": "fraction of steps with gate < 0.1 (closed)"}},
                              "y": {"field": "open", **axis,
                                    "axis": {"title": "fraction of steps with gate > 0.9 (open)"}},
                              "color": {"field": "gate", "type": "nominal", "sort": names,
                                        "scale": {"domain": names, "range": SERIES_COLORS[:2]},
                                        "legend": {"title": None, "orient": "bottom", "direction": "horizontal"}},
                              "shape": {"field": "gate", "type": "nominal", "sort": names,
                                        "scale": {"domain": names, "range": ["circle", "diamond"]}},
                              "tooltip": [{"field": "unit", "type": "quantitative"},
                                          {"field": "label", "type": "nominal"},
                                          {"field": "gate", "type": "nominal"},
                                          {"field": "closed", "type": "quantitative", "title": "< 0.1 on",
                                           "format": ".6f"},
                                          {"field": "open", "type": "quantitative", "title": "> 0.9 on",
                                           "format": ".6f"},
                                          {"field": "mean", "type": "quantitative", "title": "mean", "format": ".6f"},
                                          {"field": "tau", "type": "nominal", "title": "τ (steps)"}],
                              **_href(unit_link)}}]}


def _tau_text(value) -> str:
    """τ as the tooltips print it: 9 significant digits, or ∞ (z ≡ 1)."""
    return "∞" if np.isinf(value) else f"{float(value):.9g}"


def _timescale_bars(timescale, labels, sort: bool):
    """(τ as float64, a label per unit, the units' order, the height that stands for τ = inf: twice the longest
    finite τ) for both timescale charts."""
    timescale = np.asarray(timescale, dtype=np.float64)
    labels = list(labels) if labels is not None else ["mixed"] * len(timescale)
    if len(labels) != len(timescale):
        raise ValueError(f"{len(labels)} labels for {len(timescale)} units")
    order = np.argsort(-timescale, kind="stable") if sort else np.arange(len(timescale))
    finite = timescale[np.isfinite(timescale) & (timescale > 0)]
    return timescale, labels, order, 2 * finite.max() if finite.size else 1.0


def timescale_figure(timescale: np.ndarray, labels: list[str] | None = None, *, sort: bool = True) -> go.Figure:
    """Memory timescale τ = −1/ln(mean z) of each unit (H,), in steps, as bars on a log axis, coloured by
    label (``LABEL_COLORS``). τ = inf (z ≡ 1) is drawn at twice the longest finite τ and hovers as ∞.
    sort: longest memory first (the x axis names the unit either way)."""
    timescale, labels, order, ceiling = _timescale_bars(timescale, labels, sort)
    shown = np.where(np.isinf(timescale), ceiling, timescale)[order]
    exact = ["∞" if np.isinf(value) else f"{value:.9g}" for value in timescale[order]]
    data = [{"type": "bar", "x": [f"unit {u}" for u in order], "y": shown,
             "marker": {"color": [LABEL_COLORS.get(labels[u], "#7f7f7f") for u in order]},
             "text": [labels[u] for u in order], "customdata": exact, "textposition": "none",
             "hovertemplate": "%{x} (%{text})<br>τ = %{customdata} steps<extra></extra>"}]
    layout = {"title": {"text": "Memory timescale τ = −1/ln(mean z) per unit"},
              "xaxis": {"title": {"text": "unit"}, "type": "category"},
              "yaxis": {"type": "log", "title": {"text": "τ (steps)"}}, "showlegend": False}
    return new_figure(data, layout)



def timescale_spec(timescale: np.ndarray, labels: list[str] | None = None, *, sort: bool = True,
                   unit_link: str | None = None) -> dict:
    """``timescale_figure`` as one Vega-Lite spec: τ of each unit (H,) as a bar on a log axis, coloured by label
    (``LABEL_COLORS``, with a legend); τ = inf is drawn at twice the longest finite τ and reads ∞ in the tooltip.
    ``unit_link``: a URL with ``{unit}`` in it; a click on a bar opens that unit.

    >>> [(row["unit"], row["shown"], row["tau"]) for row in timescale_spec([2.0, np.inf, 8.0])["data"]["values"]]
    [('unit 1', 16.0, '∞'), ('unit 2', 8.0, '8'), ('unit 0', 2.0, '2')]
    """
    timescale, labels, order, ceiling = _timescale_bars(timescale, labels, sort)
    rows = [{"unit": f"unit {u}", "label": labels[u], "tau": _tau_text(timescale[u]),
             "shown": float(ceiling if np.isinf(timescale[u]) else timescale[u]), **_link(unit_link, u)}
            for u in order]
    kinds = [label for label in LABEL_COLORS if label in labels] + sorted(set(labels) - set(LABEL_COLORS))
    return {"title": {"text": "Memory timescale τ = −1/ln(mean z) per unit", "anchor": "start"},
            "data": {"values": rows}, "height": 300, **_COMMON,
            "mark": {"type": "bar"},
            "encoding": {"x": {"field": "unit", "type": "nominal", "sort": None,
                               "axis": {"title": "unit", "labelAngle": -90, "labelOverlap": True}},
                         "y": {"field": "shown", "type": "quantitative", "scale": {"type": "log"},
                               "axis": {"title": "τ (steps)"}},
                         # a log axis has no 0 for a bar to start from (drawn in Streamlit, a bar without y2 is
                         # not drawn at all): the bars start at the power of ten below the shortest
                         "y2": {"datum": float(10 ** np.floor(np.log10(min(row["shown"] for row in rows))))},
                         "color": {"field": "label", "type": "nominal", "sort": kinds,
                                   "scale": {"domain": kinds, "range": [LABEL_COLORS.get(k, "#7f7f7f")
                                                                        for k in kinds]},
                                   "legend": {"title": None, "orient": "bottom", "direction": "horizontal"}},
                         "tooltip": [{"field": "unit", "type": "nominal"}, {"field": "label", "type": "nominal"},
                                     {"field": "tau", "type": "nominal", "title": "τ (steps)"}],
                         **_href(unit_link)}}


def ablation_figure(accuracy: dict[str, float], *, size: int | None = None) -> go.Figure:
    """Accuracy under each forced-gate condition (``analysis.ablation``: "free", "reset=1", "update=0",
    "reset=1,update=0") as bars labelled with the value and the change from "free"; ``size`` (the
    number of sentences) goes into the title."""
    names, values = list(accuracy), [float(v) for v in accuracy.values()]
    free = accuracy.get("free", values[0])
    change = [value - free for value in values]
    data = [{"type": "bar", "x": names, "y": values, "customdata": change,
             "text": [f"{v:.4f}" if n == "free" else f"{v:.4f} ({c:+.4f})" for n, v, c in zip(names, values, change)],
             "textposition": "outside",
             "marker": {"color": [SERIES_COLORS[0] if n == "free" else SERIES_COLORS[1] for n in names]},
             "hovertemplate": f"%{{x}}<br>accuracy = %{{y{EXACT}}}<br>change from free = %{{customdata:+.6f}}"
                              "<extra></extra>"}]
    title = "Accuracy with gates forced" + (f" ({size:,} sentences)" if size else "")
    layout = {"title": {"text": title}, "xaxis": {"title": {"text": "condition"}, "type": "category"},
              "yaxis": {"range": [0, 1.08], "title": {"text": "accuracy"}}, "showlegend": False}
    return new_figure(data, layout)



def ablation_spec(accuracy: dict[str, float], *, size: int | None = None) -> dict:
    """``ablation_figure`` as one Vega-Lite spec: accuracy under each condition as a bar (free in the first
    series colour, forced gates in the second) labelled with the value and the change from "free".

    >>> [(row["condition"], row["label"]) for row in ablation_spec({"free": 0.9, "reset=1": 0.85})["data"]["values"]]
    [('free', '0.9000'), ('reset=1', '0.8500 (-0.0500)')]
    """
    names, values = list(accuracy), [float(v) for v in accuracy.values()]
    free = float(accuracy.get("free", values[0]))
    rows = [{"condition": name, "accuracy": value, "change": value - free,
             "label": f"{value:.4f}" if name == "free" else f"{value:.4f} ({value - free:+.4f})",
             "kind": "free" if name == "free" else "forced"} for name, value in zip(names, values)]
    x = {"field": "condition", "type": "nominal", "sort": names, "axis": {"title": "condition", "labelAngle": 0}}
    y = {"field": "accuracy", "type": "quantitative", "scale": {"domain": [0, 1.08]}, "axis": {"title": "accuracy"}}
    return {"title": {"text": "Accuracy with gates forced" + (f" ({size:,} sentences)" if size else ""),
                      "anchor": "start"},
            "data": {"values": rows}, "height": 300, **_COMMON,
            "encoding": {"x": x, "y": y},
            "layer": [
                {"mark": {"type": "bar"},
                 "encoding": {"color": {"field": "kind", "type": "nominal", "legend": None,
                                        "scale": {"domain": ["free", "forced"], "range": SERIES_COLORS[:2]}},
                              "tooltip": [{"field": "condition", "type": "nominal"},
                                          {"field": "accuracy", "type": "quantitative", "format": ".6f"},
                                          {"field": "change", "type": "quantitative", "title": "change from free",
                                           "format": "+.6f"}]}},
                {"mark": {"type": "text", "baseline": "bottom", "dy": -3, "fontSize": 12},
                 "encoding": {"text": {"field": "label", "type": "nominal"}}}]}


def top_activations_figure(hits, *, window: int = 5, field: str = "hidden") -> go.Figure:
    """The contexts where a unit fires most (LSTMVis-style pattern view): one row per hit of
    ``analysis.top_activations`` (fields sentence, position, value, tokens, values (T,)), the words from
    ``window`` before to ``window`` after the hit, each shaded by the unit's ``field`` value there; the
    hit itself is the boxed middle column. Gates are drawn on [0, 1], candidate and hidden on [−1, 1]."""
    if not hits:
        raise ValueError("there are no activations to show")
    columns = 2 * window + 1
    z = np.full((len(hits), columns), np.nan)  # (k, 2·window + 1), NaN beyond a sentence's ends
    text = np.full((len(hits), columns), "", dtype=object)
    where = np.full((len(hits), columns, 2), -1)  # (k, columns, sentence|position) for the hover
    for row, hit in enumerate(hits):
        for column in range(columns):
            position = hit.position - window + column
            if 0 <= position < len(hit.tokens):
                z[row, column] = hit.values[position]
                text[row, column] = plotly_text(hit.tokens[position])
                where[row, column] = (hit.sentence, position)
    gate = field in ("update", "reset")
    data = [{"type": "heatmap", "z": z, "text": text.tolist(), "customdata": where, "texttemplate": "%{text}",
             "textfont": {"color": "#000000", "size": 13}, "hoverongaps": False, "xgap": 2, "ygap": 2,
             "zmin": 0.0 if gate else -1.0, "zmax": 1.0, "colorscale": GATE_SCALE if gate else DIVERGING,
             "colorbar": {"title": {"text": field}, "thickness": 12},
             "hovertemplate": (f"%{{text}} (sentence %{{customdata[0]}}, position %{{customdata[1]}})<br>"
                               f"{field} = %{{z{EXACT}}}<extra></extra>")}]
    layout = {"title": {"text": f"Where the unit's {field} is most extreme: {len(hits)} contexts"},
              "xaxis": {"tickmode": "array", "tickvals": list(range(columns)),
                        "ticktext": [str(offset) if offset else "hit" for offset in range(-window, window + 1)],
                        "title": {"text": "words before and after the hit"}, "showgrid": False},
              "yaxis": {"tickmode": "array", "tickvals": list(range(len(hits))), "autorange": "reversed",
                        "ticktext": [f"#{rank + 1}: {hit.value:.4g}" for rank, hit in enumerate(hits)],
                        "showgrid": False},
              "shapes": [{"type": "rect", "xref": "x", "yref": "paper", "x0": window - 0.5, "x1": window + 0.5,
                          "y0": 0, "y1": 1, "line": {"color": "#000000", "width": 2}}],
              "height": 120 + 32 * len(hits)}
    return new_figure(data, layout)



def top_activations_spec(hits, *, window: int = 5, field: str = "hidden") -> dict:
    """``top_activations_figure`` as one Vega-Lite spec: one row per hit (ranked, labelled with its value), the
    words ``window`` either side of it as cells shaded by the unit's ``field`` value (gates on [0, 1] Viridis,
    candidate and hidden on [−1, 1] red to blue), the hit's column boxed. Words travel as data, never as markup.

    >>> from gru_viz.analysis import Activation
    >>> hit = Activation(sentence=4, position=1, value=0.5, tokens=["<b>", "fine"], values=np.array([0.25, 0.5]))
    >>> [(row["offset"], row["word"], row["value"]) for row in top_activations_spec([hit], window=1)["data"]["values"]]
    [('-1', '<b>', 0.25), ('hit', 'fine', 0.5)]
    """
    if not hits:
        raise ValueError("there are no activations to show")
    offsets = [str(offset) if offset else "hit" for offset in range(-window, window + 1)]
    ranks = [f"#{rank + 1}: {hit.value:.4g}" for rank, hit in enumerate(hits)]
    rows = []
    for rank, hit in zip(ranks, hits):
        for column, offset in enumerate(offsets):
            position = hit.position - window + column
            if 0 <= position < len(hit.tokens):
                rows.append({"rank": rank, "offset": offset, "word": str(hit.tokens[position]),
                             "value": float(hit.values[position]), "sentence": int(hit.sentence),
                             "position": int(position)})
    gate = field in ("update", "reset")
    colour = ({"scheme": "viridis", "domain": [0.0, 1.0]} if gate else _colour_scale(DIVERGING, -1.0, 1.0))
    x = {"field": "offset", "type": "ordinal", "scale": {"domain": offsets},
         "axis": {"title": "words before and after the hit", "labelAngle": 0, "orient": "bottom"}}
    y = {"field": "rank", "type": "ordinal", "scale": {"domain": ranks}, "axis": {"title": None}}
    return {"title": {"text": f"Where the unit's {field} is most extreme: {len(hits)} contexts", "anchor": "start"},
            "data": {"values": rows}, "height": 32 * len(hits), **_COMMON,
            "layer": [
                {"mark": {"type": "rect", "stroke": "#ffffff", "strokeWidth": 2},
                 "encoding": {"x": x, "y": y,
                              "color": {"field": "value", "type": "quantitative", "scale": colour,
                                        "legend": {"title": field, "orient": "right", "gradientLength": 120}},
                              "tooltip": [{"field": "word", "type": "nominal"},
                                          {"field": "sentence", "type": "quantitative"},
                                          {"field": "position", "type": "quantitative"},
                                          {"field": "value", "type": "quantitative", "title": field,
                                           "format": ".9~g"}]}},
                {"mark": {"type": "text", "fontSize": 13, "color": "#000000", "limit": 110},
                 "encoding": {"x": x, "y": y, "text": {"field": "word", "type": "nominal"}}},
                {"data": {"values": [{"offset": "hit"}]},  # the hit's column, boxed from top to bottom
                 "mark": {"type": "rect", "filled": False, "stroke": "#000000", "strokeWidth": 2},
                 "encoding": {"x": x, "y": {"value": 0}, "y2": {"value": "height"}}}]}


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
    tests = card_tests(card) if isinstance(card, dict) else None
    data = []
    for index, (test, label) in enumerate(_PROBE_SERIES.items()):
        points = sorted((curves or {}).get(test, {}).items())
        if not points:
            continue
        line = {"type": "scatter", "mode": "lines+markers", "name": label, "x": [k for k, _ in points],
                "y": [accuracy for _, accuracy in points], "line": {"color": SERIES_COLORS[index]},
                "hovertemplate": "k = %{x}<br>accuracy %{y:.3f}<extra>" + plotly_text(label) + "</extra>"}
        if tests is not None:  # each point's 95% Wilson interval: a rate is only as sure as its sample
            bounds = [wilson_interval(int(round(accuracy * tests)), tests) for _, accuracy in points]
            line["error_y"] = {"type": "data", "symmetric": False, "thickness": 1, "width": 3,
                               "array": [high - accuracy for (_, accuracy), (_, high) in zip(points, bounds)],
                               "arrayminus": [accuracy - low for (_, accuracy), (low, _) in zip(points, bounds)]}
        data.append(line)
    if not data:
        return None
    layout = {"title": {"text": "Memory probe" + (f" of {plotly_text(name)}" if name else ""),
                        "subtitle": {"text": "accuracy with k plot sentences in between" + (
                            f"; {tests} tests a point, bars: 95% interval" if tests else "")}},
              "xaxis": {"title": {"text": "k plot sentences"}},
              "yaxis": {"range": [0, 1.05], "title": {"text": "accuracy"}}, "height": 300,
              # the legend's top below the axis title (at y −0.3 its first row covered the title at 800 px)
              "legend": {"orientation": "h", "yanchor": "top", "y": -0.38},
              "margin": {"t": 70, "b": 10, "l": 10, "r": 10}}
    return new_figure(data, layout)
