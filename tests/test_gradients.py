"""``step_jacobians`` and ``gradient_flow`` against autograd on a float64 step written out from PyTorch's equations
(``library_helpers.float64_step``), and the data-set gradient flow against ``gradient_flow`` of each sentence
averaged by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gru_viz.analysis import (
    dataset_gradient_flow,
    embed_texts,
    gradient_flow,
    step_jacobians,
)
from tests.library_helpers import ANALYSIS_UNITS as UNITS
from tests.library_helpers import float64_step, gated_model, random_recurrent, random_texts

SETTINGS = settings(max_examples=40, deadline=None)


def reference_gradient_flow(rnn, x):
    """‖∂h_{T−1}/∂h_t‖_F by autograd through the steps after t, at the states the run visits (h0 = 0)."""
    step = float64_step(rnn)
    x = x.double()
    states, h = [], torch.zeros(rnn.hidden_size, dtype=torch.float64)
    for x_t in x:
        h = step(x_t, h)
        states.append(h)

    def run_from(t):
        def rest(h):
            for x_s in x[t + 1:]:
                h = step(x_s, h)
            return h
        return rest

    return np.array([torch.linalg.norm(torch.autograd.functional.jacobian(run_from(t), states[t])).item()
                     for t in range(len(x))])


@SETTINGS
@given(kind=st.sampled_from(["gru", "tanh", "relu"]), steps=st.integers(1, 8), units=st.integers(1, 5),
       features=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_gradient_flow_matches_autograd(kind, steps, units, features, bias, seed):
    rnn = random_recurrent(kind, features, units, bias, seed)
    before = {name: p.detach().clone() for name, p in rnn.state_dict().items()}
    x = torch.randn(steps, features)  # (T, I)
    flow = gradient_flow(rnn, x)
    assert flow.shape == (steps,) and flow.dtype == np.float64
    assert flow[-1] == pytest.approx(np.sqrt(units), abs=1e-12)
    np.testing.assert_allclose(flow, reference_gradient_flow(rnn, x), rtol=1e-9, atol=1e-12)
    for name, value in rnn.state_dict().items():
        assert torch.equal(value, before[name])


@pytest.mark.parametrize("kind", ["gru", "tanh", "relu"])
def test_step_jacobians_match_autograd(kind):
    rnn = random_recurrent(kind, 3, 4, True, seed=11)
    x = torch.randn(6, 3)  # (T, I)
    jacobians = step_jacobians(rnn, x)  # (T, H, H)
    step = float64_step(rnn)
    h = torch.zeros(4, dtype=torch.float64)
    for t, x_t in enumerate(x.double()):
        expected = torch.autograd.functional.jacobian(lambda state, x_t=x_t: step(x_t, state), h)
        np.testing.assert_allclose(jacobians[t], expected.numpy(), rtol=1e-10, atol=1e-12)
        h = step(x_t, h)


@pytest.mark.parametrize("make_rnn_, x", [
    (lambda: nn.LSTM(3, 4), torch.randn(5, 3)),
    (lambda: nn.GRU(3, 4, num_layers=2), torch.randn(5, 3)),
    (lambda: nn.RNN(3, 4, bidirectional=True), torch.randn(5, 3)),
    (lambda: nn.Linear(3, 4), torch.randn(5, 3)),
    (lambda: nn.GRU(3, 4), torch.randn(5, 2, 3)),  # batched
    (lambda: nn.GRU(3, 4), torch.randn(5, 4)),  # wrong feature count
    (lambda: nn.RNN(3, 4), torch.randn(5)),  # 1-D
    (lambda: nn.GRU(3, 4), torch.randn(0, 3)),  # no steps
])
def test_gradient_flow_rejects_bad_inputs(make_rnn_, x):
    with pytest.raises(ValueError):
        gradient_flow(make_rnn_(), x)


@pytest.mark.parametrize("arch", ["gru", "rnn"])
def test_dataset_gradient_flow_equals_gradient_flow_averaged_by_hand(arch):
    model = gated_model(arch, seed=3, gain=2.0)
    sequences = embed_texts(model, random_texts(12, seed=4))
    flow = dataset_gradient_flow(model.gru, sequences, batch_size=5)
    longest = max(len(s) for s in sequences)
    total, logs, count = np.zeros(longest), np.zeros(longest), np.zeros(longest, dtype=int)
    for sequence in sequences:
        norms = gradient_flow(model.gru, sequence)  # (T,) by position
        for position, norm in enumerate(norms):
            distance = len(norms) - 1 - position
            total[distance] += norm
            logs[distance] += math.log(norm)
            count[distance] += 1
    np.testing.assert_array_equal(flow.distance, np.arange(longest))
    np.testing.assert_array_equal(flow.count, count)
    np.testing.assert_allclose(flow.mean, total / count, rtol=1e-9)
    np.testing.assert_allclose(flow.geometric_mean, np.exp(logs / count), rtol=1e-9)
    assert flow.mean[0] == pytest.approx(math.sqrt(UNITS))


def test_dataset_gradient_flow_refuses_bad_sequences(model):
    with pytest.raises(ValueError):
        dataset_gradient_flow(model.gru, [])
    with pytest.raises(ValueError):
        dataset_gradient_flow(model.gru, [torch.zeros(3, 5)])
    with pytest.raises(ValueError):
        dataset_gradient_flow(torch.nn.GRU(8, 4, num_layers=2), [torch.zeros(3, 8)])
