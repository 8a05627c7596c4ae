"""One step of the cell for one unit, with the model's real numbers: PyTorch's four GRU equations filled in.

For word t and unit u (gate order r, z, n, as in ``weight_ih_l0``)::

    r = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))
    h_t = z ⊙ h_{t−1} + (1 − z) ⊙ n

Every term is computed in float64 from the module's weights, the input x_t and the state h_{t−1} the
step really read (from the trace), so the page can print each product and sum and a reader can redo the
arithmetic. A vanilla ``nn.RNN`` is the GRU with z ≡ 0 and r ≡ 1 (as in ``trace_rnn``): its one
pre-activation W_ih x_t + b_ih + W_hh h_{t−1} + b_hh stands in the candidate's place.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> sentence = model.trace("a gorgeous , witty , seductive movie .")
>>> step = sentence_cell_step(model, sentence, position=1, unit=0)
>>> step.token, step.position, step.unit
('gorgeous', 1, 0)
>>> abs(step.update * step.previous + (1 - step.update) * step.candidate - step.hidden) < 1e-12
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from gru_viz.model import SentenceTrace, SentimentModel

__all__ = ["CellStep", "GateTerms", "cell_step", "sentence_cell_step"]


@dataclass(frozen=True)
class GateTerms:
    """The four terms inside one gate's non-linearity, for one unit.

    input:        W_i· x_t, the row of the gate's input weights times the word's embedding.
    input_bias:   b_i·.
    hidden:       W_h· h_{t−1}, the row of the gate's recurrent weights times the previous state.
    hidden_bias:  b_h·.
    """

    input: float
    input_bias: float
    hidden: float
    hidden_bias: float

    @property
    def from_input(self) -> float:
        """W_i· x_t + b_i·: what the word alone pushes into the gate."""
        return self.input + self.input_bias

    @property
    def from_memory(self) -> float:
        """W_h· h_{t−1} + b_h·: what the memory pushes into the gate (before the reset gate, for n)."""
        return self.hidden + self.hidden_bias


@dataclass(frozen=True)
class CellStep:
    """Unit ``unit`` of the cell at word ``position`` (``token`` as typed), every number float64.

    reset_terms, update_terms, candidate_terms: ``GateTerms`` of r, z and n.
    reset:    r = σ(reset_terms.from_input + reset_terms.from_memory).
    update:   z = σ(update_terms.from_input + update_terms.from_memory).
    candidate: n = tanh(candidate_terms.from_input + r · candidate_terms.from_memory).
    previous: h_{t−1}, the state the step read; hidden: h_t = z · h_{t−1} + (1 − z) · n.
    arch:     "gru", or "rnn" (then z = 0, r = 1 and n = h_t = tanh of the one pre-activation).
    """

    position: int
    unit: int
    token: str
    reset_terms: GateTerms
    update_terms: GateTerms
    candidate_terms: GateTerms
    reset: float
    update: float
    candidate: float
    previous: float
    hidden: float
    arch: str = "gru"

    @property
    def kept(self) -> float:
        """z · h_{t−1}: what the unit keeps of its memory."""
        return self.update * self.previous

    @property
    def written(self) -> float:
        """(1 − z) · n: what the word writes."""
        return (1.0 - self.update) * self.candidate


def _sigmoid(value: float) -> float:
    return float(1.0 / (1.0 + np.exp(-value)))


def cell_step(rnn: nn.GRU | nn.RNN, x: np.ndarray, previous: np.ndarray, unit: int, *, position: int = 0,
              token: str = "") -> CellStep:
    """The cell's step for ``unit`` on input x (I,) from state ``previous`` (H,), for a 1-layer
    unidirectional ``nn.GRU`` or ``nn.RNN``. Raises ``ValueError`` for a unit out of range or bad shapes."""
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("the cell view reads a 1-layer unidirectional GRU or RNN")
    units = rnn.hidden_size
    if not isinstance(unit, (int, np.integer)) or not 0 <= unit < units:
        raise ValueError(f"unit must be a whole number from 0 to {units - 1}, got {unit!r}")
    x = np.asarray(x, dtype=np.float64).reshape(-1)  # (I,)
    previous = np.asarray(previous, dtype=np.float64).reshape(-1)  # (H,)
    if x.shape != (rnn.input_size,) or previous.shape != (units,):
        raise ValueError(f"need x of {rnn.input_size} values and a previous state of {units}, "
                         f"got {x.shape} and {previous.shape}")
    gates = 3 if isinstance(rnn, nn.GRU) else 1
    rows = [gate * units + int(unit) for gate in range(gates)]  # r, z, n rows (or the RNN's one row)
    weight_ih = rnn.weight_ih_l0.detach().double().numpy()[rows]  # (gates, I)
    weight_hh = rnn.weight_hh_l0.detach().double().numpy()[rows]  # (gates, H)
    zeros = np.zeros(gates)
    bias_ih = rnn.bias_ih_l0.detach().double().numpy()[rows] if rnn.bias else zeros  # (gates,)
    bias_hh = rnn.bias_hh_l0.detach().double().numpy()[rows] if rnn.bias else zeros
    terms = [GateTerms(float(weight_ih[g] @ x), float(bias_ih[g]), float(weight_hh[g] @ previous), float(bias_hh[g]))
             for g in range(gates)]
    h_before = float(previous[unit])
    if gates == 1:  # vanilla RNN: h = act(W_ih x + b_ih + W_hh h + b_hh), a GRU with z = 0, r = 1
        activation = np.tanh if rnn.nonlinearity == "tanh" else (lambda value: max(value, 0.0))
        hidden = float(activation(terms[0].from_input + terms[0].from_memory))
        open_reset = GateTerms(0.0, 0.0, 0.0, 0.0)
        return CellStep(position, int(unit), token, open_reset, open_reset, terms[0], reset=1.0, update=0.0,
                        candidate=hidden, previous=h_before, hidden=hidden, arch="rnn")
    reset_terms, update_terms, candidate_terms = terms
    reset = _sigmoid(reset_terms.from_input + reset_terms.from_memory)
    update = _sigmoid(update_terms.from_input + update_terms.from_memory)
    candidate = float(np.tanh(candidate_terms.from_input + reset * candidate_terms.from_memory))
    hidden = update * h_before + (1.0 - update) * candidate
    return CellStep(position, int(unit), token, reset_terms, update_terms, candidate_terms, reset=reset,
                    update=update, candidate=candidate, previous=h_before, hidden=hidden)


def sentence_cell_step(model: "SentimentModel", sentence: "SentenceTrace", position: int, unit: int) -> CellStep:
    """``cell_step`` at word ``position`` of a sentence ``model`` has read (``model.trace(text)``): the
    word's embedding and the state h_{t−1} the trace holds. Raises ``ValueError`` for a position or unit
    out of range."""
    steps = len(sentence.tokens)
    if not isinstance(position, (int, np.integer)) or not 0 <= position < steps:
        raise ValueError(f"position must be a whole number from 0 to {steps - 1}, got {position!r}")
    with torch.inference_mode():
        x = model.net.embedding.weight[int(sentence.ids[position])].double().numpy()  # (E,)
    previous = sentence.gates.previous[0, 0, 0, position]  # (H,): h_{t−1}, h0 before the first word
    return cell_step(model.gru, x, previous, unit, position=int(position), token=sentence.tokens[position])
