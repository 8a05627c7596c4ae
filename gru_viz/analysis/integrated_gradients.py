"""Integrated gradients on the word embeddings, through Captum, beside the exact per-word logit change.

Integrated gradients (Sundararajan et al. 2017) credits each input with ∫₀¹ ∂f/∂x(x' + α(x − x')) dα ·
(x − x'), and the credits sum to f(x) − f(x') (completeness) up to the integration error Captum reports
as the convergence delta. Here f is the model's logit, x the sentence's word embeddings and the stated
baseline x' the padding embedding at every position (all zeros: the padding row is never trained), so
f(x') is the logit of reading T padding words. A word's credit is the sum over its embedding dimensions.

The exact per-word logit change logit_t − logit_{t−1} (logit before any word = the head on h0 = 0) answers
a different question — what reading the word did to the running verdict — and sums to f(x) − head(0).
The two disagree where a word's effect depends on what comes later or on the words before it.

>>> from gru_viz.model import load_model
>>> result = integrated_gradients(load_model("models/sst2-gru"), "I love this movie so much")
>>> result.tokens
['I', 'love', 'this', 'movie', 'so', 'much']
>>> bool(abs(result.attributions.sum() - (result.logit - result.baseline_logit)) < 1e-3)   # completeness
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from gru_viz.text import MAX_TOKENS

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["WordAttribution", "integrated_gradients"]

STEPS = 64  # Gauss–Legendre points of the first try; ×4 while the delta is above the tolerance
MAX_STEPS = 4096  # the vanilla RNN's logit can jump along the path: one 16-word review needed 1024
DELTA_TOLERANCE = 1e-3  # |delta| at which the integral is accepted (logit units)


@dataclass(frozen=True)
class WordAttribution:
    """Integrated gradients of one sentence's logit, per word, with the exact logit changes beside them.

    tokens:         the words as typed (list of T str).
    attributions:   (T,) float64 integrated gradients per word (summed over embedding dimensions).
    delta:          Captum's convergence delta: attributions.sum() − (logit − baseline_logit).
    logit:          f(x), the sentence's logit (float64 run of the model).
    baseline_logit: f(x'), the logit of T padding embeddings (the stated baseline).
    logit_changes:  (T,) exact logit_t − logit_{t−1}, with logit_{−1} = start_logit.
    start_logit:    the head on h0 = 0, the logit before any word.
    steps:          integration points used.
    converged:      |delta| ≤ tolerance: the credits add up to the logit change. When False they do not, and
                    must not be read as attributions (the page says so).
    tolerance:      the |delta| accepted, in logit units.
    """

    tokens: list[str]
    attributions: np.ndarray
    delta: float
    logit: float
    baseline_logit: float
    logit_changes: np.ndarray
    start_logit: float
    steps: int
    converged: bool = True
    tolerance: float = DELTA_TOLERANCE


def integrated_gradients(model: "SentimentModel", text: str, *, steps: int | None = None,
                         tolerance: float = DELTA_TOLERANCE, max_tokens: int = MAX_TOKENS) -> WordAttribution:
    """Integrated gradients of ``text``'s logit on its word embeddings from the padding-embedding
    baseline (Captum's ``IntegratedGradients``, Gauss–Legendre, ``return_convergence_delta=True``),
    computed on a float64 copy of the recurrent layer and head so the delta measures integration only.

    steps: integration points; None starts at 64 and multiplies by 4 while |delta| > ``tolerance`` (up to 4096,
    after which the result says ``converged=False``).
    max_tokens: the text is read up to this many words (as ``model.trace`` reads it).
    """
    from captum.attr import IntegratedGradients  # here: importing Captum costs a second or more

    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or not 2 <= steps <= 10_000):
        raise ValueError(f"steps must be a whole number from 2 to 10000, got {steps!r}")
    sentence = model.trace(text, max_tokens=max_tokens)
    embedded = model.embed(sentence.ids).double().unsqueeze(0)  # (1, T, E)
    pad = model.embed([model.vocab.PAD])[0].double()  # (E,), zeros for a trained model
    rnn = copy.deepcopy(model.gru).double()
    weight, bias = torch.from_numpy(model.readout_weight), model.readout_bias  # (H,) float64, float

    def logit(inputs):  # (B, T, E) → (B,)
        states, _ = rnn(inputs)  # (B, T, H), batch_first like the model
        return states[:, -1] @ weight + bias

    inputs = embedded.clone()
    baseline = pad.expand_as(inputs).clone()  # (1, T, E)
    method = IntegratedGradients(logit)
    tries = [steps] if steps is not None else [STEPS * 4 ** k for k in range(4) if STEPS * 4 ** k <= MAX_STEPS]
    for steps in tries:
        attributions, delta = method.attribute(inputs, baselines=baseline, n_steps=steps, method="gausslegendre",
                                               internal_batch_size=256, return_convergence_delta=True)
        if abs(float(delta[0])) <= tolerance:
            break
    with torch.no_grad():
        value, baseline_value = float(logit(inputs)[0]), float(logit(baseline)[0])
        start = bias  # the head on h0 = 0
    logits = sentence.logit.astype(np.float64)  # (T,) the model's own logit after each word
    changes = np.diff(np.concatenate([[start], logits]))  # (T,)
    return WordAttribution(tokens=list(sentence.tokens), attributions=attributions[0].sum(-1).detach().numpy(),
                           delta=float(delta[0]), logit=value, baseline_logit=baseline_value,
                           logit_changes=changes, start_logit=start, steps=steps,
                           converged=bool(abs(float(delta[0])) <= tolerance), tolerance=tolerance)
