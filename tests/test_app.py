"""app.py and the *Read a sentence* page, driven by Streamlit's AppTest: the first screen, the sentence and the
model shared across pages and links, and every chart's numbers against an independent computation.

The page runs on two tiny untrained models written to a temporary folder (GRU_VIZ_MODELS): a GRU whose card
carries a PCA basis and memory-probe curves, and an RNN without either.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from gru_viz.examples import EXAMPLES, SEED_PAIR
from gru_viz.model import load_model
from gru_viz.text import tokenize
from tests.helpers import (
    ROOT,
    SENTENCE,
    charts,
    decode,
    html_table,
    open_page,
    open_sections,
    page_app,
    run,
    story,
    switch_on_every_toggle,
    walk,
    write_gru_and_rnn,
)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    return write_gru_and_rnn(tmp_path_factory.mktemp("models"))


@pytest.fixture
def app(models_dir, monkeypatch):
    """A fresh AppTest of app.py over the tiny models (not yet run)."""
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_dir))
    return page_app()


def oracle(model, text: str) -> dict:
    """The numbers the page should show, computed here in float64 from the weights and the trace's states."""
    sentence = model.trace(text)
    weight, bias = model.readout_weight, model.readout_bias
    hidden = sentence.hidden.astype(np.float64)  # (T, H)
    logits = np.concatenate([[bias], hidden @ weight + bias])  # h0 = 0 first
    shares = weight * hidden[-1]  # each unit's share of logit_T − logit_start (h0 = 0)
    ranked = sorted(range(len(weight)), key=lambda u: (-abs(shares[u]), u))
    return {"sentence": sentence, "logits": logits, "changes": np.diff(logits), "shares": shares, "ranked": ranked,
            "probability": 1 / (1 + np.exp(-logits))}


# ---- the first screen ------------------------------------------------------------------------------------


SECTIONS = ("open_words", "open_units", "open_path", "open_long_range", "open_downloads")


def test_first_load_tells_the_story_first(app, models_dir):
    run(app)
    assert app.text_area(key="text").value == SEED_PAIR[0]
    assert app.radio(key="model").options == ["sst2-gru", "sst2-rnn"]
    assert app.radio(key="model").value == "sst2-gru"
    boxes = [node for node in walk(app._tree) if getattr(node, "type", None) in ("text_area", "vega_lite_chart")]
    assert [box.type for box in boxes] == ["text_area"] + ["vega_lite_chart"] * 4  # the sentence, then the story
    assert list(story(app)) == ["probability", "changes", "units", "reset"]
    # only the story draws by default: every other chart is in a section that runs only while it is open
    assert charts(app) == {} and [expander.key for expander in app.expander] == list(SECTIONS)
    final = oracle(load_model(models_dir / "sst2-gru"), SEED_PAIR[0])["probability"][-1]
    assert [(metric.label, metric.value) for metric in app.metric] == [
        (f"Verdict, P(positive) = {final:.2f}", "positive" if final > 0.5 else "negative")]
    assert not app.warning and not app.error
    assert app.query_params.get("text") == SEED_PAIR[0]
    open_sections(app, *SECTIONS)
    assert list(charts(app)) == ["chart_words", "chart_units", "chart_trajectory", "chart_probe"]  # no figure twice
    assert app.selectbox(key="html_figure").options == ["chart_probe", "chart_story", "chart_trajectory",
                                                         "chart_units", "chart_words"]


