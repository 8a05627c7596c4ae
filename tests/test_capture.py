"""gru_viz.capture on modules defined here, checked against a float64 numpy GRU written here and against what
the GRU itself returned inside the module."""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import gru_viz
from gru_viz import capture, trace_gru
from gru_viz.variants import ActivationGRU

FIELDS = ("update", "reset", "candidate", "hidden", "previous")


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def reference(rnn, sequences, h0=None):
    """Every gate of every step, float64 numpy, one sequence (T_b, I) at a time, NaN past each sequence's end:
    field → (L, D, B, T, H), plus "output" (B, T, D*H) and "h_n" (L*D, B, H). PyTorch's equations and gate
    order (r, z, n); an nn.RNN is reported with z = 0, r = 1 and n = h."""
    layers, directions, units = rnn.num_layers, 2 if rnn.bidirectional else 1, rnn.hidden_size
    batch, steps = len(sequences), max(len(s) for s in sequences)
    result = {field: np.full((layers, directions, batch, steps, units), np.nan) for field in FIELDS}
    result["output"] = np.full((batch, steps, directions * units), np.nan)
    result["h_n"] = np.empty((layers * directions, batch, units))
    weights = {name: value.detach().double().numpy() for name, value in rnn.named_parameters()}
    squash = np.tanh if isinstance(rnn, nn.GRU) or rnn.nonlinearity == "tanh" else (lambda a: np.maximum(a, 0.0))
    for b, sequence in enumerate(sequences):
        layer_input = np.asarray(sequence, dtype=np.float64)  # (T_b, I)
        length = len(layer_input)
        for layer in range(layers):
            outputs = []
            for d in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                w_ih, w_hh = weights["weight_ih" + suffix], weights["weight_hh" + suffix]
                b_ih, b_hh = weights["bias_ih" + suffix], weights["bias_hh" + suffix]
                h = np.zeros(units) if h0 is None else np.asarray(h0, dtype=np.float64)[layer * directions + d, b]
                states = np.empty((length, units))
                for t in (range(length - 1, -1, -1) if d else range(length)):
                    pushed, held = w_ih @ layer_input[t] + b_ih, w_hh @ h + b_hh
                    if isinstance(rnn, nn.GRU):
                        r = _sigmoid(pushed[:units] + held[:units])
                        z = _sigmoid(pushed[units:2 * units] + held[units:2 * units])
                        n = np.tanh(pushed[2 * units:] + r * held[2 * units:])
                        new = z * h + (1 - z) * n
                    else:
                        r, z = np.ones(units), np.zeros(units)
                        n = new = squash(pushed + held)
                    for field, value in zip(FIELDS, (z, r, n, new, h)):
                        result[field][layer, d, b, t] = value
                    h = states[t] = new
                result["h_n"][layer * directions + d, b] = h
                outputs.append(states)
            layer_input = np.concatenate(outputs, axis=1)  # (T_b, D*H)
        result["output"][b, :length] = layer_input
    return result


def assert_trace(trace, expected, atol):
    for field in FIELDS:
        np.testing.assert_allclose(getattr(trace, field), expected[field], rtol=0, atol=atol, err_msg=field)


