"""Forcing gates: clamps for one sentence or a data set, a sentence read freely and clamped side by side,
and the data set's accuracy with the reset and/or update gate forced ("why a reset gate?").

Nothing here writes to a model: interventions go through the clamps of ``trace_gru``, which never modify
the module, so concurrent users never see each other's clamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from gru_viz.analysis.datasets import Progress, encode_texts
from gru_viz.model import is_positive, padded_batches

if TYPE_CHECKING:
    from gru_viz.model import SentenceTrace, SentimentModel

__all__ = ["ABLATIONS", "ABLATION_MEANINGS", "CLAMP_MODES", "INTERVENTION_MODES", "Intervention", "ablation",
           "ablation_accuracy", "ablation_probabilities", "clamp_array", "intervene", "intervention_clamps",
           "verdict_flips"]

CLAMP_MODES = {  # global interventions, as keyword arguments of trace / predict_proba / intervene
    "vanilla-RNN mode": {"clamp_update": 0.0, "clamp_reset": 1.0},  # h_t = tanh(W x_t + U h_{t-1} + b)
    "frozen memory": {"clamp_update": 1.0},  # h_t = h_{t-1}: nothing is ever written
}


def clamp_array(shape, units=None, positions=None, value: float = 1.0, base=None) -> np.ndarray:
    """A clamp for ``trace_gru`` / ``SentimentModel.trace`` / ``predict_proba``: NaN (free) except
    ``value`` at the chosen units × positions.

    shape:     H (an int) → a per-unit clamp (H,) that holds at every step of every sentence (for
               data sets); (T, H) → a clamp (1, 1, 1, T, H) for one sentence of T tokens.
    units:     None (all), an index, a list of indices or a boolean mask over the H units.
    positions: None (all), an index, a slice/range (a word range) or a list; only with shape (T, H).
    value:     the gate value in [0, 1] to force.
    base:      an earlier clamp of the same shape to add to (its non-NaN entries are kept unless
               overwritten here), so different units can be forced to different values.
    Indices follow Python's rules (negative counts from the end); an index out of range is a ValueError.

    >>> clamp_array((6, 64), units=[3, 7], positions=slice(2, 5), value=0.0).shape
    (1, 1, 1, 6, 64)
    >>> clamp_array(4, units=[1, 3], value=1.0)                  # per unit, for every step of every sentence
    array([nan,  1., nan,  1.])
    """
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a gate can only be clamped to a value in [0, 1], got {value:g}")
    if isinstance(shape, (int, np.integer)):
        if positions is not None:
            raise ValueError("positions need a sentence: give the shape as (T, H), not H")
        full = (int(shape),)
    else:
        full = tuple(int(n) for n in shape)
        if len(full) != 2:
            raise ValueError(f"shape must be H or (T, H), got {shape!r}")
    if min(full) < 1:
        raise ValueError(f"shape must be positive, got {full}")
    clamp = np.full(full, np.nan)  # (H,) or (T, H)
    if base is not None:
        base = np.asarray(base, dtype=np.float64)
        if base.size != clamp.size:
            raise ValueError(f"base has shape {base.shape}, which does not match {full}")
        clamp[...] = base.reshape(full)
    chosen_units = _select(full[-1], units, "unit")
    if len(full) == 1:
        clamp[chosen_units] = value
        return clamp
    chosen_positions = _select(full[0], positions, "position")
    clamp[np.ix_(chosen_positions, chosen_units)] = value
    return clamp[None, None, None]  # (1, 1, 1, T, H)


def _select(size: int, index, what: str) -> np.ndarray:
    """Indices chosen by ``index`` (None = all) among ``range(size)``, as an int array."""
    everything = np.arange(size)
    if index is None:
        return everything
    if isinstance(index, range):
        index = slice(index.start, index.stop, index.step)
    try:
        chosen = everything[index]
    except IndexError:
        raise ValueError(f"{what} {index!r} is out of range: there are {size} ({what}s 0 to {size - 1})") from None
    except (TypeError, ValueError):
        raise ValueError(f"cannot choose {what}s with {index!r}: give an index, a slice, a list of indices "
                         "or a boolean mask") from None
    return np.atleast_1d(chosen)


@dataclass(frozen=True)
class Intervention:
    """One sentence read freely and with forced gates.

    free, clamped:      ``SentenceTrace``s of the same tokens (gate fields (1, 1, 1, T, H)).
    hidden_distance:    (T,) ‖h_t(clamped) − h_t(free)‖₂ after each token: how far the path moved.
    probability_change: (T,) P(positive | clamped) − P(positive | free) after each token.
    """

    free: SentenceTrace
    clamped: SentenceTrace
    hidden_distance: np.ndarray
    probability_change: np.ndarray

    @property
    def verdict_flipped(self) -> bool:
        return bool(is_positive(self.free.probability[-1]) != is_positive(self.clamped.probability[-1]))


def intervene(model: SentimentModel, text: str, *, clamp_update=None, clamp_reset=None) -> Intervention:
    """Read ``text`` freely and under the clamps (as in ``trace_gru``; see ``clamp_array`` and
    ``CLAMP_MODES``). The model is never modified, so concurrent users never see each other's clamps.

    >>> from gru_viz.model import load_model
    >>> model = load_model("models/sst2-gru")
    >>> run = intervene(model, "the plot is thin but the acting is great", **CLAMP_MODES["frozen memory"])
    >>> bool(run.clamped.hidden.any())          # z ≡ 1: nothing is ever written, h stays at h0 = 0
    False
    >>> bool(np.isclose(run.clamped.probability[-1], run.clamped.start_probability))
    True
    """
    free = model.trace(text)
    clamped = model.trace(text, clamp_update=clamp_update, clamp_reset=clamp_reset)
    distance = np.linalg.norm(clamped.hidden.astype(np.float64) - free.hidden, axis=-1)  # (T,)
    return Intervention(free=free, clamped=clamped, hidden_distance=distance,
                        probability_change=clamped.probability - free.probability)


INTERVENTION_MODES = ("free", "vanilla-RNN mode", "frozen memory", "custom")


def intervention_clamps(mode: str, steps: int, units: int, *, gate: str = "update", value: float = 1.0,
                        chosen_units=(), words: tuple[int, int] | None = None) -> dict:
    """The clamps of one page setting, as keyword arguments of ``model.trace``.

    mode: one of ``INTERVENTION_MODES``: "free" → {} (no clamp); "vanilla-RNN mode" (r ≡ 1, z ≡ 0) and
    "frozen memory" (z ≡ 1) are ``analysis.CLAMP_MODES``; "custom" forces ``gate`` ("update" or "reset")
    to ``value`` for ``chosen_units`` (empty = every unit) on the words ``words`` = (first, last),
    inclusive (None = every word), a (1, 1, 1, steps, units) clamp that is NaN (free) elsewhere.

    >>> intervention_clamps("frozen memory", 6, 64)
    {'clamp_update': 1.0}
    >>> (name, clamp), = intervention_clamps("custom", 6, 64, gate="reset", value=0.0, chosen_units=[3],
    ...                                       words=(2, 4)).items()
    >>> name, clamp.shape, clamp[0, 0, 0, 2:5, 3], int(np.isnan(clamp).sum())
    ('clamp_reset', (1, 1, 1, 6, 64), array([0., 0., 0.]), 381)
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