def test_the_story_chart_holds_the_exact_probabilities_changes_and_units_that_carry_the_verdict(app, models_dir):
    app.query_params["text"] = SENTENCE
    run(app)
    expected = oracle(load_model(models_dir / "sst2-gru"), SENTENCE)
    rows = story(app)
    spec, words = rows["probability"]
    assert [row["word"] for row in words] == ["(start)"] + SENTENCE.split()
    np.testing.assert_allclose([row["p"] for row in words], expected["probability"], atol=1e-6)
    assert "update gate z and reset gate r of the units" in " ".join(spec["title"]["subtitle"])
    moves = np.abs(np.diff(expected["probability"]))
    ringed = [t - 1 for t, row in enumerate(words) if row["ring"]]
    assert len(ringed) and all(moves[t] >= 0.005 for t in ringed)  # never a move that reads +0.00
    assert set(ringed) <= set(np.argsort(-moves)[:3])
    # the middle row: each word's exact change of the logit, adding up to logit_T − logit_start
    _, bars = rows["changes"]
    changes = np.array([row["change"] for row in bars])
    np.testing.assert_allclose(changes, expected["changes"], atol=1e-5)
    np.testing.assert_allclose(changes.sum(), expected["logits"][-1] - expected["logits"][0], atol=1e-5)
    # the two lowest rows: z, then r, of the 6 units with the largest share of the verdict, in that order, exact
    # float32 values, on the same word axis
    top = expected["ranked"][:6]
    labels = [f"unit {u} ({expected['shares'][u]:+.2f})" for u in top]
    for name, field in (("units", "update"), ("reset", "reset")):
        spec, cells = rows[name]
        assert spec["encoding"]["y"]["scale"]["domain"] == labels
        values = np.array([row["value"] for row in cells]).reshape(len(SENTENCE.split()), 6)
        assert np.array_equal(values, getattr(expected["sentence"], field)[:, top].astype(np.float64)), name
    assert rows["reset"][0]["encoding"]["x"]["scale"]["domain"] == rows["units"][0]["encoding"]["x"]["scale"]["domain"]
    spec, cells = rows["reset"]
    # one word axis for the four rows: every column key in reading order, a repeated word in its own column
    keys = spec["encoding"]["x"]["scale"]["domain"]
    assert keys == [f"{t:04d} {word}" for t, word in enumerate(["(start)"] + SENTENCE.split())]
    assert rows["probability"][0]["layer"][1]["encoding"]["x"]["scale"]["domain"] == keys
    assert rows["changes"][0]["encoding"]["x"]["scale"]["domain"] == keys


def test_which_words_decided_compares_the_exact_change_with_the_retention_decomposition(app, models_dir):
    app.query_params["text"] = SENTENCE
    open_sections(run(app), "open_words")
    expected = oracle(load_model(models_dir / "sst2-gru"), SENTENCE)
    exact, retention = charts(app)["chart_words"]["data"]
    np.testing.assert_allclose(decode(exact["y"]), expected["changes"], atol=1e-5)
    assert f"final {expected['logits'][-1]:+.2f}" in charts(app)["chart_words"]["layout"]["title"]["subtitle"]["text"]
    sentence = expected["sentence"]
    z, n = sentence.update.astype(np.float64), sentence.candidate.astype(np.float64)
    weight = load_model(models_dir / "sst2-gru").readout_weight
    survival = np.array([np.prod(z[t + 1:], axis=0) for t in range(len(z))])  # (T, H): ∏_{s>t} z_s
    np.testing.assert_allclose(decode(retention["y"]), (survival * (1 - z) * n) @ weight, atol=1e-9)
    assert any("re-writes" in caption.value for caption in app.caption)
    # the formula is code, so Markdown cannot eat its underscores or italicise half of it
    assert any("`h_T = Σ_t (∏_{s>t} z_s)(1 − z_t) n_t`" in caption.value for caption in app.caption)


@pytest.mark.parametrize("field, scope, order", [("hidden", "top", "verdict"), ("update", "top", "index"),
                                                 ("reset", "all", "clustered"), ("candidate", "all", "index")])
def test_unit_heatmaps_show_the_chosen_units_exactly(app, models_dir, field, scope, order):
    app.query_params["text"] = SENTENCE
    open_sections(run(app), "open_units")
    assert app.radio(key="unit_field").value == "hidden"
    app.radio(key="unit_field").set_value(field)
    app.radio(key="unit_scope").set_value(scope)
    app.radio(key="unit_order").set_value(order)
    run(app)
    expected = oracle(load_model(models_dir / "sst2-gru"), SENTENCE)
    figure = charts(app)["chart_units"]
    rows = [int(label.split()[1]) for label in figure["data"][0]["y"]]
    assert sorted(rows) == sorted(expected["ranked"][:12 if scope == "top" else 12])  # the tiny model has 12
    if order == "verdict":
        assert rows == expected["ranked"][:12]
    if order == "index":
        assert rows == sorted(rows)
    [trace] = figure["data"]
    assert np.array_equal(decode(trace["z"]), getattr(expected["sentence"], field)[:, rows].T), field
    assert (trace["zmin"], trace["zmax"]) == ((0, 1) if field in ("update", "reset") else (-1, 1))


