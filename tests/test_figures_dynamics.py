"""``figures.dynamics``: every builder's output passes Plotly's validation (they are built without it) and carries
the numbers it was given, on hand-made arrays that pin each rule and on a tiny model's real analyses: the
gradient's norms, log10 norms in the connectivity cells, the fixed points on the sentence's projection with
their eigenvalues, and both attribution series."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from gru_viz import analysis
from gru_viz.analysis import Projection, project
from gru_viz.figures.dynamics import (
    attribution_figure,
    connectivity_figure,
    eigenvalue_figure,
    fixed_points_figure,
    gradient_flow_figure,
    gradient_flow_spec,
)
from gru_viz.figures.sentence import TrajectoryPath, sentence_path, trajectory_figure
from tests.helpers import decode
from tests.library_helpers import gated_model, outside_data, validated, vega_validated


def _valid(figure: go.Figure) -> go.Figure:
    return go.Figure(figure.to_dict())  # validates every property


def test_gradient_flow_figure_holds_the_norms_on_a_log_axis():
    tokens = ["a", "<b>", "c"]
    gru, rnn = np.array([0.5, 1.0, 2.0]), np.array([1e-4, 1e-2, 2.0])
    figure = validated(gradient_flow_figure(tokens, gru, rnn))
    assert figure.layout.yaxis.type == "log" and list(figure.layout.xaxis.ticktext) == ["a", "&lt;b&gt;", "c"]
    assert np.array_equal(figure.data[0].y, gru) and np.array_equal(figure.data[1].y, rnn)
    with pytest.raises(ValueError, match="norms"):
        gradient_flow_figure(tokens, gru[:2])


def test_gradient_flow_spec_holds_the_norms_exactly_on_a_log_axis():
    tokens = ["a", "<b>bad</b>", "a"]
    gru, rnn = np.array([0.5, 1.0, 2.0]), np.array([6.4e-39, 1e-2, 2.0])
    spec = vega_validated(gradient_flow_spec(tokens, gru, rnn, names=("GRU (g)", "RNN (r)")))
    rows = spec["data"]["values"]
    for name, norms in (("GRU (g)", gru), ("RNN (r)", rnn)):
        line = [row for row in rows if row["series"] == name]
        assert [row["norm"] for row in line] == norms.tolist()
        assert [(row["word"], row["position"], row["back"]) for row in line] == [("a", 0, 2), ("<b>bad</b>", 1, 1),
                                                                                 ("a", 2, 0)]
    encoding = spec["encoding"]
    assert encoding["y"]["scale"] == {"type": "log"} and encoding["color"]["scale"]["domain"] == ["GRU (g)", "RNN (r)"]
    assert encoding["x"]["scale"]["domain"] == ["0001 a", "0002 <b>bad</b>", "0003 a"]  # a column per position
    assert "<b>" not in outside_data(spec)
    alone = vega_validated(gradient_flow_spec(tokens, gru))
    assert {row["series"] for row in alone["data"]["values"]} == {"GRU"}
    with pytest.raises(ValueError, match="norms"):
        gradient_flow_spec(tokens, gru[:2])


def test_connectivity_figure_is_log10_side_by_side():
    gru = np.array([[8.0, 0.0, 0.0], [1.0, 8.0, 0.0], [0.01, 0.1, 8.0]])
    rnn = np.array([[8.0, 0.0, 0.0], [1e-5, 8.0, 0.0], [0.0, 1e-3, 8.0]])  # 0: an underflowed norm
    figure = _valid(connectivity_figure({"GRU": gru, "RNN": rnn}, ["a", "b", "c"]))
    assert len(figure.data) == 2 and figure.data[1].xaxis == "x2"
    assert figure.data[0].z[2][0] == pytest.approx(-2.0) and figure.data[0].z[0][2] is None
    assert figure.data[1].z[2][0] == pytest.approx(-30.0)  # drawn at the floor, not -inf
    assert figure.data[0].zmin == figure.data[1].zmin  # one colour scale for both


def test_fixed_points_are_drawn_on_the_sentence_projection():
    rng = np.random.default_rng(0)
    basis = Projection(mean=rng.normal(size=4), components=np.linalg.qr(rng.normal(size=(4, 3)))[0].T,
                       explained=np.array([0.5, 0.3, 0.1]), source="test")
    path = TrajectoryPath(name="s", coords=rng.normal(size=(3, 3)), labels=["(start)", "a", "b"],
                          probability=np.array([0.5, 0.6, 0.7]))
    trajectory = trajectory_figure([path], dims=2, explained=basis.explained)
    points, directions = rng.normal(size=(2, 4)), np.eye(4)[:2]
    figure = _valid(fixed_points_figure(trajectory, points, directions, np.array([0.999, 1.2]), basis,
                                        readout_cosine=np.array([0.9, 0.1]), length=1.0))
    names = [trace.name for trace in figure.data]
    assert names[:len(trajectory.data)] == [trace.name for trace in trajectory.data]  # the path is kept
    stable = figure.data[names.index("fixed point (stable)")]
    np.testing.assert_allclose([stable.x[0], stable.y[0]], project(points[:1], basis)[0, :2])
    segment = figure.data[names.index("slowest direction")]
    ends = project(points[:1] + np.array([[-0.5], [0.5]]) * directions[:1], basis)[:, :2]
    np.testing.assert_allclose([[segment.x[0], segment.y[0]], [segment.x[1], segment.y[1]]], ends)
    assert "fixed point (a mode grows)" in names


def test_eigenvalues_and_attribution_figures():
    eigenvalues = np.array([[0.99 + 0.0j, 0.5 + 0.2j, 0.5 - 0.2j]])
    figure = _valid(eigenvalue_figure(eigenvalues))
    np.testing.assert_allclose(decode(figure.data[1].x), eigenvalues[0].real)
    # one series per kind of point, not per point: three points, two kinds, two legend entries
    eigenvalues = np.array([[0.99, 0.5], [2.8, 0.3], [0.97, 0.1j]])
    figure = _valid(eigenvalue_figure(eigenvalues, ["a", "s", "b"], kinds=["attractor", "saddle", "attractor"]))
    assert [trace.name for trace in figure.data] == ["|λ| = 1", "attractor (2)", "saddle (1)"]
    np.testing.assert_allclose(decode(figure.data[1].x), [0.99, 0.5, 0.97, 0.0])
    np.testing.assert_allclose(decode(figure.data[1].y), [0.0, 0.0, 0.0, 1.0 * 0.1])
    assert [row[0] for row in figure.data[1].customdata] == ["a", "a", "b", "b"]
    assert figure.data[2].customdata[0][1] == pytest.approx(2.8)
    figure = _valid(attribution_figure(["not", "bad"], np.array([-1.0, 2.0]), np.array([-0.5, 1.5]),
                                       delta=1e-6, logit=1.2, baseline_logit=-0.3, start_logit=0.2))
    np.testing.assert_array_equal(decode(figure.data[0].y), [-1.0, 2.0])
    np.testing.assert_array_equal(decode(figure.data[1].y), [-0.5, 1.5])
    assert "1.0e-06" in figure.layout.title.text


# ---- on a tiny model's real analyses ---------------------------------------------------------------------------

TEXT = "the plot is not great but the movie is lovely"


@pytest.fixture(scope="module")
def pair():
    return gated_model("gru", seed=2, gain=1.5), gated_model("rnn", seed=2, gain=1.5)


def test_real_gradient_flow_and_connectivity(pair):
    gru, rnn = pair
    norms = [analysis.sentence_gradient_flow(model, TEXT) for model in pair]
    figure = validated(gradient_flow_figure(TEXT.split(), *norms))
    np.testing.assert_array_equal(figure.data[0].y, norms[0])
    np.testing.assert_array_equal(figure.data[1].y, norms[1])
    matrices = {model.name: analysis.connectivity(model.gru, model.embed(model.tokenize(TEXT)[1])) for model in pair}
    figure = validated(connectivity_figure(matrices, TEXT.split()))
    for trace, matrix in zip(figure.data, matrices.values()):
        lower = np.tril(np.ones(matrix.shape, dtype=bool))
        z = np.array([[np.nan if v is None else v for v in row] for row in trace.z], dtype=np.float64)
        np.testing.assert_allclose(z[lower], np.log10(np.maximum(matrix[lower], 1e-30)), rtol=1e-12)
        assert np.isnan(z[~lower]).all()


def test_real_fixed_points_and_their_eigenvalues(pair):
    model = pair[0]
    found = analysis.fixed_points(model.gru, analysis.constant_input(model, "zero"),
                                  analysis.visited_states(model, [TEXT, "great movie", "boring plot"]))
    assert len(found) >= 1  # a contracting random GRU settles somewhere under a constant input
    sentence = model.trace(TEXT)
    basis = analysis.projection_basis(model.card, sentence.path)
    path = trajectory_figure([sentence_path(sentence, basis)], dims=2, explained=basis.explained)
    cosine = analysis.readout_cosine(found.directions, model.readout_weight)
    figure = validated(fixed_points_figure(path, found.points, found.directions, found.slowest, basis,
                                           readout_cosine=cosine))
    points = [trace for trace in figure.data if (trace.name or "").startswith("fixed point")]
    where = project(found.points, basis)[:, :2]
    shown = np.concatenate([np.column_stack([trace.x, trace.y]) for trace in points])
    np.testing.assert_allclose(np.sort(shown, axis=0), np.sort(where, axis=0))
    figure = validated(eigenvalue_figure(found.eigenvalues))
    for trace, values in zip(figure.data[1:], found.eigenvalues):
        np.testing.assert_array_equal(trace.x, values.real)
        np.testing.assert_array_equal(trace.y, values.imag)


def test_real_integrated_gradients_beside_the_exact_changes(pair):
    result = analysis.integrated_gradients(pair[0], TEXT)
    figure = validated(attribution_figure(result.tokens, result.attributions, result.logit_changes,
                                          delta=result.delta, logit=result.logit,
                                          baseline_logit=result.baseline_logit, start_logit=result.start_logit))
    np.testing.assert_array_equal(figure.data[0].y, result.attributions)
    np.testing.assert_array_equal(figure.data[1].y, result.logit_changes)
