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

from gru_viz.step import Step, check_single_layer

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


def cell_step(rnn: nn.GRU | nn.RNN, x: np.ndarray, previous: np.ndarray, unit: int, *, position: int = 0,
              token: str = "", layer: int = 0, direction: int = 0) -> CellStep:
    """The cell's step for ``unit`` on input x (I,) from state ``previous`` (H,), for ``layer`` and ``direction``
    (0 forward, 1 backward) of an ``nn.GRU`` or ``nn.RNN`` (x is the layer's own input: the word's embedding at
    layer 0, the layer below's outputs above it). Raises ``ValueError`` for a unit out of range or bad shapes."""
    if not isinstance(rnn, (nn.GRU, nn.RNN)):  # the activation study's one-layer cell, or refused
        check_single_layer(rnn, "the cell view is defined")
    directions = 2 if rnn.bidirectional else 1
    if layer not in range(rnn.num_layers) or direction not in range(directions):
        raise ValueError(f"the module has layers 0 to {rnn.num_layers - 1} and {directions} direction(s); got layer "
                         f"{layer}, direction {direction}")
    units = rnn.hidden_size
    inputs = rnn.input_size if layer == 0 else directions * units
    if not isinstance(unit, (int, np.integer)) or not 0 <= unit < units:
        raise ValueError(f"unit must be a whole number from 0 to {units - 1}, got {unit!r}")
    x = np.asarray(x, dtype=np.float64).reshape(-1)  # (I,)
    previous = np.asarray(previous, dtype=np.float64).reshape(-1)  # (H,)
    if x.shape != (inputs,) or previous.shape != (units,):
        raise ValueError(f"need x of {inputs} values and a previous state of {units}, "
                         f"got {x.shape} and {previous.shape}")
    step = Step.of(rnn, layer, direction, dtype=torch.float64)
    x_t, h = torch.from_numpy(x), torch.from_numpy(previous)
    gates = step.gates(step.input_part(x_t), h)  # every unit at once; this unit is read below
    rows = [gate * units + int(unit) for gate in range(len(step.weight_hh) // units)]  # r, z, n (or the RNN's one)
    terms = [GateTerms(float(step.weight_ih[row] @ x_t), float(step.bias_ih[row]), float(step.weight_hh[row] @ h),
                       float(step.bias_hh[row])) for row in rows]
    if step.kind == "rnn":  # h = f(W_ih x + b_ih + W_hh h + b_hh): a GRU with z = 0, r = 1
        open_gate = GateTerms(0.0, 0.0, 0.0, 0.0)
        hidden = float(gates.hidden[unit])
        return CellStep(position, int(unit), token, open_gate, open_gate, terms[0], reset=1.0, update=0.0,
                        candidate=hidden, previous=float(previous[unit]), hidden=hidden, arch="rnn")
    reset_terms, update_terms, candidate_terms = terms
    return CellStep(position, int(unit), token, reset_terms, update_terms, candidate_terms,
                    reset=float(gates.reset[unit]), update=float(gates.update[unit]),
                    candidate=float(gates.candidate[unit]), previous=float(previous[unit]),
                    hidden=float(gates.hidden[unit]))


def sentence_cell_step(model: "SentimentModel", sentence: "SentenceTrace", position: int, unit: int) -> CellStep:
    """``cell_step`` at word ``position`` of a sentence ``model`` has read (``model.trace(text)``), in the layer and
    direction the sentence shows (``sentence.at``): that layer's input at the word (the word's embedding, or the
    layer below's outputs) and the state it read, as the trace holds them. Raises ``ValueError`` for a position
    or unit out of range."""
    steps = len(sentence.tokens)
    if not isinstance(position, (int, np.integer)) or not 0 <= position < steps:
        raise ValueError(f"position must be a whole number from 0 to {steps - 1}, got {position!r}")
    layer, direction = getattr(sentence, "layer", 0), getattr(sentence, "direction", 0)
    below = sentence.layer_input if layer else None  # (T, D·H) the layer below's outputs
    x = (model.embed([int(sentence.ids[position])])[0].double().numpy() if below is None
         else below[position])  # (I,)
    previous = sentence.previous[position]  # (H,): the state this step read (h0 before the first one)
    return cell_step(model.gru, x, previous, unit, position=int(position), token=sentence.tokens[position],
                     layer=layer, direction=direction)
