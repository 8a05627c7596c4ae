"""``python -m gru_viz gradient-flow``: the data-set gradient flow by distance, per model, equal to
``gradient_flow`` of each sentence averaged by hand; one-line errors with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gru_viz import cli
from gru_viz.analysis import gradient_flow
from gru_viz.model import load_model
from tests.test_cli_ablate import _rows, _save


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flow")
    rows = _rows(count=12, seed=4)
    tsv = folder / "data.tsv"
    tsv.write_text("sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in rows), encoding="utf-8")
    return {"tsv": tsv, "rows": rows, "gru": _save(folder / "gru"), "rnn": _save(folder / "rnn", "rnn")}


def _run(capsys, *argv):
    code = cli.main(["gradient-flow", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_equals_gradient_flow_of_each_sentence_averaged_by_distance(files, capsys):
    code, out, err = _run(capsys, "--data", files["tsv"], "--models", files["gru"], files["rnn"],
                          "--min-tokens", 3, "--json")
    assert code == 0 and "Traceback" not in err
    printed = json.loads(out)
    assert set(printed) == {"tiny-gru", "tiny-rnn"}
    for name, folder in (("tiny-gru", files["gru"]), ("tiny-rnn", files["rnn"])):
        model = load_model(folder)
        by_distance: dict[int, list[float]] = {}
        for sentence, _ in files["rows"]:
            sequence = model.trace(sentence)
            if len(sequence.ids) < 3:
                continue
            norms = gradient_flow(model.gru, model.net.embedding(torch.tensor(sequence.ids)).detach())
            for t, norm in enumerate(norms):
                by_distance.setdefault(len(norms) - 1 - t, []).append(norm)
        distances = sorted(by_distance)
        assert printed[name]["distance"] == distances
        assert printed[name]["count"] == [len(by_distance[d]) for d in distances]
        np.testing.assert_allclose(printed[name]["mean"], [np.mean(by_distance[d]) for d in distances], rtol=1e-9)
        np.testing.assert_allclose(printed[name]["geometric_mean"],
                                   [np.exp(np.mean(np.log(by_distance[d]))) for d in distances], rtol=1e-9)


def test_table_and_errors(files, capsys):
    code, out, _ = _run(capsys, "--data", files["tsv"], "--models", files["gru"])
    assert code == 0 and "tiny-gru geometric" in out and "sentences" in out
    for argv in (("--data", files["tsv"].parent / "missing.tsv", "--models", files["gru"]),
                 ("--data", files["tsv"], "--models", files["tsv"].parent / "nope"),
                 ("--data", files["tsv"], "--models", files["gru"], "--min-tokens", 500),
                 ("--data", files["tsv"], "--models", files["gru"], files["gru"])):
        code, out, err = _run(capsys, *argv)
        assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1
