"""Interventions, ablation, data-set gradient flow, memory statistics and unit search, each against a
computation written here: ``predict_proba`` under the same clamps, Python loops over ``model.trace`` of
one sentence at a time, and ``gradient_flow`` (autograd) per sentence averaged by hand."""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from gru_viz import figures_analysis as figures
from gru_viz.analysis import (
    ABLATIONS,
    CLAMP_MODES,
    ablation,
    ablation_accuracy,
    ablation_probabilities,
    clamp_array,
    dataset_gradient_flow,
    embed_texts,
    gradient_flow,
    intervene,
    memory_statistics,
    top_activations,
    verdict_flips,
)
from gru_viz.model import ModelConfig, SentimentModel, SentimentNet
from gru_viz.text import Vocabulary

WORDS = ["great", "lovely", "awful", "boring", "the", "movie", "plot", "is", "not", "and", "a", "but", "."]
UNITS = 6


def _model(arch="gru", seed=0, gain=4.0) -> SentimentModel:
    """A tiny random model; recurrent weights scaled by ``gain`` so gates reach saturation."""
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=UNITS))
    with torch.no_grad():
        for parameter in net.rnn.parameters():
            parameter.mul_(gain)
    return SentimentModel(net, vocab, {"name": f"tiny-{arch}"})


def _texts(count=40, seed=1) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS + ["zebra"], size=int(rng.integers(1, 13)))) for _ in range(count)]
    return texts + ["great", "not great and not boring"]


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def texts():
    return _texts()


def _state(model):
    return {name: tensor.clone() for name, tensor in model.net.state_dict().items()}


def _assert_unchanged(model, before):
    after = model.net.state_dict()
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]), name
    assert not any(p.requires_grad for p in model.net.parameters())


# ---- clamps and interventions -----------------------------------------------------------------------


def test_clamp_array_shapes_and_values():
    clamp = clamp_array((5, UNITS), units=[1, 4], positions=slice(1, 3), value=0.25)
    assert clamp.shape == (1, 1, 1, 5, UNITS)
    chosen = np.zeros((5, UNITS), dtype=bool)
    chosen[1:3, [1, 4]] = True
    assert (clamp[0, 0, 0][chosen] == 0.25).all() and np.isnan(clamp[0, 0, 0][~chosen]).all()

    per_unit = clamp_array(UNITS, units=2, value=1.0)
    assert per_unit.shape == (UNITS,) and per_unit[2] == 1 and np.isnan(np.delete(per_unit, 2)).all()
    everything = clamp_array((3, UNITS), value=0.0)
    assert (everything == 0).all()
    layered = clamp_array((5, UNITS), units=0, positions=range(0, 2), value=1.0, base=clamp)
    assert layered[0, 0, 0, 0, 0] == 1 and layered[0, 0, 0, 1, 1] == 0.25 and np.isnan(layered[0, 0, 0, 4, 0])
    assert clamp_array((4, UNITS), positions=-1, value=1.0)[0, 0, 0, 3].tolist() == [1.0] * UNITS


@pytest.mark.parametrize("arguments", [
    dict(shape=(4, UNITS), value=1.5), dict(shape=(4, UNITS), units=UNITS), dict(shape=(4, UNITS), positions=4),
    dict(shape=UNITS, positions=0), dict(shape=(4, UNITS, 1)), dict(shape=(4, UNITS), units="first"),
    dict(shape=(4, UNITS), base=np.zeros(3)),
])
def test_clamp_array_refuses_bad_choices_with_a_value_error(arguments):
    with pytest.raises(ValueError):
        clamp_array(**arguments)


def _gates_at(model, x_t, previous):
    """r, z in float64 from PyTorch's documented equations, at the state the step actually read."""
    gru = model.gru
    w_ih, w_hh = gru.weight_ih_l0.double(), gru.weight_hh_l0.double()
    b_ih, b_hh = gru.bias_ih_l0.double(), gru.bias_hh_l0.double()
    gi = w_ih @ torch.as_tensor(x_t).double() + b_ih
    gh = w_hh @ torch.as_tensor(previous).double() + b_hh
    r = torch.sigmoid(gi[:UNITS] + gh[:UNITS])
    z = torch.sigmoid(gi[UNITS:2 * UNITS] + gh[UNITS:2 * UNITS])
    return r.numpy(), z.numpy()


