"""GRUs with other activations, for the question "why tanh and sigmoid?".

``ActivationGRU`` computes PyTorch's GRU equations with a choice of squashing functions:

    r_t = g(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)            g: the gate activation
    z_t = g(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = c(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))    c: the candidate activation
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t

With g = sigmoid and c = tanh it is ``nn.GRU`` (one layer, one direction), with the same parameter names and
shapes, so a model folder stores it the same way. It steps through time in Python: slower than the fused
kernel, which only knows sigmoid and tanh.

>>> torch.manual_seed(0) is not None
True
>>> cell = ActivationGRU(4, 3)
>>> reference = nn.GRU(4, 3, batch_first=True)
>>> reference.load_state_dict(cell.state_dict())
<All keys matched successfully>
>>> x = torch.randn(2, 5, 4)
>>> bool(torch.allclose(cell(x)[0], reference(x)[0], atol=1e-6))
True
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from gru_viz.step import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, Step

__all__ = ["CANDIDATE_ACTIVATIONS", "GATE_ACTIVATIONS", "ActivationGRU", "is_standard"]


def is_standard(gate: str, candidate: str) -> bool:
    """True when the activations are PyTorch's own (sigmoid gates, tanh candidate)."""
    return gate == "sigmoid" and candidate == "tanh"


class ActivationGRU(nn.Module):
    """One-layer, one-direction GRU with chosen gate and candidate activations; ``nn.GRU``'s parameters.

    input (B, T, I) when ``batch_first`` (else (T, B, I)), or unbatched (T, I); optional h0 (1, B, H) or
    (1, H) → (output, h_n) as ``nn.GRU`` returns them: output (B, T, H) (or (T, B, H), (T, H)), h_n (1, B, H).
    """

    num_layers = 1
    bidirectional = False
    bias = True

    def __init__(self, input_size: int, hidden_size: int, *, batch_first: bool = True, gate: str = "sigmoid",
                 candidate: str = "tanh"):
        super().__init__()
        if gate not in GATE_ACTIVATIONS:
            raise ValueError(f"gate activation must be one of {sorted(GATE_ACTIVATIONS)}, got {gate!r}")
        if candidate not in CANDIDATE_ACTIVATIONS:
            raise ValueError(f"candidate activation must be one of {sorted(CANDIDATE_ACTIVATIONS)}, got "
                             f"{candidate!r}")
        self.input_size, self.hidden_size, self.batch_first = input_size, hidden_size, batch_first
        self.gate_activation, self.candidate_activation = gate, candidate
        # registered in nn.GRU's order and drawn the same way, so a seed gives nn.GRU's starting weights
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, batch_first={self.batch_first}, "
                f"gate={self.gate_activation}, candidate={self.candidate_activation}")

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"input must be (T, {self.input_size}) or batched, got {tuple(x.shape)}")
        if x.dim() == 2:  # unbatched (T, I), as nn.GRU accepts it
            output, h_n = self.forward(x[None] if self.batch_first else x[:, None],
                                       None if h0 is None else h0[:, None])
            return (output[0] if self.batch_first else output[:, 0]), h_n[:, 0]
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, T, I)
        batch, steps, units = x.shape[0], x.shape[1], self.hidden_size
        # the one GRU step (gru_viz.step), on the live parameters so that training can differentiate it
        step = Step("gru", self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0,
                    GATE_ACTIVATIONS[self.gate_activation], CANDIDATE_ACTIVATIONS[self.candidate_activation])
        h = x.new_zeros(batch, units) if h0 is None else h0[0]  # (B, H)
        from_input = functional.linear(x, self.weight_ih_l0, self.bias_ih_l0)  # (B, T, 3H), all steps at once
        outputs = []
        for t in range(steps):
            h = step.gates(from_input[:, t], h).hidden  # (B, H)
            outputs.append(h)
        output = torch.stack(outputs, dim=1) if outputs else x.new_zeros(batch, 0, units)  # (B, T, H)
        if not self.batch_first:
            output = output.transpose(0, 1)
        return output, h[None]
