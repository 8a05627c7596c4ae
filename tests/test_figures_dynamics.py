"""``figures_research``: every builder's output passes Plotly's validation (they are built without it) and
carries the numbers it was given: P in the patching cells, log10 norms in the connectivity cells, the fixed
points on the sentence's projection, and both attribution series."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from gru_viz.analysis import Projection, project
from gru_viz.figures import TrajectoryPath, trajectory_figure
from gru_viz.figures_research import (
    attribution_figure,
    connectivity_figure,
    eigenvalue_figure,
    fixed_points_figure,
    patching_figure,
)
from tests.helpers import decode


def _valid(figure: go.Figure) -> go.Figure:
    return go.Figure(figure.to_dict())  # validates every property


def test_patching_figure_holds_p_and_the_share_carried():
    grid = np.array([[0.9, 0.2], [0.5, 0.1]])
    figure = _valid(patching_figure(grid, ["a", "<b>"], ["x", "y"], base_probability=0.9, source_probability=0.1))
    np.testing.assert_array_equal(decode(figure.data[0].z), grid)
    assert figure.data[0].customdata[0][1][2] == pytest.approx((0.2 - 0.9) / (0.1 - 0.9))
    assert figure.layout.yaxis.ticktext == ("a", "&lt;b&gt;")
    with pytest.raises(ValueError, match="base words"):
        patching_figure(grid, ["a"], ["x", "y"], base_probability=0.5, source_probability=0.5)


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
    figure = _valid(attribution_figure(["not", "bad"], np.array([-1.0, 2.0]), np.array([-0.5, 1.5]),
                                       delta=1e-6, logit=1.2, baseline_logit=-0.3, start_logit=0.2))
    np.testing.assert_array_equal(decode(figure.data[0].y), [-1.0, 2.0])
    np.testing.assert_array_equal(decode(figure.data[1].y), [-0.5, 1.5])
    assert "1.0e-06" in figure.layout.title.text
