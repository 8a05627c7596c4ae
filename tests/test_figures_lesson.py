"""The lesson's figures: valid Plotly, the numbers given, names and words shown literally."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz.figures import carriers_figure, gate_across_units_figure, models_probability_figure, vanilla_latex
from tests.library_helpers import validated


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


def test_vanilla_latex_shows_both_steps_with_the_same_numbers():
    latex = vanilla_latex(-7.45, 9.9, 0.985, 0.985, unit=1)
    assert latex.count("0.9850000000") == 2 and latex.count("-7.4500") == 2 and latex.count("+9.9000") == 2
