"""``figures.dataset``: the data-set figures hold the numbers of a tiny model's real analyses and pass Plotly's
validation (the builders skip it for speed)."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pytest

from gru_viz.analysis import (
    dataset_gradient_flow,
    embed_texts,
    memory_statistics,
    top_activations,
)
from gru_viz.figures import dataset as figures_dataset
from tests.library_helpers import validated, vega_expressions


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



def test_gradient_flow_spec_holds_each_models_kept_distances_exactly(model, texts):
    flow = dataset_gradient_flow(model.gru, embed_texts(model, texts[:6]))
    spec = figures_dataset.dataset_gradient_flow_spec({"GRU <b>x</b>": flow, "RNN": flow}, min_count=2)
    alt.Chart.from_dict(spec)
    kept = flow.count >= 2
    for name in ("GRU <b>x</b>", "RNN"):
        rows = [row for row in spec["data"]["values"] if row["model"] == name]
        assert [row["distance"] for row in rows] == flow.distance[kept].tolist()
        assert [row["value"] for row in rows] == flow.geometric_mean[kept].tolist()
        assert [row["mean"] for row in rows] == flow.mean[kept].tolist()
        assert [row["count"] for row in rows] == flow.count[kept].tolist()
    assert spec["encoding"]["y"]["scale"] == {"type": "log"} and not vega_expressions(spec)
    mean = figures_dataset.dataset_gradient_flow_spec({"GRU": flow}, statistic="mean")
    assert [row["value"] for row in mean["data"]["values"]] == flow.mean.tolist()


def test_saturation_and_timescale_specs_hold_every_unit_exactly_and_link_to_it(model, texts):
    stats = memory_statistics(model, texts)
    units = len(stats.labels)
    spec = figures_dataset.saturation_spec(stats, unit_link="unit?unit={unit}&model=m")
    alt.LayerChart.from_dict(spec)
    points = spec["layer"][1]["data"]["values"]
    for gate, name in (("update", "update gate z"), ("reset", "reset gate r")):
        rows = [row for row in points if row["gate"] == name]
        assert [row["unit"] for row in rows] == list(range(units))
        assert [row["closed"] for row in rows] == np.asarray(getattr(stats, gate + "_low"), float).tolist()
        assert [row["open"] for row in rows] == np.asarray(getattr(stats, gate + "_high"), float).tolist()
        assert [row["mean"] for row in rows] == np.asarray(getattr(stats, gate + "_mean"), float).tolist()
        assert [row["href"] for row in rows] == [f"unit?unit={u}&model=m" for u in range(units)]
    assert spec["layer"][0]["data"]["values"] == [{"closed": 0.0, "open": 1.0}, {"closed": 1.0, "open": 0.0}]

    timescale = np.array([2.0, np.inf, 0.5, 8.0])
    spec = figures_dataset.timescale_spec(timescale, ["mixed", "integrator", "fast", "<b>odd</b>"],
                                          unit_link="unit?unit={unit}")
    alt.Chart.from_dict(spec)
    rows = spec["data"]["values"]
    assert [row["unit"] for row in rows] == ["unit 1", "unit 3", "unit 0", "unit 2"]  # longest memory first
    assert [row["shown"] for row in rows] == [16.0, 8.0, 2.0, 0.5]  # ∞ drawn at twice the longest finite τ
    assert [row["tau"] for row in rows] == ["∞", "8", "2", "0.5"]
    assert [row["href"] for row in rows] == ["unit?unit=1", "unit?unit=3", "unit?unit=0", "unit?unit=2"]
    assert spec["encoding"]["color"]["scale"] == {"domain": ["integrator", "fast", "mixed", "<b>odd</b>"],
                                                  "range": ["#2166ac", "#ef8a62", "#7f7f7f", "#7f7f7f"]}
    assert "href" not in figures_dataset.timescale_spec(timescale)["encoding"]  # no link without unit_link
    assert not vega_expressions(spec)


def test_ablation_spec_labels_each_bar_with_its_value_and_change():
    accuracy = {"free": 0.9, "reset=1": 0.8, "update=0": 0.7, "reset=1,update=0": 0.6}
    spec = figures_dataset.ablation_spec(accuracy, size=872)
    alt.LayerChart.from_dict(spec)
    rows = spec["data"]["values"]
    assert [row["condition"] for row in rows] == list(accuracy)
    assert [row["accuracy"] for row in rows] == list(accuracy.values())
    assert [row["change"] for row in rows] == [value - 0.9 for value in accuracy.values()]
    assert [row["label"] for row in rows] == ["0.9000", "0.8000 (-0.1000)", "0.7000 (-0.2000)", "0.6000 (-0.3000)"]
    assert spec["title"]["text"] == "Accuracy with gates forced (872 sentences)"


def test_top_activations_spec_holds_each_context_word_as_data_with_its_value(model):
    hits = top_activations(model, ["the <b>plot</b> is great", "lovely"], unit=1, k=3, largest=False)
    spec = figures_dataset.top_activations_spec(hits, window=2)
    alt.LayerChart.from_dict(spec)
    rows = spec["data"]["values"]
    ranks = [f"#{rank + 1}: {hit.value:.4g}" for rank, hit in enumerate(hits)]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == ranks
    for rank, hit in zip(ranks, hits):
        expected = [(offset, hit.tokens[hit.position + column], float(hit.values[hit.position + column]))
                    for offset, column in zip(["-2", "-1", "hit", "1", "2"], range(-2, 3))
                    if 0 <= hit.position + column < len(hit.tokens)]
        assert [(row["offset"], row["word"], row["value"]) for row in rows if row["rank"] == rank] == expected
    words = [row["word"] for row in rows]
    assert ">" in words and not any("&" in word for word in words)  # markup as the characters typed, as data
    assert not any("<" in expression for expression in vega_expressions(spec))
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"][0] == -1.0  # h on [−1, 1]
    gate = figures_dataset.top_activations_spec(hits, window=2, field="update")
    assert gate["layer"][0]["encoding"]["color"]["scale"] == {"scheme": "viridis", "domain": [0.0, 1.0]}
    with pytest.raises(ValueError, match="no activations"):
        figures_dataset.top_activations_spec([], window=2)


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
