"""The analysis figures hold the numbers given and pass Plotly's validation."""

from __future__ import annotations

import html

import numpy as np

from gru_viz import figures_analysis
from gru_viz.analysis import (
    dataset_gradient_flow,
    embed_texts,
    intervene,
    memory_statistics,
    top_activations,
)
from tests.library_helpers import (
    validated,
)


def test_figure_builders_hold_the_numbers_given(model, texts):
    tokens = ["a", "<b>", "c"]
    gru, rnn = np.array([0.5, 1.0, 2.0]), np.array([1e-4, 1e-2, 2.0])
    figure = validated(figures_analysis.gradient_flow_figure(tokens, gru, rnn))
    assert figure.layout.yaxis.type == "log" and list(figure.layout.xaxis.ticktext) == ["a", "&lt;b&gt;", "c"]
    assert np.array_equal(figure.data[0].y, gru) and np.array_equal(figure.data[1].y, rnn)

    flow = dataset_gradient_flow(model.gru, embed_texts(model, texts[:6]))
    figure = validated(figures_analysis.dataset_gradient_flow_figure({"GRU": flow, "RNN": flow}, min_count=2))
    kept = flow.count >= 2
    assert figure.layout.yaxis.type == "log" and len(figure.data) == 2
    assert np.array_equal(figure.data[0].y, flow.geometric_mean[kept])

    stats = memory_statistics(model, texts)
    figure = validated(figures_analysis.saturation_figure(stats))
    assert np.array_equal(figure.data[0].x, stats.update_low) and np.array_equal(figure.data[1].y, stats.reset_high)
    figure = validated(figures_analysis.timescale_figure(np.array([2.0, np.inf, 0.5]), ["mixed", "integrator", "fast"]))
    assert list(figure.data[0].x) == ["unit 1", "unit 0", "unit 2"] and list(figure.data[0].customdata)[0] == "∞"

    free, clamped = np.array([0.2, 0.5, 0.9]), np.array([0.2, 0.4, 0.1])
    figure = validated(figures_analysis.probability_comparison_figure(tokens, free, clamped))
    assert [trace.name for trace in figure.data] == ["free", "clamped"] and np.array_equal(figure.data[1].y, clamped)
    run = intervene(model, "great movie but boring plot", clamp_reset=1.0)
    figure = validated(figures_analysis.difference_heatmap(run.free.tokens, run.free.hidden, run.clamped.hidden))
    np.testing.assert_array_equal(figure.data[0].z, (run.clamped.hidden.astype(np.float64) - run.free.hidden).T)

    accuracy = {"free": 0.9, "reset=1": 0.8, "update=0": 0.7, "reset=1,update=0": 0.6}
    figure = validated(figures_analysis.ablation_figure(accuracy, size=872))
    assert list(figure.data[0].x) == list(accuracy) and list(figure.data[0].y) == list(accuracy.values())

    hits = top_activations(model, ["the <b>plot</b> is great", "lovely"], unit=1, k=3, largest=False)
    figure = validated(figures_analysis.top_activations_figure(hits, window=2))
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
