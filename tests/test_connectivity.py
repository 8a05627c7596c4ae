"""``analysis.connectivity``: ‖∂h_t/∂h_s‖_F for every pair, against ``torch.autograd.functional.jacobian``
of the recurrence from step s to step t, run here in float64 through the module itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz.analysis import connectivity, gradient_flow


def oracle(rnn, x):
    """[t, s] = ‖∂h_t/∂h_s‖_F by autograd: h_s is fed as the initial state of the steps s+1 … t."""
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, **({} if isinstance(rnn, nn.GRU) else
                                                         {"nonlinearity": rnn.nonlinearity})).double()
    twin.load_state_dict(rnn.state_dict())
    x = x.double()
    with torch.no_grad():
        states, _ = twin(x)  # (T, H)
    steps, units = len(x), rnn.hidden_size
    matrix = np.zeros((steps, steps))
    for s in range(steps):
        matrix[s, s] = np.sqrt(units)
        for t in range(s + 1, steps):
            def run(h, inputs=x[s + 1:t + 1]):
                return twin(inputs, h[None])[0][-1]
            jacobian = torch.autograd.functional.jacobian(run, states[s])  # (H, H)
            matrix[t, s] = torch.linalg.matrix_norm(jacobian).item()
    return matrix


@pytest.mark.parametrize("kind", ["gru", "rnn-tanh", "rnn-relu"])
def test_every_entry_matches_autograd(kind):
    torch.manual_seed(5)
    rnn = nn.GRU(4, 6) if kind == "gru" else nn.RNN(4, 6, nonlinearity=kind.split("-")[1])
    x = torch.randn(9, 4)
    got = connectivity(rnn, x)
    expected = oracle(rnn, x)
    lower = np.tril(np.ones_like(expected, dtype=bool))
    np.testing.assert_allclose(got[lower], expected[lower], rtol=1e-6)
    assert (got[~lower] == 0).all()


def test_the_last_row_is_gradient_flow_and_one_step_is_one_entry():
    torch.manual_seed(2)
    gru = nn.GRU(5, 8)
    x = torch.randn(12, 5)
    matrix = connectivity(gru, x)
    np.testing.assert_allclose(matrix[-1], gradient_flow(gru, x), rtol=1e-12)
    assert connectivity(gru, x[:1]).tolist() == [[pytest.approx(np.sqrt(8))]]


@pytest.mark.parametrize("rnn, x, message", [
    (nn.GRU(3, 4, num_layers=2), torch.randn(5, 3), "1-layer unidirectional"),
    (nn.GRU(3, 4), torch.randn(2, 5, 3), "unbatched"),
    (nn.LSTM(3, 4), torch.randn(5, 3), "torch.nn.GRU or torch.nn.RNN"),
])
def test_unsupported_networks_and_shapes_are_refused(rnn, x, message):
    with pytest.raises(ValueError, match=message):
        connectivity(rnn, x)


@pytest.mark.parametrize("layer, direction", [(0, 0), (1, 1), (2, 0)])
def test_layer_connectivity_is_one_layers_own_memory_with_its_input_held(layer, direction):
    """Oracle: the layer alone, as a 1-layer nn.GRU with that layer and direction's weights, fed the inputs the
    stack gave it (float64), run from h_s over the words between (backwards for the backward direction)."""
    from gru_viz.analysis import layer_connectivity

    torch.manual_seed(layer + direction)
    stack = nn.GRU(4, 3, num_layers=3, bidirectional=True)
    x = torch.randn(6, 4)
    twin = nn.GRU(4 if layer == 0 else 6, 3).double()
    suffix = f"_l{layer}" + ("_reverse" if direction else "")
    twin.load_state_dict({f"{name}_l0": getattr(stack, name + suffix) for name in
                          ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
    with torch.no_grad():
        full = nn.GRU(4, 3, num_layers=3, bidirectional=True).double()
        full.load_state_dict(stack.state_dict())
        inputs = x.double() if layer == 0 else nn.GRU.forward(_first_layers(full, layer), x.double())[0]  # (T, 6)
        order = torch.arange(len(x)).flip(0) if direction else torch.arange(len(x))
        states = torch.zeros(len(x), 3, dtype=torch.float64)
        states[order] = twin(inputs[order])[0]  # by word position
    expected = np.zeros((len(x), len(x)))
    for k, s in enumerate(order.tolist()):
        expected[s, s] = np.sqrt(3)
        for t in order[k + 1:].tolist():
            between = inputs[order[k + 1:k + 1 + list(order[k + 1:]).index(t) + 1]]

            def run(h, between=between):
                return twin(between, h[None])[0][-1]
            expected[t, s] = torch.linalg.matrix_norm(torch.autograd.functional.jacobian(run, states[s])).item()
    np.testing.assert_allclose(layer_connectivity(stack, x, layer, direction), expected, rtol=1e-9, atol=1e-12)


def _first_layers(full: nn.GRU, count: int) -> nn.GRU:
    """The bottom ``count`` layers of ``full`` as their own module (outputs (T, D·H))."""
    below = nn.GRU(full.input_size, full.hidden_size, num_layers=count, bidirectional=full.bidirectional).double()
    below.load_state_dict({name: value for name, value in full.state_dict().items()
                           if int(name.split("_l")[1].split("_")[0]) < count})
    return below