def test_the_trajectory_uses_the_cards_basis_and_draws_3d_only_on_request(app, models_dir):
    run(app)
    assert "chart_trajectory" not in charts(app) and "trajectory_3d" not in [toggle.key for toggle in app.toggle]
    open_sections(app, "open_path")
    model = load_model(models_dir / "sst2-gru")
    sentence = model.trace(SEED_PAIR[0])
    card = model.card["projection"]
    expected = (sentence.path.astype(np.float64) - np.array(card["mean"])) @ np.array(card["components"]).T
    path = charts(app)["chart_trajectory"]["data"][0]
    assert path["type"] == "scatter"
    np.testing.assert_allclose(decode(path["x"]), expected[:, 0], atol=1e-9)
    np.testing.assert_allclose(decode(path["y"]), expected[:, 1], atol=1e-9)
    app.toggle(key="trajectory_3d").set_value(True)
    run(app)
    path = charts(app)["chart_trajectory"]["data"][0]
    assert path["type"] == "scatter3d"
    np.testing.assert_allclose(decode(path["z"]), expected[:, 2], atol=1e-9)


def test_the_probe_curve_comes_from_the_card_and_is_absent_without_one(app):
    open_sections(run(app), "open_long_range")
    probe = charts(app)["chart_probe"]
    assert [list(trace["x"]) for trace in probe["data"]] == [[0, 4, 16], [0, 4], [0, 4]]
    app.radio(key="model").set_value("sst2-rnn")
    run(app)
    assert "chart_probe" not in charts(app)
    assert any("no memory-probe" in caption.value for caption in app.caption)


# ---- the sentence and the model, shared across pages and links -----------------------------------------------


def test_typing_redraws_and_writes_the_link(app):
    run(app)
    app.text_area(key="text").set_value(SENTENCE)
    run(app)
    assert [row["word"] for row in story(app)["changes"][1]] == SENTENCE.split()
    assert app.query_params.get("text") == SENTENCE


def test_the_sentence_and_model_follow_the_reader_to_every_page(app):
    app.query_params["text"] = SENTENCE
    app.query_params["model"] = "sst2-rnn"
    run(app)
    for name in ("cell", "compare", "dynamics", "dataset", "your_model", "read"):
        open_page(app, name)
        assert app.session_state["text"] == SENTENCE and app.session_state["model"] == "sst2-rnn", name
        assert app.query_params.get("text") == SENTENCE and app.query_params.get("model") == "sst2-rnn", name
    open_page(app, "compare")
    assert app.text_area(key="text").value == SENTENCE  # sentence A is the one typed
    app.text_area(key="text").set_value(SEED_PAIR[1])
    run(app)
    open_page(app, "read")
    assert app.text_area(key="text").value == SEED_PAIR[1]


@pytest.mark.parametrize("asked", ["../sst2-gru", "/etc", "no-such-model"])
def test_a_link_may_only_name_a_model_folder(app, asked):
    app.query_params["model"] = asked
    run(app)
    assert app.radio(key="model").value == "sst2-gru"
    assert [warning.value for warning in app.warning] == [
        "The link names a model that is not in the models folder; showing sst2-gru instead."]


def test_example_buttons_fill_the_box(app):
    open_sections(run(app), "open_long_range")  # the memory probe's examples sit beside its curve
    for index, example in enumerate(EXAMPLES):
        app.button(key=f"example_{index}").click()
        run(app)
        assert app.text_area(key="text").value == example.text
        assert story(app)["changes"][1][0]["word"] == tokenize(example.text).tokens[0]


