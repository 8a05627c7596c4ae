"""Exports hold the trace's own numbers: CSV, JSON and NPZ each read back to exactly the values of
``model.trace`` (the one ``SentenceTrace`` the page shows too), JSON equals the CLI's ``--json``, NPZ needs no pickle,
and figures leave through Plotly's own HTML and image tools with user text kept inert."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gru_viz import cli, export
from gru_viz.model import ModelConfig, SentimentModel, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary

FIELDS = ("update", "reset", "candidate", "hidden")
HOSTILE = 'He said "great", =SUM(A1) <b>x</b> \u202eevil\u202c 👩\u200d👩\u200d👧 مرحبا 日本語, it\'s\nfine'


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    vocab = Vocabulary(["<pad>", "<unk>", "the", "movie", "is", "great", "boring", ",", "."])
    net = SentimentNet(ModelConfig(vocab_size=len(vocab), embed_dim=6, hidden_size=5))
    return SentimentModel(net, vocab, {"name": "tiny"})


def _expected(sentence):
    """The oracle: the trace's own arrays, (T, H) and (T,)."""
    return ({name: getattr(sentence.gates, name)[0, 0, 0] for name in FIELDS}, sentence.probability)


@pytest.mark.parametrize("text", ["the movie is great", HOSTILE])
def test_csv_reads_back_to_exactly_the_trace(model, text):
    sentence = model.trace(text)
    fields, probability = _expected(sentence)
    steps, units = fields["hidden"].shape
    rows = list(csv.DictReader(io.StringIO(export.trace_to_csv(sentence).decode("utf-8"))))
    assert list(rows[0]) == ["layer", "direction", "position", "token", "unit", *FIELDS, "probability"]
    assert len(rows) == steps * units
    assert {(row["layer"], row["direction"]) for row in rows} == {("1", "forward")}
    for row in rows:
        t, u = int(row["position"]), int(row["unit"])
        assert row["token"] == sentence.tokens[t]
        for name in FIELDS:  # the float64 read of the text is the float32 value, bit for bit
            assert float(row[name]) == float(fields[name][t, u]) and np.float32(row[name]) == fields[name][t, u]
        assert float(row["probability"]) == probability[t]
    assert [(int(r["position"]), int(r["unit"])) for r in rows] == [(t, u) for t in range(steps)
                                                                     for u in range(units)]


@pytest.mark.parametrize("text", ["the movie is great", HOSTILE])
def test_json_reads_back_to_exactly_the_trace_with_the_clis_keys(model, text):
    sentence = model.trace(text)
    fields, probability = _expected(sentence)
    document = json.loads(export.trace_to_json(sentence, model_name="tiny"))
    assert list(document) == ["model", "tokens", *FIELDS, "probability", "layers"]
    assert document["layers"] == [{"layer": 1, "direction": "forward", **{name: document[name] for name in FIELDS}}]
    assert document["model"] == "tiny" and document["tokens"] == sentence.tokens
    for name in FIELDS:
        assert np.array_equal(np.asarray(document[name], dtype=np.float32), fields[name])
        assert np.asarray(document[name]).tolist() == fields[name].astype(np.float64).tolist()
    assert document["probability"] == probability.tolist()
    assert "model" not in json.loads(export.trace_to_json(sentence))


