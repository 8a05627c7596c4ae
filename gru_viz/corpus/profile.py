"""One unit, as a corpus index measured it: what the unit page shows, read from the index, computed from nothing
but the index and the model's readout.

``unit_profile`` gathers the unit's readout weight, its mean share of the verdict, τ, mean z and r, its
histograms, its strongest and weakest contexts and its ablation; ``describe_unit`` says it in one line built
only from those numbers.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> index = open_index("models/sst2-gru/index", model)                 # doctest: +SKIP
>>> describe_unit(unit_profile(index, model, 7))                       # doctest: +SKIP
'slow memory (τ ≈ 14 words), pushes toward positive, highest on: superb, gorgeous, …'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gru_viz.analysis import FAST_TIMESCALE, UNIT_ABLATIONS, Activation
from gru_viz.corpus.index import CorpusIndex

__all__ = ["CONTEXTS", "SLOW_TIMESCALE", "UnitProfile", "describe_unit", "parse_unit", "unit_profile"]

CONTEXTS = 20  # top and bottom contexts a unit page shows, one per sentence
SLOW_TIMESCALE = 5.0  # τ ≥ 5 words: the unit carries what it read across a phrase, a "slow memory"
HIGHEST_WORDS = 5  # distinct words named in the description
HISTOGRAM_FIELDS = ("hidden", "update", "reset")  # what the page draws: h, z and r


def parse_unit(value, units: int) -> int:
    """A unit number from a link or a box: a plain 0-based whole number below ``units``, else ``ValueError``.

    >>> parse_unit("12", 64), parse_unit(3, 64)
    (12, 3)
    """
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6 or int(text) >= units:
        raise ValueError(f"unit must be a whole number from 0 to {units - 1}")
    return int(text)


@dataclass(frozen=True)
class UnitProfile:
    """Unit ``unit`` of ``units``, from a corpus index (``sentences`` sentences, ``tokens`` words).

    readout_weight:  w_u, the head's weight on the unit (the verdict's logit is w · h_T + b).
    mean_share:      mean of w_u (h_T,u − h_0,u) over the corpus: how far the unit moves the logit on average.
    share_fraction:  mean |w_u (h_T,u − h_0,u)| over the mean of Σ_v |…|: the unit's part of the verdict's size.
    timescale:       τ = −1/ln(mean z) in words; update_mean, reset_mean: mean z and r; label: the index's rule.
    histograms:      {field: (bin_low, bin_high, count)} for h, z and r (h only for a vanilla RNN), or {}.
    top, bottom:     the unit's h at its ``CONTEXTS`` highest and lowest words, one per sentence;
                     top_texts, bottom_texts: those sentences as stored (to open them elsewhere).
    ablation:        {condition: {"accuracy", "change", "flips": [{"line", "text", "label", "free", "ablated"}]}}
                     on the held-out file, or None; free_accuracy: its accuracy with nothing taken away.
    highest_words:   the distinct words at the top contexts, strongest first.
    """

    unit: int
    units: int
    arch: str
    sentences: int
    tokens: int
    readout_weight: float
    mean_share: float | None
    share_fraction: float | None
    timescale: float
    update_mean: float
    reset_mean: float
    label: str
    histograms: dict
    top: list[Activation]
    bottom: list[Activation]
    top_texts: list[str]
    bottom_texts: list[str]
    ablation: dict | None
    free_accuracy: float | None
    heldout: str | None
    highest_words: tuple[str, ...]


def unit_profile(index: CorpusIndex, model, unit: int, *, contexts: int = CONTEXTS) -> UnitProfile:
    """The ``UnitProfile`` of ``unit`` (0-based) read from ``index``, which must be the model's own."""
    units = len(index.labels)
    unit = parse_unit(unit, units)
    verdict = index.verdict
    share_fraction = mean_share = None
    if verdict is not None:
        mean_share = float(verdict["mean_share"][unit])
        share_fraction = float(verdict["mean_abs_share"][unit] / verdict["mean_abs_share"].sum())
    fields = HISTOGRAM_FIELDS if model.arch == "gru" else ("hidden",)
    histograms = {} if index.histograms is None else {field: index.histogram(unit, field) for field in fields}
    top = index.contexts(unit, "hidden", largest=True, k=contexts, one_per_sentence=True)
    bottom = index.contexts(unit, "hidden", largest=False, k=contexts, one_per_sentence=True)
    ablation, free, heldout = None, None, None
    table = index.unit_ablation
    if table is not None and index.manifest.heldout:
        free = float(index.manifest.heldout["free_accuracy"])
        heldout = index.manifest.heldout["file"]
        ablation = {}
        for condition in UNIT_ABLATIONS:
            row = np.flatnonzero((table["unit"] == unit) & (table["condition"] == condition))[0]
            accuracy = float(table["accuracy"][row])
            ablation[condition] = {"accuracy": accuracy, "change": accuracy - free,
                                   "flips": index.unit_flips(unit, condition)}
    words = []
    for hit in index.contexts(unit, "hidden", largest=True):  # every stored top word, strongest first
        word = hit.tokens[hit.position].lower()
        if word not in words and any(character.isalnum() for character in word):
            words.append(word)
        if len(words) == HIGHEST_WORDS:
            break
    return UnitProfile(unit=unit, units=units, arch=model.arch, sentences=index.manifest.sentences,
                       tokens=index.manifest.tokens, readout_weight=float(model.readout_weight[unit]),
                       mean_share=mean_share, share_fraction=share_fraction,
                       timescale=float(index.units["timescale"][unit]),
                       update_mean=float(index.units["update_mean"][unit]),
                       reset_mean=float(index.units["reset_mean"][unit]), label=index.labels[unit],
                       histograms=histograms, top=top, bottom=bottom,
                       top_texts=[index.sentence(hit.sentence)[0] for hit in top],
                       bottom_texts=[index.sentence(hit.sentence)[0] for hit in bottom], ablation=ablation,
                       free_accuracy=free, heldout=heldout, highest_words=tuple(words))


def describe_unit(profile: UnitProfile) -> str:
    """One line from the measured numbers only: the memory's timescale, the side the unit pushes the verdict
    toward when its h is high (the sign of its readout weight), and the words where h is highest.

    >>> profile = UnitProfile(3, 64, "gru", 10, 90, 0.8, 0.1, 0.05, 14.2, 0.93, 0.4, "integrator", {}, [], [], [],
    ...                       [], None, None, None, ("superb", "gorgeous"))
    >>> describe_unit(profile)
    'slow memory (τ ≈ 14 words), pushes toward positive when high, highest on: superb, gorgeous, …'
    """
    if profile.arch != "gru":
        memory = "no gate: rewritten at every word"
    elif not np.isfinite(profile.timescale):
        memory = "holds its memory for good (mean z = 1)"
    else:
        kind = ("slow" if profile.timescale >= SLOW_TIMESCALE else "fast" if profile.timescale < FAST_TIMESCALE
                else "medium")
        memory = f"{kind} memory (τ ≈ {profile.timescale:.0f} word{'' if round(profile.timescale) == 1 else 's'})"
    if profile.readout_weight == 0:
        push = "not read by the verdict"
    else:
        push = f"pushes toward {'positive' if profile.readout_weight > 0 else 'negative'} when high"
    words = f", highest on: {', '.join(profile.highest_words)}, …" if profile.highest_words else ""
    return f"{memory}, {push}{words}"
