"""``python -m gru_viz ablate``: exact JSON keys and values (against ``predict_proba`` under the same
clamps), the table, the progress bar on stderr, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gru_viz import cli
from gru_viz.model import ModelConfig, SentimentNet, save_model
from gru_viz.text import Vocabulary

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["great", "lovely", "awful", "boring", "the", "movie", "plot", "is", "not", "and", "but", "."]
KEYS = ["free", "reset=1", "update=0", "reset=1,update=0"]
CLAMPS = {"free": {}, "reset=1": {"clamp_reset": 1.0}, "update=0": {"clamp_update": 0.0},
          "reset=1,update=0": {"clamp_update": 0.0, "clamp_reset": 1.0}}


def _rows(count=30, seed=0):
    rng = np.random.default_rng(seed)
    return [(" ".join(rng.choice(WORDS, size=int(rng.integers(1, 10)))), int(rng.integers(2)))
            for _ in range(count)]


def _save(folder, arch="gru"):
    torch.manual_seed(0)
    vocab = Vocabulary(["<pad>", "<unk>"] + WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=6))
    with torch.no_grad():
        for parameter in net.rnn.parameters():
            parameter.mul_(4.0)  # saturating gates, so forcing them changes verdicts
    save_model(net, vocab, {"name": f"tiny-{arch}"}, folder)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ablate")
    rows = _rows()
    tsv = folder / "data.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"{s} \t{y}\n" for s, y in rows), encoding="utf-8")
    return {"tsv": tsv, "rows": rows, "gru": _save(folder / "gru"), "rnn": _save(folder / "rnn", "rnn"),
            "folder": folder}


def _run(capsys, *argv):
    """(exit status, stdout, stderr) of ``python -m gru_viz ablate *argv``, in this process."""
    try:
        code = cli.main(["ablate", *map(str, argv)])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _expected(model_folder, rows):
    from gru_viz.model import load_model

    model = load_model(model_folder)
    texts, labels = [s for s, _ in rows], np.array([y for _, y in rows])
    return {name: float(np.mean((model.predict_proba(texts, **clamps) > 0.5) == labels))
            for name, clamps in CLAMPS.items()}


def test_json_has_exactly_the_four_keys_and_predict_proba_accuracies(files, capsys):
    code, out, err = _run(capsys, "--data", files["tsv"], "--model", files["gru"], "--json")
    assert code == 0
    result = json.loads(out)
    assert list(result) == KEYS
    assert result == _expected(files["gru"], files["rows"])
    assert len(set(result.values())) > 1  # the clamps really change the verdicts of this model
    assert "ablation" in err and "Traceback" not in err  # the progress bar, on stderr only


def test_limit_uses_the_first_sentences(files, capsys):
    code, out, _ = _run(capsys, "--data", files["tsv"], "--model", files["gru"], "--json", "--limit", "7")
    assert code == 0 and json.loads(out) == _expected(files["gru"], files["rows"][:7])


def test_table_names_every_condition(files, capsys):
    code, out, _ = _run(capsys, "--data", files["tsv"], "--model", files["gru"])
    assert code == 0
    expected = _expected(files["gru"], files["rows"])
    lines = out.splitlines()
    assert "30 sentences" in lines[0]
    for name in KEYS:
        row = next(line for line in lines if line.split()[0] == name)
        assert f"{expected[name]:.4f}" in row


def _bad_tsv(folder, name, content: bytes):
    path = folder / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", ["missing tsv", "folder as tsv", "bad row", "bad label", "not utf-8",
                                  "only a header", "missing model", "corrupt model", "rnn model",
                                  "limit zero", "limit word", "no data"])
def test_user_faults_are_one_line_and_exit_2(files, capsys, monkeypatch, case):
    folder, tsv, gru = files["folder"], files["tsv"], files["gru"]
    if case == "no data":  # no --data and no checkout around the current folder
        monkeypatch.delenv("GRU_VIZ_DATA", raising=False)
        monkeypatch.chdir(folder)
    arguments = {
        "missing tsv": ["--data", folder / "nothing.tsv", "--model", gru],
        "folder as tsv": ["--data", folder, "--model", gru],
        "bad row": ["--data", _bad_tsv(folder, "row.tsv", b"sentence\tlabel\ngreat movie\n"), "--model", gru],
        "bad label": ["--data", _bad_tsv(folder, "label.tsv", b"great movie\t7\n"), "--model", gru],
        "not utf-8": ["--data", _bad_tsv(folder, "latin.tsv", "caf\u00e9\t1\n".encode("latin-1")), "--model", gru],
        "only a header": ["--data", _bad_tsv(folder, "empty.tsv", b"sentence\tlabel\n"), "--model", gru],
        "missing model": ["--data", tsv, "--model", folder / "no-model"],
        "corrupt model": ["--data", tsv, "--model", _corrupt(folder)],
        "rnn model": ["--data", tsv, "--model", files["rnn"]],
        "limit zero": ["--data", tsv, "--model", gru, "--limit", "0"],
        "limit word": ["--data", tsv, "--model", gru, "--limit", "all"],
        "no data": ["--model", gru],
    }[case]
    code, out, err = _run(capsys, *arguments)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "error" in err


def _corrupt(folder):
    target = folder / "corrupt"
    if not target.exists():
        _save(target)
        (target / "model.safetensors").write_bytes(b"not a safetensors file")
    return target


def test_the_module_runs_as_a_process_with_json_on_stdout_and_errors_on_stderr(files):
    command = [sys.executable, "-m", "gru_viz", "ablate", "--data", str(files["tsv"]), "--model", str(files["gru"]),
               "--json", "--limit", "5"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)) == KEYS and "ablation" in done.stderr

    done = subprocess.run(command[:5] + [str(files["folder"] / "nothing.tsv")] + command[6:], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
