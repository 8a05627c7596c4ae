"""unit_ablation: accuracy with one unit's h zeroed (or frozen at h0) after every word, against a float64
step-by-step run written here from the model's own weights."""

import numpy as np
import pytest
import torch

from gru_viz.analysis import UNIT_ABLATIONS, unit_ablation
from gru_viz.model import is_positive
from tests.library_helpers import float64_step, gated_model, random_texts


def _reference(model, text, unit, value):
    """P(positive) with h[unit] set to ``value`` after every word (no unit touched when ``unit`` is None)."""
    step = float64_step(model.gru)
    state = model.state_dict()
    embedding, weight = state["embedding.weight"].double(), state["head.weight"][0].double()
    h = torch.zeros(model.gru.hidden_size, dtype=torch.float64)
    for word in model.tokenize(text)[1]:
        h = step(embedding[word], h)
        if unit is not None:
            h[unit] = value
    return float(torch.sigmoid(weight @ h + state["head.bias"][0].double()))


@pytest.mark.parametrize("arch", ["gru", "rnn"])
def test_unit_ablation_matches_a_float64_run(arch):
    model = gated_model(arch, gain=1.5)
    texts = random_texts(12, seed=3)
    labels = np.arange(len(texts)) % 2
    result = unit_ablation(model, texts, labels, units=[0, 2, 5])
    free = np.array([_reference(model, text, None, 0.0) for text in texts])
    np.testing.assert_allclose(result.free, free, atol=2e-6)
    for i, unit in enumerate([0, 2, 5]):
        expected = np.array([_reference(model, text, unit, 0.0) for text in texts])
        for c in range(len(UNIT_ABLATIONS)):  # h0 = 0: frozen at h0 is zeroed
            np.testing.assert_allclose(result.probability[c, i], expected, atol=2e-6)
            assert min(abs(expected - 0.5)) > 1e-4  # no verdict near the threshold, so counts are exact
            assert result.accuracy[c, i] == np.mean((expected > 0.5) == (labels == 1))
            flipped = np.flatnonzero((expected > 0.5) != (free > 0.5))
            assert sorted(result.flips(UNIT_ABLATIONS[c], unit).tolist()) == flipped.tolist()
    assert result.free_accuracy == np.mean(is_positive(free) == (labels == 1))


def test_frozen_at_a_nonzero_h0_holds_that_value():
    model = gated_model(gain=1.5)
    texts = random_texts(6, seed=4)[:6]
    h0 = np.linspace(-0.5, 0.5, model.gru.hidden_size)
    result = unit_ablation(model, texts, np.zeros(6), units=[1], h0=h0)
    frozen = UNIT_ABLATIONS.index("frozen")
    # the free reading then starts from h0 too: compare the reference's frozen run with that start
    step = float64_step(model.gru)
    state = model.state_dict()
    for n, text in enumerate(texts):
        h = torch.as_tensor(h0, dtype=torch.float64).clone()
        for word in model.tokenize(text)[1]:
            h = step(state["embedding.weight"][word].double(), h)
            h[1] = h0[1]
        expected = float(torch.sigmoid(state["head.weight"][0].double() @ h + state["head.bias"][0].double()))
        assert result.probability[frozen, 0, n] == pytest.approx(expected, abs=2e-6)
    assert not np.allclose(result.probability[frozen], result.probability[0])


@pytest.mark.parametrize("kwargs, message", [({"units": [8]}, "units"), ({"units": []}, "units")])
def test_bad_units_are_one_line_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        unit_ablation(gated_model(), ["a great movie"], [1], **kwargs)


def test_labels_must_match_texts():
    with pytest.raises(ValueError, match="label"):
        unit_ablation(gated_model(), ["a great movie"], [1, 0])
