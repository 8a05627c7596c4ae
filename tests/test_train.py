"""Training end to end on tiny data by the real training script: a loadable model with an honest card,
and the same model twice from the same seed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from gru_viz.model import load_model
from gru_viz.text import Vocabulary
from gru_viz.train import RESET_BIAS, Augmenter, Recipe
from gru_viz.train import main as train_main
from tests.library_helpers import (
    FILLER,
    NEGATIVE,
    POSITIVE,
)

SMALL_RECIPE = ["--neutral", "40", "--memory", "80", "--contrast", "40", "--dev", "20", "--max-plot", "4"]


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
                       "--learning-rate", "0.02", "--threads", "1", "--heldout", *SMALL_RECIPE])
    assert code == 0
    return out


def test_training_writes_a_loadable_model_with_an_honest_card(trained):
    assert sorted(p.name for p in trained.iterdir()) == ["card.json", "model.safetensors", "vocab.json"]
    card = json.loads((trained / "card.json").read_text())
    assert card["config"]["arch"] == "gru" and card["config"]["hidden_size"] == 6
    for key in ("val_accuracy", "val_unseen_accuracy", "val_long_accuracy"):
        assert 0.0 <= card["metrics"][key] <= 1.0
    assert len(card["training"]["data"]["train.tsv"]["sha256"]) == 64
    # wall time of both trainings, and of the shipped model's own (the held-out estimate's is the difference)
    assert 0 < card["training"]["model_seconds"] <= card["training"]["seconds"]
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


@pytest.mark.parametrize("ema", ["0", "0.9"])  # the moving average of the weights keeps the pinned rows exact too
def test_no_reset_training_holds_the_reset_gate_at_exactly_one(tmp_path, ema):
    _write_tsv(tmp_path / "train.tsv", _synthetic_rows(200, seed=4))
    _write_tsv(tmp_path / "val.tsv", _synthetic_rows(40, seed=5))
    out = tmp_path / "noreset"
    assert train_main(["--data", str(tmp_path), "--out", str(out), "--no-reset", "--epochs", "2",
                       "--embed-dim", "8", "--hidden-size", "6", "--batch-size", "16", "--threads", "1",
                       "--learning-rate", "0.05", "--ema", ema, *SMALL_RECIPE]) == 0
    model = load_model(out)
    assert model.card["training"]["reset_gate"] == "fixed at 1"
    assert model.card["training"]["ema"] == float(ema)
    state = load_file(str(out / "model.safetensors"))
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_hh_l0"):  # the reset rows never moved off zero
        assert torch.count_nonzero(state[f"rnn.{name}"][:6]) == 0
    assert torch.equal(state["rnn.bias_ih_l0"][:6], torch.full((6,), RESET_BIAS))
    # the other gates did learn
    assert torch.count_nonzero(state["rnn.weight_hh_l0"][6:]) > 0
    sentence = model.trace(" ".join(POSITIVE[:1] + FILLER[:20]))
    assert np.abs(sentence.gates.reset - 1.0).max() <= 1e-6
    # and the fused kernel agrees with the traced r ≡ 1 recurrence
    np.testing.assert_allclose(model.predict_proba([" ".join(POSITIVE[:1] + FILLER[:20])]),
                               sentence.probability[-1:], atol=1e-6)


def test_no_reset_needs_a_gru(tmp_path, capsys):
    with pytest.raises(SystemExit):
        train_main(["--data", str(tmp_path), "--out", str(tmp_path / "x"), "--arch", "rnn", "--no-reset"])
    assert "--no-reset needs --arch gru" in capsys.readouterr().err


def test_augmented_examples_carry_the_right_targets():
    vocab = Vocabulary(["<pad>", "<unk>", ".", "but", "good", "bad", "fun", "dull", "film"])
    # phrases of 3+ tokens only are used: ids of "good fun film" (1) and "bad dull film" (0)
    ids = [[4, 6, 8], [5, 7, 8], [4]]
    labels = np.array([1, 0, 1])
    augmenter = Augmenter(vocab, ids, labels, Recipe(neutral=30, memory=60, contrast=60, max_plot=3))
    examples, targets = augmenter.examples(np.random.default_rng(0))
    assert len(examples) == len(targets) == 150
    polar = {4, 5, 6, 7}
    for example, target in zip(examples[:30], targets[:30]):  # neutral: plot words only, target 0.5
        assert target == 0.5 and not polar & set(example)
    for example, target in zip(examples[30:90], targets[30:90]):  # reviews: one phrase, its own label
        phrase = [4, 6, 8] if target == 1.0 else [5, 7, 8]
        text = " ".join(map(str, example))
        assert " ".join(map(str, phrase)) in text
        assert len([t for t in example if t in polar]) == 2  # exactly one labelled phrase inside
        assert len(example) > 3  # with plot sentences around it
    for example, target in zip(examples[90:], targets[90:]):  # contrasts: "A … but B", B's label
        but = example.index(3)
        last = [4, 6, 8] if target == 1.0 else [5, 7, 8]
        first = [5, 7, 8] if target == 1.0 else [4, 6, 8]
        assert example[but + 1:but + 4] == last and example[:3] == first
