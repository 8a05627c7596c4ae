"""The page driven by Streamlit's AppTest: first load, typing, ``?text=``, examples, model switch, unit
order, blank and long text, and chart data equal to the model's trace, value for value.

Most tests run the page on two tiny untrained models written to a temporary folder (GRU_VIZ_MODELS), so
they need no training run and know every number to expect: a GRU whose card carries a PCA basis, and an
RNN without one (the page fits a basis itself). Tests marked ``shipped`` run the real models/ folder and
skip when it has not been trained yet.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gru_viz import analysis
from gru_viz.analysis import fit_pca
from gru_viz.examples import EXAMPLES, NEUTRAL_TAIL, SEED_PAIR
from gru_viz.model import ModelConfig, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary, tokenize

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 60  # seconds per run: the machine is shared and the first run imports torch
SENTENCE = "the movie is so boring but I love the movie"


def _write_model(folder: Path, arch: str, seed: int, projection: bool) -> None:
    words = sorted({token for text in [*SEED_PAIR, SENTENCE, NEUTRAL_TAIL, *(e.text for e in EXAMPLES)]
                    for token in tokenize(text).normalized})
    vocab = Vocabulary(["<pad>", "<unk>"] + words)
    torch.manual_seed(seed)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=12))
    with torch.no_grad():
        net.head.weight.mul_(4)  # verdicts that move visibly
    card = {"name": folder.name}
    save_model(net, vocab, card, folder)
    if projection:
        model = load_model(folder)
        states = np.vstack([model.trace(text).hidden for text in [*SEED_PAIR, SENTENCE, NEUTRAL_TAIL]])
        card = json.loads((folder / "card.json").read_text())
        card["projection"] = {k: v.tolist() for k, v in fit_pca(states).items()}
        (folder / "card.json").write_text(json.dumps(card))


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    _write_model(folder / "sst2-gru", "gru", seed=0, projection=True)
    _write_model(folder / "sst2-rnn", "rnn", seed=1, projection=False)
    return folder


@pytest.fixture
def app(models_dir, monkeypatch):
    """A fresh AppTest of app.py over the tiny models (not yet run)."""
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_dir))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def run(app: AppTest) -> AppTest:
    app.run(timeout=TIMEOUT)
    assert not app.exception, [e.message for e in app.exception]
    return app


def charts(app: AppTest) -> dict[str, dict]:
    """Every Plotly chart on the page, by key, as the figure JSON the browser receives."""
    return {element.key: json.loads(element.proto.spec) for element in app.get("plotly_chart")}


def decode(value) -> np.ndarray:
    """A Plotly JSON array: a list, or the typed-array form {"dtype", "bdata", "shape"} (exact bytes)."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return array.reshape([int(n) for n in str(shape).split(",")]) if shape else array
    return np.asarray(value)


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


# ---- first load and the input row --------------------------------------------------------------------


def test_first_load_shows_every_section_without_exception(app):
    run(app)
    assert app.text_area(key="text").value == SEED_PAIR[0]
    headers = [header.value for header in app.header]
    assert headers == ["Gates", "Candidate and hidden state", "Trajectory", "The prediction forming",
                       "Memory: what each word wrote", "Compare two sentences", "Interventions",
                       "Gradient flow: GRU vs vanilla RNN", "Why a reset gate?", "Memory statistics and unit search"]
    assert set(charts(app)) == {"chart_update", "chart_reset", "chart_candidate", "chart_hidden",
                                "chart_trajectory_2d", "chart_trajectory_3d", "chart_unit_lines",
                                "chart_prediction", "chart_memory", "chart_compare_A", "chart_compare_B",
                                "chart_compare_prediction", "chart_compare_trajectory"}
    assert len(app.latex) == 1  # the GRU equations, once
    assert app.selectbox(key="model").value == "sst2-gru"
    assert app.selectbox(key="model").options == ["sst2-gru", "sst2-rnn"]
    assert app.radio(key="unit_order").options == ["index", "mean z", "clustered"]
    assert (app.text_input(key="compare_a").value, app.text_input(key="compare_b").value) == SEED_PAIR
    assert app.query_params.get("text") == SEED_PAIR[0]


def test_the_sentence_box_is_the_first_text_box(app):
    run(app)
    boxes = [node for node in walk(app._tree) if getattr(node, "type", None) in ("text_area", "text_input")]
    assert boxes[0].key == "text" and boxes[0].type == "text_area"


def test_typing_redraws_the_charts_and_the_link(app, models_dir):
    run(app)
    before = charts(app)["chart_update"]
    app.text_area(key="text").set_value(SENTENCE)
    run(app)
    after = charts(app)["chart_update"]
    assert after["layout"]["xaxis"]["ticktext"] == SENTENCE.split()
    assert not np.array_equal(decode(before["data"][0]["z"]).shape, decode(after["data"][0]["z"]).shape)
    assert app.query_params.get("text") == SENTENCE


