"""``analysis.ranking``: the exact per-word and per-unit change of the logit, against the model's own logits
and sums written here; and the honest reading of a sentence whose only polar word is its first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gru_viz.analysis import logit_change_by_unit, rank_units, shown_units, unit_shares
from gru_viz.examples import NEUTRAL_TAIL
from gru_viz.model import load_model

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ("I love this movie so much", "But the movie is really boring",
             "the acting is sharp , but the story drags and the ending is dull")


@pytest.fixture(scope="module", params=["sst2-gru", "sst2-rnn"])
def model(request):
    return load_model(ROOT / "models" / request.param)


def _start_logit(model) -> float:
    """The head on h0 = 0: its bias, computed by the model itself."""
    return float(model.head_logits(np.zeros(model.gru.hidden_size, dtype=np.float32)))


@pytest.mark.parametrize("text", SENTENCES)
def test_words_and_units_split_the_logit_change_exactly(model, text):
    sentence = model.trace(text)
    weight = model.readout_weight
    changes = logit_change_by_unit(sentence.hidden, sentence.gates.previous[0, 0, 0], weight)  # (T, H)
    logits = np.concatenate([[_start_logit(model)], sentence.logit])  # the head's own logits, start first
    np.testing.assert_allclose(changes.sum(axis=1), np.diff(logits), atol=1e-5)  # each word's change
    assert changes.sum() == pytest.approx(sentence.logit[-1] - logits[0], abs=1e-5)
    final = sentence.hidden[-1].astype(np.float64)
    np.testing.assert_allclose(unit_shares(changes), weight * final, atol=1e-12)  # h0 = 0


def test_ranking_is_by_the_size_of_each_share_ties_to_the_lower_index():
    changes = np.array([[0.5, -2.0, 0.0, 1.0], [0.5, 0.0, -1.0, 0.0]])  # shares 1, −2, −1, 1
    assert rank_units(changes).tolist() == [1, 0, 2, 3]
    assert rank_units(changes, count=2).tolist() == [1, 0]
    other = np.array([[0.0, 0.0, 0.0, 5.0]])  # two sentences: |shares| add up, 1+0, 2+0, 1+0, 1+5
    assert rank_units([changes, other]).tolist() == [3, 1, 0, 2]


def test_bad_shapes_are_a_sentence():
    with pytest.raises(ValueError, match="need hidden and previous states"):
        logit_change_by_unit(np.zeros((3, 4)), np.zeros((3, 4)), np.zeros(5))


@pytest.mark.parametrize("first", ["Brilliant", "Dreadful"])
def test_the_only_polar_word_gets_the_largest_share(model, first):
    """The exact split reads a sentence honestly: its one polar word, first and followed by 25 neutral words,
    moves the logit more than any of them. (The retention decomposition credits "house" more than
    "Brilliant", because a later word re-writes what memory held.)"""
    sentence = model.trace(f"{first} : {NEUTRAL_TAIL}")
    weight = model.readout_weight
    per_word = logit_change_by_unit(sentence.hidden, sentence.gates.previous[0, 0, 0], weight).sum(axis=1)  # (T,)
    assert int(np.argmax(np.abs(per_word))) == 0
    assert np.sign(per_word[0]) == (1 if first == "Brilliant" else -1)


@pytest.mark.parametrize("order", ["verdict", "index", "clustered"])
def test_shown_units_are_the_largest_shares_in_the_chosen_order(model, order):
    sentences = [model.trace(text) for text in SENTENCES[:2]]
    weight = model.readout_weight
    size = sum(np.abs(weight * s.hidden[-1].astype(np.float64)) for s in sentences)  # |share| summed, h0 = 0
    top = sorted(range(len(weight)), key=lambda u: (-size[u], u))[:10]
    shown = shown_units(sentences, 10, order).tolist()
    assert sorted(shown) == sorted(top)
    assert shown == {"verdict": top, "index": sorted(top)}.get(order, shown)
    assert len(shown_units(sentences[0], None, order)) == model.gru.hidden_size
    with pytest.raises(ValueError, match="unit order"):
        shown_units(sentences[0], 3, "sideways")
