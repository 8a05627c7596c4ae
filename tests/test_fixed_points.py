"""``analysis.fixed_points``: every point kept is a fixed point of the step to float64 precision (residual
recomputed here through a float64 copy of the module), strictly inside the box; on small networks the points
are exactly those an independent float64 Newton from a grid finds, no more (a line of slow points is not a
line of fixed points) and no fewer; a stable point stays put under 20,000 steps of the module; its
eigenvalues are those of ``torch.autograd.functional.jacobian`` of that step; and the helpers (timescales,
readout cosine, constant inputs) mean what they say."""

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


def twin_of(rnn):
    """A float64 copy of the module: the oracle of the step."""
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, **({} if isinstance(rnn, nn.GRU) else
                                                         {"nonlinearity": rnn.nonlinearity})).double()
    twin.load_state_dict(rnn.state_dict())
    return twin


def module_step(rnn, x):
    """F(h) through a float64 copy of the module itself: one step of nn.GRU / nn.RNN from state h."""
    twin = twin_of(rnn)
    x = torch.as_tensor(x, dtype=torch.float64).reshape(1, -1)

    def step(h):
        return twin(x, torch.as_tensor(h, dtype=torch.float64).reshape(1, -1))[0][0]
    return step


def run_module(rnn, x, points, steps=20_000) -> np.ndarray:
    """(steps, K, H): the states after 1 … ``steps`` steps of the float64 module from each point, reading x."""
    twin = twin_of(rnn)
    inputs = torch.as_tensor(x, dtype=torch.float64).reshape(1, 1, -1).expand(steps, len(points), -1)
    with torch.no_grad():
        return twin(inputs.contiguous(), torch.as_tensor(points, dtype=torch.float64)[None])[0].numpy()


def check_points(rnn, found):
    step = module_step(rnn, found.input)
    assert len(found.points) >= 1
    assert (np.abs(found.points) < 1).all()  # strictly inside the box: no unit pressed against it
    assert len(found) + sum(found.dropped.values()) == found.candidates == 3 * found.starts
    for point, residual, eigenvalues, direction in zip(found.points, found.residual, found.eigenvalues,
                                                       found.directions):
        moved = np.linalg.norm(step(point).detach().numpy() - point)
        assert moved <= 1e-10 and residual == pytest.approx(moved, abs=1e-12)
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
        assert gaps[~np.eye(len(gaps), dtype=bool)].min() >= 1e-6  # merged duplicates
    magnitude = np.abs(found.eigenvalues)
    expected_kinds = np.where((magnitude < 1).all(1), "attractor",
                              np.where((magnitude > 1).all(1), "repeller", "saddle"))
    np.testing.assert_array_equal(found.kinds, expected_kinds)


# ---- an independent oracle: the GRU step in numpy, its Jacobian by central differences, plain Newton ----


def numpy_gru_step(gru, x):
    """F(h) for h (N, H) in float64 numpy, PyTorch's equations written out (gate order r|z|n)."""
    w_ih, w_hh = gru.weight_ih_l0.detach().double().numpy(), gru.weight_hh_l0.detach().double().numpy()
    b_ih, b_hh = gru.bias_ih_l0.detach().double().numpy(), gru.bias_hh_l0.detach().double().numpy()
    units = gru.hidden_size
    from_input = w_ih @ np.asarray(x, dtype=np.float64) + b_ih  # (3H,)

    def step(h):
        from_hidden = h @ w_hh.T + b_hh  # (N, 3H)
        reset = 1 / (1 + np.exp(-(from_input[:units] + from_hidden[:, :units])))
        update = 1 / (1 + np.exp(-(from_input[units:2 * units] + from_hidden[:, units:2 * units])))
        candidate = np.tanh(from_input[2 * units:] + reset * from_hidden[:, 2 * units:])
        return update * h + (1 - update) * candidate
    return step


def newton_from_a_grid(step, units, per_axis=41):
    """Every fixed point with |h_i| < 1 that plain Newton (finite-difference Jacobian, steps capped at 0.2)
    reaches from a grid over the box, to residual < 1e-13; one per 1e-6."""
    axis = np.linspace(-0.99, 0.99, per_axis)
    h = np.stack(np.meshgrid(*[axis] * units), axis=-1).reshape(-1, units)
    eye = np.eye(units)
    for _ in range(80):
        jacobian = np.stack([(step(h + 1e-6 * eye[j]) - step(h - 1e-6 * eye[j])) / 2e-6 for j in range(units)],
                            axis=-1) - eye  # (N, H, H)
        solvable = np.abs(np.linalg.det(jacobian)) > 1e-12
        move = np.zeros_like(h)
        move[solvable] = np.linalg.solve(jacobian[solvable], (h - step(h))[solvable][..., None])[..., 0]
        h = h + np.clip(move, -0.2, 0.2)
    residual = np.linalg.norm(step(h) - h, axis=-1)
    points: list[np.ndarray] = []
    for point in h[(residual < 1e-13) & (np.abs(h) < 1).all(-1)]:
        if all(np.linalg.norm(point - other) > 1e-6 for other in points):
            points.append(point)
    return np.array(points)


def same_points(found, expected, atol=1e-8):
    assert len(found) == len(expected)
    for point in expected:
        assert np.linalg.norm(found - point, axis=-1).min() <= atol


def gru_of(hidden, ih, bias_ih, bias_hh):
    gru = nn.GRU(len(ih[0]), len(hidden[0]))
    with torch.no_grad():
        gru.weight_hh_l0.copy_(torch.tensor(hidden))
        gru.weight_ih_l0.copy_(torch.tensor(ih))
        gru.bias_ih_l0.copy_(torch.tensor(bias_ih))
        gru.bias_hh_l0.copy_(torch.tensor(bias_hh))
    return gru


