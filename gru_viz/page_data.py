"""What the page shows about a sentence, as arrays: one trace read once, then the analyses the figures draw.

Every function here takes arrays (``read_sentence`` takes the model) and returns arrays; the page only
displays them and ``gru_viz.figures`` only draws them.

>>> view = read_sentence(model, "But the movie is really boring")
>>> view.update.shape, view.split.total          # (6, 64) and the final logit, as a sum over words
>>> order = unit_order(view, "clustered")         # (64,) a permutation of the units
>>> coords = project(view.path, projection_basis(model.card, view.path))   # (7, 3): h0, then each word
>>> clamped = read_sentence(model, text, **intervention_clamps("custom", 6, 64, gate="reset", value=1.0))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gru_viz.analysis import CLAMP_MODES, clamp_array, decompose_final_state, fit_pca, gradient_flow
from gru_viz.text import parse_labelled_tsv  # re-exported: the page reads uploads with it

__all__ = ["LogitSplit", "SentenceView", "Projection", "UNIT_ORDERS", "read_sentence", "word_logit_contributions",
           "probability_moves", "largest_moves", "unit_order", "cluster_order", "projection_basis", "project",
           "head_units", "INTERVENTION_MODES", "intervention_clamps", "sentence_gradient_flow",
           "parse_labelled_tsv", "one_per_sentence", "activation_rows"]

UNIT_ORDERS = ("index", "mean z", "clustered")
CLUSTER_LIMIT = 512  # above this many units the O(H³) merge loop is too slow; a 1-D projection orders them


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


@dataclass(frozen=True)
class SentenceView:
    """One sentence read by a model, as the page shows it.

    tokens:            the words as typed (T str); ``known`` (T,) False where the word maps to <unk>.
    update, reset,
    candidate, hidden: (T, H) in the trace's dtype: exactly the values of ``model.trace``.
    h0:                (H,) the state before the first word.
    probability:       (T,) P(positive) after each word; ``logit`` (T,) likewise.
    start_probability: P(positive) of h0, before any word.
    split:             the final logit split over words (``LogitSplit``).
    head_weight:       (H,) the head's weights (which units the verdict reads).
    arch:              "gru", or "rnn" for the vanilla baseline (update ≡ 0, reset ≡ 1).
    note:              what the tokenizer cut, if anything.
    """

    tokens: list[str]
    known: np.ndarray
    update: np.ndarray
    reset: np.ndarray
    candidate: np.ndarray
    hidden: np.ndarray
    h0: np.ndarray
    probability: np.ndarray
    logit: np.ndarray
    start_probability: float
    split: LogitSplit
    head_weight: np.ndarray
    arch: str
    note: str | None = None

    @property
    def path(self) -> np.ndarray:
        """h0 then h_1 … h_T, (T + 1, H): the path the hidden state takes."""
        return np.vstack([self.h0[None], self.hidden])


def read_sentence(model, text: str, max_tokens: int = 300, *, clamp_update=None, clamp_reset=None) -> SentenceView:
    """Trace ``text`` with ``model`` (a ``SentimentModel``) and compute what the page shows; clamps as in
    ``model.trace`` (see ``intervention_clamps``). Raises ``ValueError`` on blank text (the tokenizer's message)."""
    sentence = model.trace(text, max_tokens=max_tokens, clamp_update=clamp_update, clamp_reset=clamp_reset)
    gates = sentence.gates
    update, reset = gates.update[0, 0, 0], gates.reset[0, 0, 0]  # (T, H)
    candidate, hidden = gates.candidate[0, 0, 0], gates.hidden[0, 0, 0]  # (T, H)
    h0 = gates.h0[0, 0, 0]  # (H,)
    weight = model.net.head.weight.detach().double().numpy()[0]  # (H,)
    bias = float(model.net.head.bias.detach().double().numpy()[0])
    split = word_logit_contributions(update, candidate, h0, weight, bias)
    start_logit = float(weight @ h0.astype(np.float64) + bias)
    return SentenceView(tokens=list(sentence.tokens), known=np.asarray(sentence.known), update=update, reset=reset,
                        candidate=candidate, hidden=hidden, h0=h0, probability=np.asarray(sentence.probability),
                        logit=np.asarray(sentence.logit), start_probability=1.0 / (1.0 + np.exp(-start_logit)),
                        split=split, head_weight=weight, arch=model.arch, note=sentence.note)


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


def unit_order(views, method: str) -> np.ndarray:
    """A permutation of the H units for the heatmap rows, (H,), from one view or a list of views
    (the compare view orders both sentences' units together so the rows line up).

    "index": 0 … H−1. "mean z": the units that keep their memory most (highest mean update gate
    over the words) first. "clustered": units with similar z, r and h across the words next to each other
    (``cluster_order``).
    """
    views = [views] if isinstance(views, SentenceView) else list(views)
    units = views[0].hidden.shape[1]
    if method == "index":
        return np.arange(units)
    if method == "mean z":
        update = np.vstack([view.update for view in views]).astype(np.float64)  # (ΣT, H)
        return np.argsort(-update.mean(axis=0), kind="stable")
    if method == "clustered":
        features = np.hstack([np.hstack([view.update.T, view.reset.T, view.hidden.T]) for view in views])  # (H, 3ΣT)
        return cluster_order(features)
    raise ValueError(f"unit order must be one of {', '.join(UNIT_ORDERS)}; got {method!r}")


def cluster_order(features) -> np.ndarray:
    """Leaf order of average-linkage agglomerative clustering of the rows of ``features`` (N, F), (N,).

    Deterministic: the closest pair of clusters merges first (ties: lowest indices), and each merge joins
    the two leaf sequences end to end in whichever of the four orientations puts the nearest rows side by
    side. Above ``CLUSTER_LIMIT`` rows, rows are ordered by their first principal coordinate instead.
    """
    features = np.asarray(features, dtype=np.float64)
    rows = len(features)
    if rows <= 2:
        return np.arange(rows)
    if rows > CLUSTER_LIMIT:
        centred = features - features.mean(axis=0)
        first = np.linalg.svd(centred, full_matrices=False)[2][0]  # (F,)
        return np.argsort(centred @ first, kind="stable")
    squared = (features ** 2).sum(axis=1)
    distance = np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * features @ features.T, 0))  # (N, N)
    linkage = distance.copy()
    np.fill_diagonal(linkage, np.inf)
    members = {i: [i] for i in range(rows)}
    sizes = np.ones(rows)
    for _ in range(rows - 1):
        a, b = np.unravel_index(np.argmin(linkage), linkage.shape)
        a, b = min(a, b), max(a, b)
        first, second = members.pop(a), members.pop(b)
        joins = [(first, second), (first, second[::-1]), (first[::-1], second), (first[::-1], second[::-1])]
        gaps = [distance[left[-1], right[0]] for left, right in joins]
        left, right = joins[int(np.argmin(gaps))]
        members[a] = left + right
        merged = (sizes[a] * linkage[a] + sizes[b] * linkage[b]) / (sizes[a] + sizes[b])  # average linkage
        linkage[a], linkage[:, a] = merged, merged
        linkage[b], linkage[:, b] = np.inf, np.inf
        linkage[a, a] = np.inf
        sizes[a] += sizes[b]
    (order,) = members.values()
    return np.asarray(order)


