"""``figures.trace`` on real traces of a 2-layer bidirectional GRU: the heatmaps hold exactly the chosen layer's,
direction's and item's arrays, and the path's coordinates equal a PCA written here."""

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz import capture, trace_gru
from gru_viz.figures import hidden_path, trace_heatmaps
from tests.library_helpers import validated

FIELDS = ("update", "reset", "candidate", "hidden")


@pytest.fixture(scope="module")
def trace():
    torch.manual_seed(0)
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    return trace_gru(gru, torch.randn(3, 5, 3))  # (L, D, B, T, H) = (2, 2, 3, 5, 4)


@pytest.mark.parametrize(("layer", "direction", "item"), [(1, "backward", 2), (2, "forward", 0), (1, "forward", 1)])
def test_heatmaps_hold_the_chosen_arrays(trace, layer, direction, item):
    figure = validated(trace_heatmaps(trace, layer=layer, direction=direction, item=item))
    index = ("forward", "backward").index(direction)
    assert len(figure.data) == 4
    for panel, field in zip(figure.data, FIELDS):
        np.testing.assert_array_equal(panel.z, getattr(trace, field)[layer - 1, index, item].T)  # (H, T)
    assert figure.layout.title.text == f"layer {layer} of 2, {direction}, item {item}"
    assert [a.text for a in figure.layout.annotations] == [
        "<b>update gate z</b>", "<b>reset gate r</b>", "<b>candidate n</b>", "<b>hidden state h</b>"]
    assert list(figure.layout.xaxis.ticktext) == ["0", "1", "2", "3", "4"]
    assert "step" in figure.data[0].hovertemplate and "word" not in figure.data[0].hovertemplate


def test_heatmaps_default_to_the_top_layer_forward_first_item(trace):
    figure = trace_heatmaps(trace)
    np.testing.assert_array_equal(figure.data[0].z, trace.update[1, 0, 0].T)
    assert figure.layout.title.text == "layer 2 of 2, forward, item 0"


def test_heatmaps_with_tokens_and_chosen_units(trace):
    figure = validated(trace_heatmaps(trace, tokens=["a", "<b>", "c", "d", "e"], units=[3, 1]))
    np.testing.assert_array_equal(figure.data[3].z, trace.hidden[1, 0, 0][:, [3, 1]].T)
    assert list(figure.data[0].y) == ["unit 3", "unit 1"]
    assert list(figure.layout.xaxis.ticktext) == ["a", "&lt;b&gt;", "c", "d", "e"]  # shown literally
    assert "word" in figure.data[0].hovertemplate


def test_a_packed_item_is_shown_to_its_own_end():
    torch.manual_seed(1)
    gru = nn.GRU(2, 3, bidirectional=True)
    packed = nn.utils.rnn.pack_sequence([torch.randn(n, 2) for n in (4, 2)], enforce_sorted=False)
    trace = capture(gru, packed)[""]
    figure = trace_heatmaps(trace, direction="backward", item=1)
    np.testing.assert_array_equal(figure.data[1].z, trace.reset[0, 1, 1, :2].T)  # (H, 2), no NaN
    path = hidden_path(trace, direction="backward", item=1)
    assert path.data[0].x.shape == (3,) and not np.isnan(path.data[0].x).any()


def test_bad_picks_are_one_sentence_each(trace):
    with pytest.raises(ValueError, match=r"layer must be 1 … 2, counted from the bottom; got 0"):
        trace_heatmaps(trace, layer=0)
    with pytest.raises(ValueError, match="layer must be"):
        trace_heatmaps(trace, layer=3)
    with pytest.raises(ValueError, match="item must be a batch index 0 … 2; got 3"):
        trace_heatmaps(trace, item=3)
    with pytest.raises(ValueError, match="need one token per step: 5 steps, 2 tokens"):
        trace_heatmaps(trace, tokens=["a", "b"])
    one_way = trace_gru(nn.GRU(2, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match="direction must be 'forward' for this trace; got 'backward'"):
        trace_heatmaps(one_way, direction="backward")
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        hidden_path(trace, dims=4)
    with pytest.raises(ValueError, match="tokens label one item's steps"):
        hidden_path(trace, item=[0, 1], tokens=list("abcde"))


def _pca_coordinates(states, dims):
    """Coordinates of states (N, H) on their first ``dims`` principal axes, each axis signed so that its largest
    loading is positive (the convention of gru_viz.analysis.fit_pca), by an eigendecomposition of the covariance."""
    states = np.asarray(states, dtype=np.float64)
    centred = states - states.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred)
    axes = vectors[:, np.argsort(values)[::-1][:dims]].T  # (dims, H)
    axes *= np.sign(axes[np.arange(dims), np.abs(axes).argmax(axis=1)])[:, None]
    return centred @ axes.T, np.sort(values)[::-1][:dims] / values.sum()


@pytest.mark.parametrize(("direction", "dims"), [("forward", 2), ("backward", 3)])
def test_path_is_h0_then_each_step_in_reading_order_on_the_principal_axes(trace, direction, dims):
    index = ("forward", "backward").index(direction)
    items = [0, 2]
    paths = []
    for item in items:
        states = trace.hidden[0, index, item]  # (T, H) by position
        reading = states[::-1] if index == 1 else states
        paths.append(np.concatenate([trace.h0[0, index, item][None], reading]))  # (T + 1, H)
    expected, explained = _pca_coordinates(np.concatenate(paths), dims)  # (2 (T + 1), dims)
    figure = validated(hidden_path(trace, layer=1, direction=direction, item=items, dims=dims))
    lines = [trace for trace in figure.data if trace.name.startswith("item")]
    assert [trace.name for trace in figure.data] == ["item 0", "item 2", "start (h₀)", "end", "start (h₀)", "end"]
    coordinates = np.concatenate([np.stack([line[axis] for axis in "xyz"[:dims]], axis=1) for line in lines])
    np.testing.assert_allclose(coordinates, expected, rtol=0, atol=1e-9)
    steps = ["(start)"] + [f"step {t}" for t in (range(4, -1, -1) if index == 1 else range(5))]
    assert list(lines[0].customdata) == steps
    title = figure.layout.xaxis.title.text if dims == 2 else figure.layout.scene.xaxis.title.text
    assert title == f"PC1 ({explained[0]:.0%} of variance)"
    assert figure.layout.title.text == f"the hidden state's path: layer 1 of 2, {direction}, items 0, 2"


def test_path_labels_the_steps_with_tokens(trace):
    figure = hidden_path(trace, item=1, tokens=["w0", "w1", "w2", "w3", "w4"])
    assert list(figure.data[0].text) == ["(start)", "w0", "w1", "w2", "w3", "w4"]
    start, end = figure.data[1], figure.data[2]
    assert (start.x[0], end.x[0]) == (figure.data[0].x[0], figure.data[0].x[-1])
