"""Analyses on traces: what each word wrote into memory, and how gradient flows back through time.

Every function here takes arrays or modules and returns arrays; the page and the CLI only display them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["decompose_final_state", "fit_pca", "gradient_flow", "step_jacobians"]


def decompose_final_state(update: np.ndarray, candidate: np.ndarray, h0: np.ndarray):
    """Split h_T exactly into what survives of h0 and what each step wrote.

    Unrolling h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t gives
    h_T = (∏_s z_s) h0 + Σ_t (∏_{s>t} z_s)(1 − z_t) n_t.

    update, candidate: (T, H); h0: (H,).
    Returns ``carry`` (H,) = (∏_s z_s) h0 and ``contributions`` (T, H), float64, with
    ``carry + contributions.sum(0) == h_T``. O(T·H) through a reverse cumulative product.

    >>> carry, contributions = decompose_final_state(trace.update[0, 0, 0], trace.candidate[0, 0, 0], trace.h0[0, 0, 0])
    """
    update = np.asarray(update, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if update.ndim != 2 or update.shape != candidate.shape or h0.shape != update.shape[1:]:
        raise ValueError(f"need update and candidate (T, H) and h0 (H,), got {update.shape}, "
                         f"{candidate.shape}, {h0.shape}")
    suffix = np.cumprod(update[::-1], axis=0)[::-1]  # (T, H): suffix[t] = ∏_{s>=t} z_s
    survival = np.ones_like(update)  # (T, H): ∏_{s>t} z_s
    survival[:-1] = suffix[1:]
    contributions = survival * (1.0 - update) * candidate  # (T, H)
    carry = suffix[0] * h0 if len(update) else h0.copy()  # (H,)
    return carry, contributions


def step_jacobians(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """∂h_t/∂h_{t-1} for every step of a 1-layer unidirectional GRU or RNN on unbatched x (T, I).

    Returns (T, H, H) float64: entry t is the Jacobian of step t at the state it actually read.
    Computed by autograd on one step function, vectorised over steps (exact, no finite differences).
    """
    _check_single_layer(rnn)
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != rnn.input_size:
        raise ValueError(f"x must be unbatched (T, {rnn.input_size}), got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError("x has no steps: gradient flow needs at least one")
    # float64 so products of many small Jacobians stay accurate
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b_ih = rnn.bias_ih_l0.detach().double() if rnn.bias else torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_hh = rnn.bias_hh_l0.detach().double() if rnn.bias else torch.zeros(w_hh.shape[0], dtype=torch.float64)
    x = x.detach().double()
    with torch.no_grad():
        states, _ = _double_copy(rnn)(x)  # (T, H)
    previous = torch.cat([torch.zeros(1, rnn.hidden_size, dtype=torch.float64), states[:-1]])  # (T, H)

    if isinstance(rnn, nn.GRU):
        units = rnn.hidden_size

        def step(x_t, h):
            gi, gh = w_ih @ x_t + b_ih, w_hh @ h + b_hh  # (3H,)
            reset = torch.sigmoid(gi[:units] + gh[:units])
            update = torch.sigmoid(gi[units:2 * units] + gh[units:2 * units])
            candidate = torch.tanh(gi[2 * units:] + reset * gh[2 * units:])
            return update * h + (1 - update) * candidate
    else:
        activation = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu

        def step(x_t, h):
            return activation(w_ih @ x_t + b_ih + w_hh @ h + b_hh)

    jacobians = torch.func.vmap(torch.func.jacrev(step, argnums=1))(x, previous)  # (T, H, H)
    return jacobians.numpy()


def gradient_flow(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """‖∂h_{T−1}/∂h_t‖_F for every position t (0-based), shape (T,).

    For a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN`` on unbatched x (T, I). The last entry is
    ‖I‖_F = √H; earlier entries show how much of a gradient arriving at the end reaches position t.
    The product of step Jacobians is accumulated from the end, so the cost is O(T·H³), not O(T²·H³).
    """
    jacobians = step_jacobians(rnn, x)  # (T, H, H)
    steps, units = jacobians.shape[0], jacobians.shape[1]
    norms = np.empty(steps)
    chain = np.eye(units)  # ∂h_{T-1}/∂h_t, starting at t = T-1
    norms[-1] = np.sqrt(units)
    for t in range(steps - 2, -1, -1):
        chain = chain @ jacobians[t + 1]
        norms[t] = np.linalg.norm(chain)
    return norms


def _check_single_layer(rnn) -> None:
    if not isinstance(rnn, (nn.GRU, nn.RNN)) or isinstance(rnn, nn.LSTM):
        raise ValueError(f"need a torch.nn.GRU or torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("gradient flow is defined here for a 1-layer unidirectional network")


def _double_copy(rnn):
    """A float64 twin of rnn for the forward pass; the original is never touched."""
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, bias=rnn.bias,
                     **({"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}))
    twin.load_state_dict(rnn.state_dict())
    return twin.double().eval()


def fit_pca(states: np.ndarray, components: int = 3) -> dict:
    """Principal axes of hidden states (N, H): ``mean`` (H,), ``components`` (k, H), ``explained`` (k,)
    (fraction of variance). Signs are fixed so each axis's largest loading is positive (stable bases)."""
    states = np.asarray(states, dtype=np.float64)
    mean = states.mean(axis=0)  # (H,)
    _, singular, axes = np.linalg.svd(states - mean, full_matrices=False)  # axes (min(N,H), H)
    axes = axes[:components]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular ** 2
    return {"mean": mean, "components": axes, "explained": variance[:components] / variance.sum()}
