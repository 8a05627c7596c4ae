"""Exact gate tracing of any ``torch.nn.GRU``.

The fused ``nn.GRU`` kernel returns only hidden states. Every gate of every step is a function of the
input x_t and the previous hidden state h_{t-1}, so once the fused forward has produced the h sequence,
all gates follow from two batched matrix products — no Python loop over time (PyTorch's convention):

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t

With clamps (a gate forced to a value) the h sequence itself changes, so that path runs the recurrence
step by step.

>>> gru = torch.nn.GRU(8, 16)
>>> x = torch.randn(5, 8)                              # unbatched (T, I)
>>> trace = trace_gru(gru, x)
>>> trace.update.shape                                 # (L, D, B, T, H)
(1, 1, 1, 5, 16)
>>> bool(np.allclose(trace.output, gru(x)[0].detach().numpy(), atol=1e-6))   # nn.GRU's own output
True
>>> rnn_like = trace_gru(gru, x, clamp_update=0, clamp_reset=1)   # a vanilla tanh RNN
>>> float(rnn_like.update.max()), float(rnn_like.reset.min())
(0.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from gru_viz.step import Step
from gru_viz.variants import ActivationGRU, is_standard

__all__ = ["GRUTrace", "trace_gru", "trace_rnn"]


@dataclass(frozen=True, repr=False)
class GRUTrace:
    """Every internal of one ``nn.GRU`` run, as numpy arrays in the module's dtype.

    Gate fields are shaped ``(L, D, B, T, H)``: layers, directions (0 forward, 1 backward), batch,
    steps, hidden units. Step ``t`` is input position ``t`` in both directions (the backward
    direction reads position T−1 first, but its values are stored at the position they belong to).

    update:    z_t, the update gate (1 keeps the old memory, 0 writes the candidate).
    reset:     r_t, the reset gate (0 ignores h_{t-1} when writing the candidate).
    candidate: n_t, the candidate ("new memory content").
    hidden:    h_t, the hidden state after step t.
    h0:        ``(L, D, B, H)``, the initial hidden state.
    output:    what ``nn.GRU`` returns as its output, in the layout of the input
               (``(T, B, D*H)``, ``(B, T, D*H)`` when batch_first, ``(T, D*H)`` when unbatched).
    h_n:       what ``nn.GRU`` returns as its final state: ``(L*D, B, H)``, ``(L*D, H)`` unbatched.
    lengths:   ``(B,)`` int64, each sequence's length when the input was a ``PackedSequence``, else None.
               Then every field is NaN at steps past a sequence's end, ``output`` is padded in the module's
               layout (``(B, T, D*H)`` when batch_first, else ``(T, B, D*H)``) and the batch keeps the order
               of the sequences before packing, as ``h_n`` does.
    """

    update: np.ndarray
    reset: np.ndarray
    candidate: np.ndarray
    hidden: np.ndarray
    h0: np.ndarray
    output: np.ndarray
    h_n: np.ndarray
    lengths: np.ndarray | None = None

    @property
    def previous(self) -> np.ndarray:
        """h_{t-1} for every step, ``(L, D, B, T, H)``: the state each step read."""
        previous = np.empty_like(self.hidden)
        previous[:, 0, :, 0] = self.h0[:, 0]
        previous[:, 0, :, 1:] = self.hidden[:, 0, :, :-1]
        if self.hidden.shape[1] == 2:  # backward direction reads position t+1 before t
            previous[:, 1, :, -1] = self.h0[:, 1]
            previous[:, 1, :, :-1] = self.hidden[:, 1, :, 1:]
        if self.lengths is not None:  # a packed sequence: the backward direction starts at its own end
            if self.hidden.shape[1] == 2:
                previous[:, 1, np.arange(len(self.lengths)), self.lengths - 1] = self.h0[:, 1]
            previous[np.isnan(self.hidden)] = np.nan
        return previous

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        return self.update.shape  # (L, D, B, T, H)

    def __repr__(self) -> str:
        layers, directions, batch, steps, units = self.shape
        return (f"GRUTrace(layers={layers}, directions={directions}, batch={batch}, steps={steps}, "
                f"hidden={units}, dtype={self.update.dtype}, fields=update|reset|candidate|hidden)")


def trace_gru(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor | None = None, *,
              clamp_update=None, clamp_reset=None) -> GRUTrace:
    """Run ``gru`` on ``x`` (any layout ``nn.GRU`` accepts) and return every gate of every step.

    ``clamp_update`` / ``clamp_reset``: a float or an array broadcastable to ``(L, D, B, T, H)``;
    NaN entries stay free. A clamped gate replaces the computed one and changes all later steps and
    layers. ``clamp_update=0, clamp_reset=1`` turns the GRU into a vanilla tanh RNN.
    The module is never modified and always traced as in eval mode (no inter-layer dropout).
    ``x`` may be a ``PackedSequence``: then the trace records ``lengths`` and is NaN past each sequence's end.
    """
    if not isinstance(gru, (nn.GRU, ActivationGRU)):
        raise ValueError(f"trace_gru needs a torch.nn.GRU, got {type(gru).__name__}")
    if isinstance(x, PackedSequence):
        return _trace_packed(trace_gru, gru, x, h0, clamp_update=clamp_update, clamp_reset=clamp_reset)
    # other activations than sigmoid and tanh: the fused kernel cannot run them, so every step goes through
    # gru_viz.step with the cell's own activations
    stepped = isinstance(gru, ActivationGRU) and not is_standard(gru.gate_activation, gru.candidate_activation)
    unbatched = torch.as_tensor(x).dim() == 2
    x = _batch_first(gru, x)  # (B, T, I)
    layers, directions, units = gru.num_layers, 2 if gru.bidirectional else 1, gru.hidden_size
    batch, steps, _ = x.shape
    h0 = _initial_state(gru, h0, batch, unbatched)  # (L, D, B, H)

    shape = (layers, directions, batch, steps, units)
    clamps = (_as_clamp(clamp_reset, shape, "clamp_reset"), _as_clamp(clamp_update, shape, "clamp_update"))

    gates = np.empty((3,) + shape, dtype=_numpy_dtype(x.dtype))  # (r|z|n, L, D, B, T, H)
    hidden = np.empty(shape, dtype=gates.dtype)
    with torch.inference_mode():
        layer_input = x  # (B, T, I)
        for layer in range(layers):
            outputs = []
            for direction in range(directions):
                start = h0[layer, direction]  # (B, H)
                if clamps[0] is None and clamps[1] is None and not stepped:
                    params = _parameters(gru, layer, direction)
                    states = _fused_states(params, layer_input, start, reverse=direction == 1)
                    previous = _previous_states(states, start, reverse=direction == 1)
                    _gates_from_states(params, layer_input, previous, gates[:, layer, direction])
                else:
                    layer_clamps = [None if c is None else np.ascontiguousarray(c[layer, direction], dtype=gates.dtype)
                                    for c in clamps]
                    states = _clamped_states(Step.of(gru, layer, direction), layer_input, start, layer_clamps,
                                             gates[:, layer, direction], reverse=direction == 1)
                hidden[layer, direction] = states.numpy()
                outputs.append(states)
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]  # (B, T, D*H)
    output, h_n = _as_returned(gru, layer_input, hidden, unbatched)
    return GRUTrace(update=gates[1], reset=gates[0], candidate=gates[2], hidden=hidden,
                    h0=h0.numpy().astype(gates.dtype), output=output, h_n=h_n)


def _as_returned(rnn, top_output: torch.Tensor, hidden: np.ndarray, unbatched: bool):
    """(output, h_n) in the layout the module itself returns them, from the top layer's output (B, T, D*H) and
    every layer's states ``hidden`` (L, D, B, T, H)."""
    output = top_output
    if unbatched:
        output = output[0]  # (T, D*H)
    elif not rnn.batch_first:
        output = output.transpose(0, 1)  # (T, B, D*H)
    layers, directions, batch, _, units = hidden.shape
    last = hidden[:, :, :, -1].copy()
    if directions == 2:
        last[:, 1] = hidden[:, 1, :, 0]  # backward direction ends at position 0
    h_n = last.reshape(layers * directions, batch, units)  # (L*D, B, H)
    if unbatched:
        h_n = h_n[:, 0]  # (L*D, H)
    return output.numpy(), h_n