class Packed(nn.Module):
    """A padded batch with its lengths, packed for a 2-layer bidirectional GRU given h0 by keyword."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)

    def forward(self, x, lengths, h0):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        output, h_n = self.gru(packed, hx=h0)
        return pad_packed_sequence(output, batch_first=True), h_n


def test_packed_bidirectional_with_h0_is_exact_and_nan_past_each_end():
    torch.manual_seed(0)
    module = Packed().double()
    lengths = torch.tensor([5, 2, 6, 3, 2])
    x = torch.randn(5, 6, 3, dtype=torch.float64)
    h0 = torch.randn(4, 5, 4, dtype=torch.float64)  # (L*D, B, H)
    c = capture(module, x, lengths, h0)
    trace = c["gru"]
    assert trace.shape == (2, 2, 5, 6, 4)
    np.testing.assert_array_equal(trace.lengths, [5, 2, 6, 3, 2])
    expected = reference(module.gru, [x[b, :n].numpy() for b, n in enumerate(lengths)], h0.numpy())
    assert_trace(trace, expected, 1e-12)
    np.testing.assert_allclose(trace.h0.reshape(4, 5, 4), h0.numpy(), rtol=0, atol=0)
    # against what the GRU itself returned: padded output (0 past the end in PyTorch, NaN in the trace) and h_n
    (padded, returned_lengths), h_n = c.output
    np.testing.assert_array_equal(returned_lengths, lengths)
    inside = np.arange(6)[None, :] < lengths.numpy()[:, None]  # (B, T)
    np.testing.assert_allclose(trace.output[inside], padded.detach().numpy()[inside], rtol=0, atol=1e-12)
    assert np.isnan(trace.output[~inside]).all() and np.isnan(trace.update[:, :, ~inside]).all()
    np.testing.assert_allclose(trace.h_n, h_n.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.h_n, expected["h_n"], rtol=0, atol=1e-12)


def test_packed_sequence_first_float32_matches_the_gru():
    torch.manual_seed(1)
    gru = nn.GRU(2, 3)  # sequence first
    sequences = [torch.randn(n, 2) for n in (4, 1, 3)]
    packed = nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)
    c = capture(gru, packed)
    trace = c[""]  # the module is itself the GRU
    assert trace.output.shape == (4, 3, 3)  # (T, B, D*H), the GRU's own layout
    expected = reference(gru, [s.numpy() for s in sequences])
    assert_trace(trace, expected, 1e-6)
    returned, _ = pad_packed_sequence(c.output[0])  # (T, B, H)
    inside = ~np.isnan(trace.output)
    np.testing.assert_allclose(trace.output[inside], returned.detach().numpy()[inside], rtol=0, atol=1e-6)


def test_packed_one_direction_two_layers_with_h0():
    torch.manual_seed(8)
    gru = nn.GRU(2, 3, num_layers=2, batch_first=True).double()
    sequences = [torch.randn(n, 2, dtype=torch.float64) for n in (3, 6, 1, 6)]
    h0 = torch.randn(2, 4, 3, dtype=torch.float64)
    c = capture(gru, nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False), h0)
    expected = reference(gru, [s.numpy() for s in sequences], h0.numpy())
    assert_trace(c[""], expected, 1e-12)
    np.testing.assert_allclose(c[""].output, expected["output"], rtol=0, atol=1e-12)  # NaN past each end
    np.testing.assert_allclose(c[""].h_n, c.output[1].detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_clamps_apply_to_each_sequence_as_placed_in_the_batch(bidirectional):
    torch.manual_seed(9)
    gru = nn.GRU(2, 3, bidirectional=bidirectional).double()
    sequences = [torch.randn(n, 2, dtype=torch.float64) for n in (4, 2, 3)]
    directions = 2 if bidirectional else 1
    clamp = np.full((1, directions, 3, 4, 3), np.nan)
    clamp[:, :, :, 1, 0] = 0.0  # unit 0's update gate shut at step 1 of every sequence
    clamp[:, :, 2, :, 2] = 1.0  # and unit 2's held open throughout the third
    packed = trace_gru(gru, nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False), clamp_update=clamp)
    for b, sequence in enumerate(sequences):
        alone = trace_gru(gru, sequence, clamp_update=clamp[:, :, b:b + 1, :len(sequence)])
        np.testing.assert_allclose(packed.update[:, :, b, :len(sequence)], alone.update[:, :, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(packed.hidden[:, :, b, :len(sequence)], alone.hidden[:, :, 0], rtol=0, atol=1e-12)
    assert packed.update[0, 0, 0, 1, 0] == 0.0 and (packed.update[:, :, 2, :3, 2] == 1.0).all()


class SequenceFirst(nn.Module):
    """A sequence-first GRU given h0 positionally, then a readout of every step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 5, num_layers=2)
        self.readout = nn.Linear(5, 1)

    def forward(self, x, h0):
        states, _ = self.rnn(x, h0)  # (T, B, H)
        return self.readout(states), states


