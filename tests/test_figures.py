"""page_data's numbers against computations written here, and figures.py's data against its inputs.

Oracles: each word's logit share by the direct product ∏_{s>t} z_s (1 − z_t) n_t and by the recurrence
itself; moves and rankings by brute force; clustering by a layout whose answer is known. Figures: the
data of every builder equal the arrays given (bit for bit, dtype kept), and Plotly's own validation
accepts every figure (the builders skip it for speed).
"""

from __future__ import annotations

import itertools

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz import analysis, figures, style
from gru_viz.analysis import units
from gru_viz.analysis import fit_pca
from gru_viz.model import ModelConfig, SentimentModel, SentimentNet
from gru_viz.text import Vocabulary

SETTINGS = settings(max_examples=40, deadline=None)
WORDS = "i love this movie so much but the is really boring a film , .".split()


def tiny_model(arch: str = "gru", seed: int = 0, hidden: int = 8, projection: bool = True) -> SentimentModel:
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=6, hidden_size=hidden))
    with torch.no_grad():  # a larger head than init gives, so words move P visibly
        net.head.weight.mul_(4)
    model = SentimentModel(net, vocab, {"name": f"tiny-{arch}"})
    if projection:
        states = np.vstack([model.trace(" ".join(WORDS[i:i + 6])).hidden for i in range(0, len(WORDS), 3)])
        model.card["projection"] = {k: v.tolist() for k, v in fit_pca(states).items()}
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def view(model):
    return model.trace("I love this movie but the movie is really boring")


def direct_shares(update, candidate, h0, weight):
    """Each word's logit share by the unrolled product, in float64 with explicit loops."""
    update, candidate = np.asarray(update, np.float64), np.asarray(candidate, np.float64)
    steps, units = update.shape
    shares = np.zeros(steps)
    for t in range(steps):
        for unit in range(units):
            survive = np.prod(update[t + 1:, unit])
            shares[t] += weight[unit] * survive * (1 - update[t, unit]) * candidate[t, unit]
    carry = sum(weight[u] * np.prod(update[:, u]) * h0[u] for u in range(units))
    return shares, carry


# ---- analysis: numbers ----------------------------------------------------------------------------


@st.composite
def gate_arrays(draw):
    steps, units = draw(st.integers(1, 10)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.uniform(0, 1, (steps, units)), rng.uniform(-1, 1, (steps, units)), rng.normal(size=units),
            rng.normal(size=units), float(rng.normal()))


@SETTINGS
@given(arrays=gate_arrays())
def test_word_shares_equal_direct_products_and_sum_to_the_logit(arrays):
    update, candidate, h0, weight, bias = arrays
    split = analysis.word_logit_contributions(update, candidate, h0, weight, bias)
    shares, carry = direct_shares(update, candidate, h0, weight)
    np.testing.assert_allclose(split.words, shares, rtol=0, atol=1e-12)
    np.testing.assert_allclose(split.carry, carry, rtol=0, atol=1e-12)
    h = h0.copy()
    for z, n in zip(update, candidate):  # the recurrence, then the head
        h = z * h + (1 - z) * n
    np.testing.assert_allclose(split.total, weight @ h + bias, rtol=0, atol=1e-12)


@pytest.mark.parametrize("text", ["I love this movie so much", "But the movie is really boring", "movie"])
def test_view_shares_sum_to_the_models_final_logit(model, text):
    view = model.trace(text)
    sentence = model.trace(text)
    weight = model.net.head.weight.detach().double().numpy()[0]
    shares, _ = direct_shares(sentence.gates.update[0, 0, 0], sentence.gates.candidate[0, 0, 0],
                              sentence.gates.h0[0, 0, 0], weight)
    np.testing.assert_allclose(view.logit_split.words, shares, rtol=0, atol=1e-12)
    # the trace's logit runs the head in float32: agreement to float32 precision
    np.testing.assert_allclose(view.logit_split.total, sentence.logit[-1], rtol=0, atol=1e-5)
    assert view.logit_split.carry == 0.0  # h0 = 0


def test_view_holds_the_traces_exact_values(model, view):
    sentence = model.trace("I love this movie but the movie is really boring")
    for field in ("update", "reset", "candidate", "hidden"):
        assert np.array_equal(getattr(view, field), getattr(sentence.gates, field)[0, 0, 0])
        assert getattr(view, field).dtype == np.float32
    assert view.tokens == sentence.tokens and np.array_equal(view.probability, sentence.probability)
    head = model.net.head
    expected = torch.sigmoid(head(torch.zeros(1, 8, dtype=torch.float64).float())).item()
    assert view.start_probability == pytest.approx(expected, abs=1e-6)
    assert view.path.shape == (len(view.tokens) + 1, 8) and not view.path[0].any()


def test_blank_text_raises_the_tokenizers_value_error(model):
    with pytest.raises(ValueError, match="empty"):
        model.trace("  \u200b ")


def test_long_text_is_cut_with_a_note(model):
    view = model.trace("movie " * 2000, max_tokens=300)
    assert len(view.tokens) == 300 and view.update.shape == (300, 8)
    assert "300" in view.note


