"""ActivationGRU: nn.GRU exactly with the standard activations; each other activation against a float64 step
written here; traced, saved and loaded like nn.GRU."""

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz import trace_gru
from gru_viz.analysis import gradient_flow
from gru_viz.model import ModelConfig, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary
from gru_viz.variants import ActivationGRU
from tests.library_helpers import float64_step


def _reference_states(cell: ActivationGRU, x: np.ndarray, gate, candidate):
    """The GRU equations in float64 (the tests' shared step) with the given activations, one step at a time: the
    states, and (r, z, n) of each step from the same equations."""
    step = float64_step(cell, gate=gate, candidate=candidate)
    units = cell.hidden_size
    w_ih, w_hh = cell.weight_ih_l0.detach().double(), cell.weight_hh_l0.detach().double()
    b_ih, b_hh = cell.bias_ih_l0.detach().double(), cell.bias_hh_l0.detach().double()
    h, states, gates = torch.zeros(units, dtype=torch.float64), [], []
    for x_t in torch.as_tensor(x, dtype=torch.float64):
        gi, gh = w_ih @ x_t + b_ih, w_hh @ h + b_hh
        r = gate(gi[:units] + gh[:units])
        gates.append((r, gate(gi[units:2 * units] + gh[units:2 * units]),
                      candidate(gi[2 * units:] + r * gh[2 * units:])))
        h = step(x_t, h)
        states.append(h)
    return torch.stack(states).numpy(), [tuple(g.numpy() for g in three) for three in gates]


ACTIVATIONS = {
    ("sigmoid", "tanh"): (torch.sigmoid, torch.tanh),
    ("hardsigmoid", "tanh"): (lambda v: torch.clamp(v / 6 + 0.5, 0, 1), torch.tanh),
    ("sigmoid", "relu"): (torch.sigmoid, lambda v: torch.clamp(v, min=0)),
    ("sigmoid", "linear"): (torch.sigmoid, lambda v: v),
}


def test_standard_activations_equal_nn_gru():
    torch.manual_seed(3)
    cell = ActivationGRU(5, 7)
    reference = nn.GRU(5, 7, batch_first=True)
    reference.load_state_dict(cell.state_dict())
    x, h0 = torch.randn(3, 11, 5), torch.randn(1, 3, 7)
    output, h_n = cell(x, h0)
    expected_output, expected_h_n = reference(x, h0)
    assert (output - expected_output).abs().max() <= 1e-6
    assert (h_n - expected_h_n).abs().max() <= 1e-6


def test_same_seed_gives_nn_gru_starting_weights():
    torch.manual_seed(0)
    cell = ActivationGRU(4, 6)
    torch.manual_seed(0)
    reference = nn.GRU(4, 6, batch_first=True)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(cell.state_dict()[name], tensor)


