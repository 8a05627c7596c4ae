"""What each word wrote into the memory: the final state and the final logit as exact sums over words.

Unrolling h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t gives h_T = (∏_s z_s) h0 + Σ_t (∏_{s>t} z_s)(1 − z_t) n_t, and
the head is linear, so the final logit splits the same way (``word_logit_contributions``). How far each word
moved P(positive) (``probability_moves``) and the words that moved it most (``largest_moves``) are what the
prediction chart marks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LogitSplit", "decompose_final_state", "largest_moves", "probability_moves", "word_logit_contributions"]


def decompose_final_state(update: np.ndarray, candidate: np.ndarray, h0: np.ndarray):
    """Split h_T exactly into what survives of h0 and what each step wrote.

    Unrolling h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t gives
    h_T = (∏_s z_s) h0 + Σ_t (∏_{s>t} z_s)(1 − z_t) n_t.

    update, candidate: (T, H); h0: (H,).
    Returns ``carry`` (H,) = (∏_s z_s) h0 and ``contributions`` (T, H), float64, with
    ``carry + contributions.sum(0) == h_T``. O(T·H) through a reverse cumulative product.

    >>> update, candidate = np.array([[0.5], [0.25]]), np.array([[1.0], [-1.0]])   # T = 2 words, H = 1 unit
    >>> carry, contributions = decompose_final_state(update, candidate, h0=np.array([0.8]))
    >>> carry, contributions.ravel()          # h0 kept by both z; word 0 kept by z_1 = 0.25; word 1 fresh
    (array([0.1]), array([ 0.125, -0.75 ]))
    """
    update = np.asarray(update, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if update.ndim != 2 or update.shape != candidate.shape or h0.shape != update.shape[1:]:
        raise ValueError(f"need update and candidate (T, H) and h0 (H,), got {update.shape}, "
                         f"{candidate.shape}, {h0.shape}")
    suffix = np.cumprod(update[::-1], axis=0)[::-1]  # (T, H): suffix[t] = ∏_{s>=t} z_s
    survival = np.ones_like(update)  # (T, H): ∏_{s>t} z_s
    survival[:-1] = suffix[1:]
    contributions = survival * (1.0 - update) * candidate  # (T, H)
    carry = suffix[0] * h0 if len(update) else h0.copy()  # (H,)
    return carry, contributions


@dataclass(frozen=True)
class LogitSplit:
    """The final logit as an exact sum: ``carry + bias + words.sum()``.

    words: (T,) float64, ``head.weight @ contributions[t]``: what word t wrote into h_T, read by the head.
    carry: ``head.weight @ carry``, what is left of h0 (0 for the usual h0 = 0).
    bias:  the head's bias.
    """

    words: np.ndarray
    carry: float
    bias: float

    @property
    def total(self) -> float:
        return float(self.carry + self.bias + self.words.sum())


def word_logit_contributions(update, candidate, h0, weight, bias: float) -> LogitSplit:
    """Each word's exact share of the final logit, from h_T = carry + Σ_t contributions[t].

    update, candidate: (T, H); h0, weight: (H,) (a (1, H) head weight is flattened); bias: float.
    The head is linear, so logit = w·carry + Σ_t w·contributions[t] + bias holds exactly.
    """
    carry, contributions = decompose_final_state(update, candidate, h0)  # (H,), (T, H) float64
    weight = np.asarray(weight, dtype=np.float64).reshape(-1)  # (H,)
    return LogitSplit(words=contributions @ weight, carry=float(weight @ carry), bias=float(bias))


def probability_moves(probability, start_probability: float) -> np.ndarray:
    """How much each word moved P(positive): (T,) ``p_t − p_{t−1}``, with p_{−1} the start probability."""
    probability = np.asarray(probability, dtype=np.float64)
    return np.diff(probability, prepend=start_probability)


def largest_moves(moves, count: int = 3) -> np.ndarray:
    """Positions of the ``count`` largest |moves| (ties: the earlier word), in reading order.
    Words that did not move P at all are never marked."""
    moves = np.asarray(moves, dtype=np.float64)
    ranked = np.argsort(-np.abs(moves), kind="stable")[:max(count, 0)]
    return np.sort(ranked[np.abs(moves[ranked]) > 0])