def test_text_query_parameter_fills_the_box(app):
    app.query_params["text"] = SEED_PAIR[1]
    run(app)
    assert app.text_area(key="text").value == SEED_PAIR[1]
    assert charts(app)["chart_update"]["layout"]["xaxis"]["ticktext"] == SEED_PAIR[1].split()


def test_model_query_parameter_takes_folder_names_only(app):
    app.query_params["model"] = "sst2-rnn"
    run(app)
    assert app.selectbox(key="model").value == "sst2-rnn"


@pytest.mark.parametrize("asked", ["../sst2-gru", "/etc", "no-such-model"])
def test_a_model_outside_the_folder_is_refused(app, asked):
    app.query_params["model"] = asked
    run(app)
    assert app.selectbox(key="model").value == "sst2-gru"
    assert any("not in the models folder" in warning.value for warning in app.warning)


def test_example_buttons_fill_the_box(app):
    run(app)
    for index, example in enumerate(EXAMPLES):
        app.button(key=f"example_{index}").click()
        run(app)
        assert app.text_area(key="text").value == example.text
        assert app.query_params.get("text") == example.text
        ticks = charts(app)["chart_update"]["layout"]["xaxis"]["ticktext"]
        assert ticks[0] == tokenize(example.text).tokens[0]


def test_switching_to_the_rnn_shows_what_makes_sense_for_it(app, models_dir):
    run(app)
    app.selectbox(key="model").set_value("sst2-rnn")
    run(app)
    shown = charts(app)
    assert "chart_update" not in shown and "chart_memory" not in shown and "chart_hidden" in shown
    assert len(app.info) == 4  # no gates; no decomposition; nothing to clamp; nothing to ablate
    assert app.query_params.get("model") == "sst2-rnn"
    rnn = load_model(models_dir / "sst2-rnn")
    expected = rnn.trace(SEED_PAIR[0]).gates.hidden[0, 0, 0].T  # (H, T): units × words
    assert np.array_equal(decode(shown["chart_hidden"]["data"][0]["z"]), expected)
    assert "sentences shown" in " ".join(caption.value for caption in app.caption)  # basis fitted here
    app.selectbox(key="model").set_value("sst2-gru")
    run(app)
    assert "chart_update" in charts(app) and "model" not in app.query_params


# ---- chart data are the trace's exact values --------------------------------------------------------


@pytest.mark.parametrize("order_method", ["index", "mean z", "clustered"])
def test_heatmaps_hold_the_traces_exact_values_in_every_unit_order(app, models_dir, order_method):
    run(app)
    app.text_area(key="text").set_value(SENTENCE)
    app.radio(key="unit_order").set_value(order_method)
    run(app)
    sentence = load_model(models_dir / "sst2-gru").trace(SENTENCE)
    shown = charts(app)
    for field in ("update", "reset", "candidate", "hidden"):
        heatmap = shown[f"chart_{field}"]["data"][0]
        units = decode(heatmap["customdata"])[:, 0, 0]  # the unit drawn in each row
        assert sorted(units) == list(range(12))
        values = getattr(sentence.gates, field)[0, 0, 0]  # (T, H)
        z = decode(heatmap["z"])
        assert z.dtype == np.float32 and np.array_equal(z, values[:, units].T), field
        assert heatmap["zmin"] == (0 if field in ("update", "reset") else -1) and heatmap["zmax"] == 1
        assert "unit %{customdata[0]}" in heatmap["hovertemplate"] and "%{text}" in heatmap["hovertemplate"]
    if order_method == "index":
        assert list(units) == list(range(12))
    # repeated words ("the", "movie") keep their own columns
    assert shown["chart_update"]["layout"]["xaxis"]["tickvals"] == list(range(len(sentence.tokens)))


def test_prediction_and_memory_hold_the_exact_numbers(app, models_dir):
    app.query_params["text"] = SENTENCE
    run(app)
    model = load_model(models_dir / "sst2-gru")
    sentence = model.trace(SENTENCE)
    shown = charts(app)
    line = shown["chart_prediction"]["data"][0]
    assert np.array_equal(decode(line["y"])[1:], sentence.probability)

    memory = shown["chart_memory"]["data"][0]
    shares = decode(memory["z"]).astype(np.float64).ravel()[:len(sentence.tokens)]
    weight = model.net.head.weight.detach().double().numpy()[0]
    bias = model.net.head.bias.item()
    # independently: h_T by the recurrence from the trace's gates, then the head, in float64
    z, n = sentence.gates.update[0, 0, 0].astype(np.float64), sentence.gates.candidate[0, 0, 0].astype(np.float64)
    h = np.zeros(12)
    for z_t, n_t in zip(z, n):
        h = z_t * h + (1 - z_t) * n_t
    np.testing.assert_allclose(shares.sum() + bias, weight @ h + bias, rtol=0, atol=1e-12)
    np.testing.assert_allclose(shares.sum() + bias, sentence.logit[-1], rtol=0, atol=1e-5)
    assert f"{shares.sum() + bias:+.4f}" in shown["chart_memory"]["layout"]["title"]["text"]