@pytest.mark.parametrize("activations", list(ACTIVATIONS))
def test_each_activation_against_a_float64_step(activations):
    torch.manual_seed(1)
    cell = ActivationGRU(4, 5, gate=activations[0], candidate=activations[1]).double()
    x = torch.randn(9, 4, dtype=torch.float64) * 3  # large inputs reach the hard sigmoid's flat ends
    expected, gates = _reference_states(cell, x.numpy(), *ACTIVATIONS[activations])
    output, h_n = cell(x)
    np.testing.assert_allclose(output.detach().numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(h_n[0].detach().numpy(), expected[-1], atol=1e-12)
    trace = trace_gru(cell, x)
    np.testing.assert_allclose(trace.hidden[0, 0, 0], expected, atol=1e-12)
    np.testing.assert_allclose(trace.reset[0, 0, 0], [g[0] for g in gates], atol=1e-12)
    np.testing.assert_allclose(trace.update[0, 0, 0], [g[1] for g in gates], atol=1e-12)
    np.testing.assert_allclose(trace.candidate[0, 0, 0], [g[2] for g in gates], atol=1e-12)


def test_hard_sigmoid_is_keras_clamp_and_its_slope():
    from gru_viz.step import GATE_ACTIVATIONS

    values = torch.linspace(-5, 5, 41, dtype=torch.float64)
    hard = GATE_ACTIVATIONS["hardsigmoid"]
    expected = np.clip(values.numpy() / 6 + 0.5, 0, 1)
    np.testing.assert_allclose(hard.function(values).numpy(), expected, atol=1e-15)
    inside = (values.numpy() > -3) & (values.numpy() < 3)
    np.testing.assert_allclose(hard.slope(hard.function(values)).numpy(), np.where(inside, 1 / 6, 0.0))


def test_gradient_flow_uses_the_variant_activations():
    torch.manual_seed(2)
    cell = ActivationGRU(3, 4, candidate="relu")
    x = torch.randn(6, 3)
    norms = gradient_flow(cell, x)

    def step(h, x_t):
        return cell(x_t[None].double(), h[None])[0][0]

    cell.double()
    states = cell(x.double())[0].detach()
    previous = torch.cat([torch.zeros(1, 4, dtype=torch.float64), states[:-1]])
    chain, expected = torch.eye(4, dtype=torch.float64), [np.sqrt(4)]
    for t in range(5, 0, -1):
        chain = chain @ torch.autograd.functional.jacobian(lambda h, t=t: step(h, x[t]), previous[t])
        expected.append(float(torch.linalg.matrix_norm(chain)))
    np.testing.assert_allclose(norms, expected[::-1], rtol=1e-9)


def test_forced_gates_work_with_other_activations():
    torch.manual_seed(4)
    cell = ActivationGRU(3, 4, gate="hardsigmoid", candidate="relu").double()
    x = torch.randn(5, 3, dtype=torch.float64)
    trace = trace_gru(cell, x, clamp_update=0, clamp_reset=1)  # a vanilla ReLU RNN
    w_ih, w_hh = cell.weight_ih_l0.detach().numpy(), cell.weight_hh_l0.detach().numpy()
    b_ih, b_hh = cell.bias_ih_l0.detach().numpy(), cell.bias_hh_l0.detach().numpy()
    h, expected = np.zeros(4), []
    for x_t in x.numpy():
        h = np.maximum(w_ih[8:] @ x_t + b_ih[8:] + w_hh[8:] @ h + b_hh[8:], 0)
        expected.append(h)
    np.testing.assert_allclose(trace.hidden[0, 0, 0], expected, atol=1e-12)
    assert trace.update.max() == 0 and trace.reset.min() == 1


def test_a_variant_model_folder_round_trips(tmp_path):
    vocab = Vocabulary.build([["good", "bad", "movie"]], 1)
    config = ModelConfig(vocab_size=len(vocab), embed_dim=6, hidden_size=4, candidate_activation="linear")
    torch.manual_seed(0)
    net = SentimentNet(config)
    assert isinstance(net.rnn, ActivationGRU)
    save_model(net, vocab, {"name": "linear"}, tmp_path / "m")
    model = load_model(tmp_path / "m")
    assert model.config.candidate_activation == "linear"
    sentence = model.trace("good movie")
    ids = torch.tensor([vocab.encode(["good", "movie"])])
    with torch.no_grad():
        logit = net.eval()(ids, torch.tensor([2]))
    assert sentence.probability[-1] == pytest.approx(float(torch.sigmoid(logit)), abs=1e-6)
    assert model.predict_proba(["good movie"])[0] == pytest.approx(float(torch.sigmoid(logit)), abs=1e-6)


@pytest.mark.parametrize("config", [dict(gate_activation="softsign"), dict(candidate_activation="gelu"),
                                    dict(arch="rnn", candidate_activation="relu")])
def test_bad_activation_configs_are_one_line_errors(config):
    with pytest.raises(ValueError):
        ModelConfig(**config)


@pytest.mark.parametrize("activations", [("hardsigmoid", "tanh"), ("sigmoid", "linear")])
def test_closed_form_jacobian_knows_the_activations(activations):
    from gru_viz.analysis import dataset_gradient_flow

    torch.manual_seed(5)
    cell = ActivationGRU(3, 4, gate=activations[0], candidate=activations[1])
    sequences = [torch.randn(7, 3) * 2, torch.randn(4, 3) * 2]
    flow = dataset_gradient_flow(cell, sequences)  # closed form, batched
    by_autograd = [gradient_flow(cell, s)[::-1] for s in sequences]  # autograd per sentence, by distance
    expected = [np.mean([norms[d] for norms in by_autograd if d < len(norms)]) for d in range(7)]
    np.testing.assert_allclose(flow.mean, expected, rtol=1e-9)
