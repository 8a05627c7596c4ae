"""Model folders of any GRU classifier stack: 1–3 layers, one or two directions, 1, 2 or 5 classes, a "last" or
"mean" readout, vocab.json or a Hugging Face tokenizer.json. Each is saved, loaded with ``load_model`` and read;
every layer and direction's gates and every prefix's probabilities are checked against a float64 numpy GRU
written here, which runs each prefix on its own."""

from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from gru_viz.analysis import sentence_logit_changes, sentence_logit_split
from gru_viz.model import ModelConfig, SentimentNet, load_model, parameter_shapes, save_model
from gru_viz.text import TokenizerFile, Vocabulary

CORPUS = ["the movie is great", "a dull and boring film", "not bad at all", "the plot is lovely but slow"]
TEXT = "the plot is not boring"
UNITS, EMBED = 3, 4


@functools.cache
def _tokenizer() -> TokenizerFile:
    """A small BPE tokenizer trained here, so words split into pieces."""
    inner = Tokenizer(models.BPE(unk_token="[UNK]"))
    inner.pre_tokenizer = pre_tokenizers.Whitespace()
    inner.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=40, special_tokens=["<pad>", "[UNK]"]))
    return TokenizerFile(inner)


def _vocabulary() -> Vocabulary:
    return Vocabulary.build([text.split() for text in CORPUS])


def _write(folder, layers: int, bidirectional: bool, classes: int, readout: str, tokenizer: bool, seed: int = 0,
           arch: str = "gru"):
    vocab = _tokenizer() if tokenizer else _vocabulary()
    extra = 2 if tokenizer else 0  # a tokenizer may use fewer ids than the embedding has rows
    config = ModelConfig(arch=arch, vocab_size=len(vocab) + extra, embed_dim=EMBED, hidden_size=UNITS,
                         num_layers=layers, bidirectional=bidirectional, num_classes=classes, readout=readout)
    torch.manual_seed(seed)
    net = SentimentNet(config)
    with torch.no_grad():
        net.head.weight.mul_(3)  # probabilities away from uniform
    labels = {"labels": [f"label {c}" for c in range(classes)]} if classes > 1 else {}
    save_model(net, vocab, {"name": folder.name, **labels}, folder)
    return folder


# ---- the float64 oracle ----


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _layer(x, weights, reverse, arch="gru"):
    """One direction of one layer on x (T, I): r, z, n, h each (T, H), stored by position. The vanilla RNN is
    the GRU with r ≡ 1, z ≡ 0 and n = h."""
    w_ih, w_hh, b_ih, b_hh = weights
    units = w_hh.shape[1]
    h = np.zeros(units)
    out = {name: np.zeros((len(x), units)) for name in ("reset", "update", "candidate", "hidden")}
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        if arch == "rnn":
            h = np.tanh(w_ih @ x[t] + b_ih + w_hh @ h + b_hh)
            for name, value in zip(("reset", "update", "candidate", "hidden"), (1.0, 0.0, h, h)):
                out[name][t] = value
            continue
        gi, gh = w_ih @ x[t] + b_ih, w_hh @ h + b_hh
        r = _sigmoid(gi[:units] + gh[:units])
        z = _sigmoid(gi[units:2 * units] + gh[units:2 * units])
        n = np.tanh(gi[2 * units:] + r * gh[2 * units:])
        h = (1 - z) * n + z * h
        for name, value in zip(("reset", "update", "candidate", "hidden"), (r, z, n, h)):
            out[name][t] = value
    return out