def test_trajectory_uses_the_cards_basis(app, models_dir):
    run(app)
    model = load_model(models_dir / "sst2-gru")
    view = model.trace(SEED_PAIR[0])
    basis = analysis.projection_basis(model.card, view.path)
    expected = analysis.project(view.path, basis)
    for key, axes in (("chart_trajectory_2d", "xy"), ("chart_trajectory_3d", "xyz")):
        path = charts(app)[key]["data"][0]
        for k, axis in enumerate(axes):
            np.testing.assert_array_equal(decode(path[axis]), expected[:, k])
    assert "training data" in " ".join(caption.value for caption in app.caption)


def test_picking_units_draws_their_lines(app):
    run(app)
    default = app.multiselect(key="units").value
    assert len(default) == 3
    app.multiselect(key="units").set_value([0, 7])
    run(app)
    names = [trace["name"] for trace in charts(app)["chart_unit_lines"]["data"]]
    assert names == ["unit 0", "unit 7"]


def test_compare_aligns_two_sentences(app):
    run(app)
    app.text_input(key="compare_b").set_value(SENTENCE)
    run(app)
    shown = charts(app)
    a, b = shown["chart_compare_A"], shown["chart_compare_B"]
    longest = len(SENTENCE.split())
    assert a["layout"]["xaxis"]["range"] == b["layout"]["xaxis"]["range"] == [-0.5, longest - 0.5]
    assert np.array_equal(decode(a["data"][0]["customdata"])[:, 0, 0], decode(b["data"][0]["customdata"])[:, 0, 0])
    assert [trace["name"] for trace in shown["chart_compare_prediction"]["data"]] == ["A", "B"]


# ---- faults a person can cause ----------------------------------------------------------------------


def test_blank_text_is_a_warning_not_an_exception(app):
    run(app)
    app.text_area(key="text").set_value("   \n ")
    run(app)
    assert any("empty" in warning.value for warning in app.warning)
    assert "chart_update" not in charts(app) and "chart_compare_A" in charts(app)
    app.text_input(key="compare_a").set_value("")
    run(app)
    assert any(warning.value.startswith("Compare:") for warning in app.warning)


def test_a_long_paste_is_cut_with_a_note_and_stays_out_of_the_link(app):
    run(app)
    app.text_area(key="text").set_value("the movie is so boring . " * 400)  # 2,400 words
    run(app)
    assert any("300" in info.value for info in app.info)
    z = decode(charts(app)["chart_update"]["data"][0]["z"])
    assert z.shape == (12, 300)
    assert "text" not in app.query_params


def test_markup_in_the_sentence_is_shown_literally(app):
    app.query_params["text"] = "<b>bold</b> & <img src=x onerror=alert(1)>"
    run(app)
    ticks = charts(app)["chart_update"]["layout"]["xaxis"]["ticktext"]
    assert "&lt;" in ticks and "&amp;" in ticks and not any("<" in tick for tick in ticks)
    assert any("never saw" in text.value for text in app.text)  # unknown words, as plain text


# ---- the shipped model --------------------------------------------------------------------------------

SHIPPED = ROOT / "models" / "sst2-gru"
shipped = pytest.mark.skipif(not (SHIPPED / "model.safetensors").is_file(),
                             reason="models/sst2-gru is not trained yet")


@shipped
def test_shipped_model_first_load_holds_its_exact_values(monkeypatch):
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    app = run(AppTest.from_file(APP, default_timeout=TIMEOUT))
    assert app.selectbox(key="model").value == "sst2-gru"
    sentence = load_model(SHIPPED).trace(SEED_PAIR[0])
    z = decode(charts(app)["chart_update"]["data"][0]["z"])
    assert np.array_equal(z, sentence.gates.update[0, 0, 0].T)


@shipped
def test_shipped_long_range_pair_is_decided_by_its_first_word():
    model = load_model(SHIPPED)
    brilliant, dreadful = (model.trace(example.text) for example in EXAMPLES[2:4])
    assert brilliant.tokens[1:] == dreadful.tokens[1:]  # only the first word differs
    assert brilliant.probability[-1] > 0.5 > dreadful.probability[-1]
