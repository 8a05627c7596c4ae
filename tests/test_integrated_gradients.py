"""``analysis.integrated_gradients``: Captum's attributions are complete (they sum to f(x) − f(baseline),
with f recomputed here by the model's own forward), agree per word with a midpoint-rule path integral of
autograd gradients written here, and sit beside exact logit changes that sum to the final logit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gru_viz.analysis import integrated_gradients
from gru_viz.model import load_model
from gru_viz.paths import default_model_dir
from gru_viz.text import Vocabulary

TEXTS = ["I love this movie so much", "But the movie is really boring",
         "the plot is thin but the acting is great , and I would happily watch it again"]


@pytest.fixture(scope="module", params=["sst2-gru", "sst2-rnn"])
def model(request):
    return load_model(default_model_dir(request.param))


@pytest.mark.parametrize("text", TEXTS)
def test_completeness_against_the_model_forward(model, text):
    result = integrated_gradients(model, text)
    ids = torch.tensor([model.tokenize(text)[1]])
    lengths = torch.tensor([ids.shape[1]])
    with torch.no_grad():
        logit = float(model.net(ids, lengths)[0])  # the model's own float32 forward
        baseline = float(model.net(torch.full_like(ids, Vocabulary.PAD), lengths)[0])  # T padding words
    assert result.logit == pytest.approx(logit, abs=1e-4)
    assert result.baseline_logit == pytest.approx(baseline, abs=1e-4)
    assert result.attributions.sum() == pytest.approx(logit - baseline, abs=1e-3)
    assert result.attributions.sum() - (result.logit - result.baseline_logit) == pytest.approx(result.delta, abs=1e-9)
    assert abs(result.delta) <= 1e-3  # the default tolerance: more points were taken until it held
    assert result.tokens == model.tokenize(text)[0].tokens and result.attributions.shape == (len(result.tokens),)


def test_exact_logit_changes_sum_to_the_final_logit(model):
    result = integrated_gradients(model, TEXTS[2])
    trace = model.trace(TEXTS[2])
    assert result.start_logit == pytest.approx(model.readout_bias, abs=1e-7)  # head(0) = its bias
    np.testing.assert_allclose(np.cumsum(result.logit_changes) + result.start_logit, trace.logit, atol=1e-6)


def test_per_word_attributions_match_a_midpoint_rule_integral(model):
    text = TEXTS[0]
    ids = torch.tensor(model.tokenize(text)[1])
    x = model.embed(ids).double()  # (T, E); the baseline is all zeros
    rnn = type(model.gru)(model.gru.input_size, model.gru.hidden_size, batch_first=True).double()
    rnn.load_state_dict(model.gru.state_dict())
    weight = torch.from_numpy(model.readout_weight)  # (H,)
    points = 2000
    alphas = (torch.arange(points, dtype=torch.float64) + 0.5) / points  # midpoints of [0, 1]
    path = (alphas[:, None, None] * x[None]).requires_grad_(True)  # (P, T, E)
    logits = rnn(path)[0][:, -1] @ weight  # (P,); the head's bias does not change gradients
    (gradients,) = torch.autograd.grad(logits.sum(), path)
    expected = (gradients.mean(0) * x).sum(-1).numpy()  # (T,)
    np.testing.assert_allclose(integrated_gradients(model, text).attributions, expected, atol=2e-4)


def test_bad_steps_and_blank_text(model):
    fixed = integrated_gradients(model, TEXTS[0], steps=16)
    assert fixed.steps == 16
    assert fixed.delta == pytest.approx(fixed.attributions.sum() - (fixed.logit - fixed.baseline_logit), abs=1e-12)
    with pytest.raises(ValueError, match="steps"):
        integrated_gradients(model, TEXTS[0], steps=1)
    with pytest.raises(ValueError):
        integrated_gradients(model, "   ")


def test_converged_says_whether_the_credits_add_up(model):
    text = TEXTS[0]
    done = integrated_gradients(model, text)
    assert done.converged and abs(done.delta) <= done.tolerance
    rough = integrated_gradients(model, TEXTS[2], steps=2)  # two points cannot follow the path
    assert abs(rough.delta) > rough.tolerance and not rough.converged
    strict = integrated_gradients(model, text, steps=64, tolerance=1e-300)  # nothing meets this
    assert not strict.converged and strict.tolerance == 1e-300
