"""``gru_viz.step``: the step against the module itself, and its closed-form Jacobian against ``torch.func.jacrev``
of a float64 step written out from PyTorch's documented equations (``library_helpers.float64_step``)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gru_viz.step import Activation, Step, check_single_layer
from tests.library_helpers import float64_step, random_recurrent

SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(kind=st.sampled_from(["gru", "tanh", "relu"]), batch=st.integers(1, 4), units=st.integers(1, 6),
       features=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_the_jacobian_is_jacrev_of_the_float64_step(kind, batch, units, features, bias, seed):
    rnn = random_recurrent(kind, features, units, bias, seed)
    x = torch.randn(batch, features, dtype=torch.float64)
    h = torch.rand(batch, units, dtype=torch.float64) * 2 - 1  # anywhere in the box a state can reach
    step = Step.of(rnn, dtype=torch.float64)
    got = step.jacobian(x, h)  # (B, H, H)
    expected = torch.func.vmap(torch.func.jacrev(float64_step(rnn), argnums=1))(x, h)
    assert got.shape == (batch, units, units) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(step(x, h), torch.func.vmap(float64_step(rnn))(x, h), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kind", ["gru", "tanh", "relu"])
def test_the_step_is_the_module_step(kind):
    rnn = random_recurrent(kind, 5, 4, True, seed=7)
    x, h = torch.randn(3, 5), torch.rand(3, 4) * 2 - 1  # (B, I), (B, H)
    _, expected = rnn(x[None], h[None].contiguous())  # one step, batch_first=False: (1, B, I)
    torch.testing.assert_close(Step.of(rnn)(x, h), expected[0], rtol=0, atol=1e-6)


def test_gates_of_an_rnn_are_the_gru_it_equals():
    rnn = random_recurrent("tanh", 3, 2, True, seed=1)
    step = Step.of(rnn)
    gates = step.gates(step.input_part(torch.randn(4, 3)), torch.zeros(4, 2))
    assert (gates.reset == 1).all() and (gates.update == 0).all() and torch.equal(gates.candidate, gates.hidden)


def test_forced_gates_replace_the_computed_ones_where_not_nan():
    gru = random_recurrent("gru", 3, 4, True, seed=2)
    step = Step.of(gru, dtype=torch.float64)
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.rand(2, 4, dtype=torch.float64)
    free = step.gates(step.input_part(x), h)
    forced = torch.tensor([0.0, float("nan"), 1.0, float("nan")], dtype=torch.float64)
    gates = step.gates(step.input_part(x), h, forced_update=forced, forced_reset=torch.ones(4, dtype=torch.float64))
    assert (gates.update[:, 0] == 0).all() and (gates.update[:, 2] == 1).all()
    torch.testing.assert_close(gates.update[:, 1::2], free.update[:, 1::2], rtol=0, atol=0)
    torch.testing.assert_close(gates.hidden[:, 2], h[:, 2], rtol=0, atol=0)  # z = 1 keeps the memory
    w_in, w_hn = gru.weight_ih_l0.detach().double()[8:], gru.weight_hh_l0.detach().double()[8:]
    b_in, b_hn = gru.bias_ih_l0.detach().double()[8:], gru.bias_hh_l0.detach().double()[8:]
    torch.testing.assert_close(gates.candidate, torch.tanh(x @ w_in.T + b_in + h @ w_hn.T + b_hn))  # r = 1


def test_another_activation_pair_keeps_the_jacobian_exact():
    softsign = torch.nn.functional.softsign  # a / (1 + |a|): slope (1 − |y|)²
    gate = Activation(lambda a: 0.5 * (1 + softsign(a)), lambda y: 0.5 * (1 - (2 * y - 1).abs()) ** 2)
    candidate = Activation(softsign, lambda y: (1 - y.abs()) ** 2)
    gru = random_recurrent("gru", 3, 5, True, seed=4)
    x, h = torch.randn(3, 3, dtype=torch.float64), torch.rand(3, 5, dtype=torch.float64) * 2 - 1
    step = Step.of(gru, dtype=torch.float64, gate=gate, candidate=candidate)
    written = float64_step(gru, gate=gate.function, candidate=softsign)
    torch.testing.assert_close(step.jacobian(x, h), torch.func.vmap(torch.func.jacrev(written, argnums=1))(x, h),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("rnn, message", [(nn.LSTM(3, 4), "torch.nn.GRU or torch.nn.RNN"),
                                          (nn.GRU(3, 4, num_layers=2), "1-layer unidirectional"),
                                          (nn.RNN(3, 4, bidirectional=True), "1-layer unidirectional")])
def test_only_a_single_layer_is_accepted(rnn, message):
    with pytest.raises(ValueError, match=message):
        check_single_layer(rnn, "this view is defined")