@SETTINGS
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=12), start=st.floats(0, 1),
       count=st.integers(0, 5))
def test_moves_and_largest_moves_by_brute_force(values, start, count):
    moves = analysis.probability_moves(values, start)
    previous = [start] + values[:-1]
    assert np.array_equal(moves, np.array(values) - np.array(previous))
    chosen = analysis.largest_moves(moves, count)
    assert list(chosen) == sorted(chosen)
    size = np.abs(moves)
    assert len(chosen) == min(count, int((size > 0).sum()))
    others = [t for t in range(len(moves)) if t not in chosen]
    for t in chosen:  # nothing left out is larger, and a tie goes to the earlier word
        assert all(size[o] < size[t] or (size[o] == size[t] and o > t) for o in others)


def test_unit_orders(view):
    index = analysis.unit_order(view, "index")
    assert list(index) == list(range(8))
    by_z = analysis.unit_order(view, "mean z")
    means = view.update.astype(np.float64).mean(axis=0)[by_z]
    assert sorted(by_z) == list(range(8)) and np.all(np.diff(means) <= 0)
    clustered = analysis.unit_order(view, "clustered")
    assert sorted(clustered) == list(range(8))
    assert np.array_equal(clustered, analysis.unit_order(view, "clustered"))  # deterministic
    both = analysis.unit_order([view, view], "mean z")
    assert np.array_equal(both, by_z)
    with pytest.raises(ValueError, match="unit order"):
        analysis.unit_order(view, "random")


def test_cluster_order_puts_each_group_together():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 5, [10.0] * 5, [-10.0, 10, -10, 10, -10]])
    group = np.arange(12) % 3  # interleaved: rows 0, 3, 6, 9 are one group
    features = centres[group] + rng.normal(scale=0.1, size=(12, 5))
    order = analysis.cluster_order(features)
    assert sorted(order) == list(range(12))
    runs = [len(list(g)) for _, g in itertools.groupby(group[order])]
    assert runs == [4, 4, 4]


def test_cluster_order_above_the_limit_is_a_permutation(monkeypatch):
    monkeypatch.setattr(units, "CLUSTER_LIMIT", 5)
    features = np.random.default_rng(1).normal(size=(9, 4))
    assert sorted(analysis.cluster_order(features)) == list(range(9))
    assert list(analysis.cluster_order(features[:2])) == [0, 1]


def test_projection_uses_the_cards_basis_or_fits_one(model, view):
    basis = analysis.projection_basis(model.card, view.path)
    assert basis.source == "hidden states of the training data"
    stored = model.card["projection"]
    expected = (view.path - np.array(stored["mean"])) @ np.array(stored["components"]).T
    np.testing.assert_allclose(analysis.project(view.path, basis), expected, rtol=0, atol=1e-12)

    fitted = analysis.projection_basis({}, view.path)
    assert fitted.source == "the hidden states of the sentences shown"
    np.testing.assert_allclose(fitted.components @ fitted.components.T, np.eye(3), atol=1e-9)
    wrong = {"projection": {"mean": [0.0] * 3, "components": [[0.0] * 3] * 3, "explained": [0, 0, 0]}}
    assert analysis.projection_basis(wrong, view.path).source == fitted.source  # 3 units ≠ 8: refit
    two_states = analysis.projection_basis(None, view.path[:2])  # one axis only: padded with zeros
    assert two_states.components.shape == (3, 8) and np.isfinite(two_states.explained).all()


def test_head_units_are_the_largest_weights():
    assert analysis.head_units([0.1, -3.0, 0.2, 2.0, -0.5], count=3) == [1, 3, 4]


# ---- figures: data equal the inputs ----------------------------------------------------------------


def validated(figure: go.Figure) -> go.Figure:
    """``figure``, after Plotly's full validation of what the builder made without it (raises on any bad
    property)."""
    go.Figure(figure.to_dict())
    return figure


@pytest.mark.parametrize("gate", ["update", "reset", "candidate", "hidden"])
def test_gate_heatmap_holds_the_exact_values_on_a_fixed_scale(view, gate):
    values = getattr(view, gate)
    order = analysis.unit_order(view, "mean z")
    figure = figures.gate_heatmap(values, view.tokens, order, gate=gate)
    validated(figure)
    heatmap = figure.data[0]
    assert heatmap.z.dtype == np.float32 and np.array_equal(heatmap.z, values[:, order].T)
    assert np.array_equal(heatmap.customdata[:, 0, 0], order)  # the unit of each row
    assert np.array_equal(heatmap.customdata[0, :, 1], np.arange(len(view.tokens)))  # and each column's position
    assert (heatmap.zmin, heatmap.zmax) == ((0.0, 1.0) if gate in ("update", "reset") else (-1.0, 1.0))
    if gate in ("candidate", "hidden"):
        assert heatmap.zmid == 0.0
    # %{x} would show the tick label (the word), so the position comes from customdata
    for part in ("unit %{customdata[0]}", "word %{text}", "position %{customdata[1]}", "%{z:.9~g}"):
        assert part in heatmap.hovertemplate
    # repeated words ("movie" twice) keep their own columns: numeric positions, words as tick labels
    assert list(figure.layout.xaxis.tickvals) == list(range(len(view.tokens)))
    assert list(figure.layout.xaxis.ticktext) == view.tokens
    assert view.tokens.count("movie") == 2 and len(set(figure.layout.xaxis.tickvals)) == len(view.tokens)


