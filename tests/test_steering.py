"""steer: P after each word with α·d added to h after chosen words, against a float64 step-by-step run written
here from the model's own weights."""

import numpy as np
import pytest
import torch

from gru_viz.analysis.steering import steer, unit_direction
from tests.library_helpers import float64_step, gated_model

TEXT = "great movie but the plot is boring and not lovely"


def _reference(model, text, direction, alpha, positions):
    """The model's equations in float64 (the tests' shared step), one word at a time, adding α·d after each chosen
    word, then the readout."""
    step = float64_step(model.gru)
    state = model.state_dict()
    embedding, weight = state["embedding.weight"].double(), state["head.weight"][0].double()
    h, out = torch.zeros(model.gru.hidden_size, dtype=torch.float64), []
    for t, word in enumerate(model.tokenize(text)[1]):
        h = step(embedding[word], h)
        if positions is None or t in positions:
            h = h + alpha * torch.as_tensor(direction, dtype=torch.float64)
        out.append(float(torch.sigmoid(weight @ h + state["head.bias"][0].double())))
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
    (lambda m: steer(m, "   ", np.ones(6), 1.0), "empty"),
    (lambda m: unit_direction(m, 6), "unit"),
])
def test_bad_arguments_are_one_line_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(gated_model())
