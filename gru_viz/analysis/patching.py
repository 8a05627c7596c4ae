"""Activation patching across sentences and time: an interchange intervention on a trained ``nn.GRU``.

Read ``base`` up to and including its word ``base_position``; replace the hidden state there (all units,
or the chosen ``units``) by ``source``'s hidden state after its word ``source_position``; read the rest of
``base`` from the patched state and return its P(positive). pyvene calls this an interchange intervention
and TransformerLens draws it as a patching heatmap; here it runs on the trained module itself, because the
recurrence only needs a different starting state for the rest of the sentence.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> base, source = "I love this movie so much", "But the movie is really boring"
>>> round(patch_hidden(model, base, source, base_position=5, source_position=5), 6) == round(
...     float(model.trace(source).probability[-1]), 6)   # patching the last state carries the whole verdict
True
>>> patching_grid(model, base, source).shape            # (T_base, T_source)
(6, 6)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from gru_viz.step import Step

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["patch_hidden", "patching_grid", "patching_by_units", "head_unit_groups"]

def patch_hidden(model: "SentimentModel", base: str, source: str, *, base_position: int, source_position: int,
                 units=None) -> float:
    """P(positive) of ``base`` when its hidden state after word ``base_position`` is replaced by
    ``source``'s after word ``source_position`` (0-based token positions), on ``units`` (None = all; an
    index, a list of indices or a boolean mask over the H units). The rest of ``base`` is read from there.
    """
    base_states, embedded = _read(model, base, "base")
    source_states, _ = _read(model, source, "source")
    base_position = _position(base_position, len(base_states), "base_position", "base")
    source_position = _position(source_position, len(source_states), "source_position", "source")
    chosen = _units(units, base_states.shape[1])
    start = base_states[base_position].clone()  # (H,)
    start[chosen] = source_states[source_position, chosen]
    return float(_finish(model, embedded, start[None], np.array([base_position]))[0])


def patching_grid(model: "SentimentModel", base: str, source: str, *, units=None) -> np.ndarray:
    """``patch_hidden`` for every (base_position, source_position): (T_base, T_source) float64.

    All T_base × T_source patched runs are read together, one batched step per base word, not one run
    per patch.
    """
    base_states, embedded = _read(model, base, "base")
    source_states, _ = _read(model, source, "source")
    chosen = _units(units, base_states.shape[1])
    base_steps, source_steps = len(base_states), len(source_states)
    starts = base_states[:, None].repeat(1, source_steps, 1)  # (T_b, T_s, H)
    starts[:, :, chosen] = source_states[None, :, chosen]
    positions = np.repeat(np.arange(base_steps), source_steps)  # (T_b·T_s,) base position of each row
    probability = _finish(model, embedded, starts.reshape(base_steps * source_steps, -1), positions)
    return probability.reshape(base_steps, source_steps)


def patching_by_units(model: "SentimentModel", base: str, source: str, groups, *,
                      source_position: int | None = None) -> np.ndarray:
    """P(positive) of ``base`` with one unit group patched at a time, at every base position:
    (T_base, G) float64.

    groups: a sequence of G unit selections (each as ``units`` of ``patch_hidden``), or a dict whose values
    are; source_position: the source state copied in (None = after the source's last word, its verdict).
    """
    base_states, embedded = _read(model, base, "base")
    source_states, _ = _read(model, source, "source")
    if source_position is None:
        source_position = len(source_states) - 1
    source_position = _position(source_position, len(source_states), "source_position", "source")
    selections = list(groups.values()) if isinstance(groups, dict) else list(groups)
    if not selections:
        raise ValueError("give at least one unit group to patch")
    chosen = [_units(units, base_states.shape[1]) for units in selections]
    base_steps = len(base_states)
    starts = base_states[:, None].repeat(1, len(chosen), 1)  # (T_b, G, H)
    for group, units in enumerate(chosen):
        starts[:, group, units] = source_states[source_position, units]
    positions = np.repeat(np.arange(base_steps), len(chosen))
    return _finish(model, embedded, starts.reshape(base_steps * len(chosen), -1), positions).reshape(base_steps, -1)


def head_unit_groups(model: "SentimentModel", strongest: int = 8) -> dict[str, np.ndarray]:
    """Unit groups for ``patching_by_units``, by how the head reads them: {name: unit indices}.

    "all units"; the ``strongest`` units of largest |w|; the units with w > 0 (they push towards positive
    when high); the units with w < 0.
    """
    weight = model.readout_weight  # (H,)
    top = np.sort(np.argsort(-np.abs(weight), kind="stable")[:strongest])
    groups = {"all units": np.arange(len(weight)), f"the {len(top)} the head weighs most": top,
              "head weight > 0": np.flatnonzero(weight > 0), "head weight < 0": np.flatnonzero(weight < 0)}
    return {name: units for name, units in groups.items() if len(units)}


def _read(model, text: str, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden states (T, H), embedded words (T, E)) of one text, in the model's dtype."""
    if not isinstance(text, str):
        raise ValueError(f"the {name} must be a text, got {type(text).__name__}")
    sentence = model.trace(text)  # blank text is refused here with its own sentence
    return torch.from_numpy(sentence.hidden.copy()), model.embed(sentence.ids)  # (T, H), (T, E)


def _position(position, steps: int, argument: str, name: str) -> int:
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise ValueError(f"{argument} must be a whole number (a 0-based word position), got {position!r}")
    if not 0 <= position < steps:
        raise ValueError(f"{argument} {position} is out of range: the {name} has {steps} word"
                         f"{'s' if steps != 1 else ''} (positions 0 to {steps - 1})")
    return int(position)


def _units(units, size: int) -> np.ndarray:
    """The chosen unit indices among ``range(size)``: None (all), an index, a list or a boolean mask."""
    if units is None:
        return np.arange(size)
    array = np.asarray(units)
    if array.dtype == bool:
        if array.shape != (size,):
            raise ValueError(f"a boolean unit mask needs {size} entries, one per unit; got {array.size}")
        chosen = np.flatnonzero(array)
    elif array.ndim <= 1 and (array.size == 0 or np.issubdtype(array.dtype, np.integer)):
        chosen = np.atleast_1d(array).astype(np.int64)
        outside = chosen[(chosen < 0) | (chosen >= size)]
        if len(outside):
            raise ValueError(f"unit {int(outside[0])} is out of range: the model has {size} units (0 to {size - 1})")
    else:
        raise ValueError(f"choose units by an index, a list of indices or a boolean mask, got {units!r}")
    if len(chosen) == 0:
        raise ValueError("choose at least one unit to patch")
    return np.unique(chosen)


def _finish(model, embedded: torch.Tensor, starts: torch.Tensor, positions: np.ndarray) -> np.ndarray:
    """P(positive) after reading ``embedded[p + 1:]`` from ``starts[b]`` for each row b with p = positions[b].

    embedded (T, E), starts (B, H), positions (B,) → (B,) float64. Every row ends at the base's last word,
    so the rows march through the base's absolute steps together: at step k the rows patched before k
    are updated, and they all read the same word, whose input projection is computed once for all rows.
    """
    step = Step.of(model.gru)  # the model's own dtype, as its trace
    order = np.argsort(positions, kind="stable")  # rows patched earliest first: the active rows are a prefix
    ready = np.searchsorted(positions[order], np.arange(len(embedded)))  # (T,) rows with position < k
    states = starts[torch.from_numpy(order)].clone()  # (B, H) in that order
    with torch.inference_mode():
        from_input = step.input_part(embedded)  # (T, 3H) for a GRU, (T, H) for an RNN
        for k in range(1, len(embedded)):
            active = int(ready[k])
            if active:
                states[:active] = step.gates(from_input[k], states[:active]).hidden  # (A, H)
    logits = torch.from_numpy(model.head_logits(states))  # (B,) float64, in the sorted order
    probability = np.empty(len(positions))
    probability[order] = torch.sigmoid(logits).numpy()
    return probability