def _oracle(state, config, ids):
    """{(layer, direction): gates} and the head's input (D·H,) of one sequence of ids."""
    x = state["embedding.weight"][ids]  # (T, E)
    runs = {}
    for layer in range(config.num_layers):
        outputs = []
        for direction in range(config.directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [state[f"rnn.{name}{suffix}"] for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            runs[layer, direction] = _layer(x, weights, reverse=direction == 1, arch=config.arch)
            outputs.append(runs[layer, direction]["hidden"])
        x = np.concatenate(outputs, axis=1)  # (T, D·H)
    top = config.num_layers - 1
    if config.readout == "mean":
        features = x.mean(axis=0)
    else:
        features = np.concatenate([runs[top, 0]["hidden"][-1]]
                                  + ([runs[top, 1]["hidden"][0]] if config.directions == 2 else []))
    return runs, features


def _probabilities(state, features):
    logits = state["head.weight"] @ features + state["head.bias"]  # (C,)
    if len(logits) == 1:
        return _sigmoid(logits)
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


# ---- every combination ----

SHAPES = [(*shape, "gru") for shape in itertools.product((1, 2, 3), (False, True), (1, 2, 5), ("last", "mean"),
                                                         (False, True))]
SHAPES += [(2, True, 5, "mean", True, "rnn"), (3, False, 1, "last", False, "rnn"), (1, True, 2, "last", False, "rnn")]


@pytest.mark.parametrize("layers, bidirectional, classes, readout, tokenizer, arch", SHAPES,
                         ids=["-".join(map(str, shape)) for shape in SHAPES])
def test_every_layer_direction_and_prefix_matches_a_float64_gru(tmp_path, layers, bidirectional, classes, readout,
                                                               tokenizer, arch):
    folder = _write(tmp_path / "m", layers, bidirectional, classes, readout, tokenizer,
                    seed=layers * 7 + classes + bidirectional, arch=arch)
    model = load_model(folder)
    state = {name: tensor.double().numpy() for name, tensor in load_file(str(folder / "model.safetensors")).items()}
    sentence = model.trace(TEXT)
    ids = list(sentence.ids)
    if tokenizer:  # the tokenizer's own pieces and ids
        encoding = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(TEXT)
        assert (sentence.tokens, ids) == (encoding.tokens, encoding.ids) and len(ids) > len(TEXT.split())
    else:
        assert sentence.tokens == TEXT.split()

    runs, _ = _oracle(state, model.config, ids)
    assert (sentence.num_layers, sentence.num_directions) == (layers, 1 + bidirectional)
    assert (sentence.layer, sentence.direction) == (layers - 1, 0)  # the top layer, forward, by default
    for (layer, direction), expected in runs.items():
        view = sentence.at(layer, direction)
        for name, values in expected.items():
            np.testing.assert_allclose(getattr(view, name), values, atol=2e-6, err_msg=f"{layer} {direction} {name}")

    prefixes = np.array([_probabilities(state, _oracle(state, model.config, ids[:k + 1])[1])
                         for k in range(len(ids))])  # (T, C): each prefix run on its own
    np.testing.assert_allclose(sentence.probabilities, prefixes, atol=2e-6)
    predicted = int(np.argmax(prefixes[-1])) if classes > 1 else 0
    assert sentence.predicted == predicted
    np.testing.assert_allclose(sentence.probability, prefixes[:, predicted], atol=2e-6)
    assert sentence.labels == (tuple(f"label {c}" for c in range(classes)) if classes > 1
                               else ("negative", "positive"))
    whole = model.predict_proba([TEXT, CORPUS[0]])
    assert whole.shape == ((2,) if classes == 1 else (2, classes))
    np.testing.assert_allclose(whole[0], prefixes[-1, 0] if classes == 1 else prefixes[-1], atol=2e-6)
    np.testing.assert_allclose(np.atleast_1d(whole[1]), np.atleast_1d(model.trace(CORPUS[0]).probabilities[-1]),
                               atol=2e-6)

    if sentence.splits_by_unit:  # the logit's change by unit adds up to each prefix's change, exactly
        np.testing.assert_allclose(sentence_logit_changes(sentence).sum(axis=1), sentence.logit_changes, atol=1e-5)
        assert np.isclose(sentence_logit_split(sentence).total, sentence.logit[-1], atol=1e-5)
    else:
        with pytest.raises(ValueError, match="one-direction"):
            sentence_logit_changes(sentence)


def test_a_card_without_the_new_keys_reads_as_one_layer_forward_one_logit_last(tmp_path):
    folder = _write(tmp_path / "m", 1, False, 1, "last", False)
    card = json.loads((folder / "card.json").read_text())
    for key in ("num_layers", "bidirectional", "num_classes", "readout"):
        del card["config"][key]
    (folder / "card.json").write_text(json.dumps(card))
    model = load_model(folder)
    assert (model.num_layers, model.num_directions, model.num_classes, model.readout) == (1, 1, 1, "last")
    assert model.single_path and model.predict_proba([TEXT]).shape == (1,)


@pytest.mark.parametrize("config", [dict(num_layers=3, bidirectional=True, num_classes=5),
                                    dict(num_layers=2, readout="mean", num_classes=2)])
def test_parameter_shapes_of_a_stack_are_the_modules_own(config):
    config = ModelConfig(vocab_size=11, embed_dim=5, hidden_size=3, **config)
    built = {name: tuple(tensor.shape) for name, tensor in SentimentNet(config).state_dict().items()}
    assert parameter_shapes(config) == built


def test_a_view_outside_the_model_is_refused(tmp_path):
    sentence = load_model(_write(tmp_path / "m", 2, False, 1, "last", False)).trace(TEXT)
    with pytest.raises(ValueError, match="layers 1 to 2"):
        sentence.at(2, 0)
    with pytest.raises(ValueError, match="direction"):
        sentence.at(0, 1)
    np.testing.assert_array_equal(sentence.at(0).layer_input is None, True)
    np.testing.assert_array_equal(sentence.at(1).layer_input, sentence.at(0).hidden)


def test_gates_cannot_be_forced_on_a_bidirectional_model(tmp_path):
    model = load_model(_write(tmp_path / "m", 1, True, 1, "last", False))
    with pytest.raises(ValueError, match="bidirectional"):
        model.trace(TEXT, clamp_update=1.0)
    with pytest.raises(ValueError, match="bidirectional"):
        model.predict_proba([TEXT], clamp_update=1.0)


# ---- hostile cards: one line each, before anything is allocated ----

HOSTILE = {
    "num_layers": (lambda c: c["config"].update(num_layers=10**9), "num_layers must be a whole number from 1 to 16"),
    "num_layers zero": (lambda c: c["config"].update(num_layers=0), "num_layers"),
    "num_layers text": (lambda c: c["config"].update(num_layers="2"), "num_layers"),
    "num_classes": (lambda c: c["config"].update(num_classes=10**12), "num_classes"),
    "bidirectional": (lambda c: c["config"].update(bidirectional="yes"), "bidirectional must be true or false"),
    "readout": (lambda c: c["config"].update(readout="max" * 1000), "readout must be 'last' or 'mean'"),
    "stack, other activations": (lambda c: c["config"].update(num_layers=2, gate_activation="hardsigmoid"),
                                 "one layer and one direction"),
    "labels count": (lambda c: c.update(labels=["a", "b"]), "'labels' must be a list of 5"),
    "labels not text": (lambda c: c.update(labels=[1, 2, 3, 4, 5]), "'labels'"),
    "labels too long": (lambda c: c.update(labels=["x" * 10_000] * 5), "'labels'"),
    "layers beyond the weights": (lambda c: c["config"].update(num_layers=3), "tensors do not match"),
    "classes beyond the weights": (lambda c: (c["config"].update(num_classes=4), c.pop("labels")), "shape"),
}


@pytest.mark.parametrize("fault", sorted(HOSTILE))
def test_hostile_cards_get_one_line_errors(tmp_path, fault):
    folder = _write(tmp_path / "m", 2, True, 5, "last", False)
    damage, message = HOSTILE[fault]
    card = json.loads((folder / "card.json").read_text())
    damage(card)
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError) as raised:
        load_model(folder)
    assert message in str(raised.value) and "\n" not in str(raised.value) and len(str(raised.value)) < 500


def test_tokenizer_faults_are_one_line_errors(tmp_path):
    folder = _write(tmp_path / "m", 1, False, 1, "last", True)
    (folder / "vocab.json").write_text(json.dumps({"tokens": ["<pad>", "<unk>"]}))
    with pytest.raises(ValueError, match="both vocab.json and tokenizer.json"):
        load_model(folder)
    (folder / "vocab.json").unlink()
    (folder / "tokenizer.json").write_text('{"model": {"type": "exec"}}')
    with pytest.raises(ValueError, match="not a Hugging Face tokenizer file") as raised:
        load_model(folder)
    assert "\n" not in str(raised.value)
    _tokenizer().save(folder / "tokenizer.json")
    card = json.loads((folder / "card.json").read_text())
    card["config"]["vocab_size"] = 5
    (folder / "card.json").write_text(json.dumps(card))
    state = load_file(str(folder / "model.safetensors"))
    state["embedding.weight"] = state["embedding.weight"][:5].contiguous()
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match="ids but the card says vocab_size=5"):
        load_model(folder)


