"""Steering: push the memory along a direction after chosen words and read on from the changed state
(contrastive activation addition, applied to a recurrent state).

After word t the state is h_t + α·d when t is chosen, and the next step reads that state, so a push early in
a sentence must survive every later gate to matter at the end. ``direction`` is any (H,) vector: a unit's
basis vector (push one unit) or a verdict direction (the mean final h of positive minus negative sentences).

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> steered, free = steer(model, "a dull movie", unit_direction(model, 3), 0.0)
>>> bool(np.array_equal(steered, free)), steered.shape
(True, (3,))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["steer", "unit_direction"]

MAX_ALPHA = 1e3  # beyond this a push saturates every gate: nothing is left to read


def unit_direction(model: SentimentModel, unit: int) -> np.ndarray:
    """The basis vector of one hidden unit, (H,) float64."""
    units = model.gru.hidden_size
    if not 0 <= int(unit) < units:
        raise ValueError(f"unit must lie in 0…{units - 1}, got {unit}")
    direction = np.zeros(units)
    direction[int(unit)] = 1.0
    return direction


def _positions(positions, steps: int) -> np.ndarray:
    chosen = np.zeros(steps, dtype=bool)
    if positions is None:
        chosen[:] = True
        return chosen
    for position in positions:
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)) or not 0 <= position < steps:
            raise ValueError(f"positions must be word positions 0…{steps - 1}, got {position!r}")
        chosen[position] = True
    return chosen


def steer(model: SentimentModel, text: str, direction, alpha: float, *,
          positions=None) -> tuple[np.ndarray, np.ndarray]:
    """P(positive) after each word with α·direction added to h after each chosen word (0-based ``positions``;
    default every word), and without: ``(steered, free)``, two (T,) float64 arrays. Each probability is read
    from h_t by the model's readout; for a steered word, from h_t after the addition.

    The recurrent layer itself runs one word at a time from the changed state, so the result is what the
    model computes, not an approximation."""
    direction = np.asarray(direction, dtype=np.float64)
    units = model.gru.hidden_size
    if direction.shape != (units,) or not np.isfinite(direction).all():
        raise ValueError(f"direction must be {units} finite numbers, one per unit")
    if not np.isfinite(alpha) or abs(alpha) > MAX_ALPHA:
        raise ValueError(f"alpha must be a finite number within ±{MAX_ALPHA:g}, got {alpha!r}")
    _, ids = model.tokenize(text)
    chosen = _positions(positions, len(ids))
    embedded = model.embed(ids)  # (T, E)
    # the free run steps the same way as the steered one, so α = 0 gives identical numbers
    steered = _read(model, embedded, torch.as_tensor(alpha * direction, dtype=embedded.dtype), chosen)
    free = _read(model, embedded, torch.zeros(units, dtype=embedded.dtype), chosen)
    return steered, free


def _read(model: SentimentModel, embedded: torch.Tensor, push: torch.Tensor, chosen: np.ndarray) -> np.ndarray:
    """P(positive) after each word of ``embedded`` (T, E), adding ``push`` (H,) to h after each chosen word."""
    h = torch.zeros(1, 1, len(push), dtype=embedded.dtype)  # (L·D, B, H)
    states = []
    with torch.inference_mode():
        for t in range(len(embedded)):
            _, h = model.gru(embedded[t][None, None], h)  # one step of the module itself, (1, 1, H)
            if chosen[t]:
                h = h + push
            states.append(h[0, 0].numpy().copy())
    return 1 / (1 + np.exp(-model.head_logits(np.array(states))))  # (T,)
