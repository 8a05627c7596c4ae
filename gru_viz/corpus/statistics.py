"""Exact, mergeable statistics of one shard of a corpus, and their merge.

A shard's partial statistics are plain arrays (saved as ``.npz``, never pickles): counts and float64 sums
for the gate statistics of ``analysis.memory_statistics``, the shard's own top and bottom ``k`` steps of
every unit and field for ``analysis.top_activations``, counts of right verdicts under each condition of
``analysis.ABLATIONS``, and the shard's candidates for the gradient-flow sample. Merging sums the counts
and keeps the best ``k`` of the union under the same strict order as ``top_activations`` (value, then
sentence, then position), so the merged numbers do not depend on how the corpus was cut or on which worker
read which shard: the global top ``k`` always lies in the union of the shards' top ``k``.

Partial arrays (F = 4 fields, H units, K = top_k, W = 2·window + 1):

    sentences, steps, cut                 ()          int64: sentences, real steps, sentences cut at MAX_TOKENS
    update_low … reset_high               (H,)        int64: steps with the gate < 0.1 / > 0.9
    update_sum, reset_sum                 (H,)        float64: sums of z and r over real steps
    top_value / bottom_value              (F, H, K)   float32, NaN where the shard had fewer than K steps
    top_sentence / bottom_sentence        (F, H, K)   int64 corpus row, −1 where empty
    top_position / bottom_position        (F, H, K)   int64 token position
    top_window / bottom_window            (F, H, K, W) float32: the unit's field from position−window to
                                                      position+window in the same sentence, NaN outside it
    ablation_correct                      (4,)        int64 right verdicts per ABLATIONS condition (GRU only)
    flow_priority, flow_sentence          (≤ S,)      the sample candidates: sentences of ≥ min_tokens tokens
                                                      with the smallest seeded priority (see ``flow_priority``)
    flow_eligible                         ()          int64: sentences of ≥ min_tokens tokens
    histogram                             (F, H, B)   int64: steps whose value falls in each of B fixed bins
                                                      of ``FIELD_RANGES`` (values outside: the end bins)
    final_sum, final_sum_positive         (H,)        float64: sums of h_T over all / positive sentences
    positive                              ()          int64: positive sentences
    share_abs_sum                         (H,)        float64: sums of |w_u (h_T,u − h_0,u)|, each unit's size
                                                      of the verdict's logit (``ranking.unit_shares``)
    sentence_top_* / sentence_bottom_*    (1, H, S)   the S = ``sentence_contexts`` sentences where each unit's h
                                                      is highest (lowest), each at its strongest step (ties to
                                                      the earlier position): value, sentence, position, window
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass

import numpy as np
import torch

from gru_viz.analysis import ABLATIONS, SATURATION
from gru_viz.model import is_positive, padded_batches

__all__ = ["FIELDS", "FIELD_RANGES", "Options", "bin_edges", "flow_priority", "merge_partials", "partial_from_bytes",
           "partial_to_bytes",
           "shard_statistics"]

FIELDS = ("update", "reset", "candidate", "hidden")  # the order of the F axis and of the parquet rows
DIRECTIONS = ("top", "bottom")  # top: largest first (largest=True); bottom: smallest first
SENTENCE_DIRECTIONS = ("sentence_top", "sentence_bottom")  # the same, one step per sentence, of h only
_COUNTS = ("update_low", "update_high", "reset_low", "reset_high")
_SUMMED = ("sentences", "steps", "cut", "flow_eligible", *_COUNTS, "update_sum", "reset_sum", "histogram",
           "final_sum", "final_sum_positive", "positive", "share_abs_sum")  # merged by +
FIELD_RANGES = {"update": (0.0, 1.0), "reset": (0.0, 1.0), "candidate": (-1.0, 1.0), "hidden": (-1.0, 1.0)}
_TOP = ("value", "sentence", "position", "window")  # the arrays kept per context


@dataclass(frozen=True)
class Options:
    """What an index keeps; part of every shard's key, so changing one recomputes the shards."""

    top_k: int = 50  # contexts kept per unit, field and direction
    window: int = 5  # words kept either side of each context, to draw it without tracing again
    flow_sample: int = 400  # sentences in the gradient-flow sample
    flow_min_tokens: int = 15  # only sentences this long enter it: short ones say nothing about distance 15+
    flow_seed: int = 0
    batch_size: int = 256  # sentences per traced batch
    bins: int = 40  # histogram bins over each field's range (FIELD_RANGES): 0.025 wide for a gate
    sentence_contexts: int = 20  # sentences kept per unit and direction, one step each: a saturated unit
    # fills the top 50 steps with a few sentences, so the unit page's 20 sentences are kept on their own

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name in ("window",
                                                                                              "flow_seed") else 1):
                raise ValueError(f"{name} must be a whole number ≥ {0 if name in ('window', 'flow_seed') else 1}, "
                                 f"got {value!r}")