# ---- the CLI and the exports carry every layer and direction ----


def test_trace_json_and_exports_carry_every_layer_direction_and_class(tmp_path, capsys):
    import csv
    import io

    from gru_viz import cli, export

    folder = _write(tmp_path / "m", 2, True, 3, "mean", False, seed=5)
    sentence = load_model(folder).trace(TEXT)
    assert cli.main(["trace", TEXT, "--model", str(folder), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(export.trace_to_json(sentence))
    assert list(printed) == ["tokens", "update", "reset", "candidate", "hidden", "probability", "layers",
                             "probabilities", "labels"]
    top = sentence.at(1, 0)
    for name in ("update", "reset", "candidate", "hidden"):  # today's keys: the top layer's forward direction
        assert np.array_equal(np.asarray(printed[name], dtype=np.float32), getattr(top, name))
    assert [(entry["layer"], entry["direction"]) for entry in printed["layers"]] == [
        (1, "forward"), (1, "backward"), (2, "forward"), (2, "backward")]
    for entry in printed["layers"]:
        view = sentence.at(entry["layer"] - 1, ("forward", "backward").index(entry["direction"]))
        for name in ("update", "reset", "candidate", "hidden"):
            assert np.array_equal(np.asarray(entry[name], dtype=np.float32), getattr(view, name))
    assert np.array_equal(printed["probabilities"], sentence.probabilities)
    assert printed["labels"] == ["label 0", "label 1", "label 2"]

    rows = list(csv.DictReader(io.StringIO(export.trace_to_csv(sentence).decode())))
    steps = len(sentence.tokens)
    assert len(rows) == 2 * 2 * steps * UNITS
    for row in rows[::7]:
        view = sentence.at(int(row["layer"]) - 1, ("forward", "backward").index(row["direction"]))
        assert float(row["hidden"]) == float(view.hidden[int(row["position"]), int(row["unit"])])
    with np.load(io.BytesIO(export.trace_to_npz(sentence)), allow_pickle=False) as saved:
        assert saved["stack_update"].shape == (2, 2, steps, UNITS)
        assert np.array_equal(saved["stack_update"][0, 1], sentence.at(0, 1).update)
        assert saved["directions"].tolist() == ["forward", "backward"] and saved["layers"].tolist() == [1, 2]
        assert np.array_equal(saved["probabilities"], sentence.probabilities)
        assert saved["labels"].tolist() == ["label 0", "label 1", "label 2"]

    assert cli.main(["trace", TEXT, "--model", str(folder)]) == 0
    table = capsys.readouterr().out
    assert f"verdict: label {sentence.predicted}" in table and "top layer of 2" in table
    assert cli.main(["fixed-points", "--model", str(folder)]) == 2
    error = capsys.readouterr().err
    assert "defined for one layer, one direction and one logit" in error and error.count("\n") == 1


def test_the_cell_view_reads_each_layer_and_direction_from_its_own_input(tmp_path):
    from gru_viz.analysis import sentence_cell_step

    model = load_model(_write(tmp_path / "m", 2, True, 3, "last", False, seed=2))
    sentence = model.trace(TEXT)
    for layer, direction in itertools.product(range(2), range(2)):
        view = sentence.at(layer, direction)
        for position, unit in ((0, 0), (2, 1), (len(TEXT.split()) - 1, 2)):
            step = sentence_cell_step(model, view, position, unit)
            for name in ("update", "reset", "candidate", "hidden", "previous"):
                assert np.isclose(getattr(step, name), getattr(view, name)[position, unit], atol=1e-6), name
            assert np.isclose(step.kept + step.written, step.hidden, atol=1e-12)


def test_an_upload_may_bring_a_tokenizer_json_instead_of_a_vocabulary(tmp_path):
    from gru_viz.upload import model_from_uploads

    folder = _write(tmp_path / "m", 2, True, 2, "mean", True)
    files = [(path.name, path.read_bytes()) for path in folder.iterdir()]
    model = model_from_uploads(files)
    assert model.trace(TEXT).tokens == load_model(folder).trace(TEXT).tokens
    np.testing.assert_array_equal(model.predict_proba([TEXT]), load_model(folder).predict_proba([TEXT]))
    with pytest.raises(ValueError, match="not both"):
        model_from_uploads(files + [("vocab.json", b'{"tokens": ["<pad>", "<unk>"]}')])
