"""decompose_final_state and gradient_flow against computations written here: direct O(T²) products for
the decomposition, and torch.autograd.functional.jacobian through a float64 recurrence for gradient flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gru_viz.analysis import decompose_final_state, gradient_flow, step_jacobians
from gru_viz.trace import trace_gru

SETTINGS = settings(max_examples=40, deadline=None)


# ---- decompose_final_state -------------------------------------------------------------------------


@st.composite
def gate_sequences(draw):
    """(update (T, H) in [0, 1], candidate (T, H) in (-1, 1), h0 (H,) nonzero)."""
    steps, units = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    update = rng.uniform(0, 1, (steps, units))
    if draw(st.booleans()):  # the ends of [0, 1] are legal gate values (and reachable by clamps)
        update[rng.uniform(size=update.shape) < 0.2] = draw(st.sampled_from([0.0, 1.0]))
    candidate = rng.uniform(-1, 1, (steps, units))
    h0 = rng.uniform(0.5, 2, units) * rng.choice([-1, 1], units)
    return update, candidate, h0


def recurrence(update, candidate, h0):
    """h_T by running h_t = z_t h_{t-1} + (1 − z_t) n_t."""
    h = h0.copy()
    for z, n in zip(update, candidate):
        h = z * h + (1 - z) * n
    return h


@SETTINGS
@given(sequence=gate_sequences())
def test_decomposition_sums_to_final_state(sequence):
    update, candidate, h0 = sequence
    carry, contributions = decompose_final_state(update, candidate, h0)
    assert carry.shape == h0.shape and contributions.shape == update.shape
    assert carry.dtype == contributions.dtype == np.float64
    np.testing.assert_allclose(carry + contributions.sum(0), recurrence(update, candidate, h0), rtol=0, atol=1e-12)


@SETTINGS
@given(sequence=gate_sequences())
def test_each_contribution_equals_direct_product(sequence):
    update, candidate, h0 = sequence
    carry, contributions = decompose_final_state(update, candidate, h0)
    steps, units = update.shape
    for t in range(steps):
        for unit in range(units):
            survival = 1.0
            for s in range(t + 1, steps):  # ∏_{s>t} z_s
                survival *= update[s, unit]
            expected = survival * (1 - update[t, unit]) * candidate[t, unit]
            assert abs(contributions[t, unit] - expected) <= 1e-12
    expected_carry = h0.copy()
    for z in update:
        expected_carry = expected_carry * z
    np.testing.assert_allclose(carry, expected_carry, rtol=0, atol=1e-12)


def test_decomposition_of_a_real_trace_in_both_directions():
    torch.manual_seed(0)
    gru = nn.GRU(3, 5, bidirectional=True)
    x = torch.randn(9, 3)  # (T, I)
    h0 = torch.randn(2, 5)  # (L*D, H), nonzero so the carry matters
    trace = trace_gru(gru, x, h0)
    carry, contributions = decompose_final_state(trace.update[0, 0, 0], trace.candidate[0, 0, 0], trace.h0[0, 0, 0])
    assert np.abs(carry).max() > 1e-4
    np.testing.assert_allclose(carry + contributions.sum(0), trace.hidden[0, 0, 0, -1], atol=1e-5)
    # the backward direction reads position T−1 first and ends at position 0
    carry, contributions = decompose_final_state(trace.update[0, 1, 0, ::-1], trace.candidate[0, 1, 0, ::-1],
                                                 trace.h0[0, 1, 0])
    np.testing.assert_allclose(carry + contributions.sum(0), trace.hidden[0, 1, 0, 0], atol=1e-5)


@pytest.mark.parametrize("update, candidate, h0", [
    (np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(3)),  # candidate shape differs
    (np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(2)),  # h0 length differs
    (np.zeros(4), np.zeros(4), np.zeros(())),  # not (T, H)
    (np.zeros((1, 4, 3)), np.zeros((1, 4, 3)), np.zeros(3)),  # 3-D
])
def test_decomposition_rejects_bad_shapes(update, candidate, h0):
    with pytest.raises(ValueError):
        decompose_final_state(update, candidate, h0)


# ---- gradient_flow ---------------------------------------------------------------------------------


def float64_step(rnn):
    """One step h_{t-1} -> h_t of rnn in float64, from PyTorch's documented equations."""
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b_ih = rnn.bias_ih_l0.detach().double() if rnn.bias else torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_hh = rnn.bias_hh_l0.detach().double() if rnn.bias else torch.zeros(w_hh.shape[0], dtype=torch.float64)
    if isinstance(rnn, nn.GRU):
        w_ir, w_iz, w_in = w_ih.chunk(3)
        w_hr, w_hz, w_hn = w_hh.chunk(3)
        b_ir, b_iz, b_in = b_ih.chunk(3)
        b_hr, b_hz, b_hn = b_hh.chunk(3)

        def step(x_t, h):
            r = torch.sigmoid(w_ir @ x_t + b_ir + w_hr @ h + b_hr)
            z = torch.sigmoid(w_iz @ x_t + b_iz + w_hz @ h + b_hz)
            n = torch.tanh(w_in @ x_t + b_in + r * (w_hn @ h + b_hn))
            return (1 - z) * n + z * h
    else:
        activation = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu

        def step(x_t, h):
            return activation(w_ih @ x_t + b_ih + w_hh @ h + b_hh)
    return step


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


def make_rnn(kind, features, units, bias, seed):
    torch.manual_seed(seed)
    if kind == "gru":
        rnn = nn.GRU(features, units, bias=bias)
    else:
        rnn = nn.RNN(features, units, nonlinearity=kind, bias=bias)
    with torch.no_grad():  # a larger recurrent scale so the norms neither vanish at once nor all match
        rnn.weight_hh_l0.mul_(2.0)
    return rnn


@SETTINGS
@given(kind=st.sampled_from(["gru", "tanh", "relu"]), steps=st.integers(1, 8), units=st.integers(1, 5),
       features=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_gradient_flow_matches_autograd(kind, steps, units, features, bias, seed):
    rnn = make_rnn(kind, features, units, bias, seed)
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
    rnn = make_rnn(kind, 3, 4, True, seed=11)
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