ABLATIONS = {  # condition → clamps; the keys are the public names of the table (CLI --json, page)
    "free": {},
    "reset=1": {"clamp_reset": 1.0},
    "update=0": {"clamp_update": 0.0},
    "reset=1,update=0": {"clamp_update": 0.0, "clamp_reset": 1.0},
}
ABLATION_MEANINGS = {  # what each condition does, in words, for the CLI's table and the page's
    "free": "gates as trained",
    "reset=1": "reset gate forced open: every candidate reads all of h",
    "update=0": "update gate forced to 0: the memory is overwritten at every word",
    "reset=1,update=0": "both: a vanilla tanh RNN with the GRU's weights",
}


def ablation_probabilities(model: SentimentModel, texts, *, progress: Progress | None = None,
                           batch_size: int = 512) -> dict[str, np.ndarray]:
    """P(positive) of every text under each condition of ``ABLATIONS``: {name: (N,) float64}.

    Equal to ``model.predict_proba(texts, **ABLATIONS[name])``, computed in length-sorted batches (a
    scalar clamp does not care how sentences are batched). ``progress(done, total)`` is called after
    each batch, counting sentences over all four conditions (total = 4N).
    """
    if model.arch != "gru":
        raise ValueError("the vanilla RNN has no gates to force; the ablation needs a GRU model")
    ids = encode_texts(model, texts)
    total, done = len(ABLATIONS) * len(ids), 0
    probabilities = {}
    for name, clamps in ABLATIONS.items():
        result = np.empty(len(ids))
        for chosen, padded, lengths in padded_batches(ids, batch_size):
            states = model.trace_ids(padded, **clamps).hidden[0, 0]  # (B, T, H)
            logits = model.head_logits(states[np.arange(len(chosen)), lengths - 1])  # (B,) of the last states
            result[chosen] = torch.sigmoid(torch.from_numpy(logits)).numpy()
            done += len(chosen)
            if progress is not None:
                progress(done, total)
        probabilities[name] = result
    return probabilities


