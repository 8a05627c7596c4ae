"""One step of a recurrent layer, its gates and its Jacobian ∂h_t/∂h_{t−1}, in closed form and batched.

Every part of gru_viz that needs the recurrence one step at a time (the clamped trace, gradient flow,
connectivity, patching, the cell view) runs it through ``Step``, written once from PyTorch's equations and
gate order (r, z, n in the rows of ``weight_ih_l0``)::

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)             reset gate
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)             update gate
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))  candidate
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t

A vanilla ``nn.RNN`` step, h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), is the GRU with z ≡ 0 and r ≡ 1, and
its gates are reported that way (as ``trace_rnn`` does). The Jacobian is exact: for a GRU

    ∂h_t/∂h_{t−1} = diag(z) + diag((h_{t−1} − n) σ'(z)) W_hz
                    + diag((1 − z) tanh'(n)) (diag(r) W_hn + diag((W_hn h_{t−1} + b_hn) σ'(r)) W_hr),

and diag(f'(h_t)) W_hh for an RNN, where each derivative is written in terms of the function's value
(σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = [relu > 0]). The non-linearities are ``Activation`` values, so a
cell with other ones needs only its pair of (function, derivative); the defaults are PyTorch's.

>>> import torch
>>> gru = torch.nn.GRU(4, 3)
>>> step = Step.of(gru, dtype=torch.float64)
>>> x, h = torch.randn(2, 4, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64)   # (B, I), (B, H)
>>> step(x, h).shape, step.jacobian(x, h).shape                                              # h_t, ∂h_t/∂h_{t−1}
(torch.Size([2, 3]), torch.Size([2, 3, 3]))
>>> bool(torch.allclose(step(x[0], h[0]), gru(x[:1].float(), h[:1].float())[1][0].double(), atol=1e-6))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

__all__ = ["CANDIDATE_ACTIVATIONS", "GATE_ACTIVATIONS", "HARD_SIGMOID", "LINEAR", "RELU", "SIGMOID", "TANH",
           "Activation", "Step", "StepGates", "check_single_layer"]


class Activation(NamedTuple):
    """A non-linearity and its derivative, the latter written in terms of the function's value y = f(a)."""

    function: Callable[[torch.Tensor], torch.Tensor]
    slope: Callable[[torch.Tensor], torch.Tensor]  # f'(a) from y = f(a)


SIGMOID = Activation(torch.sigmoid, lambda y: y * (1 - y))
TANH = Activation(torch.tanh, lambda y: 1 - y * y)
RELU = Activation(torch.relu, lambda y: (y > 0).to(y.dtype))
# clamp(a/6 + 1/2, 0, 1), the gate Keras once defaulted to: slope 1/6 inside (0, 1), flat outside
HARD_SIGMOID = Activation(torch.nn.functional.hardsigmoid, lambda y: ((y > 0) & (y < 1)).to(y.dtype) / 6)
LINEAR = Activation(lambda a: a, torch.ones_like)  # no squashing at all
_NONLINEARITIES = {"tanh": TANH, "relu": RELU}  # nn.RNN's nonlinearity names
# the activations a GRU cell may be built with (``gru_viz.variants.ActivationGRU``), by the name a card stores
GATE_ACTIVATIONS = {"sigmoid": SIGMOID, "hardsigmoid": HARD_SIGMOID}
CANDIDATE_ACTIVATIONS = {"tanh": TANH, "relu": RELU, "linear": LINEAR}


def _is_gru_cell(rnn) -> bool:
    """A GRU with chosen activations (``ActivationGRU``): told by its activation names, without importing it."""
    return isinstance(rnn, nn.Module) and hasattr(rnn, "gate_activation") and hasattr(rnn, "candidate_activation")


