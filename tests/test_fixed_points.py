"""``analysis.fixed_points``: every point kept is a fixed point of the step (residual recomputed here through
the module itself, in float64), its eigenvalues are those of ``torch.autograd.functional.jacobian`` of that
step, and the helpers (timescales, readout cosine, constant inputs) mean what they say."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz.analysis import constant_input, fixed_points, readout_cosine, timescales, visited_states
from gru_viz.model import load_model
from gru_viz.paths import default_data_file, default_model_dir
from gru_viz.text import Vocabulary
from gru_viz.train import read_tsv


def module_step(rnn, x):
    """F(h) through a float64 copy of the module itself: one step of nn.GRU / nn.RNN from state h."""
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, **({} if isinstance(rnn, nn.GRU) else
                                                         {"nonlinearity": rnn.nonlinearity})).double()
    twin.load_state_dict(rnn.state_dict())
    x = torch.as_tensor(x, dtype=torch.float64).reshape(1, -1)

    def step(h):
        return twin(x, torch.as_tensor(h, dtype=torch.float64).reshape(1, -1))[0][0]
    return step


def check_points(rnn, found):
    step = module_step(rnn, found.input)
    assert len(found.points) >= 1
    for point, residual, eigenvalues, direction in zip(found.points, found.residual, found.eigenvalues,
                                                       found.directions):
        assert np.linalg.norm(step(point).detach().numpy() - point) <= 1e-3
        assert residual == pytest.approx(np.linalg.norm(step(point).detach().numpy() - point), abs=1e-9)
        jacobian = torch.autograd.functional.jacobian(step, torch.from_numpy(point)).numpy()
        expected = np.linalg.eigvals(jacobian)
        # the same multiset: every eigenvalue has a partner within 1e-3, both ways
        distance = np.abs(eigenvalues[:, None] - expected[None, :])
        assert distance.min(axis=1).max() <= 1e-3 and distance.min(axis=0).max() <= 1e-3
        assert (np.diff(np.abs(eigenvalues)) <= 1e-12).all()  # largest |λ| first
        # the direction is the slowest mode's eigenvector: J v = λ v (λ real here)
        if abs(eigenvalues[0].imag) < 1e-9:
            np.testing.assert_allclose(jacobian @ direction, eigenvalues[0].real * direction, atol=1e-6)
            assert np.linalg.norm(direction) == pytest.approx(1.0)
    if len(found.points) > 1:
        gaps = np.linalg.norm(found.points[:, None] - found.points[None], axis=-1)
        assert gaps[~np.eye(len(gaps), dtype=bool)].min() >= 1e-3  # merged duplicates


def test_a_contraction_has_one_fixed_point_with_known_eigenvalues():
    rnn = nn.RNN(2, 3)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.diag(torch.tensor([0.5, -0.25, 0.1])))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.zero_()
    starts = np.random.default_rng(0).uniform(-1, 1, size=(20, 3))
    found = fixed_points(rnn, np.zeros(2), starts)
    assert len(found) == 1 and np.abs(found.points[0]).max() < 1e-6
    np.testing.assert_allclose(found.eigenvalues[0], [0.5, -0.25, 0.1], atol=1e-9)
    np.testing.assert_allclose(np.abs(found.directions[0]), [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(found.timescales[0], -1 / np.log([0.5, 0.25, 0.1]))
    check_points(rnn, found)


def test_random_gru_points_are_fixed_and_their_eigenvalues_match_autograd():
    torch.manual_seed(7)
    gru = nn.GRU(5, 8)
    starts = np.random.default_rng(1).uniform(-0.9, 0.9, size=(64, 8))
    found = fixed_points(gru, torch.randn(5).numpy(), starts, noise=0.01)
    check_points(gru, found)
    assert found.starts == 64


@pytest.fixture(scope="module")
def shipped():
    return load_model(default_model_dir("sst2-gru"))


def test_visited_states_are_states_of_the_texts(shipped):
    texts = ["I love this movie so much", "But the movie is really boring"]
    starts = visited_states(shipped, texts, count=100)
    assert starts.shape == (1 + 6 + 6, 64) and (starts[0] == 0).all()  # h0, then every step
    # read in a padded batch of two vs alone: different matmul shapes, so float32 rounding (a few ulps) differs
    np.testing.assert_allclose(starts[1:7], shipped.trace(texts[0]).hidden, atol=1e-5)
    chosen = visited_states(shipped, texts, count=5, seed=3)
    assert chosen.shape == (5, 64) and (chosen[0] == 0).all()
    assert all(np.isclose(starts, row, atol=0).all(axis=1).any() for row in chosen)


def test_the_shipped_gru_fixed_points(shipped):
    texts = [sentence for sentence, _ in read_tsv(default_data_file("val"))[:100]]
    starts = visited_states(shipped, texts, count=64)
    found = fixed_points(shipped.gru, constant_input(shipped, "mean"), starts)
    check_points(shipped.gru, found)
    assert (np.abs(found.points) <= 1).all()  # the box every reachable state lies in


def test_timescales_and_readout_cosine():
    np.testing.assert_allclose(timescales(np.array([np.exp(-1 / 3), 1.0, 0.0, np.exp(0.5) * 1j])),
                               [3.0, np.inf, 0.0, -2.0])
    readout = np.array([3.0, 4.0])
    np.testing.assert_allclose(readout_cosine(np.array([[3.0, 4.0], [-4.0, 3.0], [-0.6, -0.8]]), readout),
                               [1.0, 0.0, 1.0], atol=1e-12)
    with pytest.raises(ValueError, match="units"):
        readout_cosine(np.ones(3), readout)


def test_constant_inputs(shipped):
    weight = shipped.net.embedding.weight.detach().double().numpy()
    assert (constant_input(shipped, "zero") == 0).all()
    assert (weight[Vocabulary.PAD] == 0).all()  # the padding embedding is the zero baseline
    real = np.delete(weight, [Vocabulary.PAD, Vocabulary.UNK], axis=0)
    np.testing.assert_allclose(constant_input(shipped, "mean"), real.mean(axis=0))
    movie = shipped.tokenize("movie")[1][0]
    np.testing.assert_array_equal(constant_input(shipped, "Movie"), weight[movie])
    for bad, message in (("qqqzzzx", "not in the model's vocabulary"), ("two words", "one word"), ("", "choose")):
        with pytest.raises(ValueError, match=message):
            constant_input(shipped, bad)


@pytest.mark.parametrize("x, starts, message", [
    (np.zeros(4), np.zeros((3, 8)), "needs 5 numbers"),
    (np.zeros(5), np.zeros((3, 7)), r"initial_states must be \(N, 8\)"),
    (np.zeros(5), np.full((3, 8), np.nan), "finite"),
])
def test_bad_inputs_are_sentences(x, starts, message):
    with pytest.raises(ValueError, match=message):
        fixed_points(nn.GRU(5, 8), x, starts)
