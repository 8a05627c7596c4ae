"""``python -m gru_viz fixed-points``: the JSON keys, every point a fixed point of the model's step (checked
here through the module itself, in float64) strictly inside the box, the drops adding up, the logit, cosines,
kinds and mode counts recomputed from the head and the eigenvalues, the table, and one-line errors with exit
status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gru_viz import cli
from gru_viz.model import load_model
from gru_viz.paths import default_model_dir

KEYS = {"model", "input", "starts", "count", "tolerance", "points", "residual", "logit", "eigenvalues_real",
        "eigenvalues_imag", "slowest", "timescales", "slow_modes", "slow_threshold", "directions",
        "readout_cosine", "points_axis_cosine", "points_axis_explained", "kinds", "growing_modes", "candidates",
        "dropped"}
ROWS = ["I love this movie so much\t1", "But the movie is really boring\t0",
        "the plot is thin but the acting is great\t1", "a dull , lifeless mess\t0"]


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "few.tsv"
    path.write_text("sentence\tlabel\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_json_points_are_fixed_points_of_the_shipped_gru(data, capsys):
    assert cli.main(["fixed-points", "--data", str(data), "--input", "mean", "--starts", "24", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == KEYS
    model = load_model(default_model_dir())
    assert (result["model"], result["input"], result["starts"]) == (model.name, "mean", 24)
    twin = torch.nn.GRU(model.gru.input_size, model.gru.hidden_size).double()
    twin.load_state_dict(model.gru.state_dict())
    real = np.delete(model.net.embedding.weight.detach().double().numpy(), [0, 1], axis=0)
    x = torch.from_numpy(real.mean(axis=0))[None]  # (1, E): the mean word
    weight = model.net.head.weight.detach().double().numpy()[0]
    assert result["count"] == len(result["points"]) >= 1
    assert set(result["dropped"]) == {"box", "not_converged", "duplicate"}
    assert result["count"] + sum(result["dropped"].values()) == result["candidates"] == 3 * 24
    assert result["tolerance"] == 1e-10
    for k, point in enumerate(np.array(result["points"])):
        with torch.no_grad():
            moved = twin(x, torch.from_numpy(point)[None])[0][0].numpy()
        assert np.linalg.norm(moved - point) <= 1e-10 and np.abs(point).max() < 1
        assert result["logit"][k] == pytest.approx(weight @ point + float(model.net.head.bias), abs=1e-9)
        direction = np.array(result["directions"][k])
        cosine = abs(direction @ weight) / np.linalg.norm(direction) / np.linalg.norm(weight)
        assert result["readout_cosine"][k] == pytest.approx(cosine, abs=1e-9)
        magnitude = np.hypot(result["eigenvalues_real"][k], result["eigenvalues_imag"][k])
        assert result["slowest"][k] == pytest.approx(magnitude[0])
        assert result["slow_modes"][k] == int((magnitude >= 0.99).sum())
        assert result["growing_modes"][k] == int((magnitude > 1).sum())
        assert result["kinds"][k] == ("attractor" if magnitude.max() < 1 else
                                      "repeller" if magnitude.min() > 1 else "saddle")
        tau = result["timescales"][k][0]
        assert tau is None or tau == pytest.approx(-1 / np.log(magnitude[0]))


def test_the_table(data, capsys):
    assert cli.main(["fixed-points", "--data", str(data), "--input", "zero", "--starts", "16"]) == 0
    out = capsys.readouterr().out
    assert "constant input 'zero'" in out and "cos(slow, readout)" in out and "from 16 states" in out
    assert "of 48 polished candidates, dropped:" in out and "attractor" in out


@pytest.mark.parametrize("argument, message", [(["--input", "qqqzzzx"], "not in the model's vocabulary"),
                                               (["--input", "two words"], "one word"),
                                               (["--model", "/nonexistent/model"], "no such model folder")])
def test_errors_are_one_line(data, capsys, argument, message):
    assert cli.main(["fixed-points", "--data", str(data), *argument]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