def test_the_rnn_reads_without_gates(app, models_dir):
    run(app)
    app.radio(key="model").set_value("sst2-rnn")
    open_sections(run(app), "open_words", "open_units", "open_path")
    shown = charts(app)
    expected = oracle(load_model(models_dir / "sst2-rnn"), SEED_PAIR[0])
    rows = story(app)
    assert "hidden state h" in " ".join(rows["probability"][0]["title"]["subtitle"])
    assert list(rows) == ["probability", "changes", "units"]  # h only: no gates to show
    hidden = np.array([row["value"] for row in rows["units"][1]]).reshape(len(SEED_PAIR[0].split()), 6)
    assert np.array_equal(hidden, expected["sentence"].hidden[:, expected["ranked"][:6]].astype(np.float64))
    np.testing.assert_allclose([row["change"] for row in rows["changes"][1]], expected["changes"], atol=1e-5)
    assert len(shown["chart_units"]["data"]) == 1  # h only: no gates, and n = h
    assert "chart_words" not in shown  # no update gate to split by: the exact change is the story's middle row
    assert any("no update gate" in caption.value for caption in app.caption)
    assert app.radio(key="unit_field").options == ["memory h"]
    assert "sentences shown" in " ".join(caption.value for caption in app.caption)  # no basis in its card
    assert app.query_params.get("model") == "sst2-rnn"


def test_every_toggle_on_every_page_without_exception_or_warning(app):
    run(app)
    for name in ("read", "cell", "compare", "dynamics", "dataset", "your_model"):
        open_page(app, name)
        switch_on_every_toggle(app)
        assert not app.exception and not app.warning and not app.error, name


# ---- faults a person can cause ---------------------------------------------------------------------------------


def test_blank_text_is_a_warning_not_an_exception(app):
    run(app)
    app.text_area(key="text").set_value("   \n ")
    run(app)
    assert any("empty" in warning.value for warning in app.warning)
    assert charts(app) == {} and story(app) == {}


def test_a_long_paste_is_cut_with_a_note_and_stays_out_of_the_link(app):
    run(app)
    app.text_area(key="text").set_value("the movie is so boring . " * 400)  # 2,400 words
    run(app)
    assert any("300" in info.value for info in app.info)
    assert len(story(app)["changes"][1]) == 300
    assert len(story(app)["units"][1]) == len(story(app)["reset"][1]) == 300 * 6
    assert "text" not in app.query_params


def test_markup_in_the_sentence_is_shown_literally(app):
    text = "<b>bold</b> & <img src=x onerror=alert(1)>"
    app.query_params["text"] = text
    run(app)
    rows = story(app)
    # the words travel as data, which Vega-Lite draws as text; no expression, filter or label format holds them
    assert [row["word"] for row in rows["changes"][1]] == tokenize(text).tokens and "<" in tokenize(text).tokens
    expressions = [value for spec, _ in rows.values() for value in _strings(spec) if "datum" in value]
    assert expressions and not any(part in value for value in expressions for part in ("bold", "img", "alert"))
    assert any("never saw" in text.value for text in app.text)  # unknown words, as plain text
    open_sections(app, "open_words")
    ticks = charts(app)["chart_words"]["layout"]["xaxis"]["ticktext"]  # Plotly reads markup: escaped
    assert "&lt;" in ticks and "&amp;" in ticks and not any("<" in tick for tick in ticks)


def _strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ---- the shipped model -----------------------------------------------------------------------------------------


def test_shipped_model_first_load_holds_its_exact_values(monkeypatch):
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    app = run(page_app())
    assert app.radio(key="model").value == "sst2-gru"
    model = load_model(ROOT / "models" / "sst2-gru")
    start = model.readout_bias
    changes = np.array([row["change"] for row in story(app)["changes"][1]])
    np.testing.assert_allclose(start + np.cumsum(changes), model.trace(SEED_PAIR[0]).logit, atol=1e-5)


# ---- Inside the cell -------------------------------------------------------------------------------------------