@pytest.mark.parametrize("gate", ["update", "reset"])
def test_clamped_units_hold_the_value_and_the_others_stay_free(model, gate):
    text = "the plot is not great but the movie is lovely"
    steps = len(text.split())
    clamp = clamp_array((steps, UNITS), units=[0, 3], positions=slice(2, 6), value=0.8)
    run = intervene(model, text, **{f"clamp_{gate}": clamp})
    clamped = getattr(run.clamped.gates, gate)[0, 0, 0]  # (T, H)
    chosen = ~np.isnan(clamp[0, 0, 0])
    assert (clamped[chosen] == np.float32(0.8)).all()

    # before the first clamped step the two runs agree (the clamped run steps in Python, the free one is fused)
    np.testing.assert_allclose(run.clamped.hidden[:2], run.free.hidden[:2], rtol=0, atol=1e-6)
    # every free entry is the gate computed from the state the clamped run actually read
    with torch.no_grad():
        embedded = model.net.embedding(torch.tensor(run.clamped.ids)).numpy()  # (T, E)
    previous = run.clamped.gates.previous[0, 0, 0]  # (T, H)
    for t in range(steps):
        reset, update = _gates_at(model, embedded[t], previous[t])
        expected = update if gate == "update" else reset
        free = ~chosen[t]
        np.testing.assert_allclose(clamped[t][free], expected[free], atol=2e-6)
    assert run.hidden_distance[:2].max() < 1e-5 and run.hidden_distance[-1] > 1e-3


def test_intervention_compares_free_and_clamped_runs(model):
    text = "great movie but boring plot"
    run = intervene(model, text, **CLAMP_MODES["vanilla-RNN mode"])
    free, clamped = model.trace(text), model.trace(text, clamp_update=0.0, clamp_reset=1.0)
    np.testing.assert_array_equal(run.free.probability, free.probability)
    np.testing.assert_array_equal(run.clamped.probability, clamped.probability)
    assert (run.clamped.gates.update == 0).all() and (run.clamped.gates.reset == 1).all()
    expected = np.sqrt(((clamped.hidden.astype(np.float64) - free.hidden) ** 2).sum(axis=1))
    np.testing.assert_allclose(run.hidden_distance, expected, rtol=1e-12)
    np.testing.assert_array_equal(run.probability_change, clamped.probability - free.probability)
    assert run.verdict_flipped == ((free.probability[-1] > 0.5) != (clamped.probability[-1] > 0.5))
    frozen = intervene(model, text, **CLAMP_MODES["frozen memory"])
    assert (frozen.clamped.hidden == 0).all()  # z ≡ 1 from h0 = 0: nothing is ever written


def test_no_analysis_changes_the_model(model, texts):
    before = _state(model)
    intervene(model, texts[0], clamp_update=clamp_array(UNITS, units=1, value=1.0), clamp_reset=0.0)
    ablation(model, texts[:10], [1] * 10)
    memory_statistics(model, texts[:10])
    top_activations(model, texts[:10], unit=0, k=3, field="reset")
    dataset_gradient_flow(model.gru, embed_texts(model, texts[:5]))
    _assert_unchanged(model, before)
    np.testing.assert_array_equal(model.trace(texts[0]).hidden, _model().trace(texts[0]).hidden)


# ---- ablation ----------------------------------------------------------------------------------------