def flow_priority(sentences: np.ndarray, seed: int) -> np.ndarray:
    """A seeded pseudo-random uint64 per corpus row (splitmix64 of row and seed). The gradient-flow sample is
    the ``flow_sample`` eligible rows of smallest priority: a uniform sample without replacement that every
    shard can pre-select on its own, so it is the same whichever way the corpus is cut.

    >>> flow_priority(np.arange(3), seed=0)
    array([16294208416658607535, 10451216379200822465, 10905525725756348110],
          dtype=uint64)
    """
    with np.errstate(over="ignore"):
        x = np.asarray(sentences, dtype=np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def bin_edges(field: str, bins: int) -> np.ndarray:
    """(bins + 1,) the fixed edges of a field's histogram.

    >>> bin_edges("update", 4).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    low, high = FIELD_RANGES[field]
    return np.linspace(low, high, bins + 1)


def _histogram(flat: np.ndarray, field: str, bins: int) -> np.ndarray:
    """(H, bins) counts of flat (S, H); a value on an inner edge goes to the bin above, the top edge and
    anything beyond the range to the end bins."""
    low, high = FIELD_RANGES[field]
    index = np.clip(np.floor((flat.astype(np.float64) - low) / (high - low) * bins), 0, bins - 1).astype(np.int64)
    units = flat.shape[1]
    flat_index = (np.arange(units)[None, :] * bins + index).ravel()
    return np.bincount(flat_index, minlength=units * bins).reshape(units, bins)


def shard_statistics(model, texts: list[str], labels, offset: int, options: Options | None = None) -> dict:
    """Partial statistics (see the module docstring) of ``texts``, which are corpus rows ``offset`` … ;
    ``labels`` (N,) 0/1 or None. One exact trace per length-sorted batch (``model.trace_ids``), plus one
    clamped trace per forced condition of ``ABLATIONS`` when the model is a GRU and labels are given."""
    options = options or Options()
    units, k, span = model.gru.hidden_size, options.top_k, 2 * options.window + 1
    ids, cut = [], 0
    for text in texts:
        tokenized, encoded = model.tokenize(text)
        ids.append(encoded)
        cut += tokenized.note is not None
    lengths_all = np.array([len(sentence) for sentence in ids], dtype=np.int64)
    low, high = SATURATION
    partial = {"sentences": np.int64(len(ids)), "steps": np.int64(lengths_all.sum()), "cut": np.int64(cut),
               **{name: np.zeros(units, dtype=np.int64) for name in _COUNTS},
               "update_sum": np.zeros(units), "reset_sum": np.zeros(units),
               "histogram": np.zeros((len(FIELDS), units, options.bins), dtype=np.int64),
               "final_sum": np.zeros(units), "final_sum_positive": np.zeros(units), "positive": np.int64(0),
               "share_abs_sum": np.zeros(units)}
    weight = model.readout_weight  # (H,)
    best = {direction: _empty_top(len(FIELDS), units, k, span) for direction in DIRECTIONS}
    best.update({direction: _empty_top(1, units, options.sentence_contexts, span) for direction in SENTENCE_DIRECTIONS})
    ablate = labels is not None and model.arch == "gru"
    labels = None if labels is None else np.asarray(labels)
    correct = np.zeros(len(ABLATIONS), dtype=np.int64)

    for chosen, padded, lengths in padded_batches(ids, options.batch_size):
        trace = model.trace_ids(padded)
        order = np.argsort(chosen)  # rows in corpus order, so flat order below is (sentence, position) order
        mask = np.arange(padded.shape[1])[None, :] < lengths[order][:, None]  # (B, T) real steps
        rows, positions = np.nonzero(mask)  # row-major: each sentence's steps are contiguous
        sentence_of = offset + chosen[order][rows]  # (S,)
        for f, field in enumerate(FIELDS):
            flat = getattr(trace, field)[0, 0][order][mask]  # (S, H) float32
            partial["histogram"][f] += _histogram(flat, field, options.bins)
            if field == "hidden":
                for direction in SENTENCE_DIRECTIONS:
                    candidate = _sentence_best(flat, lengths[order], sentence_of, positions, options,
                                               largest=direction == "sentence_top")
                    _merge_into(best[direction], 0, candidate, largest=direction == "sentence_top")
            if field in ("update", "reset"):
                partial[field + "_low"] += (flat < low).sum(axis=0)
                partial[field + "_high"] += (flat > high).sum(axis=0)
                partial[field + "_sum"] += flat.sum(axis=0, dtype=np.float64)
            for direction in DIRECTIONS:
                key = -flat.astype(np.float64) if direction == "top" else flat.astype(np.float64)
                picked = _smallest(key, k)  # (H, k') flat indices
                candidate = _gather(flat, picked, sentence_of, positions, options.window)
                _merge_into(best[direction], f, candidate, largest=direction == "top")
        final = trace.hidden[0, 0][np.arange(len(chosen)), lengths - 1].astype(np.float64)  # (B, H) h_T
        partial["final_sum"] += final.sum(axis=0)
        partial["share_abs_sum"] += np.abs(weight * (final - trace.h0[0, 0].astype(np.float64))).sum(axis=0)
        if labels is not None:
            positive = labels[chosen] == 1
            partial["final_sum_positive"] += final[positive].sum(axis=0)
            partial["positive"] += np.int64(positive.sum())
        if ablate:
            batch_labels = labels[chosen] == 1
            for c, clamps in enumerate(ABLATIONS.values()):
                states = (trace if not clamps else model.trace_ids(padded, **clamps)).hidden[0, 0]  # (B, T, H)
                last = torch.from_numpy(states[np.arange(len(chosen)), lengths - 1])  # (B, H)
                verdict = is_positive(torch.sigmoid(torch.from_numpy(model.head_logits(last))).numpy())  # (B,)
                correct[c] += int((verdict == batch_labels).sum())

    for direction in (*DIRECTIONS, *SENTENCE_DIRECTIONS):
        for name, values in best[direction].items():
            if name != "key":
                partial[f"{direction}_{name}"] = values
    if ablate:
        partial["ablation_correct"] = correct
    eligible = offset + np.flatnonzero(lengths_all >= options.flow_min_tokens)
    priority = flow_priority(eligible, options.flow_seed)
    keep = np.lexsort((eligible, priority))[:options.flow_sample]
    partial["flow_priority"], partial["flow_sentence"] = priority[keep], eligible[keep].astype(np.int64)
    partial["flow_eligible"] = np.int64(len(eligible))
    return partial


def _empty_top(fields: int, units: int, k: int, span: int) -> dict:
    shape = (fields, units, k)
    return {"key": np.full(shape, np.inf), "value": np.full(shape, np.nan, np.float32),
            "sentence": np.full(shape, -1, np.int64), "position": np.full(shape, -1, np.int64),
            "window": np.full(shape + (span,), np.nan, np.float32)}


def _smallest(key: np.ndarray, k: int) -> np.ndarray:
    """Row indices of the k smallest entries of each column of key (S, H), ties to the earlier row,
    ordered: (H, min(k, S)). O(S·H) through one partition, then a sort of k entries per column."""
    steps, units = key.shape
    k = min(k, steps)
    kth = np.partition(key, k - 1, axis=0)[k - 1]  # (H,) the k-th smallest value of each column
    less, equal = key < kth, key == kth
    room = k - less.sum(axis=0)  # (H,) ties at the k-th value that still fit, earliest rows first
    take = less | (equal & (np.cumsum(equal, axis=0) <= room))  # exactly k per column
    picked = np.nonzero(take.T)[1].reshape(units, k)  # (H, k) ascending rows
    picked_key = np.take_along_axis(key.T, picked, axis=1)
    return np.take_along_axis(picked, np.lexsort((picked, picked_key), axis=-1), axis=1)


def _gather(flat, picked, sentence_of, positions, window) -> dict:
    """Values, rows, positions and context windows (H, k, W) of the picked steps of flat (S, H)."""
    units = np.arange(flat.shape[1])[:, None]  # (H, 1)
    offsets = np.arange(-window, window + 1)  # (W,)
    around = picked[:, :, None] + offsets  # (H, k, W) flat indices of the neighbours
    inside = np.clip(around, 0, len(flat) - 1)
    same = (around >= 0) & (around < len(flat)) & (sentence_of[inside] == sentence_of[picked][:, :, None])
    return {"value": flat[picked, units], "sentence": sentence_of[picked],
            "position": positions[picked].astype(np.int64),
            "window": np.where(same, flat[inside, units[:, :, None]], np.float32(np.nan))}


def _sentence_best(flat, lengths, sentence_of, positions, options: Options, *, largest: bool) -> dict:
    """The ``sentence_contexts`` sentences of flat (S, H) (sentences contiguous, ``lengths`` (B,) in order) with
    the largest (smallest) value of each unit, each at its first step holding that value: as ``_gather``."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # (B,) first step of each sentence
    values = flat.astype(np.float64)
    extreme = (np.maximum if largest else np.minimum).reduceat(values, starts, axis=0)  # (B, H)
    row_of = np.repeat(np.arange(len(lengths)), lengths)  # (S,) the sentence of each step
    steps = np.where(values == extreme[row_of], np.arange(len(flat))[:, None], len(flat))  # (S, H)
    first = np.minimum.reduceat(steps, starts, axis=0)  # (B, H) flat index of each sentence's strongest step
    picked = _smallest(-extreme if largest else extreme, options.sentence_contexts)  # (H, k') sentences
    flat_index = np.take_along_axis(first.T, picked, axis=1)  # (H, k')
    return _gather(flat, flat_index, sentence_of, positions, options.window)


def _merge_into(best: dict, f: int, candidate: dict, *, largest: bool) -> None:
    """Keep in best[...][f] the k best of best ∪ candidate (empty slots, sentence −1, sort last): value
    (largest first when ``largest``), then the earlier sentence, then the earlier position, as
    ``top_activations`` orders them."""
    k = best["key"].shape[-1]
    value = candidate["value"].astype(np.float64)
    key = np.where(candidate["sentence"] >= 0, -value if largest else value, np.inf)
    merged = {"key": np.concatenate([best["key"][f], key], axis=1),
              **{name: np.concatenate([best[name][f], candidate[name]], axis=1) for name in _TOP}}
    order = np.lexsort((merged["position"], merged["sentence"], merged["key"]), axis=-1)[:, :k]  # (H, k)
    for name, values in merged.items():
        index = order if values.ndim == 2 else order[:, :, None]
        best[name][f] = np.take_along_axis(values, index, axis=1)


def merge_partials(partials, options: Options | None = None) -> dict:
    """One partial from many (an iterable, consumed once, so shards can stream from disk). Sums counts and
    sums, keeps the k best contexts of the union, the ``flow_sample`` smallest flow priorities, and adds up
    ``ablation_correct`` when every partial has it. Merge partials in shard order for bit-equal sums."""
    options = options or Options()
    merged, best = None, None
    for partial in partials:
        if merged is None:
            fields, units, k, span = partial["top_window"].shape
            kept = (*_SUMMED, "flow_priority", "flow_sentence", *(("ablation_correct",) if "ablation_correct" in partial
                                                                   else ()))
            merged = {name: np.array(partial[name], copy=True) for name in kept}
            best = {direction: _empty_top(fields, units, k, span) for direction in DIRECTIONS}
            if "sentence_top_value" in partial:
                best.update({direction: _empty_top(1, units, partial[f"{direction}_value"].shape[-1], span)
                             for direction in SENTENCE_DIRECTIONS})
        else:
            for name in _SUMMED:
                merged[name] = merged[name] + partial[name]
            if "ablation_correct" in merged and "ablation_correct" in partial:
                merged["ablation_correct"] = merged["ablation_correct"] + partial["ablation_correct"]
            else:
                merged.pop("ablation_correct", None)
            priority = np.concatenate([merged["flow_priority"], partial["flow_priority"]])
            sentence = np.concatenate([merged["flow_sentence"], partial["flow_sentence"]])
            keep = np.lexsort((sentence, priority))[:options.flow_sample]
            merged["flow_priority"], merged["flow_sentence"] = priority[keep], sentence[keep]
        for direction in best:
            for f in range(best[direction]["key"].shape[0]):
                _merge_into(best[direction], f, {name: partial[f"{direction}_{name}"][f] for name in _TOP},
                            largest=direction.endswith("top"))
    if merged is None:
        raise ValueError("there are no shards to merge")
    for direction in best:
        for name in _TOP:
            merged[f"{direction}_{name}"] = best[direction][name]
    return merged


def partial_to_bytes(partial: dict) -> bytes:
    """A partial as compressed ``.npz`` bytes (plain arrays; loading never needs pickle)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **partial)
    return buffer.getvalue()


def partial_from_bytes(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {name: arrays[name] for name in arrays.files}