def test_a_two_unit_gru_has_the_points_a_grid_of_newton_runs_finds():
    # strong self-excitation of both candidates: seven fixed points, attractors, saddles and a repeller,
    # two of them only 0.12 apart
    gru = gru_of(hidden=[[0.5, -0.3], [0.2, 0.4], [0.3, 0.1], [-0.2, 0.2], [2.5, 0.1], [-0.1, 2.2]],
                 ih=[[0.3], [-0.2], [0.1], [0.4], [0.2], [-0.1]],
                 bias_ih=[0.1, 0.0, -0.2, 0.1, 0.01, -0.01], bias_hh=[0.0, 0.2, 0.1, 0.0, 0.0, 0.0])
    x = np.array([0.05])
    expected = newton_from_a_grid(numpy_gru_step(gru, x), 2)
    assert len(expected) == 7
    found = fixed_points(gru, x)  # two arguments: the default starts
    same_points(found.points, expected)
    check_points(gru, found)
    assert set(found.kinds) == {"attractor", "saddle", "repeller"}
    assert found.starts == 256 and found.dropped["box"] + found.dropped["not_converged"] > 0
    stable = found.points[found.kinds == "attractor"]
    path = run_module(gru, x, stable)
    assert np.abs(path - stable[None]).max() <= 1e-3


def test_a_line_of_slow_points_is_not_a_line_of_fixed_points():
    # unit 0 barely moves (1 − z ≈ 1.2e-4) toward tanh(h0 / 2), unit 1 follows tanh(1.5 h0) at once: every
    # state on that curve has ‖F(h) − h‖ < 1e-4, yet the only fixed point is h = 0
    gru = gru_of(hidden=[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.5, 0.0], [1.5, 0.0]],
                 ih=[[0.0]] * 6, bias_ih=[10.0, 10.0, 9.0, -9.0, 0.0, 0.0], bias_hh=[0.0] * 6)
    x = np.zeros(1)
    step = numpy_gru_step(gru, x)
    line = np.stack([np.linspace(-0.9, 0.9, 19), np.tanh(1.5 * np.linspace(-0.9, 0.9, 19))], axis=-1)
    assert (np.linalg.norm(step(line) - line, axis=-1) < 1e-4).all()  # slow everywhere on the line
    expected = newton_from_a_grid(step, 2)
    np.testing.assert_allclose(expected, [[0.0, 0.0]], atol=1e-12)
    starts = np.concatenate([line, np.random.default_rng(0).uniform(-1, 1, size=(40, 2))])
    found = fixed_points(gru, x, starts)
    same_points(found.points, expected)
    check_points(gru, found)
    update, reset = 1 / (1 + np.exp(-9.0)), 1 / (1 + np.exp(-10.0))
    assert found.slowest[0] == pytest.approx(update + (1 - update) * 0.5 * reset, abs=1e-12)  # ∂F₀/∂h₀ at 0
    assert found.kinds[0] == "attractor" and found.slow_modes()[0] == 1
    assert np.abs(run_module(gru, x, found.points)).max() <= 1e-3


def test_an_exact_line_of_fixed_points_comes_back_as_marginal_points_on_it():
    # z₀ = sigmoid(40) is 1.0 in float64: every h0 is kept, and unit 1 settles at tanh(1.5 r h0)
    gru = gru_of(hidden=[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.5, 0.0], [1.5, 0.0]],
                 ih=[[0.0]] * 6, bias_ih=[10.0, 10.0, 40.0, -9.0, 0.0, 0.0], bias_hh=[0.0] * 6)
    starts = np.random.default_rng(1).uniform(-0.9, 0.9, size=(20, 2))
    found = fixed_points(gru, np.zeros(1), starts)
    assert len(found) >= 10 and set(found.kinds) == {"marginal"}
    reset = 1 / (1 + np.exp(-10.0))
    np.testing.assert_allclose(found.points[:, 1], np.tanh(1.5 * reset * found.points[:, 0]), atol=1e-12)
    assert (found.residual <= 1e-10).all() and (found.slowest == 1.0).all()


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


@pytest.mark.parametrize("which", ["mean", "zero"])
def test_the_shipped_gru_fixed_points(shipped, which):
    texts = [sentence for sentence, _ in read_tsv(default_data_file("val"))[:200]]
    starts = visited_states(shipped, texts, count=96)
    found = fixed_points(shipped.gru, constant_input(shipped, which), starts)
    check_points(shipped.gru, found)  # each residual ≤ 1e-10 through the module, every |h_i| < 1
    readout = shipped.net.head.weight.detach().double().numpy()[0]
    logit = found.points @ readout + float(shipped.net.head.bias)
    attractor = found.kinds == "attractor"
    assert (logit[attractor] > 0).any() and (logit[attractor] < 0).any()  # an attractor for each verdict
    stable = found.points[attractor]
    path = run_module(shipped.gru, found.input, stable)  # (20000, A, H)
    assert np.linalg.norm(path - stable[None], axis=-1).max() <= 1e-3


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


def test_a_relu_rnn_is_refused_in_one_sentence():
    with pytest.raises(ValueError, match="unbounded") as error:
        fixed_points(nn.RNN(5, 8, nonlinearity="relu"), np.zeros(5))
    assert "\n" not in str(error.value)


def test_the_default_starts_are_seeded():
    torch.manual_seed(3)
    gru = nn.GRU(3, 4)
    first, again = fixed_points(gru, np.ones(3), adam_steps=20), fixed_points(gru, np.ones(3), adam_steps=20)
    np.testing.assert_array_equal(first.points, again.points)
    assert first.dropped == again.dropped and first.starts == 256