def test_ablation_accuracy_equals_predict_proba_under_the_same_clamps(model, texts):
    labels = np.random.default_rng(2).integers(0, 2, len(texts))
    accuracy = ablation(model, texts, labels, batch_size=7)  # several length-sorted batches
    assert list(accuracy) == ["free", "reset=1", "update=0", "reset=1,update=0"]
    clamps = {"free": {}, "reset=1": {"clamp_reset": 1}, "update=0": {"clamp_update": 0},
              "reset=1,update=0": {"clamp_update": 0, "clamp_reset": 1}}
    for name, clamp in clamps.items():
        probability = model.predict_proba(texts, **clamp)
        correct = sum(int(p > 0.5) == y for p, y in zip(probability, labels))
        assert accuracy[name] == correct / len(texts), name


def test_ablation_probabilities_equal_predict_proba_and_report_progress(model, texts):
    calls = []
    probabilities = ablation_probabilities(model, texts, batch_size=16, progress=lambda d, t: calls.append((d, t)))
    for name, clamp in ABLATIONS.items():
        np.testing.assert_allclose(probabilities[name], model.predict_proba(texts, **clamp), rtol=0, atol=1e-6)
    assert not np.allclose(probabilities["free"], probabilities["reset=1"])  # the clamp really acts
    assert calls[-1] == (4 * len(texts), 4 * len(texts)) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_verdict_flips_lists_changed_verdicts_largest_change_first():
    free = np.array([0.9, 0.2, 0.6, 0.7, 0.4, 0.55])
    changed = np.array([0.3, 0.1, 0.4, 0.8, 0.9, 0.45])
    assert verdict_flips(free, changed).tolist() == [0, 4, 2, 5]
    labels = np.array([1, 0, 0, 1, 1, 1])  # sentences 2 and 4 were wrong before: no gate needed there
    assert verdict_flips(free, changed, labels).tolist() == [0, 5]
    with pytest.raises(ValueError):
        verdict_flips(free, changed[:3])


def test_ablation_refuses_models_and_data_it_cannot_use(model, texts):
    with pytest.raises(ValueError, match="vanilla RNN"):
        ablation(_model("rnn"), texts, [0] * len(texts))
    with pytest.raises(ValueError, match="labels"):
        ablation(model, texts, [0] * (len(texts) - 1))
    with pytest.raises(ValueError, match="0 .negative. or 1"):
        ablation_accuracy({"free": np.array([0.2, 0.7])}, [0, 2])
    with pytest.raises(ValueError, match="sentence 2"):
        ablation(model, ["great", "   "], [1, 0])


# ---- gradient flow over a data set ------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["gru", "rnn"])
def test_dataset_gradient_flow_equals_gradient_flow_averaged_by_hand(arch):
    model = _model(arch, seed=3, gain=2.0)
    sequences = embed_texts(model, _texts(12, seed=4))
    flow = dataset_gradient_flow(model.gru, sequences, batch_size=5)
    longest = max(len(s) for s in sequences)
    total, logs, count = np.zeros(longest), np.zeros(longest), np.zeros(longest, dtype=int)
    for sequence in sequences:
        norms = gradient_flow(model.gru, sequence)  # (T,) by position
        for position, norm in enumerate(norms):
            distance = len(norms) - 1 - position
            total[distance] += norm
            logs[distance] += math.log(norm)
            count[distance] += 1
    np.testing.assert_array_equal(flow.distance, np.arange(longest))
    np.testing.assert_array_equal(flow.count, count)
    np.testing.assert_allclose(flow.mean, total / count, rtol=1e-9)
    np.testing.assert_allclose(flow.geometric_mean, np.exp(logs / count), rtol=1e-9)
    assert flow.mean[0] == pytest.approx(math.sqrt(UNITS))


def test_embed_texts_is_the_models_embedding_of_each_sentence(model):
    sequences = embed_texts(model, ["great movie", "zebra ."])
    ids = [model.tokenize(t)[1] for t in ["great movie", "zebra ."]]
    for sequence, sentence in zip(sequences, ids):
        torch.testing.assert_close(sequence, model.net.embedding(torch.tensor(sentence)), rtol=0, atol=0)