def ablation_accuracy(probabilities: dict[str, np.ndarray], labels) -> dict[str, float]:
    """Accuracy of each condition: the verdict is positive when P(positive) > 0.5 (``is_positive``: logit > 0,
    as in training). ``probabilities`` as returned by ``ablation_probabilities``; labels (N,) of 0/1.

    >>> ablation_accuracy({"free": np.array([0.9, 0.2, 0.6]), "reset=1": np.array([0.4, 0.2, 0.6])}, [1, 0, 0])
    {'free': 0.6666666666666666, 'reset=1': 0.3333333333333333}"""
    labels = np.asarray(labels)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (negative) or 1 (positive)")
    accuracy = {}
    for name, values in probabilities.items():
        if len(values) != len(labels):
            raise ValueError(f"{len(values)} probabilities but {len(labels)} labels")
        accuracy[name] = float(np.mean(is_positive(values) == (labels == 1)))
    return accuracy


def ablation(model: SentimentModel, texts, labels, progress: Progress | None = None,
             batch_size: int = 512) -> dict[str, float]:
    """The data set's accuracy with free gates and with the reset and/or update gate forced open:
    exactly the keys "free", "reset=1", "update=0", "reset=1,update=0" (floats in [0, 1]).

    "reset=1" lets every candidate read all of h_{t-1}; "update=0" overwrites the memory at every step;
    both at once make the GRU a vanilla tanh RNN with the GRU's candidate weights.

    >>> from gru_viz.model import load_model
    >>> model = load_model("models/sst2-gru")
    >>> accuracy = ablation(model, ["a great , moving film", "a dull , lifeless mess"], [1, 0])
    >>> list(accuracy), accuracy["free"]
    (['free', 'reset=1', 'update=0', 'reset=1,update=0'], 1.0)
    """
    if len(labels) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    return ablation_accuracy(ablation_probabilities(model, texts, progress=progress, batch_size=batch_size),
                             labels)


def verdict_flips(free, changed, labels=None) -> np.ndarray:
    """Indices of the sentences whose verdict (P > 0.5) differs between ``free`` and ``changed``
    probabilities (both (N,)), largest |change| first. With ``labels`` (N,), only the flips that made a
    right verdict wrong: the sentences that needed the gate.

    >>> verdict_flips(np.array([0.9, 0.6, 0.2]), np.array([0.1, 0.7, 0.55]))      # largest change first
    array([0, 2])
    >>> verdict_flips(np.array([0.9, 0.6, 0.2]), np.array([0.1, 0.7, 0.55]), labels=[1, 1, 1])   # right → wrong
    array([0])
    """
    free, changed = np.asarray(free, dtype=np.float64), np.asarray(changed, dtype=np.float64)
    if free.shape != changed.shape or free.ndim != 1:
        raise ValueError(f"need two probability arrays of the same length, got {free.shape} and {changed.shape}")
    flipped = is_positive(free) != is_positive(changed)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != free.shape:
            raise ValueError(f"{len(labels)} labels for {len(free)} sentences")
        flipped &= is_positive(free) == (labels == 1)
    indices = np.flatnonzero(flipped)
    return indices[np.argsort(-np.abs(changed - free)[indices], kind="stable")]
