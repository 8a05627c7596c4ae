"""Plotly figures of one sentence read by a GRU. Builders take arrays and labels and return ``go.Figure``.

Conventions shared by every builder:
- Word axes are numeric positions 0 … T−1 with the words *as typed* as tick labels, so a repeated word
  keeps its own column. Hover shows the word, its position and the exact value.
- Data hold the values given, in their dtype (the trace's float32 stays float32): what is drawn is what
  the model computed.
- User text is escaped (``plotly_text``) because Plotly reads ``<b>``, ``<br>`` and ``&…;`` in labels as
  markup; a word is shown literally.
- Figures are built with ``_validate=False``: Plotly's validation costs more than the rest of a page
  render. ``tests/test_figures.py`` re-validates every builder's output instead.

>>> from gru_viz.model import load_model
>>> sentence = load_model("models/sst2-gru").trace("not bad at all")
>>> figure = gate_heatmap(sentence.update, sentence.tokens, np.arange(sentence.update.shape[1]), gate="update")
>>> figure.data[0].z.shape == sentence.update.T.shape        # (H, T): units × words
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from gru_viz.analysis.decomposition import largest_moves, probability_moves
from gru_viz.analysis.projection import Projection, project
from gru_viz.analysis.ranking import sentence_logit_split
from gru_viz.model import VERDICT_THRESHOLD, SentenceTrace
from gru_viz.style import (
    DIVERGING,
    EXACT,
    GATE_SCALE,
    LIGHT_DIVERGING,
    new_figure,
    plotly_text,
    word_axis,
)

__all__ = ["GATES", "TrajectoryPath", "plotly_text", "gate_heatmap", "trajectory_figure", "unit_lines_figure",
           "prediction_figure", "compare_prediction_figure", "memory_figure", "sentence_gate_figures",
           "sentence_path", "sentence_trajectory_figures", "marked_words", "sentence_reading_figures",
           "sentence_figures", "compare_figures"]

MAX_PATH_LABELS = 40  # beyond this many words, label every k-th point along a trajectory (hover names all)
WORDS_PER_ROW = 10  # the memory view wraps the sentence like text


@dataclass(frozen=True)
class _Gate:
    symbol: str
    title: str
    range: tuple[float, float]
    colorscale: object


GATES = {
    "update": _Gate("z", "update gate z (1 = keep the memory, 0 = write the candidate)", (0.0, 1.0), GATE_SCALE),
    "reset": _Gate("r", "reset gate r (0 = ignore the past when writing the candidate)", (0.0, 1.0), GATE_SCALE),
    "candidate": _Gate("n", "candidate n (what the word would write)", (-1.0, 1.0), DIVERGING),
    "hidden": _Gate("h", "hidden state h (the memory after the word)", (-1.0, 1.0), DIVERGING),
}


def gate_heatmap(values: np.ndarray, tokens: list[str], order: np.ndarray, *, gate: str,
                 positions: int | None = None, title: str | None = None) -> go.Figure:
    """Units × words heatmap of one trace field.

    values: (T, H) the field (``update``, ``reset``, ``candidate`` or ``hidden``); tokens: T words as typed;
    order: (H,) the unit shown in each row, top to bottom; positions: widen the word axis to this many
    columns (to align two sentences). z is ``values[:, order].T`` (H, T) exactly, on the gate's fixed scale
    ([0, 1] for gates, [−1, 1] centred on 0 for n and h). customdata (H, T, 2) holds each cell's unit and
    position.
    """
    spec = GATES[gate]
    values = np.asarray(values)
    order = np.asarray(order, dtype=np.int64)
    steps, units = values.shape
    if len(tokens) != steps or sorted(order.tolist()) != list(range(units)):
        raise ValueError(f"need {steps} tokens and a permutation of {units} units")
    z = np.ascontiguousarray(values[:, order].T)  # (H, T)
    cells = np.empty((units, steps, 2), dtype=np.int32)  # (H, T, unit|position): %{x} would show the tick label
    cells[:, :, 0], cells[:, :, 1] = order[:, None], np.arange(steps)
    words = [plotly_text(token) for token in tokens]
    text = [words] * units  # (H, T) of str; the same row list, serialised per row
    tick_step = max(1, math.ceil(units / 16))
    rows = list(range(0, units, tick_step))
    heatmap = {
        "type": "heatmap", "z": z, "x": np.arange(steps), "y": np.arange(units), "customdata": cells,
        "text": text, "zmin": spec.range[0], "zmax": spec.range[1], "colorscale": spec.colorscale,
        "colorbar": {"title": {"text": spec.symbol}, "thickness": 12},
        "hovertemplate": (f"unit %{{customdata[0]}}<br>word %{{text}} (position %{{customdata[1]}})<br>"
                          f"{spec.symbol} = %{{z{EXACT}}}<extra></extra>"),
    }
    if spec.range[0] < 0:
        heatmap["zmid"] = 0.0
    layout = {
        "title": {"text": title or spec.title},
        "xaxis": word_axis(tokens, positions),
        "yaxis": {"title": {"text": "unit"}, "tickmode": "array", "tickvals": rows,
                  "ticktext": [str(order[row]) for row in rows], "autorange": "reversed", "showgrid": False},
        "height": int(min(720, max(300, 5 * units + 140))), "margin": {"t": 50, "b": 10, "l": 50, "r": 10},
    }
    return new_figure([heatmap], layout)


@dataclass(frozen=True)
class TrajectoryPath:
    """One sentence's path through the projection: coords (N, 3) for h0 then each word, labels N (the
    first is the start), probability (N,) P(positive) at each point, name shown in the legend."""

    name: str
    coords: np.ndarray
    labels: list[str]
    probability: np.ndarray


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


def unit_lines_figure(hidden: np.ndarray, tokens: list[str], units: list[int]) -> go.Figure:
    """h_t of the chosen units over the words, hidden (T, H), on the fixed range [−1, 1]."""
    hidden = np.asarray(hidden)
    words = [plotly_text(token) for token in tokens]
    data = [{"type": "scatter", "mode": "lines+markers", "name": f"unit {unit}", "x": np.arange(len(tokens)),
             "y": np.ascontiguousarray(hidden[:, unit]), "text": words, "customdata": np.arange(len(tokens)),
             "hovertemplate": (f"unit {unit}<br>word %{{text}} (position %{{customdata}})<br>"
                               f"h = %{{y{EXACT}}}<extra></extra>")}
            for unit in units]
    layout = {"title": {"text": "chosen units of h over the words"}, "xaxis": word_axis(tokens),
              "yaxis": {"title": {"text": "h"}, "range": [-1.05, 1.05]}, "height": 360,
              "margin": {"t": 50, "b": 10, "l": 50, "r": 10}, "legend": {"orientation": "h", "y": -0.25}}
    return new_figure(data, layout)


def _probability_layout(title: str) -> dict:
    # the y range leaves room for the rings at 0 and 1
    return {"title": {"text": title}, "yaxis": {"title": {"text": "P(positive)"}, "range": [-0.08, 1.08]},
            "height": 380, "margin": {"t": 50, "b": 10, "l": 50, "r": 10},
            "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1,  # the verdict line
                        "y0": VERDICT_THRESHOLD, "y1": VERDICT_THRESHOLD,
                        "line": {"dash": "dot", "color": "#888888", "width": 1}}]}


def prediction_figure(tokens: list[str], probability: np.ndarray, start_probability: float,
                      marked: np.ndarray) -> go.Figure:
    """P(positive) after each word (T,), starting from h0's P at position −1; the words at ``marked``
    (positions, e.g. ``analysis.largest_moves``) are ringed and labelled with how far they moved P."""
    probability = np.asarray(probability, dtype=np.float64)
    values = np.concatenate([[start_probability], probability])  # (T + 1,)
    words = ["(start)"] + [plotly_text(token) for token in tokens]
    moves = np.diff(values)  # (T,)
    line = {"type": "scatter", "mode": "lines+markers", "name": "P(positive)", "x": np.arange(-1, len(tokens)),
            "y": values, "text": words,
            "customdata": np.column_stack([np.arange(-1, len(tokens)), np.concatenate([[0.0], moves])]),  # (T + 1, 2)
            "marker": {"color": values, "cmin": 0.0, "cmax": 1.0, "colorscale": DIVERGING, "size": 8,
                       "line": {"color": "#333333", "width": 0.5}},
            "line": {"color": "#888888"},
            "hovertemplate": (f"after %{{text}} (position %{{customdata[0]}})<br>P(positive) = %{{y{EXACT}}}<br>"
                              f"moved by %{{customdata[1]:+.4f}}<extra></extra>")}
    marked = np.asarray(marked, dtype=np.int64)
    ring = {"type": "scatter", "mode": "markers", "name": "moved P most", "x": marked, "y": probability[marked],
            "marker": {"size": 18, "color": "rgba(0,0,0,0)", "line": {"color": "#000000", "width": 2}},
            "hoverinfo": "skip"}
    layout = _probability_layout("P(positive) after each word")
    layout["xaxis"] = word_axis(tokens, lead=[(-1, "(start)")])
    layout["annotations"] = [{"x": int(t), "y": float(probability[t]),
                              "text": f"{plotly_text(tokens[t])} {moves[t]:+.2f}",
                              "showarrow": True, "arrowhead": 0,
                              "ay": -30 if probability[t] < VERDICT_THRESHOLD else 30,  # away from the verdict line
                              "font": {"size": 12}} for t in marked]
    layout["showlegend"] = False
    return new_figure([line, ring], layout)


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


def memory_figure(tokens: list[str], words: np.ndarray, carry: float, bias: float) -> go.Figure:
    """The sentence as coloured words: each word's exact contribution to the final logit (T,) (blue
    pushes towards positive, red towards negative, white nothing), wrapped WORDS_PER_ROW to a row.
    The title gives the sum: carry + bias + Σ words = the final logit."""
    words = np.asarray(words, dtype=np.float64)
    steps = len(tokens)
    columns = max(1, min(steps, WORDS_PER_ROW))
    rows = max(1, math.ceil(steps / columns))
    z = np.full((rows, columns), np.nan)  # (rows, columns); NaN past the last word
    z.flat[:steps] = words
    text = np.full((rows, columns), "", dtype=object)
    text.flat[:steps] = [plotly_text(token) for token in tokens]
    position = np.full((rows, columns), -1)
    position.flat[:steps] = np.arange(steps)
    reach = float(np.abs(words).max()) if steps else 1.0
    reach = reach if reach > 0 else 1.0
    total = carry + bias + words.sum()
    heatmap = {"type": "heatmap", "z": z, "text": text.tolist(), "customdata": position,
               "texttemplate": "%{text}", "textfont": {"color": "#000000", "size": 14},
               "zmin": -reach, "zmax": reach, "zmid": 0.0, "colorscale": LIGHT_DIVERGING, "hoverongaps": False,
               "xgap": 3, "ygap": 3, "colorbar": {"title": {"text": "logit"}, "thickness": 12},
               "hovertemplate": ("word %{text} (position %{customdata})<br>adds %{z:+.6f} to the final logit"
                                 "<extra></extra>")}
    layout = {"title": {"text": (f"final logit {total:+.4f} = Σ words {words.sum():+.4f} + bias {bias:+.4f}"
                                 + (f" + start {carry:+.4f}" if carry else ""))},
              "xaxis": {"visible": False}, "yaxis": {"visible": False, "autorange": "reversed"},
              "height": 90 + 44 * rows, "margin": {"t": 50, "b": 10, "l": 10, "r": 10}}
    return new_figure([heatmap], layout)


# ---- a sentence's figures, as the page shows them (the page caches these; benchmarks/page_bench.py times them) ----


def sentence_gate_figures(sentence: SentenceTrace, order: np.ndarray, positions: int | None = None,
                          prefix: str = "") -> dict[str, go.Figure]:
    """The four units × words heatmaps of a sentence; the vanilla RNN gets only h (it has no gates, and its
    candidate is h itself)."""
    fields = ("update", "reset", "candidate", "hidden") if sentence.arch == "gru" else ("hidden",)
    return {field: gate_heatmap(getattr(sentence, field), sentence.tokens, order, gate=field, positions=positions,
                                title=prefix + GATES[field].title if prefix else None)
            for field in fields}


def sentence_path(sentence: SentenceTrace, basis: Projection, name: str = "sentence") -> TrajectoryPath:
    """A sentence's path h0 → h_T on the basis: (T + 1, 3) coordinates, the start then each word."""
    return TrajectoryPath(name=name, coords=project(sentence.path, basis), labels=["(start)"] + list(sentence.tokens),
                          probability=np.concatenate([[sentence.start_probability], sentence.probability]))


