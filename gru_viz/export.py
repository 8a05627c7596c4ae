"""Downloads of one traced sentence, and of figures through Plotly's own tools.

A sentence is a ``model.SentenceTrace``: ``tokens`` (T str), its gates for every layer and direction
(``gates``, (L, D, 1, T, H)) and ``probability`` (T,). Every export holds the trace's own numbers: floats
are written as ``repr(float(x))``, the shortest decimal that reads back as the same float64 (a float32
gate value widens to float64 exactly), so a CSV or JSON re-read equals the trace. Layers count from 1 at the
bottom and directions are named "forward" and "backward", as in the page's link.

- ``trace_to_csv``:  long format, one row per (layer, direction, position, unit): layer, direction, position,
                     token, unit, update, reset, candidate, hidden, probability (P after that token, of the
                     predicted class with C ≥ 2, repeated per unit).
- ``trace_to_json``: the keys of ``python -m gru_viz trace --json``: tokens, update, reset, candidate, hidden
                     (T, H) of the top layer's forward direction, probability (T,), ``layers`` (a list of
                     {"layer", "direction", "update", "reset", "candidate", "hidden"}, every layer and
                     direction), and with C ≥ 2 classes ``probabilities`` (T, C) and ``labels``; ``model``
                     when a name is given.
- ``trace_to_npz``:  ``np.savez`` of plain arrays, tokens as a unicode array (never object dtype), so
                     ``np.load(..., allow_pickle=False)`` reads it: the JSON's top-level arrays, ``stack_update``
                     … ``stack_hidden`` (L, D, T, H) with ``layers`` (L,) and ``directions`` (D,) naming the axes,
                     and ``probabilities``, ``labels`` with C ≥ 2.
- ``trace_downloads``: the three as ``Download``s for ``st.download_button`` (data is a callable, so the
                     bytes are made only when someone clicks).
- ``figure_to_html`` and ``plotly_config``: a figure as a standalone HTML page, and the ``config`` that
                     makes the chart's own camera button save a PNG/SVG under a chosen name.

>>> from gru_viz.model import load_model
>>> sentence = load_model("models/sst2-gru").trace("I love it")
>>> arrays = np.load(io.BytesIO(trace_to_npz(sentence)), allow_pickle=False)
>>> arrays["hidden"].shape == sentence.hidden.shape, arrays["tokens"].tolist()
(True, ['I', 'love', 'it'])
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from gru_viz.model import DIRECTIONS, SentenceTrace

__all__ = ["FIELDS", "Download", "trace_document", "trace_to_csv", "trace_to_json", "trace_to_npz",
           "trace_downloads", "figure_to_html", "plotly_config", "safe_file_stem"]

FIELDS = ("update", "reset", "candidate", "hidden")
CSV_COLUMNS = ("layer", "direction", "position", "token", "unit", *FIELDS, "probability")


@dataclass(frozen=True)
class Download:
    """One file for ``st.download_button(label, data, file_name=..., mime=...)``; ``data()`` makes the bytes."""

    label: str
    file_name: str
    mime: str
    data: Callable[[], bytes]


def _fields(sentence: SentenceTrace) -> tuple[list[str], dict[str, np.ndarray], np.ndarray]:
    """tokens (T str), {field: (L, D, T, H)} in the trace's dtype, probability (T,) float64."""
    fields = {name: np.asarray(getattr(sentence.gates, name))[:, :, 0] for name in FIELDS}  # (L, D, T, H) views
    tokens = [str(token) for token in sentence.tokens]
    probability = np.asarray(sentence.probability, dtype=np.float64)  # (T,)
    steps = len(tokens)
    if probability.shape != (steps,) or any(values.ndim != 4 or values.shape[2] != steps for values in fields.values()):
        raise ValueError(f"a trace of {steps} tokens needs (L, D, T, H) fields and (T,) probabilities")
    return tokens, fields, probability


def _classes(sentence: SentenceTrace) -> dict:
    """``probabilities`` (T, C) float64 and ``labels`` with C ≥ 2 classes; nothing for one logit."""
    probabilities = np.asarray(sentence.probabilities, dtype=np.float64)
    if probabilities.shape[1] < 2:
        return {}
    return {"probabilities": probabilities, "labels": [str(label) for label in sentence.labels]}


def _exact(values: np.ndarray) -> list[str]:
    return [repr(value) for value in np.asarray(values, dtype=np.float64).ravel().tolist()]


def trace_to_csv(sentence: SentenceTrace) -> bytes:
    """UTF-8 CSV, long format: T × H rows of position, token, unit, update, reset, candidate, hidden,
    probability. Tokens are written as typed (the csv module quotes commas and quotes)."""
    tokens, fields, probability = _fields(sentence)
    layers, directions, steps, units = fields["hidden"].shape
    columns = {name: _exact(values) for name, values in fields.items()}  # row-major over (l, d, t, u)
    probabilities = _exact(probability)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    row = 0
    for layer in range(layers):
        for direction in range(directions):
            for t in range(steps):
                for u in range(units):
                    writer.writerow([layer + 1, DIRECTIONS[direction], t, tokens[t], u,
                                     *(columns[name][row] for name in FIELDS), probabilities[t]])
                    row += 1
    return out.getvalue().encode("utf-8")