def test_sequence_first_with_h0():
    torch.manual_seed(2)
    module = SequenceFirst().double()
    x = torch.randn(7, 2, 3, dtype=torch.float64)  # (T, B, I)
    h0 = torch.randn(2, 2, 5, dtype=torch.float64)
    c = capture(module, x, h0=h0)
    expected = reference(module.rnn, [x[:, b].numpy() for b in range(2)], h0.numpy())
    assert_trace(c["rnn"], expected, 1e-12)
    assert c["rnn"].lengths is None
    np.testing.assert_allclose(c["rnn"].output, c.output[1].detach().numpy(), rtol=0, atol=1e-12)
    assert c.calls == {"rnn": 1}


def test_unbatched_input():
    torch.manual_seed(3)
    gru = nn.GRU(3, 4, bidirectional=True).double()
    x = torch.randn(5, 3, dtype=torch.float64)  # (T, I)
    c = capture(gru, x)
    assert_trace(c[""], reference(gru, [x.numpy()]), 1e-12)
    np.testing.assert_allclose(c[""].output, c.output[0].detach().numpy(), rtol=0, atol=1e-12)


class TwoGRUs(nn.Module):
    """Two GRUs: the second reads the first's outputs, the first runs twice (on x, then on x reversed)."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.GRU(3, 4, batch_first=True)
        self.decoder = nn.GRU(4, 2, batch_first=True)

    def forward(self, x):
        encoded, _ = self.encoder(x)  # (B, T, 4)
        self.encoder(x.flip(1))  # a second call: not the one traced
        decoded, _ = self.decoder(encoded)  # (B, T, 2)
        return encoded, decoded


def test_two_grus_and_a_second_call():
    torch.manual_seed(4)
    module = TwoGRUs().double()
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    c = capture(module, x)
    assert list(c.traces) == ["encoder", "decoder"] and list(c) == ["encoder", "decoder"]
    assert c.calls == {"encoder": 2, "decoder": 1}
    encoded, decoded = (value.detach().numpy() for value in c.output)
    assert_trace(c["encoder"], reference(module.encoder, list(x.numpy())), 1e-12)  # the first call's input
    assert_trace(c["decoder"], reference(module.decoder, list(encoded)), 1e-12)
    np.testing.assert_allclose(c["encoder"].output, encoded, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c["decoder"].output, decoded, rtol=0, atol=1e-12)


class States(nn.Module):
    """nn.GRU returns (output, h_n); the next layer of a Sequential takes the output."""

    def forward(self, returned):
        return returned[0]


def test_gru_inside_sequential():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(2, 3), nn.GRU(3, 4, batch_first=True), States(), nn.Linear(4, 1))
    x = torch.randn(2, 5, 2)
    c = capture(model, x)
    assert list(c.traces) == ["1"]
    with torch.no_grad():
        projected = model[0](x).numpy()  # what the GRU read
        read_out = model[3](torch.from_numpy(c["1"].output)).numpy()
    assert_trace(c["1"], reference(model[1], list(projected)), 1e-6)
    np.testing.assert_allclose(read_out, c.output.detach().numpy(), rtol=0, atol=1e-6)


class Fails(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(2, 2)

    def forward(self, x):
        self.gru(x)
        raise RuntimeError("the user's forward failed")


def test_hooks_removed_when_the_forward_raises():
    module = Fails()
    with pytest.raises(RuntimeError, match="the user's forward failed"):
        capture(module, torch.randn(3, 2))
    assert not module.gru._forward_hooks and not module.gru._forward_hooks_with_kwargs
    assert not module._forward_hooks and not module.gru._forward_pre_hooks


def test_hooks_removed_after_success():
    module = TwoGRUs()
    capture(module, torch.randn(1, 2, 3))
    assert not module.encoder._forward_hooks and not module.decoder._forward_hooks


class TwoRNNs(nn.Module):
    def __init__(self):
        super().__init__()
        self.tanh = nn.RNN(3, 4, batch_first=True)
        self.relu = nn.RNN(4, 2, num_layers=2, bidirectional=True, nonlinearity="relu", batch_first=True)

    def forward(self, x, h0):
        states, _ = self.tanh(x, h0)
        return self.relu(states)


def test_rnn_traced_as_the_gru_it_equals():
    torch.manual_seed(6)
    module = TwoRNNs().double()
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    h0 = torch.randn(1, 2, 4, dtype=torch.float64)
    c = capture(module, x, h0)
    assert_trace(c["tanh"], reference(module.tanh, list(x.numpy()), h0.numpy()), 1e-12)
    with torch.no_grad():
        states = module.tanh(x, h0)[0].numpy()
    expected = reference(module.relu, list(states))
    assert_trace(c["relu"], expected, 1e-12)
    output, h_n = c.output
    np.testing.assert_allclose(c["relu"].output, output.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(c["relu"].h_n, h_n.detach().numpy(), rtol=0, atol=1e-12)


def test_packed_rnn():
    torch.manual_seed(7)
    rnn = nn.RNN(2, 3, bidirectional=True, batch_first=True).double()
    sequences = [torch.randn(n, 2, dtype=torch.float64) for n in (2, 4)]
    c = capture(rnn, nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False))
    assert_trace(c[""], reference(rnn, [s.numpy() for s in sequences]), 1e-12)
    np.testing.assert_allclose(c[""].h_n, c.output[1].detach().numpy(), rtol=0, atol=1e-12)


def test_a_gru_with_other_activations_is_captured_with_its_own():
    torch.manual_seed(10)
    cell = ActivationGRU(2, 3, gate="hardsigmoid", candidate="relu")
    x, h0 = torch.randn(2, 5, 2), torch.rand(1, 2, 3)
    c = capture(cell, x, h0)
    output, h_n = c.output
    np.testing.assert_allclose(c[""].output, output.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(c[""].h_n, h_n.detach().numpy(), rtol=0, atol=1e-6)
    assert c[""].candidate.min() == 0.0  # relu, not tanh: the cell's own candidate


def test_inputs_that_require_grad_and_the_output_keep_their_graph():
    gru = nn.GRU(2, 3, batch_first=True)
    x = torch.randn(1, 4, 2, requires_grad=True)
    c = capture(gru, x)
    c.output[0].sum().backward()  # the module ran as usual
    assert x.grad is not None and c[""].hidden.shape == (1, 1, 1, 4, 3)


def test_clear_errors():
    with pytest.raises(ValueError, match="holds no torch.nn.GRU or torch.nn.RNN"):
        capture(nn.Linear(2, 2), torch.randn(2))
    with pytest.raises(ValueError, match="needs a torch.nn.Module"):
        capture(lambda x: x, torch.randn(2))
    c = capture(TwoGRUs(), torch.randn(1, 2, 3))
    with pytest.raises(KeyError, match="no GRU or RNN named 'gru'; captured: 'encoder', 'decoder'"):
        c["gru"]


def test_a_layer_that_did_not_run():
    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = nn.GRU(2, 2), nn.GRU(2, 2)

        def forward(self, x):
            return self.used(x)

    c = capture(Unused(), torch.randn(3, 2))
    assert c.calls == {"used": 1, "spare": 0} and "spare" not in c
    with pytest.raises(KeyError, match="did not run"):
        c["spare"]


def test_exported_from_the_package():
    assert gru_viz.capture is capture and "capture" in gru_viz.__all__ and "Capture" in gru_viz.__all__