def sentence_trajectory_figures(sentence: SentenceTrace, basis: Projection) -> dict[str, go.Figure]:
    """The 2-D and 3-D paths of a sentence's hidden state on the basis."""
    path = [sentence_path(sentence, basis)]
    return {"trajectory_2d": trajectory_figure(path, dims=2, explained=basis.explained),
            "trajectory_3d": trajectory_figure(path, dims=3, explained=basis.explained)}


def marked_words(sentence: SentenceTrace) -> np.ndarray:
    """The positions the prediction figure rings: the 3 words that moved P most (5 past 20 words)."""
    moves = probability_moves(sentence.probability, sentence.start_probability)
    return largest_moves(moves, count=3 if len(sentence.tokens) <= 20 else 5)


def sentence_reading_figures(sentence: SentenceTrace) -> dict[str, go.Figure]:
    """P(positive) forming, and (GRU only: the RNN has no update gate to decompose by) each word's share
    of the final logit."""
    result = {"prediction": prediction_figure(sentence.tokens, sentence.probability, sentence.start_probability,
                                              marked_words(sentence))}
    if sentence.arch == "gru":
        split = sentence_logit_split(sentence)
        result["memory"] = memory_figure(sentence.tokens, split.words, split.carry, split.bias)
    return result


def sentence_figures(sentence: SentenceTrace, basis: Projection, order: np.ndarray,
                     units: list[int]) -> dict[str, go.Figure]:
    """Every figure of the single-sentence sections, by name: what one page render of a new sentence builds."""
    return {**sentence_gate_figures(sentence, order), **sentence_trajectory_figures(sentence, basis),
            "unit_lines": unit_lines_figure(sentence.hidden, sentence.tokens, units),
            **sentence_reading_figures(sentence)}


def compare_figures(sentences: list[SentenceTrace], basis: Projection, order: np.ndarray,
                    names: tuple[str, ...] = ("A", "B")) -> dict[str, go.Figure]:
    """Sentences side by side, aligned: heatmaps with one unit order and one word axis as long as the
    longest sentence ("heatmap_A", …: z for GRUs, h for the RNN), P(positive) overlaid by position
    ("prediction"), and both paths on one basis ("trajectory")."""
    positions = max(len(sentence.tokens) for sentence in sentences)
    field = "update" if all(sentence.arch == "gru" for sentence in sentences) else "hidden"
    result = {f"heatmap_{name}": gate_heatmap(getattr(sentence, field), sentence.tokens, order, gate=field,
                                              positions=positions, title=f"{name}: {GATES[field].title}")
              for name, sentence in zip(names, sentences)}
    named = list(zip(names, sentences))
    result["prediction"] = compare_prediction_figure(
        [(name, sentence.tokens, sentence.probability, sentence.start_probability) for name, sentence in named])
    result["trajectory"] = trajectory_figure([sentence_path(sentence, basis, name) for name, sentence in named],
                                             dims=2, explained=basis.explained, title="both paths in the same space")
    return result