def _batch_first(gru: nn.GRU, x) -> torch.Tensor:
    """x in any layout ``nn.GRU`` accepts, as (B, T, I) in the module's dtype; a sentence when it is not one."""
    x = torch.as_tensor(x)
    if x.dim() not in (2, 3):
        raise ValueError(f"x must be (T, I) unbatched or 3-D batched, got shape {tuple(x.shape)}")
    x = x.to(gru.weight_ih_l0.dtype)
    if x.dim() == 2:
        x = x.unsqueeze(0)  # (1, T, I)
    elif not gru.batch_first:
        x = x.transpose(0, 1)  # (B, T, I)
    if x.shape[2] != gru.input_size:
        raise ValueError(f"x has {x.shape[2]} features per step but the GRU expects {gru.input_size}")
    if x.shape[1] == 0:
        raise ValueError("x has no steps to trace")
    return x


def _initial_state(gru: nn.GRU, h0, batch: int, unbatched: bool) -> torch.Tensor:
    """h0 as (L, D, B, H) in the module's dtype: zeros when None, else checked against the module."""
    layers, directions, units = gru.num_layers, 2 if gru.bidirectional else 1, gru.hidden_size
    dtype = gru.weight_ih_l0.dtype
    if h0 is None:
        return torch.zeros(layers, directions, batch, units, dtype=dtype)
    h0 = torch.as_tensor(h0).detach().to(dtype)  # an h0 that requires grad is fine for nn.GRU too
    if unbatched:
        h0 = h0.unsqueeze(1)  # (L*D, 1, H)
    if tuple(h0.shape) != (layers * directions, batch, units):
        raise ValueError(f"h0 must have shape {(layers * directions, batch, units)}, got {tuple(h0.shape)}")
    return h0.reshape(layers, directions, batch, units)  # (L, D, B, H)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return torch.empty((), dtype=dtype).numpy().dtype


