"""figures.py's data against its inputs: the data of every builder equal the arrays given (bit for bit,
dtype kept), and Plotly's own validation accepts every figure (the builders skip it for speed).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

from gru_viz import analysis, figures, style
from tests.library_helpers import tiny_model, validated

SETTINGS = settings(max_examples=40, deadline=None)


@pytest.fixture(scope="module")
def model():
    return tiny_model()





# ---- figures: data equal the inputs ----------------------------------------------------------------


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

    split = analysis.sentence_logit_split(view)
    memory = validated(figures.memory_figure(view.tokens, split.words, split.carry, split.bias))
    z = np.asarray(memory.data[0].z, dtype=np.float64)
    steps = len(view.tokens)
    assert np.array_equal(z.flat[:steps], split.words) and np.isnan(z.flat[steps:]).all()
    assert f"{split.total:+.4f}" in memory.layout.title.text


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
