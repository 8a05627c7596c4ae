"""Memory statistics and unit search against Python loops over ``model.trace`` of one sentence at a time;
unit orders and clustering against layouts whose answer is known."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from gru_viz import analysis
from gru_viz.analysis import (
    memory_statistics,
    top_activations,
    units,
)
from tests.library_helpers import ANALYSIS_UNITS as UNITS
from tests.library_helpers import (
    gated_model,
    random_texts,
    tiny_model,
)


@pytest.fixture(scope="module")
def view():
    return tiny_model().trace("I love this movie but the movie is really boring")


def _loop_statistics(model, texts):
    """Counts, means, timescales and labels by visiting every step of every sentence, one at a time."""
    counts = {key: [0] * UNITS for key in ("update_low", "update_high", "reset_low", "reset_high")}
    sums = {"update": [0.0] * UNITS, "reset": [0.0] * UNITS}
    steps = 0
    for text in texts:
        gates = model.trace(text).gates
        for t in range(gates.shape[3]):
            steps += 1
            for unit in range(UNITS):
                for gate in ("update", "reset"):
                    value = float(getattr(gates, gate)[0, 0, 0, t, unit])
                    counts[gate + "_low"][unit] += value < 0.1
                    counts[gate + "_high"][unit] += value > 0.9
                    sums[gate][unit] += value
    result = {key: np.array(c) / steps for key, c in counts.items()}
    result["update_mean"] = np.array(sums["update"]) / steps
    result["reset_mean"] = np.array(sums["reset"]) / steps
    result["timescale"] = np.array([math.inf if m == 1 else -1 / math.log(m) for m in result["update_mean"]])
    labels = []
    for unit in range(UNITS):
        if result["update_high"][unit] >= 0.6:
            labels.append("integrator")
        elif result["reset_low"][unit] >= 0.3:
            labels.append("resetter")
        elif result["timescale"][unit] < 1.5:
            labels.append("fast")
        else:
            labels.append("mixed")
    return result, labels, steps


@pytest.mark.parametrize("batch_size", [1024, 5])
def test_memory_statistics_equal_a_loop_over_sentences_and_steps(model, texts, batch_size):
    stats = memory_statistics(model, texts, batch_size=batch_size)
    expected, labels, steps = _loop_statistics(model, texts)
    assert stats.steps == steps and stats.sentences == len(texts)
    for key in ("update_low", "update_high", "reset_low", "reset_high"):
        np.testing.assert_array_equal(getattr(stats, key), expected[key], err_msg=key)
    for key in ("update_mean", "reset_mean", "timescale"):
        np.testing.assert_allclose(getattr(stats, key), expected[key], rtol=1e-6, err_msg=key)
    assert stats.labels == labels
    assert expected["update_low"].any() and expected["update_high"].any() and expected["reset_low"].any()


def test_memory_statistics_timescale_is_infinite_for_a_unit_that_always_keeps():
    model = gated_model(seed=5)
    with torch.no_grad():
        model.gru.bias_hh_l0[UNITS + 2] = 1000.0  # z of unit 2 is exactly 1: a perfect integrator
        model.gru.bias_hh_l0[UNITS + 4] = -1000.0  # z of unit 4 is exactly 0: rewritten every word
    stats = memory_statistics(model, random_texts(10))
    assert stats.update_mean[2] == 1 and stats.timescale[2] == math.inf and stats.labels[2] == "integrator"
    assert stats.update_high[2] == 1 and stats.update_low[2] == 0
    assert stats.timescale[4] == 0 and stats.update_low[4] == 1


def test_memory_statistics_of_the_vanilla_rnn_show_its_fixed_gates():
    stats = memory_statistics(gated_model("rnn"), random_texts(6))
    assert (stats.update_low == 1).all() and (stats.reset_high == 1).all() and (stats.timescale == 0).all()


@pytest.mark.parametrize("field,largest", [("hidden", True), ("hidden", False), ("update", True),
                                           ("candidate", True)])
def test_top_activations_equal_a_sorted_loop(model, texts, field, largest):
    unit, k = 3, 7
    hits = top_activations(model, texts, unit, k, field, largest=largest, batch_size=6)
    everything = []
    for index, text in enumerate(texts):
        sentence = model.trace(text)
        values = getattr(sentence.gates, field)[0, 0, 0, :, unit]
        everything += [(-v if largest else v, index, t, v, sentence.tokens) for t, v in enumerate(values)]
    everything.sort(key=lambda item: item[:3])
    assert len(hits) == k
    for hit, (_, index, position, value, tokens) in zip(hits, everything[:k]):
        assert (hit.sentence, hit.position, hit.tokens) == (index, position, tokens)
        assert hit.value == pytest.approx(float(value), abs=1e-6)
        assert hit.values.shape == (len(tokens),) and hit.values[position] == pytest.approx(hit.value, abs=0)


def test_top_activation_context_and_refusals(model, texts):
    hit = top_activations(model, ["the plot is not great but the movie is lovely"], 0, k=1)[0]
    before, word, after = hit.context(2)
    assert word == hit.tokens[hit.position] and len(before) <= 2 and len(after) <= 2
    assert before == hit.tokens[max(hit.position - 2, 0):hit.position]
    for bad in (dict(unit=UNITS), dict(unit=0, k=0), dict(unit=0, field="output")):
        with pytest.raises(ValueError):
            top_activations(model, texts, **bad)


def test_cluster_order_puts_each_group_together():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0] * 5, [10.0] * 5, [-10.0, 10, -10, 10, -10]])
    group = np.arange(12) % 3  # interleaved: rows 0, 3, 6, 9 are one group
    features = centres[group] + rng.normal(scale=0.1, size=(12, 5))
    order = analysis.cluster_order(features)
    assert sorted(order) == list(range(12))
    runs = [len(list(g)) for _, g in itertools.groupby(group[order])]
    assert runs == [4, 4, 4]


def test_cluster_order_above_the_limit_is_a_permutation(monkeypatch):
    monkeypatch.setattr(units, "CLUSTER_LIMIT", 5)
    features = np.random.default_rng(1).normal(size=(9, 4))
    assert sorted(analysis.cluster_order(features)) == list(range(9))
    assert list(analysis.cluster_order(features[:2])) == [0, 1]


def test_head_units_are_the_largest_weights():
    assert analysis.head_units([0.1, -3.0, 0.2, 2.0, -0.5], count=3) == [1, 3, 4]


def test_unit_orders(view):
    index = analysis.unit_order(view, "index")
    assert list(index) == list(range(8))
    by_z = analysis.unit_order(view, "mean z")
    means = view.update.astype(np.float64).mean(axis=0)[by_z]
    assert sorted(by_z) == list(range(8)) and np.all(np.diff(means) <= 0)
    clustered = analysis.unit_order(view, "clustered")
    assert sorted(clustered) == list(range(8))
    assert np.array_equal(clustered, analysis.unit_order(view, "clustered"))  # deterministic
    both = analysis.unit_order([view, view], "mean z")
    assert np.array_equal(both, by_z)
    with pytest.raises(ValueError, match="unit order"):
        analysis.unit_order(view, "random")
