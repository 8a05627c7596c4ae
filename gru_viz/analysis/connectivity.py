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

import numpy as np
import torch
from torch import nn

from gru_viz.analysis.gradients import step_jacobians

__all__ = ["connectivity"]


def connectivity(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """‖∂h_t/∂h_s‖_F for every s ≤ t, (T, T) float64 (0 for s > t), for a 1-layer unidirectional
    ``nn.GRU`` or ``nn.RNN`` on unbatched x (T, I), starting from h0 = 0.

    The step Jacobians are exact (closed form, float64). The chains grow forward in time, all source steps
    at once: side by side as C_t = [∂h_t/∂h_0 | … | ∂h_t/∂h_{t−1}] (H, t·H), C_t = A_t [C_{t−1} | I], one
    (H × H)·(H × t·H) product per step (T products, O(T²·H³) flops in all; the norms need every entry).
    """
    jacobians = torch.from_numpy(step_jacobians(rnn, x))  # (T, H, H) float64; checks rnn and x
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
