"""The memory decomposition and each word's logit share against the recurrence and the direct product
∏_{s>t} z_s (1 − z_t) n_t written here; moves and rankings by brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from gru_viz import analysis
from gru_viz.analysis import (
    decompose_final_state,
)
from gru_viz.trace import trace_gru
from tests.library_helpers import (
    tiny_model,
)


@pytest.fixture(scope="module")
def model():
    return tiny_model()



SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def gate_sequences(draw):
    """(update (T, H) in [0, 1], candidate (T, H) in (-1, 1), h0 (H,) nonzero)."""
    steps, units = draw(st.integers(1, 12)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    update = rng.uniform(0, 1, (steps, units))
    if draw(st.booleans()):  # the ends of [0, 1] are legal gate values (and reachable by clamps)
        update[rng.uniform(size=update.shape) < 0.2] = draw(st.sampled_from([0.0, 1.0]))
    candidate = rng.uniform(-1, 1, (steps, units))
    h0 = rng.uniform(0.5, 2, units) * rng.choice([-1, 1], units)
    return update, candidate, h0


def recurrence(update, candidate, h0):
    """h_T by running h_t = z_t h_{t-1} + (1 − z_t) n_t."""
    h = h0.copy()
    for z, n in zip(update, candidate):
        h = z * h + (1 - z) * n
    return h


@SETTINGS
@given(sequence=gate_sequences())
def test_decomposition_sums_to_final_state(sequence):
    update, candidate, h0 = sequence
    carry, contributions = decompose_final_state(update, candidate, h0)
    assert carry.shape == h0.shape and contributions.shape == update.shape
    assert carry.dtype == contributions.dtype == np.float64
    np.testing.assert_allclose(carry + contributions.sum(0), recurrence(update, candidate, h0), rtol=0, atol=1e-12)


@SETTINGS
@given(sequence=gate_sequences())
def test_each_contribution_equals_direct_product(sequence):
    update, candidate, h0 = sequence
    carry, contributions = decompose_final_state(update, candidate, h0)
    steps, units = update.shape
    for t in range(steps):
        for unit in range(units):
            survival = 1.0
            for s in range(t + 1, steps):  # ∏_{s>t} z_s
                survival *= update[s, unit]
            expected = survival * (1 - update[t, unit]) * candidate[t, unit]
            assert abs(contributions[t, unit] - expected) <= 1e-12
    expected_carry = h0.copy()
    for z in update:
        expected_carry = expected_carry * z
    np.testing.assert_allclose(carry, expected_carry, rtol=0, atol=1e-12)


def test_decomposition_of_a_real_trace_in_both_directions():
    torch.manual_seed(0)
    gru = nn.GRU(3, 5, bidirectional=True)
    x = torch.randn(9, 3)  # (T, I)
    h0 = torch.randn(2, 5)  # (L*D, H), nonzero so the carry matters
    trace = trace_gru(gru, x, h0)
    carry, contributions = decompose_final_state(trace.update[0, 0, 0], trace.candidate[0, 0, 0], trace.h0[0, 0, 0])
    assert np.abs(carry).max() > 1e-4
    np.testing.assert_allclose(carry + contributions.sum(0), trace.hidden[0, 0, 0, -1], atol=1e-5)
    # the backward direction reads position T−1 first and ends at position 0
    carry, contributions = decompose_final_state(trace.update[0, 1, 0, ::-1], trace.candidate[0, 1, 0, ::-1],
                                                 trace.h0[0, 1, 0])
    np.testing.assert_allclose(carry + contributions.sum(0), trace.hidden[0, 1, 0, 0], atol=1e-5)


@pytest.mark.parametrize("update, candidate, h0", [
    (np.zeros((4, 3)), np.zeros((4, 2)), np.zeros(3)),  # candidate shape differs
    (np.zeros((4, 3)), np.zeros((4, 3)), np.zeros(2)),  # h0 length differs
    (np.zeros(4), np.zeros(4), np.zeros(())),  # not (T, H)
    (np.zeros((1, 4, 3)), np.zeros((1, 4, 3)), np.zeros(3)),  # 3-D
])
def test_decomposition_rejects_bad_shapes(update, candidate, h0):
    with pytest.raises(ValueError):
        decompose_final_state(update, candidate, h0)


def direct_shares(update, candidate, h0, weight):
    """Each word's logit share by the unrolled product, in float64 with explicit loops."""
    update, candidate = np.asarray(update, np.float64), np.asarray(candidate, np.float64)
    steps, units = update.shape
    shares = np.zeros(steps)
    for t in range(steps):
        for unit in range(units):
            survive = np.prod(update[t + 1:, unit])
            shares[t] += weight[unit] * survive * (1 - update[t, unit]) * candidate[t, unit]
    carry = sum(weight[u] * np.prod(update[:, u]) * h0[u] for u in range(units))
    return shares, carry


@st.composite
def gate_arrays(draw):
    steps, units = draw(st.integers(1, 10)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.uniform(0, 1, (steps, units)), rng.uniform(-1, 1, (steps, units)), rng.normal(size=units),
            rng.normal(size=units), float(rng.normal()))


@SETTINGS
@given(arrays=gate_arrays())
def test_word_shares_equal_direct_products_and_sum_to_the_logit(arrays):
    update, candidate, h0, weight, bias = arrays
    split = analysis.word_logit_contributions(update, candidate, h0, weight, bias)
    shares, carry = direct_shares(update, candidate, h0, weight)
    np.testing.assert_allclose(split.words, shares, rtol=0, atol=1e-12)
    np.testing.assert_allclose(split.carry, carry, rtol=0, atol=1e-12)
    h = h0.copy()
    for z, n in zip(update, candidate):  # the recurrence, then the head
        h = z * h + (1 - z) * n
    np.testing.assert_allclose(split.total, weight @ h + bias, rtol=0, atol=1e-12)


@pytest.mark.parametrize("text", ["I love this movie so much", "But the movie is really boring", "movie"])
def test_a_sentences_shares_sum_to_the_models_final_logit(model, text):
    sentence = model.trace(text)
    shares, _ = direct_shares(sentence.gates.update[0, 0, 0], sentence.gates.candidate[0, 0, 0],
                              sentence.gates.h0[0, 0, 0], model.readout_weight)
    split = analysis.sentence_logit_split(sentence)
    np.testing.assert_allclose(split.words, shares, rtol=0, atol=1e-12)
    # the trace's logit runs the head in float32: agreement to float32 precision
    np.testing.assert_allclose(split.total, sentence.logit[-1], rtol=0, atol=1e-5)
    assert split.carry == 0.0  # h0 = 0


@SETTINGS
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=12), start=st.floats(0, 1),
       count=st.integers(0, 5))
def test_moves_and_largest_moves_by_brute_force(values, start, count):
    moves = analysis.probability_moves(values, start)
    previous = [start] + values[:-1]
    assert np.array_equal(moves, np.array(values) - np.array(previous))
    chosen = analysis.largest_moves(moves, count)
    assert list(chosen) == sorted(chosen)
    size = np.abs(moves)
    assert len(chosen) == min(count, int((size > 0).sum()))
    others = [t for t in range(len(moves)) if t not in chosen]
    for t in chosen:  # nothing left out is larger, and a tie goes to the earlier word
        assert all(size[o] < size[t] or (size[o] == size[t] and o > t) for o in others)
