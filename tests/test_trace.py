"""trace_gru against an independent float64 GRU written here from PyTorch's documented equations.

    r_t = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z_t = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t-1}

with W_ih = [W_ir; W_iz; W_in] stacked in that order in ``weight_ih_l{k}[_reverse]``.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gru_viz.trace import GRUTrace, trace_gru

SETTINGS = settings(max_examples=40, deadline=None)


# ---- the oracle ------------------------------------------------------------------------------------


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference_gru(gru, x, h0=None, clamp_update=None, clamp_reset=None):
    """Step-by-step float64 GRU. Returns dict of (L, D, B, T, H) arrays: update, reset, candidate,
    hidden, previous; plus h0 (L, D, B, H). Clamps broadcast to (L, D, B, T, H), NaN = free."""
    params = {name: p.detach().double().numpy() for name, p in gru.named_parameters()}
    x = np.asarray(x.detach() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
    if x.ndim == 2:
        x = x[None]  # (1, T, I)
    elif not gru.batch_first:
        x = x.transpose(1, 0, 2)  # (B, T, I)
    batch, steps, _ = x.shape
    layers, directions, units = gru.num_layers, 1 + gru.bidirectional, gru.hidden_size
    shape = (layers, directions, batch, steps, units)
    if h0 is None:
        start = np.zeros((layers, directions, batch, units))
    else:
        start = np.asarray(h0.detach(), dtype=np.float64).reshape(layers, directions, batch, units)
    free = np.full(shape, np.nan)
    clamp_update = free if clamp_update is None else np.broadcast_to(np.asarray(clamp_update, np.float64), shape)
    clamp_reset = free if clamp_reset is None else np.broadcast_to(np.asarray(clamp_reset, np.float64), shape)

    out = {name: np.zeros(shape) for name in ("update", "reset", "candidate", "hidden", "previous")}
    layer_input = x
    for layer in range(layers):
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ir, w_iz, w_in = np.split(params["weight_ih" + suffix], 3)
            w_hr, w_hz, w_hn = np.split(params["weight_hh" + suffix], 3)
            zeros = np.zeros(3 * units)
            b_ir, b_iz, b_in = np.split(params.get("bias_ih" + suffix, zeros), 3)
            b_hr, b_hz, b_hn = np.split(params.get("bias_hh" + suffix, zeros), 3)
            h = start[layer, direction]  # (B, H)
            for t in (range(steps - 1, -1, -1) if direction else range(steps)):
                x_t = layer_input[:, t]  # (B, I)
                r = _sigmoid(x_t @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
                z = _sigmoid(x_t @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
                r = np.where(np.isnan(clamp_reset[layer, direction, :, t]), r, clamp_reset[layer, direction, :, t])
                z = np.where(np.isnan(clamp_update[layer, direction, :, t]), z, clamp_update[layer, direction, :, t])
                n = np.tanh(x_t @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
                out["previous"][layer, direction, :, t] = h
                h = (1 - z) * n + z * h
                for name, value in (("update", z), ("reset", r), ("candidate", n), ("hidden", h)):
                    out[name][layer, direction, :, t] = value
        layer_input = np.concatenate([out["hidden"][layer, d] for d in range(directions)], axis=-1)  # (B, T, D*H)
    out["h0"] = start
    return out


# ---- random configurations -------------------------------------------------------------------------


@st.composite
def configs(draw):
    return dict(
        seed=draw(st.integers(0, 2**31 - 1)),
        layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        bias=draw(st.booleans()),
        with_h0=draw(st.booleans()),
        unbatched=draw(st.booleans()),
        steps=draw(st.integers(1, 6)),
        batch=draw(st.integers(1, 3)),
        units=draw(st.integers(1, 5)),
        features=draw(st.integers(1, 4)),
    )


def build(config, dtype=torch.float32):
    """(gru, x, h0) for a config; x in the layout the GRU expects."""
    torch.manual_seed(config["seed"])
    gru = nn.GRU(config["features"], config["units"], num_layers=config["layers"], bias=config["bias"],
                 batch_first=config["batch_first"], bidirectional=config["bidirectional"]).to(dtype).eval()
    if config["bias"]:  # default biases are small; make them matter
        with torch.no_grad():
            for name, p in gru.named_parameters():
                if name.startswith("bias"):
                    p.uniform_(-1, 1)
    steps, batch, features = config["steps"], config["batch"], config["features"]
    states = config["layers"] * (2 if config["bidirectional"] else 1)
    if config["unbatched"]:
        x = torch.randn(steps, features, dtype=dtype)  # (T, I)
        h0 = torch.randn(states, config["units"], dtype=dtype) if config["with_h0"] else None
    else:
        x = torch.randn(batch, steps, features, dtype=dtype)  # (B, T, I)
        if not config["batch_first"]:
            x = x.transpose(0, 1).contiguous()  # (T, B, I)
        h0 = torch.randn(states, batch, config["units"], dtype=dtype) if config["with_h0"] else None
    return gru, x, h0


def snapshot(module):
    return {name: p.detach().clone() for name, p in module.state_dict().items()}, module.training


def assert_unchanged(module, before):
    state, training = before
    assert module.training == training
    after = module.state_dict()
    assert after.keys() == state.keys()
    for name, value in state.items():
        assert torch.equal(after[name], value), name


def assert_close(actual, expected, tol):
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=0, atol=tol)


# ---- free run --------------------------------------------------------------------------------------


@SETTINGS
@given(config=configs())
def test_trace_matches_float64_oracle(config):
    gru, x, h0 = build(config)
    before = snapshot(gru)
    trace = trace_gru(gru, x, h0)
    expected = reference_gru(gru, x, h0)
    assert trace.shape == expected["update"].shape
    for name in ("update", "reset", "candidate", "hidden", "previous", "h0"):
        assert getattr(trace, name).dtype == np.float32
        assert_close(getattr(trace, name), expected[name], 1e-5)
    assert_unchanged(gru, before)


@SETTINGS
@given(config=configs())
def test_hidden_output_and_h_n_equal_nn_gru(config):
    gru, x, h0 = build(config)
    with torch.no_grad():
        output, h_n = gru(x, h0)
    trace = trace_gru(gru, x, h0)
    assert trace.output.shape == tuple(output.shape)
    assert trace.h_n.shape == tuple(h_n.shape)
    assert_close(trace.output, output.double().numpy(), 1e-6)
    assert_close(trace.h_n, h_n.double().numpy(), 1e-6)

    # every layer's hidden, against an nn.GRU truncated after that layer
    directions = 2 if gru.bidirectional else 1
    for layer in range(gru.num_layers):
        sub = nn.GRU(gru.input_size, gru.hidden_size, num_layers=layer + 1, bias=gru.bias,
                     batch_first=gru.batch_first, bidirectional=gru.bidirectional).eval()
        sub.load_state_dict({k: v for k, v in gru.state_dict().items()
                             if int(k.split("_l")[1].split("_")[0]) <= layer})
        with torch.no_grad():
            sub_output, _ = sub(x, None if h0 is None else h0[:(layer + 1) * directions])
        sub_output = sub_output.numpy()
        if x.dim() == 2:
            sub_output = sub_output[None]  # (1, T, D*H)
        elif not gru.batch_first:
            sub_output = sub_output.transpose(1, 0, 2)  # (B, T, D*H)
        batch, steps = sub_output.shape[:2]
        sub_output = sub_output.reshape(batch, steps, directions, gru.hidden_size).transpose(2, 0, 1, 3)  # (D, B, T, H)
        assert_close(trace.hidden[layer], sub_output, 1e-6)


def test_float64_module_traces_in_float64():
    config = dict(seed=3, layers=2, bidirectional=True, batch_first=True, bias=True, with_h0=True,
                  unbatched=False, steps=7, batch=2, units=4, features=3)
    gru, x, h0 = build(config, dtype=torch.float64)
    trace = trace_gru(gru, x, h0)
    expected = reference_gru(gru, x, h0)
    for name in ("update", "reset", "candidate", "hidden", "previous"):
        assert getattr(trace, name).dtype == np.float64
        assert_close(getattr(trace, name), expected[name], 1e-12)


def test_train_mode_with_dropout_traces_as_eval_and_is_not_modified():
    torch.manual_seed(0)
    gru = nn.GRU(3, 5, num_layers=3, dropout=0.5, bidirectional=True).train()
    x = torch.randn(8, 2, 3)  # (T, B, I)
    before = snapshot(gru)
    requires_grad = {name: p.requires_grad for name, p in gru.named_parameters()}
    trace = trace_gru(gru, x)
    trace_again = trace_gru(gru, x)
    assert_unchanged(gru, before)
    assert gru.training
    assert {name: p.requires_grad for name, p in gru.named_parameters()} == requires_grad
    with torch.no_grad():
        output, h_n = copy.deepcopy(gru).eval()(x)
    assert_close(trace.output, output.double().numpy(), 1e-6)
    assert_close(trace.h_n, h_n.double().numpy(), 1e-6)
    np.testing.assert_array_equal(trace.hidden, trace_again.hidden)  # no dropout noise
    assert_close(trace.hidden, reference_gru(gru, x)["hidden"], 1e-5)


def test_inputs_that_require_grad_are_accepted():
    torch.manual_seed(1)
    gru = nn.GRU(3, 4, num_layers=2)
    x = torch.randn(5, 2, 3, requires_grad=True)
    h0 = torch.randn(2, 2, 4, requires_grad=True)
    expected = reference_gru(gru, x, h0)
    for clamp in (None, 0.5):
        trace = trace_gru(gru, x, h0, clamp_update=clamp)
        assert_close(trace.h0, expected["h0"], 0)
        if clamp is None:
            assert_close(trace.hidden, expected["hidden"], 1e-5)


def test_field_names_are_pinned():
    assert [field.name for field in dataclasses.fields(GRUTrace)] == [
        "update", "reset", "candidate", "hidden", "h0", "output", "h_n", "lengths"]


def test_unbatched_is_batch_of_one():
    torch.manual_seed(2)
    gru = nn.GRU(4, 3, bidirectional=True)
    x = torch.randn(6, 4)  # (T, I)
    h0 = torch.randn(2, 3)  # (L*D, H)
    single = trace_gru(gru, x, h0)
    batched = trace_gru(gru, x[:, None], h0[:, None])
    assert single.shape == (1, 2, 1, 6, 3)
    assert single.output.shape == (6, 6) and single.h_n.shape == (2, 3)
    np.testing.assert_allclose(single.hidden, batched.hidden, atol=1e-7)
    np.testing.assert_allclose(single.output, batched.output[:, 0], atol=1e-7)


# ---- vanilla RNN mode ------------------------------------------------------------------------------


def rnn_from_candidate(gru):
    """The nn.RNN(tanh) a GRU becomes with z=0, r=1: h_t = tanh(W_in x_t + b_in + W_hn h_{t-1} + b_hn)."""
    rnn = nn.RNN(gru.input_size, gru.hidden_size, num_layers=gru.num_layers, nonlinearity="tanh",
                 bias=gru.bias, batch_first=gru.batch_first, bidirectional=gru.bidirectional).eval()
    units = gru.hidden_size
    rnn.load_state_dict({name: value[2 * units:] for name, value in gru.state_dict().items()})
    return rnn


@pytest.mark.parametrize("layers, bidirectional, batch_first, bias, with_h0", [
    (1, False, False, True, False),
    (1, False, True, False, True),
    (2, False, False, True, True),
    (1, True, True, True, False),
    (2, True, False, True, True),
    (3, True, True, False, False),
])
def test_vanilla_rnn_mode_equals_nn_rnn(layers, bidirectional, batch_first, bias, with_h0):
    config = dict(seed=layers * 10 + bidirectional, layers=layers, bidirectional=bidirectional,
                  batch_first=batch_first, bias=bias, with_h0=with_h0, unbatched=False,
                  steps=9, batch=2, units=5, features=3)
    gru, x, h0 = build(config)
    rnn = rnn_from_candidate(gru)
    with torch.no_grad():
        output, h_n = rnn(x, h0)
    trace = trace_gru(gru, x, h0, clamp_update=0, clamp_reset=1)
    assert_close(trace.output, output.double().numpy(), 1e-5)
    assert_close(trace.h_n, h_n.double().numpy(), 1e-5)
    assert np.all(trace.update == 0) and np.all(trace.reset == 1)
    np.testing.assert_allclose(trace.candidate, trace.hidden, atol=1e-7)  # h_t = n_t


# ---- clamps ----------------------------------------------------------------------------------------


@st.composite
def clamp_arrays(draw, shape):
    """A clamp broadcastable to shape: per unit, per step, per layer, or per element; NaN where free."""
    layers, directions, batch, steps, units = shape
    kind = draw(st.sampled_from(["scalar", "units", "steps", "layers", "full"]))
    clamp_shape = {"scalar": (), "units": (units,), "steps": (1, 1, 1, steps, 1),
                   "layers": (layers, 1, 1, 1, 1), "full": shape}[kind]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.uniform(0, 1, clamp_shape)
    values[rng.uniform(size=clamp_shape) < draw(st.floats(0, 1))] = np.nan
    if draw(st.booleans()) and values.size:  # the interval's ends are allowed
        values.flat[0] = draw(st.sampled_from([0.0, 1.0]))
    return values


@SETTINGS
@given(config=configs(), data=st.data())
def test_partial_clamps_match_oracle(config, data):
    gru, x, h0 = build(config)
    before = snapshot(gru)
    shape = trace_gru(gru, x, h0).shape
    clamp_update = data.draw(st.none() | clamp_arrays(shape))
    clamp_reset = data.draw(st.none() | clamp_arrays(shape))
    trace = trace_gru(gru, x, h0, clamp_update=clamp_update, clamp_reset=clamp_reset)
    expected = reference_gru(gru, x, h0, clamp_update, clamp_reset)
    for name in ("update", "reset", "candidate", "hidden", "previous"):
        assert_close(getattr(trace, name), expected[name], 1e-5)
    with torch.no_grad():
        output, h_n = gru(x, h0)
    if clamp_update is None and clamp_reset is None:
        assert_close(trace.output, output.double().numpy(), 1e-6)
    for clamp, gate in ((clamp_update, trace.update), (clamp_reset, trace.reset)):
        if clamp is not None:
            clamp = np.broadcast_to(clamp, shape)
            fixed = ~np.isnan(clamp)
            np.testing.assert_array_equal(gate[fixed], clamp[fixed].astype(np.float32))
    assert_unchanged(gru, before)


def test_clamping_to_the_free_values_reproduces_the_free_run():
    config = dict(seed=5, layers=2, bidirectional=True, batch_first=False, bias=True, with_h0=True,
                  unbatched=False, steps=8, batch=3, units=4, features=2)
    gru, x, h0 = build(config)
    free = trace_gru(gru, x, h0)
    clamped = trace_gru(gru, x, h0, clamp_update=free.update, clamp_reset=free.reset)
    all_nan = trace_gru(gru, x, h0, clamp_update=np.nan, clamp_reset=np.full(free.shape, np.nan))
    for name in ("update", "reset", "candidate", "hidden"):
        np.testing.assert_allclose(getattr(clamped, name), getattr(free, name), atol=1e-6)
        np.testing.assert_array_equal(getattr(all_nan, name), getattr(free, name))
    np.testing.assert_allclose(clamped.output, free.output, atol=1e-6)


def test_clamp_on_layer_0_changes_layer_1():
    config = dict(seed=7, layers=2, bidirectional=False, batch_first=True, bias=True, with_h0=False,
                  unbatched=True, steps=6, batch=1, units=4, features=3)
    gru, x, h0 = build(config)
    free = trace_gru(gru, x)
    clamp = np.full(free.shape, np.nan)
    clamp[0, :, :, 2] = 0.0  # layer 0 writes its candidate at step 2 in full
    clamped = trace_gru(gru, x, clamp_update=clamp)
    assert np.all(clamped.update[0, :, :, 2] == 0)
    np.testing.assert_allclose(clamped.hidden[0, :, :, :2], free.hidden[0, :, :, :2], atol=1e-6)  # before the clamp
    assert np.abs(clamped.hidden[1, :, :, 2:] - free.hidden[1, :, :, 2:]).max() > 1e-3  # layer 1 sees it
    assert_close(clamped.hidden, reference_gru(gru, x, clamp_update=clamp)["hidden"], 1e-5)


@pytest.mark.parametrize("name", ["clamp_update", "clamp_reset"])
@pytest.mark.parametrize("value", [
    1.5, -0.1, [0.2, np.nan, 2.0, 0.1], np.inf, -np.inf,  # out of [0, 1]
    np.zeros((5, 7)), np.zeros(3), np.zeros((2, 1, 1, 1, 1, 1, 4)), "half",  # wrong shape or type
])
def test_bad_clamps_raise(name, value):
    torch.manual_seed(0)
    gru = nn.GRU(2, 4)
    with pytest.raises(ValueError, match=name):
        trace_gru(gru, torch.randn(6, 2), **{name: value})


# ---- bad inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_x, h0", [
    (lambda: torch.randn(5, 4), None),  # wrong feature count, unbatched
    (lambda: torch.randn(5, 2, 4), None),  # wrong feature count, batched
    (lambda: torch.randn(2, 5, 2, 3), None),  # 4-D
    (lambda: torch.randn(5), None),  # 1-D
    (lambda: torch.randn(0, 3), None),  # no steps
    (lambda: torch.randn(5, 2, 3), torch.zeros(2, 2, 5)),  # wrong h0: units
    (lambda: torch.randn(5, 2, 3), torch.zeros(1, 2, 6)),  # wrong h0: layers
    (lambda: torch.randn(5, 2, 3), torch.zeros(2, 3, 6)),  # wrong h0: batch
    (lambda: torch.randn(5, 2, 3), torch.zeros(2, 6)),  # unbatched h0 with batched x
    (lambda: torch.randn(5, 3), torch.zeros(2, 1, 6)),  # batched h0 with unbatched x
])
def test_bad_inputs_raise(make_x, h0):
    torch.manual_seed(0)
    gru = nn.GRU(3, 6, num_layers=2)
    with pytest.raises(ValueError):
        trace_gru(gru, make_x(), h0)


@pytest.mark.parametrize("module", [nn.LSTM(3, 4), nn.RNN(3, 4), nn.Linear(3, 4)])
def test_non_gru_modules_raise(module):
    with pytest.raises(ValueError, match="GRU"):
        trace_gru(module, torch.randn(5, 3))
