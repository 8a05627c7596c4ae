"""Per-unit views: how each unit uses its gates over a data set (saturation, timescale, a label), where a
unit fires most (LSTMVis-style unit search), and a clustering order for heatmap rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gru_viz.analysis.datasets import encode_texts, real_steps, tokenize_texts
from gru_viz.model import SentenceTrace, padded_batches

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["CLUSTER_LIMIT", "FAST_TIMESCALE", "FIELDS", "INTEGRATOR_FRACTION", "RESETTER_FRACTION", "SATURATION",
           "UNIT_ORDERS", "Activation", "MemoryStatistics", "activation_rows", "cluster_order", "head_units",
           "memory_statistics", "one_per_sentence", "top_activations", "unit_order"]

UNIT_ORDERS = ("index", "mean z", "clustered")  # unit_order's methods (the page orders rows with ranking.shown_units)

CLUSTER_LIMIT = 512  # above this many units the O(H³) merge loop is too slow; a 1-D projection orders them
SATURATION = (0.1, 0.9)  # a gate below 0.1 is "closed", above 0.9 "open" (Karpathy, Johnson & Fei-Fei 2015)
# Label rules, set by looking at the shipped SST-2 GRU: a reset gate closes on particular words, so closing on
# 30% of them is frequent, and thresholds of one half named every unit an integrator.
INTEGRATOR_FRACTION = 0.6  # z > 0.9 on at least 60% of steps: the unit keeps its memory on most words
RESETTER_FRACTION = 0.3  # r < 0.1 on at least 30% of steps: its candidate often ignores h_{t-1}
FAST_TIMESCALE = 1.5  # τ < 1.5 steps (mean z < 0.51): the memory is mostly rewritten at every word


@dataclass(frozen=True)
class MemoryStatistics:
    """How each hidden unit uses its gates over a data set; every field is per unit, (H,), over all real
    (unpadded) steps of all sentences.

    update_low, update_high: fraction of steps with z < 0.1 (overwrite) and z > 0.9 (keep).
    reset_low, reset_high:   fraction of steps with r < 0.1 (ignore the past) and r > 0.9 (read it).
    update_mean, reset_mean: mean z and mean r.
    timescale:  τ = −1/ln(mean z) in steps: a memory kept with probability mean z per word decays as
                (mean z)^t = e^{−t/τ}. inf where mean z = 1, 0 where mean z = 0.
    labels:     list of H str, the first rule that holds, in this order:
                "integrator" update_high ≥ 0.6; "resetter" reset_low ≥ 0.3; "fast" τ < 1.5 steps;
                otherwise "mixed".
    steps:      number of real steps counted; sentences: number of sentences.
    """

    update_low: np.ndarray
    update_high: np.ndarray
    reset_low: np.ndarray
    reset_high: np.ndarray
    update_mean: np.ndarray
    reset_mean: np.ndarray
    timescale: np.ndarray
    labels: list[str]
    steps: int
    sentences: int


def memory_statistics(model: SentimentModel, texts, *, batch_size: int = 256) -> MemoryStatistics:
    """Gate saturation, mean gates, timescales and labels of every unit over ``texts`` (see
    ``MemoryStatistics``). One exact trace per length-sorted batch; padding is masked out.

    >>> from gru_viz.model import load_model
    >>> stats = memory_statistics(load_model("models/sst2-gru"), ["a great movie", "a dull , lifeless mess"])
    >>> stats.timescale.shape == stats.update_mean.shape, stats.steps, stats.sentences
    (True, 8, 2)
    """
    ids = encode_texts(model, texts)
    units = model.gru.hidden_size
    low, high = SATURATION
    counts = {name: np.zeros(units, dtype=np.int64) for name in ("update_low", "update_high", "reset_low",
                                                                 "reset_high")}
    sums = {"update": np.zeros(units), "reset": np.zeros(units)}
    steps = 0
    for _, padded, lengths in padded_batches(ids, batch_size):
        trace = model.trace_ids(padded)
        mask = real_steps(lengths, padded.shape[1])  # (B, T)
        steps += int(mask.sum())
        for gate in ("update", "reset"):
            values = getattr(trace, gate)[0, 0][mask]  # (real steps, H)
            counts[gate + "_low"] += (values < low).sum(axis=0)
            counts[gate + "_high"] += (values > high).sum(axis=0)
            sums[gate] += values.sum(axis=0, dtype=np.float64)
    update_mean, reset_mean = sums["update"] / steps, sums["reset"] / steps
    with np.errstate(divide="ignore"):  # ln 0 = −inf gives τ = 0; mean z = 1 is set to +inf explicitly
        timescale = np.where(update_mean >= 1.0, np.inf, -1.0 / np.log(update_mean))  # (H,)
    fractions = {name: count / steps for name, count in counts.items()}
    labels = [_label(fractions["update_high"][u], fractions["reset_low"][u], timescale[u]) for u in range(units)]
    return MemoryStatistics(**fractions, update_mean=update_mean, reset_mean=reset_mean, timescale=timescale,
                            labels=labels, steps=steps, sentences=len(ids))


def _label(update_high: float, reset_low: float, timescale: float) -> str:
    if update_high >= INTEGRATOR_FRACTION:
        return "integrator"
    if reset_low >= RESETTER_FRACTION:
        return "resetter"
    if timescale < FAST_TIMESCALE:
        return "fast"
    return "mixed"


@dataclass(frozen=True)
class Activation:
    """One place where a unit fired: sentence ``sentence`` (index into the texts), token ``position``.

    value:  the field's value there; tokens: the sentence's tokens as typed (list of T str);
    values: (T,) the same unit's field along the whole sentence, to shade every word.
    """

    sentence: int
    position: int
    value: float
    tokens: list[str]
    values: np.ndarray

    def context(self, window: int = 5) -> tuple[list[str], str, list[str]]:
        """(up to ``window`` tokens before, the token, up to ``window`` after)."""
        start = max(self.position - window, 0)
        return (self.tokens[start:self.position], self.tokens[self.position],
                self.tokens[self.position + 1:self.position + 1 + window])


FIELDS = ("update", "reset", "candidate", "hidden")


def top_activations(model: SentimentModel, texts, unit: int, k: int = 10, field: str = "hidden", *,
                    largest: bool = True, batch_size: int = 256) -> list[Activation]:
    """The ``k`` (sentence, position) pairs where ``field`` of ``unit`` is highest over ``texts``
    (lowest with ``largest=False``), best first; ties go to the earlier sentence, then position.
    field: "update", "reset", "candidate" or "hidden". Batched like ``memory_statistics``.

    >>> from gru_viz.model import load_model
    >>> hits = top_activations(load_model("models/sst2-gru"), ["a great movie", "a dull , lifeless mess"], unit=0, k=3)
    >>> len(hits), hits[0].value >= hits[1].value >= hits[2].value
    (3, True)
    >>> before, word, after = hits[0].context(2)
    """
    if field not in FIELDS:
        raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {field!r}")
    units = model.gru.hidden_size
    if not isinstance(unit, (int, np.integer)) or not 0 <= unit < units:
        raise ValueError(f"unit must be a whole number from 0 to {units - 1}, got {unit!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number, got {k!r}")
    tokens, ids = tokenize_texts(model, texts)
    per_sentence: list[np.ndarray] = [None] * len(ids)  # (T_i,) the unit along each sentence
    for chosen, padded, lengths in padded_batches(ids, batch_size):
        values = getattr(model.trace_ids(padded), field)[0, 0, :, :, unit]  # (B, T)
        for row, index in enumerate(chosen):
            per_sentence[index] = values[row, :lengths[row]].copy()
    flat = np.concatenate(per_sentence)  # every real step, sentence by sentence
    sentence_of = np.repeat(np.arange(len(ids)), [len(v) for v in per_sentence])
    position_of = np.concatenate([np.arange(len(v)) for v in per_sentence])
    key = -flat if largest else flat
    best = np.lexsort((position_of, sentence_of, key))[:k]  # last key sorts first
    return [Activation(sentence=int(sentence_of[i]), position=int(position_of[i]), value=float(flat[i]),
                       tokens=tokens[sentence_of[i]], values=per_sentence[sentence_of[i]]) for i in best]


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


def unit_order(views: SentenceTrace | list[SentenceTrace], method: str) -> np.ndarray:
    """A permutation of the H units for heatmap rows, (H,), from one ``SentenceTrace`` or a list of them (the
    units of several sentences ordered together, so their rows line up).

    "index": 0 … H−1. "mean z": the units that keep their memory most (highest mean update gate over the words)
    first. "clustered": units with similar z, r and h across the words next to each other (``cluster_order``).
    """
    views = [views] if isinstance(views, SentenceTrace) else list(views)
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


def head_units(weight, count: int = 3) -> list[int]:
    """The ``count`` units the head weighs most (largest |w|), in index order: a default for unit lines."""
    weight = np.asarray(weight, dtype=np.float64).reshape(-1)
    return sorted(int(u) for u in np.argsort(-np.abs(weight), kind="stable")[:count])