def _parameters(gru: nn.GRU, layer: int, direction: int) -> list[torch.Tensor]:
    """[w_ih, w_hh, b_ih, b_hh] (no biases when bias=False), PyTorch's names and gate order r|z|n."""
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if gru.bias else [])
    return [getattr(gru, name + suffix).detach() for name in names]


def _fused_states(params, layer_input, start, reverse, kernel=torch.gru):
    """The fused kernel (``torch.gru``, or ``torch.rnn_tanh`` / ``torch.rnn_relu``) on one layer and one
    direction: h_t for every step, (B, T, H)."""
    if reverse:
        layer_input = layer_input.flip(1)
    states, _ = kernel(layer_input, start.unsqueeze(0).contiguous(), params, len(params) == 4,
                          1, 0.0, False, False, True)  # (B, T, H)
    return states.flip(1) if reverse else states


def _previous_states(states, start, reverse):
    """h_{t-1} as read by step t, (B, T, H)."""
    if reverse:
        return torch.cat([states[:, 1:], start.unsqueeze(1)], dim=1)
    return torch.cat([start.unsqueeze(1), states[:, :-1]], dim=1)


def _gates_from_states(params, layer_input, previous, out):
    """Fill out (3, B, T, H) with r, z, n from two batched products. The equations of ``gru_viz.step``, written
    here in place over all B·T steps at once so that tracing stays near the cost of one forward pass."""
    w_ih, w_hh = params[0], params[1]
    if len(params) == 4:
        from_input = torch.addmm(params[2], layer_input.flatten(0, 1), w_ih.T)  # (B*T, 3H)
        from_hidden = torch.addmm(params[3], previous.flatten(0, 1), w_hh.T)  # (B*T, 3H)
    else:
        from_input = layer_input.flatten(0, 1) @ w_ih.T
        from_hidden = previous.flatten(0, 1) @ w_hh.T
    units = w_hh.shape[1]
    rz = from_input[:, :2 * units].add_(from_hidden[:, :2 * units]).sigmoid_()  # (B*T, 2H)
    candidate = from_hidden[:, 2 * units:].mul_(rz[:, :units]).add_(from_input[:, 2 * units:]).tanh_()
    view = torch.from_numpy(out).view(3, -1, units)  # (3, B*T, H), writes into out
    view[0] = rz[:, :units]
    view[1] = rz[:, units:]
    view[2] = candidate