def check_single_layer(rnn, purpose: str) -> None:
    """Refuse anything but a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN`` with a sentence: ``purpose`` says
    what needs one, e.g. "gradient flow is defined here"."""
    if not isinstance(rnn, (nn.GRU, nn.RNN)) and not _is_gru_cell(rnn):
        raise ValueError(f"need a torch.nn.GRU or torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError(f"{purpose} for a 1-layer unidirectional GRU or RNN")


@dataclass(frozen=True)
class StepGates:
    """The gates of one step, each (…, H). For a vanilla RNN reset ≡ 1, update ≡ 0 and candidate = hidden.

    reset, update, candidate: r_t, z_t, n_t.
    hidden:    h_t = z_t ⊙ h_{t−1} + (1 − z_t) ⊙ n_t.
    recurrent: W_hn h_{t−1} + b_hn, the memory's push into n that r_t scales (W_hh h_{t−1} + b_hh for an RNN).
    """

    reset: torch.Tensor
    update: torch.Tensor
    candidate: torch.Tensor
    hidden: torch.Tensor
    recurrent: torch.Tensor


@dataclass(frozen=True)
class Step:
    """One layer and direction of an ``nn.GRU`` (``kind`` "gru") or ``nn.RNN`` ("rnn") as a function of the
    input x (…, I) and the previous state h (…, H), any leading batch shape.

    weight_ih (G·H, I), weight_hh (G·H, H), bias_ih and bias_hh (G·H,) with G = 3 (r|z|n) for a GRU and 1 for an
    RNN; zero biases stand in for a module built with ``bias=False``. ``gate`` is the GRU's r and z
    non-linearity, ``candidate`` its n (or the RNN's f).
    """

    kind: str
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias_ih: torch.Tensor
    bias_hh: torch.Tensor
    gate: Activation = SIGMOID
    candidate: Activation = TANH

    @classmethod
    def of(cls, rnn: nn.GRU | nn.RNN, layer: int = 0, direction: int = 0, *, dtype: torch.dtype | None = None,
           gate: Activation = SIGMOID, candidate: Activation | None = None) -> Step:
        """The step of ``rnn``'s ``layer`` and ``direction`` (0 forward, 1 backward), with its weights detached
        and in ``dtype`` (default: the module's; float64 where products of many Jacobians must stay exact).
        ``candidate`` defaults to tanh for a GRU and to the RNN's own ``nonlinearity``."""
        if not isinstance(rnn, (nn.GRU, nn.RNN)) and not _is_gru_cell(rnn):
            raise ValueError(f"need a torch.nn.GRU or torch.nn.RNN, got {type(rnn).__name__}")
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        weight_ih = getattr(rnn, "weight_ih" + suffix).detach()
        weight_hh = getattr(rnn, "weight_hh" + suffix).detach()
        dtype = dtype or weight_hh.dtype
        zeros = torch.zeros(weight_hh.shape[0], dtype=dtype)
        bias_ih = getattr(rnn, "bias_ih" + suffix).detach().to(dtype) if rnn.bias else zeros
        bias_hh = getattr(rnn, "bias_hh" + suffix).detach().to(dtype) if rnn.bias else zeros
        kind = "rnn" if isinstance(rnn, nn.RNN) else "gru"
        if _is_gru_cell(rnn):  # its own activations, whatever was asked
            gate = GATE_ACTIVATIONS[rnn.gate_activation]
            candidate = CANDIDATE_ACTIVATIONS[rnn.candidate_activation]
        if candidate is None:
            candidate = TANH if kind == "gru" else _NONLINEARITIES[rnn.nonlinearity]
        return cls(kind, weight_ih.to(dtype), weight_hh.to(dtype), bias_ih, bias_hh, gate, candidate)

    @property
    def units(self) -> int:
        return self.weight_hh.shape[1]  # H

    def input_part(self, x: torch.Tensor) -> torch.Tensor:
        """W_ih x + b_ih, (…, G·H): what the word pushes into every gate. Computed once for a whole sentence,
        (T, I) → (T, G·H), it serves every step and every state that reads the sentence."""
        return x @ self.weight_ih.T + self.bias_ih

    def gates(self, input_part: torch.Tensor, h: torch.Tensor, *, forced_reset: torch.Tensor | None = None,
              forced_update: torch.Tensor | None = None) -> StepGates:
        """The gates and the new state from ``input_part`` (…, G·H) and h (…, H). ``forced_reset`` and
        ``forced_update`` (broadcastable to (…, H); NaN = free) replace the computed gate before it is used."""
        recurrent = h @ self.weight_hh.T + self.bias_hh  # (…, G·H)
        if self.kind == "rnn":
            hidden = self.candidate.function(input_part + recurrent)
            return StepGates(reset=torch.ones_like(hidden), update=torch.zeros_like(hidden), candidate=hidden,
                             hidden=hidden, recurrent=recurrent)
        units = self.units
        reset = self.gate.function(input_part[..., :units] + recurrent[..., :units])
        update = self.gate.function(input_part[..., units:2 * units] + recurrent[..., units:2 * units])
        if forced_reset is not None:
            reset = torch.where(torch.isnan(forced_reset), reset, forced_reset)
        if forced_update is not None:
            update = torch.where(torch.isnan(forced_update), update, forced_update)
        memory = recurrent[..., 2 * units:]  # (…, H): W_hn h + b_hn
        candidate = self.candidate.function(input_part[..., 2 * units:] + reset * memory)
        return StepGates(reset=reset, update=update, candidate=candidate,
                         hidden=update * h + (1 - update) * candidate, recurrent=memory)

    def __call__(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """h_t from x (…, I) and h_{t−1} (…, H)."""
        return self.gates(self.input_part(x), h).hidden

    def jacobian(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """∂h_t/∂h_{t−1} at input x (…, I) and state h (…, H): (…, H, H), rows are the outputs h_t."""
        gates = self.gates(self.input_part(x), h)
        if self.kind == "rnn":
            return self.candidate.slope(gates.hidden)[..., :, None] * self.weight_hh  # (…, H, H)
        units = self.units
        w_hr, w_hz, w_hn = self.weight_hh[:units], self.weight_hh[units:2 * units], self.weight_hh[2 * units:]
        reset, update, candidate = gates.reset, gates.update, gates.candidate
        d_reset = self.gate.slope(reset)[..., :, None] * w_hr  # (…, H, H): ∂r/∂h
        d_update = self.gate.slope(update)[..., :, None] * w_hz  # ∂z/∂h
        d_inside = reset[..., :, None] * w_hn + gates.recurrent[..., :, None] * d_reset  # ∂(r ⊙ (W_hn h + b_hn))/∂h
        d_candidate = self.candidate.slope(candidate)[..., :, None] * d_inside  # ∂n/∂h
        jacobian = torch.diag_embed(update)
        jacobian = jacobian + (h - candidate)[..., :, None] * d_update
        return jacobian + (1 - update)[..., :, None] * d_candidate
