"""Capture the GRUs inside any ``nn.Module``: run it once and get each recurrent layer's exact trace.

``capture(module, *args, **kwargs)`` calls ``module(*args, **kwargs)`` once with a forward hook on every
``nn.GRU`` (and ``nn.RNN``, and gru_viz's ``ActivationGRU``) inside it. Each hook sees the inputs exactly as the
layer received them (any layout, unbatched, a given h0, a ``PackedSequence``) and traces them with the same
``trace_gru`` / ``trace_rnn`` as the rest of gru_viz, so no text and no knowledge of the module's forward are
needed. The hooks are removed afterwards, also when the forward raises.

>>> class Tagger(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.encoder = nn.GRU(3, 5, batch_first=True)
...         self.head = nn.Linear(5, 2)
...     def forward(self, x):
...         states, _ = self.encoder(x)            # (B, T, H)
...         return self.head(states)               # (B, T, 2)
>>> tagger = Tagger()
>>> c = capture(tagger, torch.randn(4, 7, 3))
>>> c.output.shape                                 # what the module returned
torch.Size([4, 7, 2])
>>> c["encoder"].update.shape                      # (L, D, B, T, H)
(1, 1, 4, 7, 5)
>>> list(c.traces), c.calls
(['encoder'], {'encoder': 1})
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gru_viz.trace import GRUTrace, trace_gru, trace_rnn
from gru_viz.variants import ActivationGRU

__all__ = ["Capture", "capture"]

_RECURRENT = (nn.GRU, nn.RNN, ActivationGRU)  # the layers a GRUTrace describes (an RNN as z ≡ 0, r ≡ 1)


@dataclass(frozen=True, repr=False)
class Capture:
    """What one run of a module showed of its recurrent layers.

    output: what ``module(*args, **kwargs)`` returned, untouched.
    traces: name → ``GRUTrace`` (fields ``(L, D, B, T, H)``) of that layer's first call in the run, for every
            layer that was called, in ``module.named_modules()`` order. The name is the layer's key in
            ``dict(module.named_modules())`` ("" when the module is itself the GRU).
    calls:  name → how many times the layer ran in the forward, for every GRU and RNN in the module (0 when it
            did not run). A layer called more than once (e.g. once per chunk, or shared by two branches) is
            traced at its first call only.

    ``c[name]`` is ``c.traces[name]``, with a message naming the captured layers when ``name`` is not one.
    """

    output: Any
    traces: dict[str, GRUTrace]
    calls: dict[str, int]

    def __getitem__(self, name: str) -> GRUTrace:
        if name in self.traces:
            return self.traces[name]
        if name in self.calls:
            raise KeyError(f"the layer {name!r} did not run in this forward pass")
        raise KeyError(f"no GRU or RNN named {name!r}; captured: {', '.join(map(repr, self.traces)) or 'none'}")

    def __contains__(self, name: object) -> bool:
        return name in self.traces

    def __iter__(self):
        return iter(self.traces)

    def __len__(self) -> int:
        return len(self.traces)

    def __repr__(self) -> str:
        layers = ", ".join(f"{name!r}: {trace.shape}" for name, trace in self.traces.items())
        return f"Capture({{{layers}}}, output={type(self.output).__name__})"


def capture(module: nn.Module, *args, **kwargs) -> Capture:
    """Run ``module(*args, **kwargs)`` once and trace every GRU and RNN inside it at its first call.

    Traces are exact: the same ``trace_gru`` / ``trace_rnn`` on the inputs and h0 the layer received. They
    are always computed as in eval mode, without a multi-layer GRU's inter-layer dropout, so call
    ``module.eval()`` first when the module's own outputs should match them. A ``PackedSequence`` input gives
    a trace with ``lengths`` and NaN past each sequence's end. The layers must be on the CPU (traces are
    numpy arrays).
    Raises ``ValueError`` when the module holds no GRU or RNN; whatever the forward raises passes through,
    after the hooks are removed.
    """
    if not isinstance(module, nn.Module):
        raise ValueError(f"capture needs a torch.nn.Module, got {type(module).__name__}")
    layers = {name: layer for name, layer in module.named_modules() if isinstance(layer, _RECURRENT)}
    if not layers:
        raise ValueError(f"{type(module).__name__} holds no torch.nn.GRU or torch.nn.RNN to capture")
    traces: dict[str, GRUTrace] = {}
    calls = dict.fromkeys(layers, 0)
    handles = []
    try:
        for name, layer in layers.items():
            handles.append(layer.register_forward_hook(_recorder(name, traces, calls), with_kwargs=True))
        output = module(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    return Capture(output=output, traces={name: traces[name] for name in layers if name in traces}, calls=calls)


def _recorder(name: str, traces: dict, calls: dict):
    """A forward hook that traces its layer's first call into ``traces[name]`` and counts every call."""

    def hook(layer, args, kwargs, _output):
        calls[name] += 1
        if calls[name] == 1:
            x, h0 = _inputs(layer, args, kwargs)
            trace = trace_rnn if isinstance(layer, nn.RNN) else trace_gru
            traces[name] = trace(layer, x, h0)

    return hook


def _inputs(layer: nn.Module, args: tuple, kwargs: dict):
    """(x, h0) as the layer's forward received them, positionally or by keyword (``input, hx`` for
    ``nn.GRU``), detached: the trace reads values, never gradients."""
    bound = inspect.signature(layer.forward).bind(*args, **kwargs)
    values = list(bound.arguments.values())
    x, h0 = values[0], values[1] if len(values) > 1 else None
    if isinstance(x, PackedSequence):
        x = x._replace(data=x.data.detach())
    elif isinstance(x, torch.Tensor):
        x = x.detach()
    return x, h0.detach() if isinstance(h0, torch.Tensor) else h0
