"""What one unit is worth: accuracy when a single unit's memory is taken away, for every unit.

Two conditions per unit u, each applied after every word, so the next step and the head read the changed
state::

    zeroed   h_{t,u} ← 0          the unit holds nothing
    frozen   h_{t,u} ← h_{0,u}    the unit never leaves the initial state

With the usual zero initial state the two are the same computation, and give the same numbers. Sentences
whose verdict flips are those read one way freely and the other way with the unit taken away.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> result = unit_ablation(model, ["a gorgeous film", "a dull mess"], [1, 0], units=[0, 1])
>>> result.accuracy.shape, result.free_accuracy
((2, 2), 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from gru_viz.model import is_positive, padded_batches
from gru_viz.step import Step

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["UNIT_ABLATIONS", "UnitAblation", "unit_ablation"]

UNIT_ABLATIONS = ("zeroed", "frozen")  # the order of the C axis below
_SEQUENCES = 8192  # sentence copies stepped together: one per (unit, sentence) pair, a few MB of state


@dataclass(frozen=True)
class UnitAblation:
    """Accuracy with one unit taken away, per unit and condition.

    units:        (U,) the units ablated.
    free:         (N,) P(positive) with nothing taken away.
    probability:  (C, U, N) P(positive) with unit ``units[i]`` under condition ``UNIT_ABLATIONS[c]``.
    labels:       (N,) bool, True = positive.
    accuracy:     (C, U) share of right verdicts; free_accuracy: the same without ablation.
    """

    units: np.ndarray
    free: np.ndarray
    probability: np.ndarray
    labels: np.ndarray

    @property
    def accuracy(self) -> np.ndarray:
        return (is_positive(self.probability) == self.labels).mean(axis=-1)  # (C, U)

    @property
    def free_accuracy(self) -> float:
        return float((is_positive(self.free) == self.labels).mean())

    def flips(self, condition: str, unit: int) -> np.ndarray:
        """Indices of the sentences whose verdict differs from the free reading when ``unit`` is taken away
        under ``condition``, largest move of P first."""
        c, i = UNIT_ABLATIONS.index(condition), int(np.flatnonzero(self.units == unit)[0])
        changed = self.probability[c, i]
        flipped = np.flatnonzero(is_positive(changed) != is_positive(self.free))
        return flipped[np.argsort(-np.abs(changed[flipped] - self.free[flipped]), kind="stable")]


def unit_ablation(model: SentimentModel, texts, labels, *, units=None, h0=None) -> UnitAblation:
    """Read ``texts`` once freely and once per unit and condition with that unit's h zeroed (or held at
    ``h0``, (H,), default the zero state) after every word. Returns a ``UnitAblation``; ``units`` defaults to
    every unit. Runs ``Step`` on copies of each batch, one copy per unit, so every copy is an exact reading."""
    hidden = model.gru.hidden_size
    units = np.arange(hidden) if units is None else np.asarray(units, dtype=np.int64).reshape(-1)
    if len(units) == 0 or units.min() < 0 or units.max() >= hidden:
        raise ValueError(f"units must lie in 0…{hidden - 1}")
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(texts) or not np.isin(labels, (0, 1)).all():
        raise ValueError("give one label, 0 or 1, per text")
    start = torch.zeros(hidden) if h0 is None else torch.as_tensor(np.asarray(h0), dtype=torch.float32)
    step = Step.of(model.gru)
    encoded = model.encode(texts)
    free = np.empty(len(texts))
    frozen_is_zero = not bool(start.abs().max() > 0)  # then "frozen" is "zeroed", computed once
    probability = np.empty((len(UNIT_ABLATIONS), len(units), len(texts)))
    batch = max(_SEQUENCES // len(units), 1)
    for chosen, ids, lengths in padded_batches(encoded, batch):
        inputs = step.input_part(model.embed(ids))  # (B, T, G·H)
        free[chosen] = _read(model, step, inputs, lengths, None, start, start)[0]
        for c, condition in enumerate(UNIT_ABLATIONS):
            if condition == "frozen" and frozen_is_zero:
                probability[c][:, chosen] = probability[0][:, chosen]
                continue
            value = torch.zeros(hidden) if condition == "zeroed" else start
            probability[c][:, chosen] = _read(model, step, inputs, lengths, units, value, start)
    return UnitAblation(units=units, free=free, probability=probability, labels=labels == 1)


def _read(model, step: Step, inputs: torch.Tensor, lengths: np.ndarray, units, value: torch.Tensor,
          start: torch.Tensor) -> np.ndarray:
    """P(positive) of each sentence of ``inputs`` (B, T, G·H), read from ``start``, once per unit of ``units``
    with that unit set to ``value`` after every step (once, unchanged, when ``units`` is None): (U, B)."""
    count = 1 if units is None else len(units)
    batch, steps, _ = inputs.shape
    hidden = len(start)
    keep = torch.ones(count, 1, hidden)  # (U, 1, H) 1 where the unit runs free
    if units is not None:
        keep[torch.arange(count), 0, torch.as_tensor(units)] = 0.0
    held = (1 - keep) * value  # (U, 1, H)
    h = start.expand(count, batch, hidden).clone()  # (U, B, H)
    last = torch.empty(count, batch, hidden)
    ends = torch.as_tensor(lengths - 1)
    with torch.inference_mode():
        for t in range(steps):
            h = step.gates(inputs[:, t][None], h).hidden * keep + held  # (U, B, H)
            done = ends == t
            last[:, done] = h[:, done]
    return 1 / (1 + np.exp(-model.head_logits(last)))  # (U, B)
