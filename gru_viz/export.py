"""Downloads of one traced sentence, and of figures through Plotly's own tools.

A sentence is a ``model.SentenceTrace``: ``tokens`` (T str), the (T, H) views ``update``, ``reset``,
``candidate``, ``hidden`` and ``probability`` (T,). Every export holds the trace's own numbers: floats
are written as ``repr(float(x))``, the shortest decimal that reads back as the same float64 (a float32
gate value widens to float64 exactly), so a CSV or JSON re-read equals the trace.

- ``trace_to_csv``:  long format, one row per (position, unit): position, token, unit, update, reset,
                     candidate, hidden, probability (P(positive) after that token, repeated per unit).
- ``trace_to_json``: the keys of ``python -m gru_viz trace --json`` (tokens, update, reset, candidate,
                     hidden, probability), plus ``model`` when a name is given.
- ``trace_to_npz``:  ``np.savez`` of plain arrays, tokens as a unicode array (never object dtype), so
                     ``np.load(..., allow_pickle=False)`` reads it.
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

from gru_viz.model import SentenceTrace

__all__ = ["FIELDS", "Download", "trace_to_csv", "trace_to_json", "trace_to_npz", "trace_downloads",
           "figure_to_html", "plotly_config", "safe_file_stem"]

FIELDS = ("update", "reset", "candidate", "hidden")
CSV_COLUMNS = ("position", "token", "unit", *FIELDS, "probability")


@dataclass(frozen=True)
class Download:
    """One file for ``st.download_button(label, data, file_name=..., mime=...)``; ``data()`` makes the bytes."""

    label: str
    file_name: str
    mime: str
    data: Callable[[], bytes]


def _fields(sentence: SentenceTrace) -> tuple[list[str], dict[str, np.ndarray], np.ndarray]:
    """tokens (T str), {field: (T, H)} in the trace's dtype, probability (T,) float64."""
    fields = {name: np.asarray(getattr(sentence, name)) for name in FIELDS}  # (T, H) views of the trace
    tokens = [str(token) for token in sentence.tokens]
    probability = np.asarray(sentence.probability, dtype=np.float64)  # (T,)
    steps = len(tokens)
    if probability.shape != (steps,) or any(values.ndim != 2 or len(values) != steps for values in fields.values()):
        raise ValueError(f"a trace of {steps} tokens needs (T, H) fields and (T,) probabilities")
    return tokens, fields, probability


def _exact(values: np.ndarray) -> list[str]:
    return [repr(value) for value in np.asarray(values, dtype=np.float64).ravel().tolist()]


def trace_to_csv(sentence: SentenceTrace) -> bytes:
    """UTF-8 CSV, long format: T × H rows of position, token, unit, update, reset, candidate, hidden,
    probability. Tokens are written as typed (the csv module quotes commas and quotes)."""
    tokens, fields, probability = _fields(sentence)
    steps, units = fields["hidden"].shape
    columns = {name: _exact(values) for name, values in fields.items()}  # row-major: (t, u) → t * H + u
    probabilities = _exact(probability)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for t in range(steps):
        for u in range(units):
            row = t * units + u
            writer.writerow([t, tokens[t], u, *(columns[name][row] for name in FIELDS), probabilities[t]])
    return out.getvalue().encode("utf-8")


def trace_to_json(sentence: SentenceTrace, model_name: str | None = None) -> bytes:
    """UTF-8 JSON with the CLI's ``--json`` keys; fields are lists of T lists of H numbers."""
    tokens, fields, probability = _fields(sentence)
    document = {} if model_name is None else {"model": str(model_name)}
    document.update({"tokens": tokens, **{name: values.tolist() for name, values in fields.items()},
                     "probability": probability.tolist()})
    return json.dumps(document, ensure_ascii=False, allow_nan=False).encode("utf-8")


def trace_to_npz(sentence: SentenceTrace, model_name: str | None = None) -> bytes:
    """An ``.npz`` of tokens (T,) unicode, update/reset/candidate/hidden (T, H) in the trace's dtype,
    probability (T,) float64, and model () unicode when a name is given. No array is of object dtype."""
    tokens, fields, probability = _fields(sentence)
    arrays = {"tokens": np.array(tokens, dtype=np.str_), **fields, "probability": probability}
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
