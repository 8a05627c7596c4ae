"""``analysis.patching``: P(positive) of a base sentence whose hidden state was replaced mid-sentence by a
source sentence's, against a float64 step-by-step run written here from PyTorch's GRU / tanh-RNN
equations and the model's own weights."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz.analysis import patch_hidden, patching_by_units, patching_grid
from gru_viz.model import load_model
from gru_viz.paths import default_model_dir

BASE, SOURCE = "I love this movie so much", "But the movie is really boring"


@pytest.fixture(scope="module", params=["sst2-gru", "sst2-rnn"])
def model(request):
    return load_model(default_model_dir(request.param))


def oracle_states(model, text, h0=None, start=0):
    """h_t in float64 for t = start … T−1, reading the text's words from h0 (zeros), one step at a time."""
    p = {name: value.detach().double().numpy() for name, value in model.gru.named_parameters()}
    ids = model.tokenize(text)[1]
    embedding = model.embed(np.arange(model.config.vocab_size)).double().numpy()  # (V, E)
    h = np.zeros(model.gru.hidden_size) if h0 is None else np.asarray(h0, dtype=np.float64)
    units = len(h)
    states = []
    for word in ids[start:]:
        gi = p["weight_ih_l0"] @ embedding[word] + p["bias_ih_l0"]
        gh = p["weight_hh_l0"] @ h + p["bias_hh_l0"]
        if model.arch == "gru":
            r = 1 / (1 + np.exp(-(gi[:units] + gh[:units])))
            z = 1 / (1 + np.exp(-(gi[units:2 * units] + gh[units:2 * units])))
            n = np.tanh(gi[2 * units:] + r * gh[2 * units:])
            h = z * h + (1 - z) * n
        else:
            h = np.tanh(gi + gh)
        states.append(h)
    return np.array(states).reshape(-1, units)


def oracle_patch(model, base, source, base_position, source_position, units=None):
    base_states = oracle_states(model, base)
    source_states = oracle_states(model, source)
    state = base_states[base_position].copy()
    chosen = slice(None) if units is None else units
    state[chosen] = source_states[source_position][chosen]
    rest = oracle_states(model, base, h0=state, start=base_position + 1)
    final = rest[-1] if len(rest) else state
    logit = model.readout_weight @ final + model.readout_bias
    return 1 / (1 + np.exp(-logit))


@pytest.mark.parametrize("base_position, source_position, units", [
    (0, 0, None), (2, 4, None), (5, 5, None), (3, 1, [0, 5, 63]), (1, 5, list(range(32))), (4, 2, [7])])
def test_patch_hidden_matches_a_float64_step_by_step_run(model, base_position, source_position, units):
    got = patch_hidden(model, BASE, SOURCE, base_position=base_position, source_position=source_position,
                       units=units)
    assert got == pytest.approx(oracle_patch(model, BASE, SOURCE, base_position, source_position, units), abs=1e-5)


def test_the_grid_holds_every_single_patch(model):
    base, source = "a dull , lifeless film", "the most moving performance of the year"
    grid = patching_grid(model, base, source, units=[1, 2, 3, 40])
    assert grid.shape == (5, 7)
    for t in range(5):
        for s in range(7):
            assert grid[t, s] == pytest.approx(oracle_patch(model, base, source, t, s, [1, 2, 3, 40]), abs=1e-5)


def test_patching_the_last_state_carries_the_source_verdict_and_unit_groups_add_up(model):
    grid = patching_grid(model, BASE, SOURCE)
    source_verdict = model.trace(SOURCE).probability
    np.testing.assert_allclose(grid[-1], source_verdict, atol=1e-6)  # the base has nothing left to read
    # patching itself (same sentence, same position) changes nothing
    same = patching_grid(model, BASE, BASE)
    np.testing.assert_allclose(np.diag(same), model.trace(BASE).probability[-1], atol=1e-6)
    groups = {"all": None, "first half": list(range(32)), "unit 9": [9]}
    by_units = patching_by_units(model, BASE, SOURCE, groups, source_position=3)
    assert by_units.shape == (6, 3)
    np.testing.assert_allclose(by_units[:, 0], grid[:, 3], atol=1e-6)
    for t in range(6):
        assert by_units[t, 1] == pytest.approx(oracle_patch(model, BASE, SOURCE, t, 3, list(range(32))), abs=1e-5)


def test_mask_and_list_choose_the_same_units(model):
    mask = np.zeros(64, dtype=bool)
    mask[[4, 8]] = True
    assert patch_hidden(model, BASE, SOURCE, base_position=2, source_position=2, units=mask) == pytest.approx(
        patch_hidden(model, BASE, SOURCE, base_position=2, source_position=2, units=[8, 4]), abs=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    ({"base_position": 6, "source_position": 0}, "base_position 6 is out of range: the base has 6 words"),
    ({"base_position": 0, "source_position": -1}, "source_position -1 is out of range"),
    ({"base_position": 1.5, "source_position": 0}, "whole number"),
    ({"base_position": 0, "source_position": 0, "units": [64]}, "unit 64 is out of range"),
    ({"base_position": 0, "source_position": 0, "units": []}, "at least one unit"),
    ({"base_position": 0, "source_position": 0, "units": "all"}, "choose units"),
])
def test_bad_positions_and_units_are_sentences(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        patch_hidden(model, BASE, SOURCE, **kwargs)


def test_blank_text_is_refused(model):
    with pytest.raises(ValueError):
        patching_grid(model, "   ", SOURCE)
