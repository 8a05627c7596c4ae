"""``figures.dataset``: the data-set figures hold the numbers of a tiny model's real analyses and pass Plotly's
validation (the builders skip it for speed)."""

from __future__ import annotations

import html

import numpy as np
import pytest

from gru_viz.analysis import (
    dataset_gradient_flow,
    embed_texts,
    memory_statistics,
    top_activations,
)
from gru_viz.figures import dataset as figures_dataset
from tests.library_helpers import validated


def test_figure_builders_hold_the_numbers_given(model, texts):
    flow = dataset_gradient_flow(model.gru, embed_texts(model, texts[:6]))
    figure = validated(figures_dataset.dataset_gradient_flow_figure({"GRU": flow, "RNN": flow}, min_count=2))
    kept = flow.count >= 2
    assert figure.layout.yaxis.type == "log" and len(figure.data) == 2
    assert np.array_equal(figure.data[0].y, flow.geometric_mean[kept])

    stats = memory_statistics(model, texts)
    figure = validated(figures_dataset.saturation_figure(stats))
    assert np.array_equal(figure.data[0].x, stats.update_low) and np.array_equal(figure.data[1].y, stats.reset_high)
    figure = validated(figures_dataset.timescale_figure(np.array([2.0, np.inf, 0.5]), ["mixed", "integrator", "fast"]))
    assert list(figure.data[0].x) == ["unit 1", "unit 0", "unit 2"] and list(figure.data[0].customdata)[0] == "∞"

    accuracy = {"free": 0.9, "reset=1": 0.8, "update=0": 0.7, "reset=1,update=0": 0.6}
    figure = validated(figures_dataset.ablation_figure(accuracy, size=872))
    assert list(figure.data[0].x) == list(accuracy) and list(figure.data[0].y) == list(accuracy.values())

    hits = top_activations(model, ["the <b>plot</b> is great", "lovely"], unit=1, k=3, largest=False)
    figure = validated(figures_dataset.top_activations_figure(hits, window=2))
    heatmap = figure.data[0]
    assert heatmap.z.shape == (3, 5)
    for row, hit in enumerate(hits):
        assert heatmap.z[row, 2] == hit.values[hit.position]
        assert heatmap.text[row][2] == html.escape(hit.tokens[hit.position], quote=False)
        for column in range(5):
            position = hit.position - 2 + column
            inside = 0 <= position < len(hit.tokens)
            assert np.isnan(heatmap.z[row, column]) != inside
    cells = [cell for row in heatmap.text for cell in row]
    assert "&gt;" in cells and not any("<" in cell or ">" in cell for cell in cells)


def test_probe_figure_holds_the_cards_curves():
    card = {"probe": {"retention": {"verdict_first": {"0": 1.0, "4": 0.75, "16": 0.5},
                                    "verdict_last": {"0": 1.0, "4": 0.9}}, "contrast": {"0": 0.8, "4": 0.6}}}
    figure = validated(figures_dataset.probe_figure(card, "tiny <b>"))
    assert [list(trace.x) for trace in figure.data] == [[0, 4, 16], [0, 4], [0, 4]]
    assert [list(trace.y) for trace in figure.data] == [[1.0, 0.75, 0.5], [1.0, 0.9], [0.8, 0.6]]
    assert "&lt;b&gt;" in figure.layout.title.text
    assert figures_dataset.probe_figure({"name": "no probe"}) is None


def test_probe_points_carry_their_sample_and_95_percent_interval():
    card = {"probe": {"retention": {"verdict_first": {"0": 1.0, "8": 0.8767}}, "contrast": {},
                      "settings": {"phrases_per_polarity": [150, 150]}}}
    figure = validated(figures_dataset.probe_figure(card))
    [line] = figure.data
    z = 1.959963984540054
    for accuracy, plus, minus in zip(line.y, line.error_y.array, line.error_y.arrayminus):
        successes = round(accuracy * 300)
        # the interval's ends solve (p̂ − p)² n = z² p(1 − p) for p, written out here
        rate = successes / 300
        low, high = sorted(np.roots([1 + z * z / 300, -(2 * rate + z * z / 300), rate * rate]).real)
        assert plus == pytest.approx(high - accuracy, abs=1e-6) and minus == pytest.approx(accuracy - low, abs=1e-6)
    assert "300 tests a point" in figure.layout.title.subtitle.text