@dataclass(frozen=True)
class Projection:
    """A PCA basis of hidden states: ``mean`` (H,), ``components`` (3, H), ``explained`` (3,) fractions
    of variance; ``source`` says what it was fitted on (shown on the page)."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    source: str


def projection_basis(card: dict | None, states) -> Projection:
    """The model card's basis (fitted once on training states) when it has one that fits H units;
    otherwise a basis fitted on ``states`` (N, H), the states of the sentences shown."""
    states = np.asarray(states, dtype=np.float64)
    units = states.shape[1]
    stored = (card or {}).get("projection")
    if isinstance(stored, dict):
        try:
            mean = np.asarray(stored["mean"], dtype=np.float64)
            components = np.asarray(stored["components"], dtype=np.float64)
            explained = np.asarray(stored["explained"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            mean = None
        if mean is not None and mean.shape == (units,) and components.shape == (3, units) and explained.shape == (3,):
            return Projection(mean, components, explained, "hidden states of the training data")
    fitted = fit_pca(states, components=3)
    components = np.zeros((3, units))
    components[:len(fitted["components"])] = fitted["components"]  # fewer than 3 axes from very few states
    explained = np.zeros(3)
    if np.isfinite(fitted["explained"]).all():
        explained[:len(fitted["explained"])] = fitted["explained"]
    return Projection(fitted["mean"], components, explained, "the hidden states of the sentences shown")


def project(states, basis: Projection) -> np.ndarray:
    """Coordinates of states (N, H) on the basis's 3 axes, (N, 3) float64."""
    return (np.asarray(states, dtype=np.float64) - basis.mean) @ basis.components.T


