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
