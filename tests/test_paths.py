"""Default data and model locations: found from the checkout around the current folder, overridden by
environment variable, and a sentence naming what to pass when there is none. The CLI uses them when
``--data`` / ``--model`` are left out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gru_viz import cli, paths
from gru_viz.text import parse_labelled_tsv

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.delenv(paths.MODELS_ENV, raising=False)


def test_the_checkout_is_found_from_its_root_and_from_inside_it(monkeypatch):
    for folder in (ROOT, ROOT / "gru_viz" / "analysis"):
        monkeypatch.chdir(folder)
        assert paths.default_data_dir() == ROOT / "data" / "sst2"
        assert paths.default_data_file("val") == ROOT / "data" / "sst2" / "val.tsv"
        assert paths.default_data_file("train") == ROOT / "data" / "sst2" / "train.tsv"
        assert paths.default_model_dir() == ROOT / "models" / "sst2-gru"
        assert paths.default_model_dir("sst2-rnn") == ROOT / "models" / "sst2-rnn"
        assert paths.default_models_root() == ROOT / "models"


def test_the_shipped_data_reads_as_labelled_sentences():
    for split, rows in (("val", 6735), ("train", 60614)):
        data = (ROOT / "data" / "sst2" / f"{split}.tsv").read_bytes()
        assert data.startswith(b"sentence\tlabel\n")
        sentences, labels = parse_labelled_tsv(data)
        assert len(sentences) == len(labels) == rows
        assert set(labels) == {0, 1}
        assert all(sentence == sentence.lower() for sentence in sentences[:500])


def test_environment_variables_override_the_checkout(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv(paths.MODELS_ENV, str(tmp_path / "models"))
    assert paths.default_data_dir() == tmp_path / "mine"
    assert paths.default_data_file("val") == tmp_path / "mine" / "val.tsv"
    assert paths.default_model_dir("sst2-rnn") == tmp_path / "models" / "sst2-rnn"
    assert paths.default_models_root() == tmp_path / "models"
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "one.tsv"))  # one file for every split
    assert paths.default_data_file("val") == paths.default_data_file("train") == tmp_path / "one.tsv"
    assert paths.default_data_dir() == tmp_path


def test_outside_a_checkout_the_message_says_what_to_pass(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="--data FILE, or set GRU_VIZ_DATA"):
        paths.default_data_dir()
    with pytest.raises(ValueError, match="--model DIR, or set GRU_VIZ_MODELS"):
        paths.default_model_dir()
    with pytest.raises(ValueError, match="split must be"):
        paths.default_data_file("test")


def test_no_path_in_the_package_is_built_from_its_own_location():
    for source in (ROOT / "gru_viz").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "parent.parent" not in text and "../shared" not in text and '"shared"' not in text, source


def test_cli_ablate_defaults_to_the_shipped_validation_set(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["ablate", "--json", "--limit", "40"]) == 0
    default = json.loads(capsys.readouterr().out)
    assert cli.main(["ablate", "--json", "--data", str(ROOT / "data" / "sst2" / "val.tsv"), "--limit", "40"]) == 0
    assert json.loads(capsys.readouterr().out) == default
    mine = tmp_path / "mine.tsv"
    mine.write_text("sentence\tlabel\na great movie\t1\na dull , boring movie\t0\n", encoding="utf-8")
    monkeypatch.setenv(paths.DATA_ENV, str(mine))
    assert cli.main(["ablate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["free"] in (0.0, 0.5, 1.0)  # two sentences


def test_cli_gradient_flow_defaults_to_the_shipped_data_and_models(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert cli.main(["gradient-flow", "--json", "--limit", "5", "--min-tokens", "20"]) == 0
    flows = json.loads(capsys.readouterr().out)
    assert len(flows) == 2 and all(flow["count"][0] == 5 for flow in flows.values())


def test_outside_a_checkout_the_cli_asks_for_a_model_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gru_viz", "trace", "a great movie"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "pass --model DIR" in done.stderr
    done = subprocess.run([sys.executable, "-m", "gru_viz", "trace", "a great movie", "--model",
                           str(ROOT / "models" / "sst2-gru"), "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and json.loads(done.stdout)["tokens"] == ["a", "great", "movie"]