def head_units(weight, count: int = 3) -> list[int]:
    """The ``count`` units the head weighs most (largest |w|), in index order: a default for unit lines."""
    weight = np.asarray(weight, dtype=np.float64).reshape(-1)
    return sorted(int(u) for u in np.argsort(-np.abs(weight), kind="stable")[:count])


# ---- the analysis sections: interventions, gradient flow, data sets, unit search ----

INTERVENTION_MODES = ("free", "vanilla-RNN mode", "frozen memory", "custom")


def intervention_clamps(mode: str, steps: int, units: int, *, gate: str = "update", value: float = 1.0,
                        chosen_units=(), words: tuple[int, int] | None = None) -> dict:
    """The clamps of one page setting, as keyword arguments of ``model.trace`` / ``read_sentence``.

    mode: one of ``INTERVENTION_MODES``: "free" → {} (no clamp); "vanilla-RNN mode" (r ≡ 1, z ≡ 0) and
    "frozen memory" (z ≡ 1) are ``analysis.CLAMP_MODES``; "custom" forces ``gate`` ("update" or "reset")
    to ``value`` for ``chosen_units`` (empty = every unit) on the words ``words`` = (first, last),
    inclusive (None = every word), a (1, 1, 1, steps, units) clamp that is NaN (free) elsewhere.

    >>> intervention_clamps("custom", 6, 64, gate="reset", value=0.0, chosen_units=[3], words=(2, 4))
    {'clamp_reset': array of shape (1, 1, 1, 6, 64)}
    """
    if mode == "free":
        return {}
    if mode in CLAMP_MODES:
        return dict(CLAMP_MODES[mode])
    if mode != "custom":
        raise ValueError(f"intervention mode must be one of {', '.join(INTERVENTION_MODES)}; got {mode!r}")
    if gate not in ("update", "reset"):
        raise ValueError(f"the gate to clamp must be 'update' or 'reset', got {gate!r}")
    positions = None if words is None else slice(int(words[0]), int(words[1]) + 1)
    clamp = clamp_array((steps, units), units=list(chosen_units) or None, positions=positions, value=value)
    return {f"clamp_{gate}": clamp}


def sentence_gradient_flow(model, text: str, max_tokens: int = 300) -> np.ndarray:
    """``analysis.gradient_flow`` of ``model``'s recurrent layer on ``text`` as the page reads it (at most
    ``max_tokens`` words): (T,) ‖∂h_T/∂h_t‖ per position. Raises ``ValueError`` on blank text."""
    _, ids = model.tokenize(text, max_tokens)
    with torch.inference_mode():
        embedded = model.net.embedding(torch.tensor(ids)).clone()  # (T, E)
    return gradient_flow(model.gru, embedded)


def one_per_sentence(hits, k: int) -> list:
    """The first ``k`` of ``hits`` (``analysis.top_activations``, best first) from distinct sentences: each
    sentence at its strongest word. A unit whose memory stays saturated fills its top list with one sentence's
    consecutive words; LSTMVis-style search wants the different contexts that drive it."""
    seen, kept = set(), []
    for hit in hits:
        if hit.sentence not in seen:
            seen.add(hit.sentence)
            kept.append(hit)
            if len(kept) == k:
                break
    return kept


def activation_rows(hits, window: int = 6) -> list[dict]:
    """One row per ``analysis.Activation`` for a table: rank (1 = strongest), value, the words before,
    the word itself, the words after (up to ``window`` each side, as typed) and the sentence's index."""
    rows = []
    for rank, hit in enumerate(hits, start=1):
        before, word, after = hit.context(window)
        start = hit.position - len(before)
        rows.append({"rank": rank, "value": hit.value, "before": ("… " if start > 0 else "") + " ".join(before),
                     "word": word, "after": " ".join(after) + (" …" if hit.position + 1 + window < len(hit.tokens)
                                                                else ""),
                     "sentence": hit.sentence, "position": hit.position})
    return rows
