"""The trained-model API: training end to end on tiny data, safe loading, predictions, the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from gru_viz import cli
from gru_viz.model import ModelConfig, SentimentModel, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary
from gru_viz.train import main as train_main

ROOT = Path(__file__).resolve().parent.parent
POSITIVE, NEGATIVE = ["great", "lovely", "superb"], ["awful", "boring", "dull"]
FILLER = ["the", "movie", "plot", "is", "and", "a", "story", "film"]


def _synthetic_rows(count, seed):
    """Sentiment decided by one early word, then filler: a long-range task in miniature."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        label = int(rng.integers(2))
        word = rng.choice(POSITIVE if label else NEGATIVE)
        filler = list(rng.choice(FILLER, size=int(rng.integers(1, 6))))
        rows.append((" ".join([word] + filler), label))
    return rows


def _write_tsv(path, rows):
    path.write_text("sentence\tlabel\n" + "".join(f"{s} \t{y}\n" for s, y in rows))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A GRU trained end to end by the real training script on data this test makes."""
    folder = tmp_path_factory.mktemp("data")
    _write_tsv(folder / "train.tsv", _synthetic_rows(600, seed=1))
    _write_tsv(folder / "val.tsv", _synthetic_rows(80, seed=2) + [("great film and a superb plot ending", 1)])
    out = folder / "model"
    code = train_main(["--data", str(folder), "--out", str(out), "--arch", "gru", "--epochs", "6",
                       "--embed-dim", "8", "--hidden-size", "6", "--batch-size", "16", "--dropout", "0.0",
                       "--learning-rate", "0.02", "--threads", "1", "--heldout"])
    assert code == 0
    return out


def _tiny_model(arch="gru", seed=0):
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + POSITIVE + NEGATIVE + FILLER + [".", ",", "n't", "do"])
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=5, hidden_size=4))
    return SentimentModel(net, vocab, {"name": f"tiny-{arch}"})


def test_training_writes_a_loadable_model_with_an_honest_card(trained):
    assert sorted(p.name for p in trained.iterdir()) == ["card.json", "model.safetensors", "vocab.json"]
    card = json.loads((trained / "card.json").read_text())
    assert card["config"]["arch"] == "gru" and card["config"]["hidden_size"] == 6
    for key in ("val_accuracy", "val_unseen_accuracy", "val_long_accuracy"):
        assert 0.0 <= card["metrics"][key] <= 1.0
    assert len(card["training"]["data"]["train.tsv"]["sha256"]) == 64
    # the held-out run trained without the fragments of the unseen validation sentences
    assert 0.0 <= card["metrics"]["heldout_unseen_accuracy"] <= 1.0
    assert card["parameters"] == sum(p.numel() for p in load_model(trained).net.parameters())
    model = load_model(trained)
    # the task is learnable from the first word; six epochs on 600 rows get it
    rows = _synthetic_rows(200, seed=3)
    predictions = model.predict_proba([s for s, _ in rows]) > 0.5
    assert (predictions == np.array([y for _, y in rows])).mean() > 0.9
    # the card's accuracy is what the saved model scores on val.tsv
    val = [line.rsplit("\t", 1) for line in (trained.parent / "val.tsv").read_text().splitlines()[1:]]
    scored = (model.predict_proba([s for s, _ in val]) > 0.5) == np.array([int(y) for _, y in val])
    assert card["metrics"]["val_accuracy"] == pytest.approx(scored.mean(), abs=1e-4)


def test_training_is_deterministic(trained, tmp_path):
    again = tmp_path / "again"
    card = json.loads((trained / "card.json").read_text())
    args = card["training"]["command"].split()[3:]  # after "python -m gru_viz.train"
    args[args.index("--out") + 1] = str(again)
    assert train_main(args) == 0
    first, second = load_file(str(trained / "model.safetensors")), load_file(str(again / "model.safetensors"))
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_save_load_round_trip_gives_equal_outputs(tmp_path):
    for arch in ("gru", "rnn"):
        model = _tiny_model(arch)
        save_model(model.net, model.vocab, {"name": "round"}, tmp_path / arch)
        loaded = load_model(tmp_path / arch)
        texts = ["great movie", "the plot is dull and boring .", "Superb!"]
        assert np.array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
        assert loaded.config == model.config and loaded.gru.__class__ is model.gru.__class__


def test_predict_proba_equals_last_probability_of_trace():
    model = _tiny_model()
    texts = ["great", "the movie is boring", "a lovely , superb film and the story is dull .", "do n't"]
    batched = model.predict_proba(texts)
    for text, probability in zip(texts, batched):
        assert probability == pytest.approx(model.trace(text).probability[-1], abs=1e-6)


def test_trace_probability_is_the_head_applied_to_every_hidden_state():
    model = _tiny_model()
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
    model = _tiny_model()
    sentence = model.trace("Zyzzyva great Qwxv")
    assert sentence.tokens == ["Zyzzyva", "great", "Qwxv"]
    assert sentence.known.tolist() == [False, True, False]
    assert sentence.ids.tolist() == [Vocabulary.UNK, model.vocab.index["great"], Vocabulary.UNK]


def test_rnn_trace_is_a_gru_with_open_gates():
    model = _tiny_model("rnn")
    sentence = model.trace("the movie is boring")
    assert np.all(sentence.gates.update == 0) and np.all(sentence.gates.reset == 1)
    np.testing.assert_array_equal(sentence.gates.candidate, sentence.gates.hidden)
    with pytest.raises(ValueError, match="no gates"):
        model.trace("boring", clamp_update=0.0)


def test_clamped_predictions_equal_clamped_traces_and_never_touch_weights():
    model = _tiny_model()
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
        _tiny_model().trace(text)


# --- every loader fault is a ValueError naming the file and the fault ---

@pytest.fixture
def saved(tmp_path):
    model = _tiny_model()
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


# --- CLI ---

def test_cli_trace_json_has_the_promised_fields(saved, capsys):
    assert cli.main(["trace", "The plot is GREAT", "--model", str(saved), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"tokens", "update", "reset", "candidate", "hidden", "probability"}
    sentence = load_model(saved).trace("The plot is GREAT")
    assert printed["tokens"] == ["The", "plot", "is", "GREAT"]
    np.testing.assert_allclose(printed["update"], sentence.gates.update[0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(printed["probability"], sentence.probability, atol=1e-12)


def test_cli_table_and_exit_codes(saved, capsys):
    assert cli.main(["trace", "great", "--model", str(saved)]) == 0
    assert "verdict" in capsys.readouterr().out
    for argv in (["trace", "   ", "--model", str(saved)], ["trace", "x", "--model", str(saved / "nope")]):
        assert cli.main(argv) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and error.count("\n") == 1 and "Traceback" not in error


def test_cli_as_a_process_prints_one_line_and_no_traceback(tmp_path):
    (tmp_path / "card.json").write_text("{}")
    result = subprocess.run([sys.executable, "-m", "gru_viz", "trace", "hello", "--model", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "card.json" in result.stderr
    bad_usage = subprocess.run([sys.executable, "-m", "gru_viz", "nonsense"], capture_output=True, text=True,
                               cwd=ROOT, timeout=120)
    assert bad_usage.returncode == 2 and "Traceback" not in bad_usage.stderr


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


def test_cli_template_into_an_unwritable_place_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["template", str(blocker / "inside")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "cannot write" in error