def trace_document(sentence: SentenceTrace, model_name: str | None = None) -> dict:
    """The CLI's ``trace --json`` as a dict of plain lists (see the module's docstring for the keys)."""
    tokens, fields, probability = _fields(sentence)
    layers, directions = fields["hidden"].shape[:2]
    document = {} if model_name is None else {"model": str(model_name)}
    document.update({"tokens": tokens, **{name: values[-1, 0].tolist() for name, values in fields.items()},
                     "probability": probability.tolist()})
    document["layers"] = [{"layer": layer + 1, "direction": DIRECTIONS[direction],
                           **{name: values[layer, direction].tolist() for name, values in fields.items()}}
                          for layer in range(layers) for direction in range(directions)]
    classes = _classes(sentence)
    if classes:
        document.update(probabilities=classes["probabilities"].tolist(), labels=classes["labels"])
    return document


def trace_to_json(sentence: SentenceTrace, model_name: str | None = None) -> bytes:
    """UTF-8 JSON with the CLI's ``--json`` keys; fields are lists of T lists of H numbers."""
    return json.dumps(trace_document(sentence, model_name), ensure_ascii=False, allow_nan=False).encode("utf-8")


def trace_to_npz(sentence: SentenceTrace, model_name: str | None = None) -> bytes:
    """An ``.npz`` of tokens (T,) unicode, update/reset/candidate/hidden (T, H) of the top layer's forward
    direction in the trace's dtype, probability (T,) float64, the whole stack as stack_update … stack_hidden
    (L, D, T, H) with ``layers`` (L,) 1 … L and ``directions`` (D,) names, ``probabilities`` (T, C) and ``labels``
    (C,) with C ≥ 2 classes, and model () unicode when a name is given. No array is of object dtype."""
    tokens, fields, probability = _fields(sentence)
    layers, directions = fields["hidden"].shape[:2]
    classes = _classes(sentence)
    arrays = {"tokens": np.array(tokens, dtype=np.str_), **{name: values[-1, 0] for name, values in fields.items()},
              "probability": probability, **{f"stack_{name}": values for name, values in fields.items()},
              "layers": np.arange(1, layers + 1), "directions": np.array(DIRECTIONS[:directions], dtype=np.str_)}
    if classes:
        arrays.update(probabilities=classes["probabilities"], labels=np.array(classes["labels"], dtype=np.str_))
    if model_name is not None:
        arrays["model"] = np.array(str(model_name), dtype=np.str_)
    out = io.BytesIO()
    np.savez(out, allow_pickle=False, **arrays)
    return out.getvalue()


def safe_file_stem(name: str, fallback: str = "model") -> str:
    """``name`` reduced to letters, digits, '.', '_' and '-' (at most 60), for a download's file name:
    a model card's name is user data and must not steer where a browser saves."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip(".-_")[:60]
    return stem or fallback


def trace_downloads(sentence: SentenceTrace, model_name: str | None = None) -> list[Download]:
    """CSV, JSON and NPZ of ``sentence`` as ``Download``s, named ``<model>-trace.<ext>``.

    >>> from gru_viz.model import load_model
    >>> [item.file_name for item in trace_downloads(load_model("models/sst2-gru").trace("a fine film"), "sst2-gru")]
    ['sst2-gru-trace.csv', 'sst2-gru-trace.json', 'sst2-gru-trace.npz']
    """
    stem = safe_file_stem(model_name or "model") + "-trace"
    return [Download("CSV (one row per word and unit)", f"{stem}.csv", "text/csv", partial(trace_to_csv, sentence)),
            Download("JSON (as the CLI's trace --json)", f"{stem}.json", "application/json",
                     partial(trace_to_json, sentence, model_name)),
            Download("NPZ (NumPy arrays)", f"{stem}.npz", "application/octet-stream",
                     partial(trace_to_npz, sentence, model_name))]


def figure_to_html(figure, include_plotlyjs: bool | str = True) -> bytes:
    """A standalone HTML page of a Plotly figure (Plotly's ``to_html``; its JSON escapes '<' so text in the
    figure cannot close the script). ``include_plotlyjs=True`` embeds plotly.js (~4.8 MB, works offline);
    ``"cdn"`` links it instead."""
    html = figure.to_html(full_html=True, include_plotlyjs=include_plotlyjs, config={"displaylogo": False})
    return html.encode("utf-8")


def plotly_config(file_name: str, image_format: str = "png", scale: int = 2) -> dict:
    """``config`` for ``st.plotly_chart``: the chart's own camera button saves ``<file_name>.<format>``
    (png, svg, jpeg or webp) at ``scale`` × its size; Plotly draws the image in the browser."""
    if image_format not in ("png", "svg", "jpeg", "webp"):
        raise ValueError(f"image format must be png, svg, jpeg or webp, got {image_format!r}")
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": image_format, "filename": safe_file_stem(file_name, "figure"),
                                     "scale": scale}}
