"""``analysis.cell``: one step of one unit, with the model's numbers, against the trace and a float64 oracle
written here from PyTorch's documented GRU equations (gate order r, z, n in ``weight_ih_l0``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from gru_viz.analysis import CellStep, cell_step, sentence_cell_step
from gru_viz.model import load_model
from gru_viz.trace import trace_gru, trace_rnn

ROOT = Path(__file__).resolve().parent.parent


def oracle_step(rnn, x, previous, unit):
    """Each term of the four equations for one unit, in float64, written out by hand."""
    p = {name: value.detach().double().numpy() for name, value in rnn.named_parameters()}
    units = rnn.hidden_size
    rows = {"r": unit, "z": units + unit, "n": 2 * units + unit}
    terms = {gate: (p["weight_ih_l0"][row] @ x, p["bias_ih_l0"][row], p["weight_hh_l0"][row] @ previous,
                    p["bias_hh_l0"][row]) for gate, row in rows.items()}
    r = 1 / (1 + np.exp(-sum(terms["r"])))
    z = 1 / (1 + np.exp(-sum(terms["z"])))
    n = np.tanh(terms["n"][0] + terms["n"][1] + r * (terms["n"][2] + terms["n"][3]))
    return terms, r, z, n, z * previous[unit] + (1 - z) * n


@pytest.fixture(scope="module")
def gru_and_input():
    torch.manual_seed(3)
    gru = nn.GRU(6, 5)
    x = torch.randn(7, 6)  # (T, I) unbatched
    return gru, x


@pytest.mark.parametrize("position", [0, 3, 6])
@pytest.mark.parametrize("unit", [0, 2, 4])
def test_each_term_matches_the_oracle_and_the_trace(gru_and_input, position, unit):
    gru, x = gru_and_input
    trace = trace_gru(gru, x)
    previous = trace.previous[0, 0, 0, position]  # (H,)
    step = cell_step(gru, x[position].numpy(), previous, unit, position=position, token="w")
    terms, r, z, n, h = oracle_step(gru, x[position].double().numpy(), previous.astype(np.float64), unit)
    for gate, got in (("r", step.reset_terms), ("z", step.update_terms), ("n", step.candidate_terms)):
        np.testing.assert_allclose([got.input, got.input_bias, got.hidden, got.hidden_bias], terms[gate], rtol=1e-12)
    np.testing.assert_allclose([step.reset, step.update, step.candidate, step.hidden], [r, z, n, h], rtol=1e-12)
    # the model's own run: the trace (float32) holds the same gates and state
    np.testing.assert_allclose([step.reset, step.update, step.candidate, step.hidden, step.previous],
                               [trace.reset[0, 0, 0, position, unit], trace.update[0, 0, 0, position, unit],
                                trace.candidate[0, 0, 0, position, unit], trace.hidden[0, 0, 0, position, unit],
                                previous[unit]], atol=2e-6)
    assert step.kept + step.written == pytest.approx(step.hidden, abs=1e-15)
    assert (step.position, step.unit, step.token, step.arch) == (position, unit, "w", "gru")


def test_the_terms_sum_to_the_gates():
    torch.manual_seed(0)
    gru = nn.GRU(4, 3)
    step = cell_step(gru, np.ones(4), np.full(3, 0.5), 1)
    terms = step.update_terms
    assert step.update == pytest.approx(1 / (1 + np.exp(-(terms.from_input + terms.from_memory))))
    assert step.candidate == pytest.approx(np.tanh(step.candidate_terms.from_input
                                                   + step.reset * step.candidate_terms.from_memory))


def test_a_vanilla_rnn_is_the_gru_with_the_gates_open():
    torch.manual_seed(1)
    rnn = nn.RNN(4, 3)
    x = torch.randn(5, 4)
    trace = trace_rnn(rnn, x)
    previous = trace.previous[0, 0, 0, 2]
    step = cell_step(rnn, x[2].numpy(), previous, 1, position=2)
    p = {name: value.detach().double().numpy() for name, value in rnn.named_parameters()}
    expected = np.tanh(p["weight_ih_l0"][1] @ x[2].double().numpy() + p["bias_ih_l0"][1]
                       + p["weight_hh_l0"][1] @ previous.astype(np.float64) + p["bias_hh_l0"][1])
    assert (step.arch, step.update, step.reset) == ("rnn", 0.0, 1.0)
    assert step.hidden == pytest.approx(expected, rel=1e-12) and step.candidate == step.hidden
    assert step.hidden == pytest.approx(float(trace.hidden[0, 0, 0, 2, 1]), abs=2e-6)


def test_a_sentence_step_uses_the_model_embedding_and_its_trace():
    model = load_model(ROOT / "models" / "sst2-gru")
    sentence = model.trace("I love this movie so much")
    for position, unit in ((0, 0), (1, 5), (5, 63)):
        step = sentence_cell_step(model, sentence, position, unit)
        assert isinstance(step, CellStep) and step.token == sentence.tokens[position]
        x = model.embed([int(sentence.ids[position])])[0].double().numpy()
        previous = sentence.gates.previous[0, 0, 0, position].astype(np.float64)
        *_, hidden = oracle_step(model.gru, x, previous, unit)
        assert step.hidden == pytest.approx(hidden, rel=1e-12)
        assert step.hidden == pytest.approx(float(sentence.hidden[position, unit]), abs=2e-6)
        assert step.previous == (0.0 if position == 0 else pytest.approx(float(sentence.hidden[position - 1, unit])))


@pytest.mark.parametrize("position, unit", [(-1, 0), (6, 0), (0, 64), (0, -1), (0, 1.5)])
def test_out_of_range_is_a_sentence(position, unit):
    model = load_model(ROOT / "models" / "sst2-gru")
    sentence = model.trace("I love this movie so much")
    with pytest.raises(ValueError, match="must be a whole number"):
        sentence_cell_step(model, sentence, position, unit)


def test_a_layer_or_direction_outside_the_module_is_refused():
    with pytest.raises(ValueError, match="layers 0 to 1 and 1 direction"):
        cell_step(nn.GRU(3, 2, num_layers=2), np.zeros(3), np.zeros(2), 0, layer=2)
    with pytest.raises(ValueError, match="need x of 4 values"):  # above layer 0 the input is the layer below's D·H
        cell_step(nn.GRU(3, 2, num_layers=2, bidirectional=True), np.zeros(3), np.zeros(2), 0, layer=1)
