"""The trained-model API: safe loading, predictions, the per-sentence ``SentenceTrace`` and the primitives
(encode, embed, head logits, the verdict threshold) against computations written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from gru_viz.model import ModelConfig, SentimentNet, load_model, parameter_shapes, save_model
from gru_viz.text import Vocabulary
from tests.library_helpers import (
    sentiment_model,
    tiny_model,
)


@pytest.fixture(scope="module")
def model():
    return tiny_model()


ROOT = Path(__file__).resolve().parent.parent


def test_save_load_round_trip_gives_equal_outputs(tmp_path):
    for arch in ("gru", "rnn"):
        model = sentiment_model(arch)
        save_model(model.net, model.vocab, {"name": "round"}, tmp_path / arch)
        loaded = load_model(tmp_path / arch)
        texts = ["great movie", "the plot is dull and boring .", "Superb!"]
        assert np.array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
        assert loaded.config == model.config and loaded.gru.__class__ is model.gru.__class__


def test_predict_proba_equals_last_probability_of_trace():
    model = sentiment_model()
    texts = ["great", "the movie is boring", "a lovely , superb film and the story is dull .", "do n't"]
    batched = model.predict_proba(texts)
    for text, probability in zip(texts, batched):
        assert probability == pytest.approx(model.trace(text).probability[-1], abs=1e-6)


def test_trace_probability_is_the_head_applied_to_every_hidden_state():
    model = sentiment_model()
    sentence = model.trace("The movie is GREAT")
    weight = model.net.head.weight.detach().double().numpy()[0]
    bias = float(model.net.head.bias)
    hidden = sentence.gates.hidden[0, 0, 0].astype(np.float64)  # (T, H)
    expected = 1 / (1 + np.exp(-(hidden @ weight + bias)))
    np.testing.assert_allclose(sentence.probability, expected, atol=1e-6)
    # and the hidden states are what the network's own GRU computes
    with torch.no_grad():
        states, _ = model.gru(model.net.embedding(torch.tensor(sentence.ids)))
    np.testing.assert_allclose(hidden, states.numpy(), atol=1e-6)


def test_unknown_words_are_kept_flagged_and_mapped_to_unk():
    model = sentiment_model()
    sentence = model.trace("Zyzzyva great Qwxv")
    assert sentence.tokens == ["Zyzzyva", "great", "Qwxv"]
    assert sentence.known.tolist() == [False, True, False]
    assert sentence.ids.tolist() == [Vocabulary.UNK, model.vocab.index["great"], Vocabulary.UNK]


def test_rnn_trace_is_a_gru_with_open_gates():
    model = sentiment_model("rnn")
    sentence = model.trace("the movie is boring")
    assert np.all(sentence.gates.update == 0) and np.all(sentence.gates.reset == 1)
    np.testing.assert_array_equal(sentence.gates.candidate, sentence.gates.hidden)
    with pytest.raises(ValueError, match="no gates"):
        model.trace("boring", clamp_update=0.0)


def test_clamped_predictions_equal_clamped_traces_and_never_touch_weights():
    model = sentiment_model()
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    texts = ["great movie", "the plot is dull and boring .", "a lovely film"]
    units = model.config.hidden_size
    per_unit = np.full(units, np.nan)
    per_unit[1] = 1.0
    batched = model.predict_proba(texts, clamp_update=per_unit, clamp_reset=1.0)
    for text, probability in zip(texts, batched):
        traced = model.trace(text, clamp_update=per_unit, clamp_reset=1.0)
        assert probability == pytest.approx(traced.probability[-1], abs=1e-6)
        assert np.all(traced.gates.update[..., 1] == 1.0)
    assert not np.allclose(batched, model.predict_proba(texts))
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200d\n\t", "\x00\x01"])
def test_blank_text_raises_a_readable_value_error(text):
    with pytest.raises(ValueError, match="empty"):
        sentiment_model().trace(text)


@pytest.fixture
def saved(tmp_path):
    model = sentiment_model()
    save_model(model.net, model.vocab, {"name": "saved"}, tmp_path / "m")
    return tmp_path / "m"


def _corrupt_card(path, change):
    card = json.loads((path / "card.json").read_text())
    change(card)
    (path / "card.json").write_text(json.dumps(card))


LOADER_FAULTS = {
    "missing folder": (lambda p: p.rename(p.parent / "elsewhere"), "", "no such model folder"),
    "missing weights": (lambda p: (p / "model.safetensors").unlink(), "model.safetensors", "missing"),
    "missing vocab": (lambda p: (p / "vocab.json").unlink(), "vocab.json", "missing"),
    "missing card": (lambda p: (p / "card.json").unlink(), "card.json", "missing"),
    "corrupt weights": (lambda p: (p / "model.safetensors").write_bytes(b"\x00garbage" * 50),
                        "model.safetensors", "not a readable safetensors"),
    "truncated weights": (lambda p: (p / "model.safetensors").write_bytes(
        (p / "model.safetensors").read_bytes()[:-40]), "model.safetensors", "not a readable safetensors"),
    "pickle as weights": (lambda p: (p / "model.safetensors").write_bytes(b"\x80\x04\x95cos\nsystem\n"),
                          "model.safetensors", "not a readable safetensors"),
    "card not json": (lambda p: (p / "card.json").write_text("{not json"), "card.json", "not readable JSON"),
    "card without config": (lambda p: (p / "card.json").write_text("[]"), "card.json", "'config'"),
    "card unknown key": (lambda p: _corrupt_card(p, lambda c: c["config"].update(layers=3)), "card.json",
                         "unknown config keys"),
    "card bad arch": (lambda p: _corrupt_card(p, lambda c: c["config"].update(arch="lstm")), "card.json",
                      "arch"),
    "mis-shaped weights": (lambda p: _corrupt_card(p, lambda c: c["config"].update(hidden_size=5)),
                           "model.safetensors", "shape"),
    "vocab size mismatch": (lambda p: _corrupt_card(p, lambda c: c["config"].update(vocab_size=99)),
                            "vocab.json", "vocab_size"),
    "vocab not json": (lambda p: (p / "vocab.json").write_bytes(b"\xff\xfe\x00"), "vocab.json", "not a readable"),
    "vocab without pad": (lambda p: (p / "vocab.json").write_text('{"tokens": ["a", "b"]}'), "vocab.json",
                          "<pad>"),
    "missing tensor": (lambda p: save_file({k: v for k, v in load_file(str(p / "model.safetensors")).items()
                                            if k != "head.bias"}, str(p / "model.safetensors")),
                       "model.safetensors", "missing"),
    "nan weights": (lambda p: save_file({k: v.fill_(float("nan")) if k == "head.bias" else v
                                         for k, v in load_file(str(p / "model.safetensors")).items()},
                                        str(p / "model.safetensors")), "model.safetensors", "NaN"),
}


@pytest.mark.parametrize("fault", sorted(LOADER_FAULTS))
def test_every_loader_fault_is_a_value_error_naming_the_file(saved, fault):
    damage, filename, message = LOADER_FAULTS[fault]
    damage(saved)
    with pytest.raises(ValueError) as raised:
        load_model(saved)
    assert filename in str(raised.value) and message in str(raised.value)


@pytest.mark.parametrize("name", ["sst2-gru", "sst2-rnn"])
def test_shipped_models_load_and_carry_honest_cards(name):
    folder = ROOT / "models" / name
    model = load_model(folder)
    card = model.card
    assert model.arch == name.split("-")[1]
    assert card["metrics"]["val_unseen_size"] == 766
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 20 * 2**20
    # the seed's pair reads the way a reader would expect from the GRU
    if name == "sst2-gru":
        love, boring = model.predict_proba(["I love this movie so much", "But the movie is really boring"])
        assert love > 0.5 > boring


# ---- SentenceTrace: the one per-sentence object ----


def test_view_holds_the_traces_exact_values(model, view):
    sentence = model.trace("I love this movie but the movie is really boring")
    for field in ("update", "reset", "candidate", "hidden"):
        assert np.array_equal(getattr(view, field), getattr(sentence.gates, field)[0, 0, 0])
        assert getattr(view, field).dtype == np.float32
    assert view.tokens == sentence.tokens and np.array_equal(view.probability, sentence.probability)
    head = model.net.head
    expected = torch.sigmoid(head(torch.zeros(1, 8, dtype=torch.float64).float())).item()
    assert view.start_probability == pytest.approx(expected, abs=1e-6)
    assert view.path.shape == (len(view.tokens) + 1, 8) and not view.path[0].any()


def test_blank_text_raises_the_tokenizers_value_error(model):
    with pytest.raises(ValueError, match="empty"):
        model.trace("  \u200b ")


def test_long_text_is_cut_with_a_note(model):
    view = model.trace("movie " * 2000, max_tokens=300)
    assert len(view.tokens) == 300 and view.update.shape == (300, 8)
    assert "300" in view.note


def test_sentence_trace_views_start_and_logit_changes(model, view):
    hidden = view.gates.hidden[0, 0, 0]  # (T, H)
    assert np.array_equal(view.hidden, hidden) and np.array_equal(view.previous[1:], hidden[:-1])
    assert not view.previous[0].any() and not view.h0.any()  # h0 = 0
    weight = model.net.head.weight.detach().double().numpy()[0]  # (H,)
    bias = float(model.net.head.bias.detach().double()[0])
    assert view.start_logit == pytest.approx(bias, abs=1e-7)  # the head on h0 = 0 is its bias
    assert view.start_probability == pytest.approx(1 / (1 + np.exp(-bias)), abs=1e-7)
    expected = (hidden.astype(np.float64) - view.previous) @ weight  # w·(h_t − h_{t−1}) in float64
    np.testing.assert_allclose(view.logit_changes, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(view.start_logit + np.cumsum(view.logit_changes), view.logit, rtol=0, atol=1e-12)
    assert view.arch == "gru" and np.array_equal(view.head_weight, weight) and view.head_bias == bias


def test_encode_embed_and_head_logits_are_the_networks_own(model):
    texts = ["I love this movie", "so boring"]
    encoded = model.encode(texts)
    assert encoded == [model.tokenize(text)[1] for text in texts]
    with pytest.raises(ValueError, match="sentence 2"):
        model.encode(["fine", "  "])
    with pytest.raises(ValueError, match="list of texts"):
        model.encode("one string")
    embedded = model.embed(encoded[0])  # (T, E)
    assert torch.equal(embedded, model.net.embedding.weight[torch.tensor(encoded[0])])
    assert not embedded.is_inference()  # usable by autograd outside inference mode
    states = model.trace(texts[0]).hidden  # (T, H)
    expected = states.astype(np.float64) @ model.net.head.weight.detach().double().numpy()[0] \
        + float(model.net.head.bias.detach().double()[0])
    np.testing.assert_allclose(model.head_logits(states), expected, rtol=0, atol=1e-5)
    assert model.head_logits(states).dtype == np.float64


def test_the_readout_and_the_weights_are_asked_of_the_model_not_its_network(model):
    weight = model.readout_weight  # (H,)
    assert weight.dtype == np.float64 and weight.shape == (model.gru.hidden_size,)
    assert np.array_equal(weight, model.net.head.weight.detach().double().numpy()[0])
    assert model.readout_bias == float(model.net.head.bias.detach().double()[0])
    weight[:] = 0  # a copy: the caller cannot change the model through it
    assert model.readout_weight.any()
    tensors = model.state_dict()
    assert list(tensors) == list(model.net.state_dict())
    assert all(torch.equal(tensors[name], value) for name, value in model.net.state_dict().items())
    tensors["head.bias"] += 1  # copies too
    assert torch.equal(model.net.head.bias, model.state_dict()["head.bias"])


def test_the_verdict_threshold_is_one_place():
    from gru_viz.model import VERDICT_THRESHOLD, is_positive

    assert VERDICT_THRESHOLD == 0.5
    assert is_positive(np.array([0.2, 0.5, 0.5000001, 0.9])).tolist() == [False, False, True, True]
    assert bool(is_positive(0.7)) and not bool(is_positive(0.5))


def test_padded_batches_pad_on_the_right_and_follow_given_groups():
    from gru_viz.model import padded_batches

    encoded = [[5, 6, 7], [8], [9, 4], [3, 3, 3, 3]]
    for chosen, ids, lengths in padded_batches(encoded, 3):  # length-sorted: [1, 2, 0], then [3]
        for row, index in enumerate(chosen):
            assert ids[row, :lengths[row]].tolist() == encoded[index] and not ids[row, lengths[row]:].any()
    assert [c.tolist() for c, _, _ in padded_batches(encoded, 3)] == [[1, 2, 0], [3]]
    assert [c.tolist() for c, _, _ in padded_batches(encoded, 3, sort=False)] == [[0, 1, 2], [3]]
    given = [[3, 1], [2], [0]]  # e.g. training's shuffled chunks: kept as given
    assert [c.tolist() for c, _, _ in padded_batches(encoded, 99, groups=given)] == given
    with pytest.raises(ValueError, match="batch_size"):
        next(padded_batches(encoded, 0))


@pytest.mark.parametrize("arch", ["gru", "rnn"])
def test_parameter_shapes_are_the_modules_own(arch):
    config = ModelConfig(arch=arch, vocab_size=37, embed_dim=5, hidden_size=3)
    built = {name: tuple(tensor.shape) for name, tensor in SentimentNet(config).state_dict().items()}
    assert parameter_shapes(config) == built
