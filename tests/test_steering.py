"""steer: P after each word with α·d added to h after chosen words, against a float64 step-by-step run written
here from the model's own weights."""

import numpy as np
import pytest

from gru_viz.analysis.steering import steer, unit_direction
from tests.library_helpers import gated_model

TEXT = "great movie but the plot is boring and not lovely"


def _weights(model):
    state = {name: tensor.double().numpy() for name, tensor in model.state_dict().items()}
    return state


def _reference(model, text, direction, alpha, positions):
    """The GRU (or RNN) equations in float64, one word at a time, adding α·d after each chosen word."""
    w = _weights(model)
    _, ids = model.tokenize(text)
    x = w["embedding.weight"][ids]  # (T, E)
    units = model.gru.hidden_size
    h, out = np.zeros(units), []
    for t, x_t in enumerate(x):
        gi = w["rnn.weight_ih_l0"] @ x_t + w["rnn.bias_ih_l0"]
        gh = w["rnn.weight_hh_l0"] @ h + w["rnn.bias_hh_l0"]
        if model.arch == "gru":
            r = 1 / (1 + np.exp(-(gi[:units] + gh[:units])))
            z = 1 / (1 + np.exp(-(gi[units:2 * units] + gh[units:2 * units])))
            n = np.tanh(gi[2 * units:] + r * gh[2 * units:])
            h = z * h + (1 - z) * n
        else:
            h = np.tanh(gi + gh)
        if positions is None or t in positions:
            h = h + alpha * np.asarray(direction)
        logit = w["head.weight"][0] @ h + w["head.bias"][0]
        out.append(1 / (1 + np.exp(-logit)))
    return np.array(out)


@pytest.mark.parametrize("arch", ["gru", "rnn"])
@pytest.mark.parametrize("positions", [None, [0], [2, 5]])
def test_steer_matches_a_float64_run(arch, positions):
    model = gated_model(arch, gain=1.5)
    rng = np.random.default_rng(0)
    direction = rng.normal(size=model.gru.hidden_size)
    steered, free = steer(model, TEXT, direction, 0.7, positions=positions)
    np.testing.assert_allclose(steered, _reference(model, TEXT, direction, 0.7, positions), atol=2e-6)
    np.testing.assert_allclose(free, _reference(model, TEXT, direction, 0.0, None), atol=2e-6)
    np.testing.assert_allclose(free, model.trace(TEXT).probability, atol=1e-6)


def test_steering_before_a_word_leaves_earlier_words_alone():
    model = gated_model(gain=1.5)
    steered, free = steer(model, TEXT, unit_direction(model, 2), 3.0, positions=[4])
    np.testing.assert_allclose(steered[:4], free[:4], atol=1e-6)
    assert abs(steered[4] - free[4]) > 1e-3


@pytest.mark.parametrize("call, message", [
    (lambda m: steer(m, TEXT, np.ones(3), 1.0), "direction"),
    (lambda m: steer(m, TEXT, np.full(6, np.nan), 1.0), "direction"),
    (lambda m: steer(m, TEXT, np.ones(6), float("inf")), "alpha"),
    (lambda m: steer(m, TEXT, np.ones(6), 1.0, positions=[10]), "positions"),
    (lambda m: steer(m, "   ", np.ones(6), 1.0), ""),
    (lambda m: unit_direction(m, 6), "unit"),
])
def test_bad_arguments_are_one_line_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(gated_model())