def _step_oracle(model, sentence, position: int, unit: int) -> dict:
    """PyTorch's four equations for one unit, written out here in float64."""
    p = {name: value.detach().double().numpy() for name, value in model.gru.named_parameters()}
    x = model.embed([int(sentence.ids[position])])[0].double().numpy()
    h = np.zeros(model.gru.hidden_size) if position == 0 else sentence.hidden[position - 1].astype(np.float64)
    size = model.gru.hidden_size
    row = {gate: index * size + unit for index, gate in enumerate("rzn")}
    pre = {gate: (p["weight_ih_l0"][row[gate]] @ x + p["bias_ih_l0"][row[gate]],
                  p["weight_hh_l0"][row[gate]] @ h + p["bias_hh_l0"][row[gate]]) for gate in "rzn"}
    r = 1 / (1 + np.exp(-sum(pre["r"])))
    z = 1 / (1 + np.exp(-sum(pre["z"])))
    n = np.tanh(pre["n"][0] + r * pre["n"][1])
    return {"r": r, "z": z, "n": n, "h": z * h[unit] + (1 - z) * n, "previous": h[unit],
            "z_from_input": pre["z"][0], "z_from_memory": pre["z"][1]}


def _latex_number(value: float) -> str:
    return f"{value:.3f}".replace("-", "-\\,")


def test_inside_the_cell_fills_the_equations_with_the_models_numbers(app, models_dir):
    app.query_params["text"] = SENTENCE
    run(app)
    open_page(app, "cell")
    model = load_model(models_dir / "sst2-gru")
    expected = oracle(model, SENTENCE)
    position = int(np.argmax(np.abs(expected["changes"])))  # starts at the word that moved the verdict most
    assert app.select_slider(key="cell_position").value == position
    unit = app.selectbox(key="cell_unit").value
    assert unit == expected["ranked"][0] and app.selectbox(key="cell_unit").options[:3] == [
        f"unit {u} (share {expected['shares'][u]:+.2f})" for u in expected["ranked"][:3]]
    step = _step_oracle(model, expected["sentence"], position, unit)
    numbers = app.latex[1].value
    for name in ("r", "z", "n", "h"):
        assert f"= {_latex_number(step[name])}" in numbers.replace("&&= ", "= "), name
    assert not app.dataframe  # a plain HTML table: no grid code for the browser to load before the first chart
    rows = html_table(app, "h_t")
    assert list(rows["unit"]) == [str(u) for u in expected["ranked"][:12]]
    first = rows.iloc[0]
    np.testing.assert_allclose([first["r"], first["z"], first["n"], first["h_t"]],
                               [step["r"], step["z"], step["n"], step["h"]], atol=1e-12)
    # the sentence under the equations says what its two numbers are: terms of z's input before σ
    [said] = [caption.value for caption in app.caption if caption.value.startswith("Inside σ")]
    assert (f"`W_iz x_t + b_iz` = {step['z_from_input']:+.3f} plus the memory's term `W_hz h_{{t−1}} + b_hz` = "
            f"{step['z_from_memory']:+.3f}: σ({step['z_from_input'] + step['z_from_memory']:+.3f}) = {step['z']:.3f}"
            in said), said
    assert "not changes of the memory" in said and "pushes" not in said
    [chart] = app.get("vega_lite_chart")  # the page's one Vega-Lite chart: the unit through the sentence
    assert f"Unit {unit} through the sentence" in chart.proto.spec
    rows = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pylist()  # the rows the browser receives
    line = [row["value"] for row in rows if row["series"].startswith("h:")]  # h of the chosen unit over the words
    assert line == expected["sentence"].hidden[:, unit].astype(float).tolist()

    app.select_slider(key="cell_position").set_value(0)
    app.selectbox(key="cell_unit").set_value(5)
    run(app)
    step = _step_oracle(model, expected["sentence"], 0, 5)
    assert f"= {_latex_number(step['h'])}" in app.latex[1].value.replace("&&= ", "= ")
    assert "h_{t-1}}_{+\\,0.000}" in app.latex[1].value  # h0 = 0 before the first word


def test_inside_the_cell_of_the_rnn_is_its_one_equation(app):
    app.query_params["model"] = "sst2-rnn"
    run(app)
    open_page(app, "cell")
    assert all("\\sigma" not in latex.value for latex in app.latex) and "tanh" in app.latex[1].value