def _clamped_states(step: Step, layer_input, start, clamps, out, reverse):
    """The recurrence step by step, with forced gates where ``clamps`` has them; fills out (3, B, T, H), returns
    h (B, T, H)."""
    from_input = step.input_part(layer_input)  # (B, T, 3H), every word's push at once
    gates = torch.from_numpy(out)  # (3, B, T, H), writes into out
    clamp_reset, clamp_update = (None if c is None else torch.from_numpy(c) for c in clamps)
    states = torch.empty(layer_input.shape[0], layer_input.shape[1], step.units, dtype=step.weight_hh.dtype)
    state = start
    order = range(layer_input.shape[1] - 1, -1, -1) if reverse else range(layer_input.shape[1])
    for t in order:
        now = step.gates(from_input[:, t], state,
                         forced_reset=None if clamp_reset is None else clamp_reset[:, t],
                         forced_update=None if clamp_update is None else clamp_update[:, t])
        state = now.hidden
        gates[0, :, t], gates[1, :, t], gates[2, :, t] = now.reset, now.update, now.candidate
        states[:, t] = state
    return states


def _as_clamp(value, shape, name):
    """None, or a float array of exactly ``shape`` (NaN = free); None when nothing is clamped."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
        array = np.broadcast_to(array, shape)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be a number or an array broadcastable to (L, D, B, T, H) = "
                         f"{shape}: {error}") from None
    fixed = array[~np.isnan(array)]
    if fixed.size == 0:
        return None
    if fixed.min() < 0 or fixed.max() > 1:
        raise ValueError(f"{name} values must lie in [0, 1] (or be NaN for free); "
                         f"got {fixed.min():g} to {fixed.max():g}")
    return np.array(array, order="C")  # a writable copy: torch.from_numpy warns on a read-only broadcast view


def trace_rnn(rnn: nn.RNN, x: torch.Tensor, h0: torch.Tensor | None = None) -> GRUTrace:
    """An ``nn.RNN`` (tanh or relu, any layers and directions, any layout ``nn.RNN`` accepts, a
    ``PackedSequence`` as in ``trace_gru``) traced as the GRU it equals: update ≡ 0, reset ≡ 1,
    candidate = hidden. Lets every GRU view show the vanilla baseline unchanged.

    >>> rnn = torch.nn.RNN(4, 3, num_layers=2, bidirectional=True, batch_first=True)
    >>> x = torch.randn(2, 5, 4)
    >>> trace = trace_rnn(rnn, x)
    >>> trace.shape, bool(np.allclose(trace.output, rnn(x)[0].detach().numpy(), atol=1e-6))
    ((2, 2, 2, 5, 3), True)
    """
    if not isinstance(rnn, nn.RNN):
        raise ValueError(f"trace_rnn needs a torch.nn.RNN, got {type(rnn).__name__}")
    if isinstance(x, PackedSequence):
        return _trace_packed(trace_rnn, rnn, x, h0)
    unbatched = torch.as_tensor(x).dim() == 2
    x = _batch_first(rnn, x)  # (B, T, I)
    layers, directions = rnn.num_layers, 2 if rnn.bidirectional else 1
    h0 = _initial_state(rnn, h0, x.shape[0], unbatched)  # (L, D, B, H)
    kernel = torch.rnn_tanh if rnn.nonlinearity == "tanh" else torch.rnn_relu
    hidden = np.empty((layers, directions, x.shape[0], x.shape[1], rnn.hidden_size), dtype=_numpy_dtype(x.dtype))
    with torch.inference_mode():
        layer_input = x  # (B, T, I)
        for layer in range(layers):
            outputs = [_fused_states(_parameters(rnn, layer, direction), layer_input, h0[layer, direction],
                                     reverse=direction == 1, kernel=kernel) for direction in range(directions)]
            for direction, states in enumerate(outputs):
                hidden[layer, direction] = states.numpy()
            layer_input = torch.cat(outputs, dim=-1) if directions == 2 else outputs[0]  # (B, T, D*H)
    output, h_n = _as_returned(rnn, layer_input, hidden, unbatched)
    return GRUTrace(update=np.zeros_like(hidden), reset=np.ones_like(hidden), candidate=hidden.copy(),
                    hidden=hidden, h0=h0.numpy().astype(hidden.dtype), output=output, h_n=h_n)


def _trace_packed(trace, rnn, packed: PackedSequence, h0, **clamps) -> GRUTrace:
    """``trace`` (``trace_gru`` or ``trace_rnn``) of a ``PackedSequence``, exactly as ``rnn`` reads it, with every
    field NaN past a sequence's end; batch order is the order before packing. One direction: the padded batch
    in one pass (a step never reads later steps, so padding changes nothing before a sequence's end). Two: the
    sequences of each length together, without padding, so the backward direction starts at each one's end."""
    padded, lengths = pad_packed_sequence(packed, batch_first=True)  # (B, T, I), (B,)
    layers, directions, units = rnn.num_layers, 2 if rnn.bidirectional else 1, rnn.hidden_size
    batch, steps = padded.shape[:2]
    shape = (layers, directions, batch, steps, units)
    clamps = {name: _as_clamp(value, shape, name) for name, value in clamps.items()}
    if h0 is not None:
        h0 = torch.as_tensor(h0)
        if tuple(h0.shape) != (layers * directions, batch, units):
            raise ValueError(f"h0 must have shape {(layers * directions, batch, units)}, got {tuple(h0.shape)}")
    dtype = _numpy_dtype(rnn.weight_ih_l0.dtype)
    fields = {name: np.empty(shape, dtype=dtype) for name in ("update", "reset", "candidate", "hidden")}
    start = np.empty((layers, directions, batch, units), dtype=dtype)  # (L, D, B, H)
    output = np.empty((batch, steps, directions * units), dtype=dtype)  # (B, T, D*H)
    groups = [(np.arange(batch), steps)] if directions == 1 else [
        ((lengths == length).nonzero().flatten().numpy(), length) for length in torch.unique(lengths).tolist()]
    for rows, length in groups:
        x = padded[rows, :length]  # (b, l, I)
        if not rnn.batch_first:
            x = x.transpose(0, 1)  # (l, b, I)
        part_clamps = {name: None if clamp is None else clamp[:, :, rows, :length] for name, clamp in clamps.items()}
        part = trace(rnn, x, None if h0 is None else h0[:, rows], **part_clamps)
        for name, values in fields.items():
            values[:, :, rows, :length] = getattr(part, name)
        start[:, :, rows] = part.h0
        output[rows, :length] = part.output if rnn.batch_first else part.output.transpose(1, 0, 2)
    lengths = lengths.numpy().astype(np.int64)
    past_end = np.arange(steps)[None, :] >= lengths[:, None]  # (B, T)
    for values in fields.values():
        values[:, :, past_end] = np.nan
    output[past_end] = np.nan
    last = fields["hidden"][:, :, np.arange(batch), lengths - 1]  # (L, D, B, H): each sequence's own end
    if directions == 2:
        last[:, 1] = fields["hidden"][:, 1, :, 0]  # the backward direction ends at position 0
    h_n = last.reshape(layers * directions, batch, units)  # (L*D, B, H)
    if not rnn.batch_first:
        output = np.ascontiguousarray(output.transpose(1, 0, 2))  # (T, B, D*H)
    return GRUTrace(**fields, h0=start, output=output, h_n=h_n, lengths=lengths)
