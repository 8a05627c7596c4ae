"""The lesson's figures: valid Plotly and valid Vega-Lite (the specs the page draws), the numbers given exactly,
names and words shown literally."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz.figures import (
    carriers_figure,
    carriers_spec,
    gate_across_units_figure,
    gate_across_units_spec,
    models_probability_figure,
    models_probability_spec,
    vanilla_latex,
)
from tests.library_helpers import outside_data, validated, vega_validated


def test_models_probability_figure_draws_every_model_from_the_start():
    tokens = ["not", "<b>bad</b>"]
    figure = validated(models_probability_figure(tokens, [("GRU <i>", np.array([0.2, 0.8]), 0.5),
                                                          ("RNN", np.array([0.3, 0.4]), 0.45)]))
    assert [trace.name for trace in figure.data] == ["GRU &lt;i&gt;", "RNN"]
    assert figure.data[1].x.tolist() == [-1, 0, 1] and figure.data[1].y.tolist() == [0.45, 0.3, 0.4]
    assert list(figure.data[0].text) == ["(start)", "not", "&lt;b&gt;bad&lt;/b&gt;"]
    assert figure.layout.xaxis.range == (-1.5, 1.5)
    with pytest.raises(ValueError, match="3 probabilities for 2 words"):
        models_probability_figure(tokens, [("GRU", np.array([0.1, 0.2, 0.3]), 0.5)])


def test_gate_across_units_figure_rings_the_marked_unit_and_draws_the_shut_line():
    values = np.array([0.0, 0.95, 1e-6, 0.5])
    figure = validated(gate_across_units_figure(values, "but", marked=2, shut=0.1))
    assert figure.data[0].y.tolist() == values.tolist() and figure.data[0].x.tolist() == [0, 1, 2, 3]
    assert figure.data[1].x == (2,) and figure.data[1].y == (1e-6,)
    assert figure.layout.shapes[0].y0 == 0.1 and figure.layout.annotations[0].text == "unit 2"


def test_carriers_figure_is_the_house_heatmap_with_room_for_every_row():
    update = np.linspace(0, 1, 3 * 5).reshape(3, 5)  # (T, H)
    figure = validated(carriers_figure(update, ["a", "b", "c"], np.array([4, 1]), np.array([0.5, -0.25])))
    assert np.asarray(figure.data[0].z).tolist() == update[:, [4, 1]].T.tolist()
    assert list(figure.data[0].y) == ["unit 4 (+0.50)", "unit 1 (-0.25)"]
    assert figure.layout.height >= 2 * 2 * 17 + 170


def test_the_models_spec_draws_every_model_from_the_start_without_dots():
    tokens = ["not", "<b>bad</b>"]
    series = [("GRU", np.array([0.2, 0.8], dtype=np.float32), 0.5), ("RNN", np.array([0.3, 0.4]), 0.45)]
    spec = vega_validated(models_probability_spec(tokens, series, title="three readings"))
    rows = spec["data"]["values"]
    assert [(row["series"], row["word"], row["p"]) for row in rows] == [
        ("GRU", "(start)", 0.5), ("GRU", "not", float(np.float32(0.2))), ("GRU", "<b>bad</b>", float(np.float32(0.8))),
        ("RNN", "(start)", 0.45), ("RNN", "not", 0.3), ("RNN", "<b>bad</b>", 0.4)]
    lines = spec["layer"][1]
    assert lines["mark"]["point"] is False and lines["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [6, 4]]
    assert spec["title"]["text"] == "three readings" and "<b>" not in outside_data(spec)


def test_the_gate_spec_rings_the_marked_unit_and_draws_the_shut_line():
    values = np.array([0.0, 0.95, 1e-6, 0.5], dtype=np.float32)
    spec = vega_validated(gate_across_units_spec(values, "<b>but</b>", marked=2, shut=0.1))
    assert [(row["unit"], row["value"]) for row in spec["data"]["values"]] == [
        (0, 0.0), (1, float(np.float32(0.95))), (2, float(np.float32(1e-6))), (3, 0.5)]
    rule, dots, ring, name = spec["layer"]
    assert rule["encoding"]["y"]["datum"] == 0.1 and dots["encoding"]["color"]["scale"]["scheme"] == "viridis"
    assert ring["transform"] == name["transform"] == [{"filter": {"field": "unit", "equal": 2}}]
    assert name["encoding"]["text"] == {"value": "unit 2"}
    assert spec["title"]["text"] == "r of every unit at “<b>but</b>”"  # Vega draws a title as text, never markup
    plain = vega_validated(gate_across_units_spec(values, "but"))
    assert len(plain["layer"]) == 1


def test_the_carriers_spec_is_the_house_heatmap_of_the_update_gate():
    update = np.linspace(0, 1, 3 * 5).reshape(3, 5)  # (T, H)
    spec = vega_validated(carriers_spec(update, ["a", "<b>", "a"], np.array([4, 1]), np.array([0.5, -0.25])))
    cells = spec["data"]["values"]
    assert [row["value"] for row in cells] == update[:, [4, 1]].T.ravel().tolist()
    assert [row["word"] for row in cells] == ["a", "<b>", "a"] * 2
    assert spec["encoding"]["y"]["scale"]["domain"] == ["unit 4 (+0.50)", "unit 1 (-0.25)"]
    assert spec["encoding"]["color"]["scale"] == {"scheme": "viridis", "domain": [0.0, 1.0]}
    assert "href" not in spec["encoding"] and "<b>" not in outside_data(spec)


def test_vanilla_latex_shows_both_steps_with_the_same_numbers():
    latex = vanilla_latex(-7.45, 9.9, 0.985, 0.985, unit=1)
    assert latex.count("0.9850000000") == 2 and latex.count("-7.4500") == 2 and latex.count("+9.9000") == 2
