"""The page's bring-your-own-model upload, trace downloads and figure exports, driven by AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.model import load_model
from gru_viz.upload import write_template
from tests.test_app import charts, decode

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120
UPLOADED = "your uploaded model"
SENTENCE = "a great and lovely film"


@pytest.fixture
def template(tmp_path) -> Path:
    write_template(tmp_path / "my-gru", hidden_size=6, embed_dim=5, seed=3)
    return tmp_path / "my-gru"


def _files(folder: Path):
    return [(path.name, path.read_bytes(), "application/octet-stream") for path in sorted(folder.iterdir())]


@pytest.fixture
def app(monkeypatch):
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.run(timeout=TIMEOUT)
    assert not app.exception
    return app


def test_an_uploaded_model_is_offered_and_read_exactly(app, template):
    assert UPLOADED not in app.selectbox(key="model").options
    app.file_uploader(key="model_upload").set_value(_files(template))
    app.text_area(key="text").set_value(SENTENCE)
    app.run(timeout=TIMEOUT)
    assert not app.exception and UPLOADED in app.selectbox(key="model").options
    app.selectbox(key="model").set_value(UPLOADED)
    app.run(timeout=TIMEOUT)
    assert not app.exception
    expected = load_model(template).trace(SENTENCE)
    shown = [metric.value for metric in app.metric if metric.label == "P(positive)"]
    assert shown == [f"{expected.probability[-1]:.3f}"]
    # the update heatmap holds the uploaded model's exact gates (rows may be reordered by unit)
    values = decode(charts(app)["chart_update"]["data"][0]["z"]).astype(np.float64)  # (H, T)
    np.testing.assert_array_equal(np.sort(values, axis=0),
                                  np.sort(expected.gates.update[0, 0, 0].T.astype(np.float64), axis=0))
    assert "model" not in app.query_params  # an upload is private to its session: never in a link


@pytest.mark.parametrize("damage, message", [
    (lambda files: [("model.safetensors", b"\x80\x04\x95cos\nsystem\n", "x")] + files[1:], "safetensors"),
    (lambda files: files[:2], "card.json"),
    (lambda files: files + [("evil.py", b"import os", "x")], "evil.py"),
])
def test_a_broken_upload_is_a_message_and_the_page_stays_on_its_model(app, template, damage, message):
    files = _files(template)  # card.json, model.safetensors, vocab.json
    app.file_uploader(key="model_upload").set_value(damage(files))
    app.run(timeout=TIMEOUT)
    assert not app.exception
    assert UPLOADED not in app.selectbox(key="model").options
    errors = [error.value for error in app.sidebar.error]
    texts = " ".join(text.value for text in app.sidebar.text)
    assert errors == ["That model cannot be used:"] and message in texts
    assert app.selectbox(key="model").value == "sst2-gru"


def test_trace_downloads_and_html_export_are_offered(app):
    keys = {button.key for button in app.get("download_button")}
    assert {"download_csv", "download_json", "download_npz", "download_html"} <= keys
    charts = app.get("plotly_chart")
    configs = [json.loads(chart.proto.config) for chart in charts]
    names = {config["toImageButtonOptions"]["filename"] for config in configs}
    assert {"update", "reset", "hidden", "prediction"} <= names
    assert all(config["displaylogo"] is False for config in configs)
    assert "update" in app.selectbox(key="html_figure").options
