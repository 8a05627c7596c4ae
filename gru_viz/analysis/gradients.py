"""How a gradient flows back through time: ‖∂h_T/∂h_t‖ for one sentence and averaged over a data set.

``step_jacobians`` gives ∂h_t/∂h_{t−1} of every step (the closed form of ``gru_viz.step``); ``gradient_flow``
chains them from the end; ``dataset_gradient_flow`` does the same for many sentences in batches and averages
by distance from the last word. A vanilla RNN's norms fall by orders of magnitude within
ten words; a GRU's update gate keeps them near 1.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from gru_viz.analysis.datasets import Progress
from gru_viz.step import Step, check_single_layer

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["GradientFlowByDistance", "dataset_gradient_flow", "gradient_flow", "sentence_gradient_flow",
           "step_jacobians"]

_PURPOSE = "gradient flow is defined here"


def step_jacobians(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """∂h_t/∂h_{t-1} for every step of a 1-layer unidirectional GRU or RNN on unbatched x (T, I).

    Returns (T, H, H) float64: entry t is the Jacobian of step t at the state it actually read, in closed
    form (``gru_viz.step``), all steps at once. Float64, so products of many small Jacobians stay accurate.
    """
    check_single_layer(rnn, _PURPOSE)
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != rnn.input_size:
        raise ValueError(f"x must be unbatched (T, {rnn.input_size}), got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError("x has no steps: gradient flow needs at least one")
    x = x.detach().double()
    with torch.no_grad():
        states, _ = _double_copy(rnn)(x)  # (T, H)
    previous = torch.cat([torch.zeros(1, rnn.hidden_size, dtype=torch.float64), states[:-1]])  # (T, H)
    return Step.of(rnn, dtype=torch.float64).jacobian(x, previous).numpy()  # (T, H, H)


def gradient_flow(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """‖∂h_{T−1}/∂h_t‖_F for every position t (0-based), shape (T,).

    For a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN`` on unbatched x (T, I). The last entry is
    ‖I‖_F = √H; earlier entries show how much of a gradient arriving at the end reaches position t.
    The product of step Jacobians is accumulated from the end, so the cost is O(T·H³), not O(T²·H³).

    >>> gru = torch.nn.GRU(4, 3)
    >>> norms = gradient_flow(gru, torch.randn(6, 4))
    >>> norms.shape, bool(np.isclose(norms[-1], np.sqrt(3)))
    ((6,), True)
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