def test_json_equals_the_cli_trace_json(model, tmp_path, capsys):
    save_model(model.net, model.vocab, {"name": "tiny"}, tmp_path / "tiny")
    assert cli.main(["trace", HOSTILE, "--model", str(tmp_path / "tiny"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(export.trace_to_json(load_model(tmp_path / "tiny").trace(HOSTILE))) == printed


@pytest.mark.parametrize("text", ["the movie is great", HOSTILE])
def test_npz_loads_without_pickle_to_exactly_the_trace(model, text):
    sentence = model.trace(text)
    fields, probability = _expected(sentence)
    with np.load(io.BytesIO(export.trace_to_npz(sentence, model_name="tiny")), allow_pickle=False) as saved:
        assert sorted(saved.files) == sorted(["tokens", *FIELDS, "probability", "model", "layers", "directions",
                                              *(f"stack_{name}" for name in FIELDS)])
        assert saved["layers"].tolist() == [1] and saved["directions"].tolist() == ["forward"]
        assert all(np.array_equal(saved[f"stack_{name}"][0, 0], fields[name]) for name in FIELDS)
        assert all(saved[name].dtype != object for name in saved.files)
        assert saved["tokens"].dtype.kind == "U" and saved["tokens"].tolist() == sentence.tokens
        for name in FIELDS:
            assert saved[name].dtype == fields[name].dtype and np.array_equal(saved[name], fields[name])
        assert saved["probability"].dtype == np.float64 and np.array_equal(saved["probability"], probability)
        assert saved["model"].shape == () and str(saved["model"]) == "tiny"


def test_the_pages_sentence_exports_the_same_bytes(model):
    """The page and the CLI read one ``SentenceTrace``: its (T, H) views are the trace's own arrays, and two
    reads of a sentence export byte for byte the same."""
    text = "the movie is boring , great ."
    sentence, view = model.trace(text), model.trace(text)
    for name in ("update", "reset", "candidate", "hidden"):
        assert np.shares_memory(getattr(view, name), getattr(view.gates, name))
    assert export.trace_to_csv(view) == export.trace_to_csv(sentence)
    assert export.trace_to_json(view, "m") == export.trace_to_json(sentence, "m")
    with np.load(io.BytesIO(export.trace_to_npz(view)), allow_pickle=False) as a, \
            np.load(io.BytesIO(export.trace_to_npz(sentence)), allow_pickle=False) as b:
        assert all(np.array_equal(a[name], b[name]) for name in b.files)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=200))
def test_any_text_round_trips_through_every_format(model, text):
    try:
        sentence = model.trace(text)
    except ValueError as error:
        assert "empty" in str(error)
        return
    rows = list(csv.DictReader(io.StringIO(export.trace_to_csv(sentence).decode("utf-8"))))
    units = sentence.hidden.shape[1]
    assert [row["token"] for row in rows[::units]] == sentence.tokens
    assert json.loads(export.trace_to_json(sentence))["tokens"] == sentence.tokens
    with np.load(io.BytesIO(export.trace_to_npz(sentence)), allow_pickle=False) as saved:
        assert saved["tokens"].tolist() == sentence.tokens


def test_downloads_are_named_safely_and_make_the_same_bytes(model):
    sentence = model.trace("the movie is great")
    downloads = export.trace_downloads(sentence, model_name="../../etc/pass wd")
    assert [d.file_name for d in downloads] == ["etc-pass-wd-trace.csv", "etc-pass-wd-trace.json",
                                                "etc-pass-wd-trace.npz"]
    assert downloads[0].data() == export.trace_to_csv(sentence)
    assert downloads[1].data() == export.trace_to_json(sentence, "../../etc/pass wd")
    assert downloads[2].mime == "application/octet-stream" and downloads[2].data()[:2] == b"PK"
    assert export.trace_downloads(sentence)[0].file_name == "model-trace.csv"
    assert export.safe_file_stem("…/\u202e") == "model"


def test_figure_html_keeps_user_text_inside_the_figure_json():
    hostile = "</script><script>alert(1)</script>"
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0.25, 0.75], text=[hostile, "ok"]), layout={"title": {"text": hostile}})
    page = export.figure_to_html(figure, include_plotlyjs="cdn").decode("utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>") and "Plotly.newPlot" in page
    assert hostile not in page and "<script>alert" not in page
    assert "[0.25,0.75]" in page.replace(" ", "") or "bdata" in page  # the numbers travel in the figure JSON


def test_plotly_config_names_the_charts_own_image_download():
    config = export.plotly_config("chart_update", image_format="svg")
    assert config["toImageButtonOptions"] == {"format": "svg", "filename": "chart_update", "scale": 2}
    assert config["displaylogo"] is False
    with pytest.raises(ValueError, match="image format"):
        export.plotly_config("x", image_format="pdf")
