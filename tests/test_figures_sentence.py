"""``figures.sentence`` on a tiny model's real arrays: Plotly's own validation accepts every figure (the builders
skip it for speed), the data equal the arrays given (bit for bit, dtype kept), and user words are shown literally."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz import analysis
from gru_viz.figures.sentence import (
    TrajectoryPath,
    compare_prediction_figure,
    compare_prediction_spec,
    difference_heatmap,
    models_prediction_spec,
    patching_figure,
    probability_comparison_figure,
    sentence_path,
    story_figure,
    trajectory_figure,
    unit_heatmap_spec,
    unit_heatmaps_figure,
    word_change_figure,
)
from gru_viz.figures.style import FIELD_RANGES, MAX_WORD_TICKS, marked_moves
from tests.helpers import decode
from tests.library_helpers import outside_data, tiny_model, validated, vega_validated

FIELDS = ("update", "reset", "candidate", "hidden")


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def _line(probability, start):
    return np.concatenate([[start], np.asarray(probability, dtype=np.float64)])


@pytest.mark.parametrize("field", ["update", "hidden"])
def test_story_figure_holds_p_the_rings_and_the_units_values(view, field):
    units = analysis.rank_units(analysis.sentence_logit_changes(view), 4)
    shares = analysis.unit_shares(analysis.sentence_logit_changes(view))[units]
    figure = validated(story_figure(view.tokens, view.probability, view.start_probability, getattr(view, field), units,
                                    shares, field=field))
    line, ring, heatmap = figure.data
    np.testing.assert_array_equal(line.y, _line(view.probability, view.start_probability))
    marked = marked_moves(view.probability, view.start_probability)
    assert list(ring.x) == marked.tolist() and np.array_equal(ring.y, view.probability[marked].astype(np.float64))
    assert heatmap.z.dtype == np.float32 and np.array_equal(heatmap.z, getattr(view, field)[:, units].T)
    assert (heatmap.zmin, heatmap.zmax) == FIELD_RANGES[field]
    assert list(heatmap.y) == [f"unit {u} ({s:+.2f})" for u, s in zip(units, shares)]
    assert list(figure.layout.xaxis.ticktext) == ["(start)"] + view.tokens


def test_story_figure_with_the_reset_gate_adds_its_rows_under_z(view):
    units = analysis.rank_units(analysis.sentence_logit_changes(view), 3)
    shares = analysis.unit_shares(analysis.sentence_logit_changes(view))[units]
    figure = validated(story_figure(view.tokens, view.probability, view.start_probability, view.update, units, shares,
                                    reset=view.reset))
    heatmap = figure.data[2]
    assert np.array_equal(heatmap.z, np.concatenate([view.update[:, units].T, view.reset[:, units].T]))
    labels = [f"unit {u} ({s:+.2f})" for u, s in zip(units, shares)]
    assert list(heatmap.y) == [f"z · {label}" for label in labels] + [f"r · {label}" for label in labels]
    assert "reset gate r" in figure.layout.title.subtitle.text


def test_word_change_figure_holds_the_exact_changes_and_the_retention_split(view):
    split = analysis.sentence_logit_split(view)
    figure = validated(word_change_figure(view.tokens, view.logit_changes, start_logit=view.start_logit,
                                          retention=split.words))
    exact, retention = figure.data
    np.testing.assert_array_equal(exact.y, view.logit_changes.astype(np.float64))
    np.testing.assert_array_equal(retention.y, split.words)
    final = view.start_logit + view.logit_changes.astype(np.float64).sum()
    assert figure.layout.title.subtitle.text.endswith(f"final {final:+.2f}")
    assert len(validated(word_change_figure(view.tokens, view.logit_changes, start_logit=0.0)).data) == 1


def test_unit_heatmaps_hold_each_field_of_the_chosen_units_on_its_fixed_range(view):
    units = np.array([5, 0, 3])
    figure = validated(unit_heatmaps_figure({field: getattr(view, field) for field in FIELDS}, view.tokens, units))
    assert [trace.xaxis for trace in figure.data] == ["x", "x2", "x3", "x4"]
    for trace, field in zip(figure.data, FIELDS):
        assert trace.z.dtype == np.float32 and np.array_equal(trace.z, getattr(view, field)[:, units].T)
        assert (trace.zmin, trace.zmax) == FIELD_RANGES[field]
        assert list(trace.y) == ["unit 5", "unit 0", "unit 3"]
    assert [trace.zmid for trace in figure.data] == [None, None, 0.0, 0.0]  # n and h centred on 0


def test_user_text_is_shown_literally(view):
    tokens = ["<b>", "&amp;", "<br>"]
    figure = unit_heatmaps_figure({"update": view.update[:3]}, tokens, [0, 1])
    spec = figure.to_json()
    assert "<b>" not in spec and "<br>\"" not in spec and "&amp;amp;" in spec


def test_long_sentences_thin_the_tick_labels(model):
    long = model.trace("i love this movie " * 100, max_tokens=300)
    axis = unit_heatmaps_figure({"update": long.update}, long.tokens, np.arange(8)).layout.xaxis
    assert len(axis.ticktext) <= MAX_WORD_TICKS + 1
    assert tuple(axis.range) == (-0.5, 299.5)


def test_trajectory_paths(model, view):
    basis = analysis.projection_basis(model.card, view.path)
    path = sentence_path(view, basis)
    assert path.labels[0] == "(start)" and path.labels[1:] == view.tokens
    for dims in (2, 3):
        figure = validated(trajectory_figure([path], dims=dims, explained=basis.explained))
        line, start, end = figure.data
        np.testing.assert_array_equal(line.x, path.coords[:, 0])
        np.testing.assert_array_equal(line.y, path.coords[:, 1])
        if dims == 3:
            np.testing.assert_array_equal(line.z, path.coords[:, 2])
        np.testing.assert_array_equal(line.marker.color, path.probability)
        assert (line.marker.cmin, line.marker.cmax) == (0.0, 1.0)
        assert start.x[0] == path.coords[0, 0] and end.x[0] == path.coords[-1, 0]
    np.testing.assert_array_equal(path.probability, _line(view.probability, view.start_probability))
    np.testing.assert_allclose(path.coords, analysis.project(view.path, basis))


def test_two_sentences_overlaid_by_position(model, view):
    other = model.trace("so boring")
    figure = validated(compare_prediction_figure([("A", view.tokens, view.probability, view.start_probability),
                                                  ("B", other.tokens, other.probability, other.start_probability)]))
    assert [trace.name for trace in figure.data] == ["A", "B"]
    np.testing.assert_array_equal(figure.data[1].y, _line(other.probability, other.start_probability))
    np.testing.assert_array_equal(figure.data[1].x, np.arange(-1, len(other.tokens)))


def test_the_compare_pages_first_chart_holds_the_same_lines_in_vega_lite(model, view):
    other = model.trace("so <b>boring</b>")
    series = [("A", view.tokens, view.probability, view.start_probability),
              ("B", other.tokens, other.probability, other.start_probability)]
    spec = vega_validated(compare_prediction_spec(series))
    rows = spec["data"]["values"]
    assert "<b>" not in outside_data(spec)
    for name, tokens, probability, start in series:
        line = [row for row in rows if row["series"] == name]
        assert [row["position"] for row in line] == list(range(-1, len(tokens)))
        assert [row["word"] for row in line] == ["(start)", *tokens]  # words as data, markup and all
        assert [row["p"] for row in line] == _line(probability, start).tolist()


def test_several_models_on_one_word_axis_in_vega_lite():
    tokens = ["not", "<b>bad</b>", "not"]  # a repeated word keeps its own column
    readings = [("GRU", np.array([0.2, 0.8, 0.7], dtype=np.float32), 0.5), ("RNN <i>", np.array([0.3, 0.4, 0.1]), 0.45)]
    spec = vega_validated(models_prediction_spec(tokens, readings))
    rows = spec["data"]["values"]
    for name, probability, start in readings:
        line = [row for row in rows if row["series"] == name]
        assert [row["p"] for row in line] == [start, *np.asarray(probability, dtype=np.float64).tolist()]
        assert [row["word"] for row in line] == ["(start)", *tokens]
        assert [row["position"] for row in line] == [-1, 0, 1, 2]
        assert [row["key"] for row in line] == ["0000 (start)", "0001 not", "0002 <b>bad</b>", "0003 not"]
    lines = spec["layer"][1]
    assert lines["encoding"]["color"]["scale"] == {"domain": ["GRU", "RNN <i>"], "range": ["#2166ac", "#b2182b"]}
    assert lines["encoding"]["x"]["scale"]["domain"] == [row["key"] for row in rows[:4]]
    assert lines["mark"]["point"] is True and spec["layer"][0]["encoding"]["y"]["datum"] == 0.5  # the verdict line
    assert "<b>" not in outside_data(spec)
    assert vega_validated(models_prediction_spec(tokens, readings, points=False))["layer"][1]["mark"]["point"] is False
    with pytest.raises(ValueError, match="read 2 words where the sentence has 3"):
        models_prediction_spec(tokens, [("GRU", np.array([0.1, 0.2]), 0.5)])


@pytest.mark.parametrize("field", ["update", "hidden"])
def test_a_unit_heatmap_in_vega_lite_holds_the_field_of_the_units_exactly(view, field):
    tokens = [*view.tokens[:-1], "<b>bad</b>"]
    values = getattr(view, field)  # (T, H) float32
    units, shares = np.array([5, 0, 3]), np.array([0.91, -0.5, 0.004])
    spec = vega_validated(unit_heatmap_spec(tokens, values, units, shares, field=field,
                                            unit_link="unit?unit={unit}&model=m"))
    cells = spec["data"]["values"]
    assert [row["value"] for row in cells] == values[:, units].T.astype(np.float64).ravel().tolist()
    assert [row["word"] for row in cells] == tokens * 3
    assert [row["position"] for row in cells] == list(range(len(tokens))) * 3
    assert [row["unit"] for row in cells[::len(tokens)]] == ["unit 5 (+0.91)", "unit 0 (-0.50)", "unit 3 (+0.00)"]
    assert [row["href"] for row in cells[::len(tokens)]] == ["unit?unit=5&model=m", "unit?unit=0&model=m",
                                                             "unit?unit=3&model=m"]
    encoding = spec["encoding"]
    assert encoding["y"]["scale"]["domain"] == ["unit 5 (+0.91)", "unit 0 (-0.50)", "unit 3 (+0.00)"]
    assert encoding["href"]["field"] == "href"
    low, high = FIELD_RANGES[field]  # the story's colours: Viridis on a gate's 0 … 1, red–white–blue on −1 … 1
    scale = encoding["color"]["scale"]
    assert (scale == {"scheme": "viridis", "domain": [0.0, 1.0]} if field == "update"
            else (scale["domain"][0], scale["domain"][-1], scale["range"][2]) == (low, high, "#f7f7f7"))
    assert "<b>" not in outside_data(spec)
    plain = vega_validated(unit_heatmap_spec(tokens, values, units))
    assert "href" not in plain["encoding"] and plain["encoding"]["y"]["scale"]["domain"] == ["unit 5", "unit 0",
                                                                                              "unit 3"]


def test_free_against_clamped(model):
    tokens = ["a", "<b>", "c"]
    free, clamped = np.array([0.2, 0.5, 0.9]), np.array([0.2, 0.4, 0.1])
    figure = validated(probability_comparison_figure(tokens, free, clamped))
    assert [trace.name for trace in figure.data] == ["free", "clamped"] and np.array_equal(figure.data[1].y, clamped)
    run = analysis.intervene(model, "great movie but boring plot", clamp_reset=1.0)
    figure = validated(difference_heatmap(run.free.tokens, run.free.hidden, run.clamped.hidden))
    np.testing.assert_array_equal(figure.data[0].z, (run.clamped.hidden.astype(np.float64) - run.free.hidden).T)


def test_patching_figure_holds_p_and_the_share_carried():
    grid = np.array([[0.9, 0.2], [0.5, 0.1]])
    figure = validated(patching_figure(grid, ["a", "<b>"], ["x", "y"], base_probability=0.9, source_probability=0.1))
    np.testing.assert_array_equal(decode(figure.to_dict()["data"][0]["z"]), grid)
    assert figure.data[0].customdata[0][1][2] == pytest.approx((0.2 - 0.9) / (0.1 - 0.9))
    assert figure.layout.yaxis.ticktext == ("a", "&lt;b&gt;")
    with pytest.raises(ValueError, match="base words"):
        patching_figure(grid, ["a"], ["x", "y"], base_probability=0.5, source_probability=0.5)


def test_patching_figure_of_a_real_grid(model):
    base, source = model.trace("i love this movie"), model.trace("so boring")
    grid = analysis.patching_grid(model, "i love this movie", "so boring")  # (T_base, T_source)
    figure = validated(patching_figure(grid, base.tokens, source.tokens, base_probability=float(base.probability[-1]),
                                       source_probability=float(source.probability[-1])))
    np.testing.assert_array_equal(np.array(figure.data[0].z, dtype=np.float64), grid)


def test_a_path_needs_its_own_points():
    path = TrajectoryPath(name="s", coords=np.zeros((2, 3)), labels=["(start)", "a"], probability=np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="dims"):
        trajectory_figure([path], dims=4, explained=np.ones(3))