def _double_copy(rnn):
    """A float64 twin of rnn for the forward pass; the original is never touched."""
    if not isinstance(rnn, (nn.GRU, nn.RNN)):  # a GRU cell with other activations: copied whole
        twin = copy.deepcopy(rnn).double().eval()
        twin.batch_first = False  # as the twin below: (T, B, I)
        return twin
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, bias=rnn.bias,
                     **({"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}))
    twin.load_state_dict(rnn.state_dict())
    return twin.double().eval()


def sentence_gradient_flow(model: SentimentModel, text: str, max_tokens: int = 300) -> np.ndarray:
    """``analysis.gradient_flow`` of ``model``'s recurrent layer on ``text`` as the page reads it (at most
    ``max_tokens`` words): (T,) ‖∂h_T/∂h_t‖ per position. Raises ``ValueError`` on blank text."""
    _, ids = model.tokenize(text, max_tokens)
    return gradient_flow(model.gru, model.embed(ids))  # embedded (T, E)


@dataclass(frozen=True)
class GradientFlowByDistance:
    """‖∂h_{T−1}/∂h_t‖_F over many sentences, grouped by distance d = T−1−t from the last token.

    distance:       (D,) 0, 1, …, D−1 (D = the longest sentence); d = 0 is the last token, norm √H.
    mean:           (D,) mean norm over the sentences long enough to have distance d.
    geometric_mean: (D,) exp(mean log norm): the typical sentence, the right average on a log axis.
    count:          (D,) how many sentences reach distance d (T_i > d).
    """

    distance: np.ndarray
    mean: np.ndarray
    geometric_mean: np.ndarray
    count: np.ndarray


def dataset_gradient_flow(rnn: nn.GRU | nn.RNN, sequences, *, batch_size: int = 256,
                          progress: Progress | None = None) -> GradientFlowByDistance:
    """``gradient_flow`` of every sequence, averaged by distance from the end.

    rnn: a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN``; sequences: (T_i, I) tensors or arrays,
    e.g. ``embed_texts(model, texts)``. Batched: step Jacobians come from their closed form (the GRU's
    gate derivatives) in float64, and the chains ∂h_{T−1}/∂h_t of a whole batch grow together from the
    end, right-aligned. ``progress(done, total)`` counts sequences.

    >>> gru = torch.nn.GRU(4, 3)
    >>> flow = dataset_gradient_flow(gru, [torch.randn(5, 4), torch.randn(2, 4)])   # e.g. embed_texts(model, texts)
    >>> flow.count.tolist(), bool(np.isclose(flow.mean[0], np.sqrt(3)))     # distance 0: √H for every sentence
    ([2, 2, 1, 1, 1], True)
    """
    check_single_layer(rnn, _PURPOSE)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    sequences = [torch.as_tensor(s).detach().double() for s in sequences]
    if not sequences:
        raise ValueError("there are no sequences to average over")
    for index, sequence in enumerate(sequences):
        if sequence.dim() != 2 or sequence.shape[0] == 0 or sequence.shape[1] != rnn.input_size:
            raise ValueError(f"sequence {index} must be (T, {rnn.input_size}) with T ≥ 1, "
                             f"got {tuple(sequence.shape)}")
    units = rnn.hidden_size
    lengths = np.array([len(s) for s in sequences])
    longest = int(lengths.max())
    norm_sum, log_sum = np.zeros(longest), np.zeros(longest)
    count = np.zeros(longest, dtype=np.int64)
    twin = _double_copy(rnn)
    step = Step.of(rnn, dtype=torch.float64)
    order = np.argsort(-lengths, kind="stable")  # longest first: the sentences still active are a prefix
    done = 0
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        batch_lengths = torch.from_numpy(lengths[chosen])
        x = nn.utils.rnn.pad_sequence([sequences[i] for i in chosen], batch_first=True)  # (B, T, I)
        with torch.no_grad():
            states, _ = twin(x.transpose(0, 1))  # (T, B, H), right padding never reaches real steps
        states = states.transpose(0, 1)  # (B, T, H)
        previous = torch.cat([torch.zeros_like(states[:, :1]), states[:, :-1]], dim=1)  # (B, T, H)
        chain = torch.eye(units, dtype=torch.float64).repeat(len(chosen), 1, 1)  # (B, H, H)
        count[0] += len(chosen)
        norm_sum[0] += len(chosen) * np.sqrt(units)
        log_sum[0] += len(chosen) * 0.5 * np.log(units)
        for distance in range(1, int(batch_lengths[0])):
            active = int((batch_lengths > distance).sum())  # a prefix, as lengths fall
            rows = torch.arange(active)
            at = batch_lengths[:active] - distance  # (A,) the step t+1 whose Jacobian extends the chain
            jacobian = step.jacobian(x[rows, at], previous[rows, at])  # (A, H, H)
            chain = chain[:active] @ jacobian  # (A, H, H): ∂h_{T-1}/∂h_{T-1-distance}
            norms = torch.linalg.matrix_norm(chain).numpy()  # (A,) Frobenius
            count[distance] += active
            norm_sum[distance] += norms.sum()
            with np.errstate(divide="ignore"):
                log_sum[distance] += np.log(norms).sum()
        done += len(chosen)
        if progress is not None:
            progress(done, len(sequences))
    return GradientFlowByDistance(distance=np.arange(longest), mean=norm_sum / count,
                                  geometric_mean=np.exp(log_sum / count), count=count)