def test_dataset_gradient_flow_refuses_bad_sequences(model):
    with pytest.raises(ValueError):
        dataset_gradient_flow(model.gru, [])
    with pytest.raises(ValueError):
        dataset_gradient_flow(model.gru, [torch.zeros(3, 5)])
    with pytest.raises(ValueError):
        dataset_gradient_flow(torch.nn.GRU(8, 4, num_layers=2), [torch.zeros(3, 8)])


# ---- memory statistics and unit search --------------------------------------------------------------


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
    model = _model(seed=5)
    with torch.no_grad():
        model.gru.bias_hh_l0[UNITS + 2] = 1000.0  # z of unit 2 is exactly 1: a perfect integrator
        model.gru.bias_hh_l0[UNITS + 4] = -1000.0  # z of unit 4 is exactly 0: rewritten every word
    stats = memory_statistics(model, _texts(10))
    assert stats.update_mean[2] == 1 and stats.timescale[2] == math.inf and stats.labels[2] == "integrator"
    assert stats.update_high[2] == 1 and stats.update_low[2] == 0
    assert stats.timescale[4] == 0 and stats.update_low[4] == 1


def test_memory_statistics_of_the_vanilla_rnn_show_its_fixed_gates():
    stats = memory_statistics(_model("rnn"), _texts(6))
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


# ---- figures -----------------------------------------------------------------------------------------


def validated(figure):
    """``figure`` after Plotly's full validation (the builders skip it for speed)."""
    assert isinstance(figure, go.Figure)
    go.Figure(figure.to_dict())
    return figure


def test_figure_builders_hold_the_numbers_given(model, texts):
    tokens = ["a", "<b>", "c"]
    gru, rnn = np.array([0.5, 1.0, 2.0]), np.array([1e-4, 1e-2, 2.0])
    figure = validated(figures.gradient_flow_figure(tokens, gru, rnn))
    assert figure.layout.yaxis.type == "log" and list(figure.layout.xaxis.ticktext) == ["a", "&lt;b&gt;", "c"]
    assert np.array_equal(figure.data[0].y, gru) and np.array_equal(figure.data[1].y, rnn)

    flow = dataset_gradient_flow(model.gru, embed_texts(model, texts[:6]))
    figure = validated(figures.dataset_gradient_flow_figure({"GRU": flow, "RNN": flow}, min_count=2))
    kept = flow.count >= 2
    assert figure.layout.yaxis.type == "log" and len(figure.data) == 2
    assert np.array_equal(figure.data[0].y, flow.geometric_mean[kept])

    stats = memory_statistics(model, texts)
    figure = validated(figures.saturation_figure(stats))
    assert np.array_equal(figure.data[0].x, stats.update_low) and np.array_equal(figure.data[1].y, stats.reset_high)
    figure = validated(figures.timescale_figure(np.array([2.0, np.inf, 0.5]), ["mixed", "integrator", "fast"]))
    assert list(figure.data[0].x) == ["unit 1", "unit 0", "unit 2"] and list(figure.data[0].customdata)[0] == "∞"

    free, clamped = np.array([0.2, 0.5, 0.9]), np.array([0.2, 0.4, 0.1])
    figure = validated(figures.probability_comparison_figure(tokens, free, clamped))
    assert [trace.name for trace in figure.data] == ["free", "clamped"] and np.array_equal(figure.data[1].y, clamped)
    run = intervene(model, "great movie but boring plot", clamp_reset=1.0)
    figure = validated(figures.difference_heatmap(run.free.tokens, run.free.hidden, run.clamped.hidden))
    np.testing.assert_array_equal(figure.data[0].z, (run.clamped.hidden.astype(np.float64) - run.free.hidden).T)

    accuracy = {"free": 0.9, "reset=1": 0.8, "update=0": 0.7, "reset=1,update=0": 0.6}
    figure = validated(figures.ablation_figure(accuracy, size=872))
    assert list(figure.data[0].x) == list(accuracy) and list(figure.data[0].y) == list(accuracy.values())

    hits = top_activations(model, ["the <b>plot</b> is great", "lovely"], unit=1, k=3, largest=False)
    figure = validated(figures.top_activations_figure(hits, window=2))
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
