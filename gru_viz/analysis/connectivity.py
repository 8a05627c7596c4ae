"""Connectivity: how strongly every hidden state still depends on every earlier one.

Entry [t, s] of ``connectivity(rnn, x)`` is ‖∂h_t/∂h_s‖_F, the Frobenius norm of the product of step
Jacobians A_t A_{t−1} ⋯ A_{s+1} (A_k = ∂h_k/∂h_{k−1}); the diagonal is ‖I‖_F = √H and entries above it
are 0. Madsen's "Visualizing memorization in RNNs" (Distill 2019) draws this matrix for every output
step; ``gradient_flow`` is its last row.

>>> import torch
>>> gru = torch.nn.GRU(4, 3)
>>> matrix = connectivity(gru, torch.randn(5, 4))
>>> matrix.shape, round(float(matrix[2, 2]) ** 2, 6), float(matrix[1, 3])     # (T, T), ‖I‖² = H, 0 above
((5, 5), 3.0, 0.0)
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from gru_viz.analysis.gradients import step_jacobians
from gru_viz.step import Step
from gru_viz.trace import trace_gru

__all__ = ["connectivity", "layer_connectivity"]


def connectivity(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """‖∂h_t/∂h_s‖_F for every s ≤ t, (T, T) float64 (0 for s > t), for a 1-layer unidirectional
    ``nn.GRU`` or ``nn.RNN`` on unbatched x (T, I), starting from h0 = 0.

    The step Jacobians are exact (closed form, float64). The chains grow forward in time, all source steps
    at once: side by side as C_t = [∂h_t/∂h_0 | … | ∂h_t/∂h_{t−1}] (H, t·H), C_t = A_t [C_{t−1} | I], one
    (H × H)·(H × t·H) product per step (T products, O(T²·H³) flops in all; the norms need every entry).
    """
    return _chained_norms(torch.from_numpy(step_jacobians(rnn, x)))  # (T, H, H) float64; checks rnn and x


def layer_connectivity(gru: nn.GRU, x: torch.Tensor, layer: int = 0, direction: int = 0) -> np.ndarray:
    """``connectivity`` within one ``layer`` and ``direction`` (0 forward, 1 backward) of any ``nn.GRU`` on
    unbatched x (T, I), from h0 = 0: ‖∂h_t/∂h_s‖_F with that layer's input held at what it read (x at layer 0,
    the layer below's outputs above it), so it is one layer's own memory, not the stack's. (T, T) float64 by
    word position: below the diagonal for the forward direction, above it for the backward one (its state at
    word t depends on the words after t).

    >>> gru = torch.nn.GRU(4, 3, num_layers=2, bidirectional=True)
    >>> matrix = layer_connectivity(gru, torch.randn(5, 4), layer=1, direction=1)
    >>> matrix.shape, float(matrix[3, 1]), bool(matrix[1, 3] > 0)     # the backward state reads later words
    ((5, 5), 0.0, True)
    """
    if not isinstance(gru, nn.GRU):
        raise ValueError(f"layer_connectivity needs a torch.nn.GRU, got {type(gru).__name__}")
    directions = 2 if gru.bidirectional else 1
    if layer not in range(gru.num_layers) or direction not in range(directions):
        raise ValueError(f"the GRU has layers 0 to {gru.num_layers - 1} and {directions} direction(s); got layer "
                         f"{layer}, direction {direction}")
    x = torch.as_tensor(x).detach().double()
    if x.dim() != 2 or len(x) == 0:
        raise ValueError(f"x must be unbatched (T, I) with T ≥ 1, got {tuple(x.shape)}")
    twin = copy.deepcopy(gru).double()  # float64 states, so long chains of Jacobians stay exact
    trace = trace_gru(twin, x)  # fields (L, D, 1, T, H)
    inputs = x if layer == 0 else torch.from_numpy(np.concatenate(list(trace.hidden[layer - 1, :, 0]), axis=-1))
    previous = torch.from_numpy(trace.previous[layer, direction, 0])  # (T, H): the state each step read
    jacobians = Step.of(twin, layer, direction, dtype=torch.float64).jacobian(inputs, previous)  # (T, H, H)
    if direction == 0:
        return _chained_norms(jacobians)
    return _chained_norms(jacobians.flip(0))[::-1, ::-1].copy()  # reading order back to word positions


def _chained_norms(jacobians: torch.Tensor) -> np.ndarray:
    """(T, T) norms of the chained step Jacobians (T, H, H), in reading order."""
    steps, units = jacobians.shape[0], jacobians.shape[1]
    matrix = np.zeros((steps, steps))
    matrix[np.arange(steps), np.arange(steps)] = np.sqrt(units)
    # two buffers in turn; column block s of the first t·H columns holds ∂h_t/∂h_s. Wide products
    # (H × H)·(H × t·H) run about twice as fast as tall ones in float64 BLAS here.
    chains = torch.empty(2, units, max(steps - 1, 1) * units, dtype=torch.float64)  # (2, H, (T−1)·H)
    for t in range(1, steps):
        old, new = chains[t % 2], chains[(t + 1) % 2]
        columns = t * units
        if t > 1:
            torch.matmul(jacobians[t], old[:, :columns - units], out=new[:, :columns - units])  # (H, (t−1)·H)
        new[:, columns - units:columns] = jacobians[t]  # ∂h_t/∂h_{t−1} = A_t
        blocks = new[:, :columns].view(units, t, units)  # (H, t, H)
        matrix[t, :t] = torch.linalg.vector_norm(blocks, dim=(0, 2)).numpy()  # (t,) Frobenius norms
    return matrix
