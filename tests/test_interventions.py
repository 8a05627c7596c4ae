"""Clamps, interventions and the ablation, against ``predict_proba`` under the same clamps and a gate
computation written here; no analysis writes to the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gru_viz.analysis import (
    ABLATIONS,
    CLAMP_MODES,
    ablation,
    ablation_accuracy,
    ablation_probabilities,
    clamp_array,
    dataset_gradient_flow,
    embed_texts,
    intervene,
    memory_statistics,
    top_activations,
    verdict_flips,
)
from tests.library_helpers import ANALYSIS_UNITS as UNITS
from tests.library_helpers import (
    assert_unchanged,
    gated_model,
    model_state,
)


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
    embedded = model.embed(run.clamped.ids).numpy()  # (T, E)
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
    before = model_state(model)
    intervene(model, texts[0], clamp_update=clamp_array(UNITS, units=1, value=1.0), clamp_reset=0.0)
    ablation(model, texts[:10], [1] * 10)
    memory_statistics(model, texts[:10])
    top_activations(model, texts[:10], unit=0, k=3, field="reset")
    dataset_gradient_flow(model.gru, embed_texts(model, texts[:5]))
    assert_unchanged(model, before)
    np.testing.assert_array_equal(model.trace(texts[0]).hidden, gated_model().trace(texts[0]).hidden)


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
        ablation(gated_model("rnn"), texts, [0] * len(texts))
    with pytest.raises(ValueError, match="labels"):
        ablation(model, texts, [0] * (len(texts) - 1))
    with pytest.raises(ValueError, match="0 .negative. or 1"):
        ablation_accuracy({"free": np.array([0.2, 0.7])}, [0, 2])
    with pytest.raises(ValueError, match="sentence 2"):
        ablation(model, ["great", "   "], [1, 0])
