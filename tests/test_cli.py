"""The command line: ``trace``, ``ablate``, ``gradient-flow`` and ``template`` — exact JSON keys and values
(against the library under the same settings), tables, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gru_viz import cli
from gru_viz.analysis import (
    gradient_flow,
)
from gru_viz.model import load_model, save_model
from tests.library_helpers import (
    labelled_rows,
    save_gated_model,
    sentiment_model,
)

ROOT = Path(__file__).resolve().parent.parent


KEYS = ["free", "reset=1", "update=0", "reset=1,update=0"]


CLAMPS = {"free": {}, "reset=1": {"clamp_reset": 1.0}, "update=0": {"clamp_update": 0.0},
          "reset=1,update=0": {"clamp_update": 0.0, "clamp_reset": 1.0}}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ablate")
    rows = labelled_rows()
    tsv = folder / "data.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"{s} \t{y}\n" for s, y in rows), encoding="utf-8")
    return {"tsv": tsv, "rows": rows, "gru": save_gated_model(folder / "gru"),
            "rnn": save_gated_model(folder / "rnn", "rnn"),
            "folder": folder}


def _run_ablate(capsys, *argv):
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
    code, out, err = _run_ablate(capsys, "--data", files["tsv"], "--model", files["gru"], "--json")
    assert code == 0
    result = json.loads(out)
    assert list(result) == KEYS
    assert result == _expected(files["gru"], files["rows"])
    assert len(set(result.values())) > 1  # the clamps really change the verdicts of this model
    assert "ablation" in err and "Traceback" not in err  # the progress bar, on stderr only


def test_limit_uses_the_first_sentences(files, capsys):
    code, out, _ = _run_ablate(capsys, "--data", files["tsv"], "--model", files["gru"], "--json", "--limit", "7")
    assert code == 0 and json.loads(out) == _expected(files["gru"], files["rows"][:7])


def test_table_names_every_condition(files, capsys):
    code, out, _ = _run_ablate(capsys, "--data", files["tsv"], "--model", files["gru"])
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
    code, out, err = _run_ablate(capsys, *arguments)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "error" in err


def _corrupt(folder):
    target = folder / "corrupt"
    if not target.exists():
        save_gated_model(target)
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


# ---- gradient-flow ----


@pytest.fixture(scope="module")
def flow_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow")
    rows = labelled_rows(count=12, seed=4)
    tsv = folder / "data.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows), encoding="utf-8")
    return {"tsv": tsv, "rows": rows, "gru": save_gated_model(folder / "gru"),
            "rnn": save_gated_model(folder / "rnn", "rnn")}


def _run_flow(capsys, *argv):
    code = cli.main(["gradient-flow", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_equals_gradient_flow_of_each_sentence_averaged_by_distance(flow_files, capsys):
    code, out, err = _run_flow(capsys, "--data", flow_files["tsv"], "--models", flow_files["gru"], flow_files["rnn"],
                          "--min-tokens", 3, "--json")
    assert code == 0 and "Traceback" not in err
    printed = json.loads(out)
    assert set(printed) == {"tiny-gru", "tiny-rnn"}
    for name, folder in (("tiny-gru", flow_files["gru"]), ("tiny-rnn", flow_files["rnn"])):
        model = load_model(folder)
        by_distance: dict[int, list[float]] = {}
        for sentence, _ in flow_files["rows"]:
            sequence = model.trace(sentence)
            if len(sequence.ids) < 3:
                continue
            norms = gradient_flow(model.gru, model.embed(sequence.ids))
            for t, norm in enumerate(norms):
                by_distance.setdefault(len(norms) - 1 - t, []).append(norm)
        distances = sorted(by_distance)
        assert printed[name]["distance"] == distances
        assert printed[name]["count"] == [len(by_distance[d]) for d in distances]
        np.testing.assert_allclose(printed[name]["mean"], [np.mean(by_distance[d]) for d in distances], rtol=1e-9)
        np.testing.assert_allclose(printed[name]["geometric_mean"],
                                   [np.exp(np.mean(np.log(by_distance[d]))) for d in distances], rtol=1e-9)


def test_table_and_errors(flow_files, capsys):
    code, out, _ = _run_flow(capsys, "--data", flow_files["tsv"], "--models", flow_files["gru"])
    assert code == 0 and "tiny-gru geometric" in out and "sentences" in out
    for argv in (("--data", flow_files["tsv"].parent / "missing.tsv", "--models", flow_files["gru"]),
                 ("--data", flow_files["tsv"], "--models", flow_files["tsv"].parent / "nope"),
                 ("--data", flow_files["tsv"], "--models", flow_files["gru"], "--min-tokens", 500),
                 ("--data", flow_files["tsv"], "--models", flow_files["gru"], flow_files["gru"])):
        code, out, err = _run_flow(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


# ---- trace and template ----


@pytest.fixture
def saved(tmp_path):
    model = sentiment_model()
    save_model(model.net, model.vocab, {"name": "saved"}, tmp_path / "m")
    return tmp_path / "m"


def test_cli_trace_json_has_the_promised_fields(saved, capsys):
    assert cli.main(["trace", "The plot is GREAT", "--model", str(saved), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"tokens", "update", "reset", "candidate", "hidden", "probability", "layers"}
    sentence = load_model(saved).trace("The plot is GREAT")
    assert printed["tokens"] == ["The", "plot", "is", "GREAT"]
    np.testing.assert_allclose(printed["update"], sentence.gates.update[0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(printed["probability"], sentence.probability, atol=1e-12)
    (layer,) = printed["layers"]  # one layer, forward: the top-level fields again
    assert layer == {"layer": 1, "direction": "forward", **{name: printed[name] for name in
                                                           ("update", "reset", "candidate", "hidden")}}


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


def test_cli_template_into_an_unwritable_place_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main(["template", str(blocker / "inside")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "cannot write" in error
