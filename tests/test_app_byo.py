"""The *Your model* page: an uploaded model folder is offered on every page and read exactly; a broken upload is
a message; and the Read page's downloads and figure exports. Driven by AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gru_viz import analysis
from gru_viz.model import load_model
from gru_viz.upload import write_template
from tests.helpers import (
    ROOT,
    charts,
    decode,
    open_page,
    open_sections,
    page_app,
    run,
    story,
    vega_charts,
)

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
    app = page_app()
    app.query_params["text"] = SENTENCE
    return run(app)


def test_an_uploaded_model_is_offered_and_read_exactly(app, template):
    assert UPLOADED not in app.radio(key="model").options
    open_page(app, "your_model")
    app.file_uploader(key="model_upload").set_value(_files(template))
    run(app)
    assert any("Loaded" in success.value for success in app.success)
    app.button(key="use_uploaded").click()
    run(app)
    open_page(app, "read")  # AppTest follows st.switch_page on the next run
    assert app.radio(key="model").value == UPLOADED
    expected = load_model(template).trace(SENTENCE)
    final = expected.probability[-1]
    assert [(metric.label, metric.value) for metric in app.metric] == [
        (f"Verdict, P(positive) = {final:.2f}", "positive" if final > 0.5 else "negative")]
    changes = [row["change"] for row in story(app)["changes"][1]]
    np.testing.assert_allclose(changes, expected.logit_changes, atol=1e-6)
    assert "model" not in app.query_params  # an upload is private to its session: never in a link
    open_page(app, "cell")
    assert app.radio(key="model").value == UPLOADED


@pytest.mark.parametrize("damage, message", [
    (lambda files: [("model.safetensors", b"\x80\x04\x95cos\nsystem\n", "x")] + files[1:], "safetensors"),
    (lambda files: files[:2], "card.json"),
    (lambda files: files + [("evil.py", b"import os", "x")], "evil.py"),
])
def test_a_broken_upload_is_a_message_and_the_page_stays_on_its_model(app, template, damage, message):
    open_page(app, "your_model")
    app.file_uploader(key="model_upload").set_value(damage(_files(template)))
    run(app)
    assert [error.value for error in app.error] == ["That model cannot be used:"]
    assert message in " ".join(text.value for text in app.text)
    open_page(app, "read")
    assert UPLOADED not in app.radio(key="model").options and app.radio(key="model").value == "sst2-gru"


def test_trace_downloads_and_html_export_are_offered(app):
    assert not app.get("download_button")  # the downloads section runs only while it is open
    open_sections(app, "open_downloads", "open_units", "open_words")
    keys = {button.key for button in app.get("download_button")}
    assert {"download_csv", "download_json", "download_npz", "download_html"} <= keys
    configs = [json.loads(chart.proto.config) for chart in app.get("plotly_chart")]
    names = {config["toImageButtonOptions"]["filename"] for config in configs}
    assert names == {"words", "units"}
    assert all(config["displaylogo"] is False for config in configs)
    assert app.selectbox(key="html_figure").options == ["chart_story", "chart_units", "chart_words"]


def test_the_story_downloads_as_the_same_story_in_plotly(app):
    """The first chart is Vega-Lite; its HTML download is the Plotly story figure, built only when asked for."""
    from views.parts import caches, charts

    model = load_model(ROOT / "models" / "sst2-gru")
    sentence = model.trace(SENTENCE)
    changes = analysis.sentence_logit_changes(sentence)
    built = []

    def build():
        built.append(True)
        return caches.story_figure(sentence, changes)

    page = charts._figure_html(build).decode()
    assert built == [True] and "How the verdict formed" in page
    figure = caches.story_figure(sentence, changes)
    np.testing.assert_allclose(decode(figure.to_plotly_json()["data"][0]["y"])[1:], sentence.probability, atol=1e-7)


def _use_upload(app, template):
    open_page(app, "your_model")
    app.file_uploader(key="model_upload").set_value(_files(template))
    run(app)
    app.button(key="use_uploaded").click()
    run(app)


def test_the_gradient_flow_reads_the_uploaded_model_beside_the_shipped_rnn_as_a_reference(app, template):
    _use_upload(app, template)
    open_page(app, "dynamics")
    assert app.radio(key="model").value == UPLOADED
    app.toggle(key="sentence_flow_on").set_value(True)
    run(app)
    spec = charts(app)["chart_sentence_flow"]
    assert [line["name"] for line in spec["data"]] == ["GRU, your uploaded model",
                                                       "vanilla RNN (sst2-rnn), shipped reference"]
    for line, model in zip(spec["data"], (load_model(template), load_model(ROOT / "models" / "sst2-rnn"))):
        expected = analysis.gradient_flow(model.gru, analysis.embed_texts(model, [SENTENCE])[0])
        np.testing.assert_array_equal(decode(line["y"]), expected)
    assert not app.exception and not app.warning


def test_compare_reads_one_sentence_with_the_uploaded_model_beside_the_shipped_ones(app, template):
    _use_upload(app, template)
    open_page(app, "compare")
    assert app.multiselect(key="compare_models").value == [UPLOADED, "sst2-gru", "sst2-gru-noreset"]
    _, rows = vega_charts(app)["P(positive) after each word, one line per model"]
    expected = load_model(template).trace(SENTENCE)
    assert rows[0]["series"] == UPLOADED
    assert [row["p"] for row in rows if row["series"] == UPLOADED] == np.r_[expected.start_probability,
                                                                            expected.probability.astype(float)].tolist()