def test_gate_heatmap_checks_its_inputs(view):
    with pytest.raises(ValueError):
        figures.gate_heatmap(view.update, view.tokens[:-1], np.arange(8), gate="update")
    with pytest.raises(ValueError):
        figures.gate_heatmap(view.update, view.tokens, np.zeros(8, dtype=int), gate="update")


def test_user_text_is_shown_literally():
    assert figures.plotly_text("<b>bold</b> & <br>") == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;br&gt;"
    tokens = ["<b>", "&amp;", "<br>"]
    figure = figures.gate_heatmap(np.zeros((3, 2), np.float32), tokens, np.arange(2), gate="update")
    spec = figure.to_json()
    assert "<b>" not in spec and "<br>\"" not in spec and "&amp;amp;" in spec


def test_long_sentences_thin_the_tick_labels(model):
    view = model.trace("i love this movie " * 100, max_tokens=300)
    axis = figures.gate_heatmap(view.update, view.tokens, np.arange(8), gate="update").layout.xaxis
    assert len(axis.ticktext) <= style.MAX_WORD_TICKS + 1
    assert tuple(axis.range) == (-0.5, 299.5)


def test_trajectory_paths(model, view):
    basis = analysis.projection_basis(model.card, view.path)
    path = figures.sentence_path(view, basis)
    assert path.labels[0] == "(start)" and path.labels[1:] == view.tokens
    for dims in (2, 3):
        figure = validated(figures.trajectory_figure([path], dims=dims, explained=basis.explained))
        line, start, end = figure.data
        np.testing.assert_array_equal(line.x, path.coords[:, 0])
        np.testing.assert_array_equal(line.y, path.coords[:, 1])
        if dims == 3:
            np.testing.assert_array_equal(line.z, path.coords[:, 2])
        np.testing.assert_array_equal(line.marker.color, path.probability)
        assert (line.marker.cmin, line.marker.cmax) == (0.0, 1.0)
        assert start.x[0] == path.coords[0, 0] and end.x[0] == path.coords[-1, 0]
    np.testing.assert_array_equal(path.probability, np.concatenate([[view.start_probability], view.probability]))


def test_unit_lines_prediction_and_memory(view):
    lines = validated(figures.unit_lines_figure(view.hidden, view.tokens, [2, 5]))
    assert [trace.name for trace in lines.data] == ["unit 2", "unit 5"]
    assert np.array_equal(lines.data[1].y, view.hidden[:, 5])

    marked = figures.marked_words(view)
    prediction = validated(figures.prediction_figure(view.tokens, view.probability, view.start_probability, marked))
    line, ring = prediction.data
    assert np.array_equal(line.y, np.concatenate([[view.start_probability], view.probability]))
    assert list(ring.x) == list(marked) and len(prediction.layout.annotations) == len(marked)
    assert list(prediction.layout.xaxis.ticktext) == ["(start)"] + view.tokens

    memory = validated(figures.memory_figure(view.tokens, view.logit_split.words, view.logit_split.carry, view.logit_split.bias))
    z = np.asarray(memory.data[0].z, dtype=np.float64)
    steps = len(view.tokens)
    assert np.array_equal(z.flat[:steps], view.logit_split.words) and np.isnan(z.flat[steps:]).all()
    assert f"{view.logit_split.total:+.4f}" in memory.layout.title.text


def test_page_figure_sets(model, view):
    basis = analysis.projection_basis(model.card, view.path)
    everything = figures.sentence_figures(view, basis, np.arange(8), [0, 1])
    assert set(everything) == {"update", "reset", "candidate", "hidden", "trajectory_2d", "trajectory_3d",
                               "unit_lines", "prediction", "memory"}
    for figure in everything.values():
        validated(figure)
    other = model.trace("so boring")
    compared = figures.compare_figures([view, other], basis, np.arange(8))
    for figure in compared.values():
        validated(figure)
    assert tuple(compared["heatmap_B"].layout.xaxis.range) == (-0.5, len(view.tokens) - 0.5)  # aligned


def test_rnn_views_have_only_h(view):
    rnn = tiny_model("rnn", projection=False)
    rnn_view = rnn.trace("I love this movie")
    assert rnn_view.arch == "rnn" and not rnn_view.update.any() and (rnn_view.reset == 1).all()
    assert set(figures.sentence_gate_figures(rnn_view, np.arange(8))) == {"hidden"}
    assert set(figures.sentence_reading_figures(rnn_view)) == {"prediction"}
    basis = analysis.projection_basis(rnn.card, rnn_view.path)
    compared = figures.compare_figures([rnn_view, rnn_view], basis, np.arange(8))
    assert "h" in compared["heatmap_A"].layout.title.text
