"""The analysis pages driven by AppTest on the shipped models: *Compare & intervene* (two sentences, gates
forced, patching), *Memory dynamics* (gradient flow GRU vs RNN and the research views) and *Across the data
set* (memory statistics, unit search, ablation, data-set gradient flow, uploads); and the analysis helpers
those pages use. Numbers on the pages are compared with the analysis functions on the same input, value for
value. The data set is a small TSV each test writes (GRU_VIZ_DATA), so the data-set views stay quick.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz import analysis
from gru_viz.model import load_model
from gru_viz.text import parse_labelled_tsv
from gru_viz.train import read_tsv
from tests.helpers import charts, decode, open_page, page_app, run, switch_on_every_toggle, vega_charts

ROOT = Path(__file__).resolve().parent.parent
GRU_DIR, RNN_DIR = ROOT / "models" / "sst2-gru", ROOT / "models" / "sst2-rnn"
SENTENCE = "the acting is great but the story is thin"
ROWS = [("a gorgeous , witty , seductive movie", 1), ("the movie is so boring", 0),
        ("I love this movie so much", 1), ("But the movie is really boring", 0),
        ("not bad at all", 1), ("a dull , lifeless film with nothing to say", 0),
        ("the acting is great but the story is thin", 1), ("it never quite works", 0),
        ("one of the best films of the year", 1), ("the worst movie I have seen in a long time", 0),
        ("funny , warm and sharp", 1), ("slow , dull and far too long", 0),
        ("the plot is thin and slow , but the acting is wonderful and I loved it", 1),
        ("a clever and moving story that never lets go", 1), ("tedious and badly acted", 0),
        ("I wanted to like it , but I could not", 0)]


def _tsv(rows) -> bytes:
    return ("sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows)).encode()


@pytest.fixture(scope="module")
def gru():
    return load_model(GRU_DIR)


@pytest.fixture(scope="module")
def rnn():
    return load_model(RNN_DIR)


@pytest.fixture
def data_file(tmp_path) -> Path:
    path = tmp_path / "small.tsv"
    path.write_bytes(_tsv(ROWS))
    return path


@pytest.fixture(scope="module")
def models_without_index(tmp_path_factory) -> Path:
    """The shipped models' files without their corpus index, so the data-set views compute live on the small TSV
    (the index is the subject of test_views_corpus.py and test_shipped_index.py)."""
    root = tmp_path_factory.mktemp("models")
    for folder in (ROOT / "models").iterdir():
        if (folder / "card.json").is_file():
            (root / folder.name).mkdir()
            for name in ("card.json", "model.safetensors", "vocab.json"):
                (root / folder.name / name).symlink_to(folder / name)
    return root


@pytest.fixture
def app(data_file, models_without_index, monkeypatch):
    """A fresh AppTest of app.py over the shipped models, with the small TSV as its data set (not yet run)."""
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_without_index))
    monkeypatch.setenv("GRU_VIZ_DATA", str(data_file))
    app = page_app()
    app.query_params["text"] = SENTENCE
    return run(app)


def table(app: AppTest, column: str):
    """The one st.dataframe on the page with this column, as a pandas DataFrame."""
    found = [frame.value for frame in app.dataframe if column in frame.value.columns]
    assert len(found) == 1, [list(frame.value.columns) for frame in app.dataframe]
    return found[0]


def switch_on(app: AppTest, *keys: str) -> AppTest:
    for key in keys:
        app.toggle(key=key).set_value(True)
    return run(app)


# ---- Compare & intervene ---------------------------------------------------------------------------------------


def test_compare_starts_from_the_typed_sentence_and_lines_up_the_units(app, gru):
    open_page(app, "compare")
    assert app.text_area(key="text").value == SENTENCE  # sentence A is the one typed on any page
    shown = vega_charts(app)
    assert not app.get("plotly_chart")  # every chart drawn on load is Vega-Lite: no Plotly bundle to wait for
    rows = shown["P(positive) after each word, position by position"][1]  # both sentences
    for name in "AB":
        text = app.text_area(key="text" if name == "A" else "compare_b").value
        assert [row["p"] for row in rows if row["series"] == name][1:] == gru.trace(text).probability.tolist()
    a, b = gru.trace(SENTENCE), gru.trace(app.text_area(key="compare_b").value)
    units_charts = {name: shown[f"Sentence {name}: update gate z"] for name in "AB"}
    labels = {name: units_charts[name][0]["encoding"]["y"]["scale"]["domain"] for name in "AB"}
    rows_a, rows_b = ([label.split(" (")[0] for label in labels[name]] for name in "AB")
    assert rows_a == rows_b and len(rows_a) == 12
    units = [int(row.split()[1]) for row in rows_a]
    # the top units of both verdicts together, each labelled with its own share in that sentence: w_u · h_T,u
    # (h0 = 0), in float64
    shares = [gru.readout_weight.astype(np.float64) * sentence.hidden[-1].astype(np.float64) for sentence in (a, b)]
    together = np.abs(shares[0]) + np.abs(shares[1])
    assert units == sorted(range(len(together)), key=lambda u: (-together[u], u))[:12]
    for name, sentence, share in zip("AB", (a, b), shares):
        assert labels[name] == [f"unit {u} ({share[u]:+.2f})" for u in units]
        cells = units_charts[name][1]  # unit by unit, word by word
        assert [row["value"] for row in cells] == sentence.update[:, units].T.astype(float).ravel().tolist()
        assert [row["word"] for row in cells[:len(sentence.tokens)]] == sentence.tokens
        assert {row["href"] for row in cells} == {f"unit?unit={u}&model=sst2-gru" for u in units}
    assert app.radio(key="intervention_mode").value == "free"
    assert not [key for key in charts(app) if key.startswith(("chart_intervention", "chart_patching"))]
    assert app.selectbox(key="html_figure").options == [  # the Plotly twins, built if the download asks
        "chart_compare_A", "chart_compare_B", "chart_compare_models", "chart_compare_prediction"]


def test_vanilla_rnn_mode_shows_exactly_the_clamped_trace(app, gru):
    open_page(app, "compare")
    app.radio(key="intervention_mode").set_value("vanilla-RNN mode")
    run(app)
    free, clamped = gru.trace(SENTENCE), gru.trace(SENTENCE, clamp_update=0.0, clamp_reset=1.0)
    lines = charts(app)["chart_intervention_probability"]["data"]
    np.testing.assert_array_equal(decode(lines[0]["y"]), free.probability)
    np.testing.assert_array_equal(decode(lines[1]["y"]), clamped.probability)
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["P(positive), forced"] == f"{clamped.probability[-1]:.3f}"


def test_a_custom_clamp_forces_the_chosen_units_on_the_chosen_words(app, gru):
    open_page(app, "compare")
    app.radio(key="intervention_mode").set_value("custom")
    run(app)
    app.radio(key="intervention_gate").set_value("reset")
    app.slider(key="intervention_value").set_value(0.0)
    app.multiselect(key="intervention_units").set_value([3, 5])
    app.slider(key="intervention_words").set_value((1, 4))
    run(app)
    clamp = analysis.clamp_array((len(SENTENCE.split()), gru.gru.hidden_size), units=[3, 5],
                                 positions=slice(1, 5), value=0.0)
    expected = gru.trace(SENTENCE, clamp_reset=clamp)
    line = charts(app)["chart_intervention_probability"]["data"][1]
    np.testing.assert_array_equal(decode(line["y"]), expected.probability)
    assert [text.value for text in app.text if text.value.startswith("Clamped words")] == [
        "Clamped words: " + " ".join(SENTENCE.split()[1:5])]


def test_patching_draws_on_request(app):
    open_page(app, "compare")
    switch_on(app, "patching_on")
    assert "chart_patching" in charts(app)


def test_the_rnn_has_nothing_to_clamp(app):
    app.radio(key="model").set_value("sst2-rnn")
    run(app)
    open_page(app, "compare")
    assert any("no gates to force" in info.value for info in app.info)
    assert not [key for key in charts(app) if key.startswith("chart_intervention")]


# ---- Memory dynamics -------------------------------------------------------------------------------------------


def test_gradient_flow_holds_both_models_exact_norms(app, gru, rnn):
    open_page(app, "dynamics")
    assert not [key for key in charts(app)]  # every view draws on request
    switch_on(app, "sentence_flow_on")
    lines = charts(app)["chart_sentence_flow"]["data"]
    for line, model in zip(lines, (gru, rnn)):
        expected = analysis.gradient_flow(model.gru, analysis.embed_texts(model, [SENTENCE])[0])
        np.testing.assert_array_equal(decode(line["y"]), expected)


# ---- Across the data set ---------------------------------------------------------------------------------------


def test_the_data_set_page_computes_nothing_until_asked(app):
    open_page(app, "dataset")
    assert not charts(app) and not app.get("vega_lite_chart") and not app.dataframe and not app.warning
    assert not app.error
    assert any(f"{len(ROWS)} sentences: all of the validation file small.tsv" in c.value for c in app.caption)


def test_every_data_set_view_equals_the_analysis(app, gru, rnn):
    open_page(app, "dataset")
    switch_on_every_toggle(app)
    assert not app.warning and not app.error
    texts, labels = [text for text, _ in ROWS], [label for _, label in ROWS]
    expected = analysis.ablation(gru, texts, labels)
    shown = table(app, "condition")
    assert list(shown["condition"]) == list(expected) and list(shown["accuracy"]) == list(expected.values())
    stats = analysis.memory_statistics(gru, texts)
    shown = vega_charts(app)
    timescale = shown["Memory timescale τ = −1/ln(mean z) per unit"][1]
    assert sorted(row["shown"] for row in timescale) == sorted(stats.timescale.astype(float).tolist())
    points = shown["Gate saturation per unit"][0]["layer"][1]["data"]["values"]
    closed = [row["closed"] for row in points if row["gate"] == "update gate z"]
    assert closed == stats.update_low.astype(float).tolist()
    unit = app.selectbox(key="search_unit").value
    hits = analysis.one_per_sentence(analysis.top_activations(gru, texts, unit, k=500), 10)
    rows = charts(app)["chart_top_activations"]["layout"]["yaxis"]["ticktext"]
    assert rows == [f"#{rank + 1}: {hit.value:.4g}" for rank, hit in enumerate(hits)]
    averages = charts(app)["chart_flow"]["data"]
    for line, model in zip(averages, (gru, rnn)):
        flow = analysis.dataset_gradient_flow(model.gru, analysis.embed_texts(model, texts))
        kept = flow.count >= 10
        np.testing.assert_array_equal(decode(line["y"]), flow.geometric_mean[kept])
    assert any("sentences of the validation file small.tsv" in caption.value for caption in app.caption)


def test_an_uploaded_tsv_replaces_the_data_in_every_view(app, gru):
    rows = ROWS[:9]
    open_page(app, "dataset")
    app.file_uploader(key="dataset_upload").set_value(("mine.tsv", _tsv(rows).replace(b"\n", b"\r\n"),
                                                       "text/tab-separated-values"))
    run(app)
    switch_on(app, "ablation_on", "flow_on")
    expected = analysis.ablation(gru, [text for text, _ in rows], [label for _, label in rows])
    assert list(table(app, "condition")["accuracy"]) == list(expected.values())
    captions = " ".join(caption.value for caption in app.caption)
    assert "all of the uploaded file mine.tsv" in captions
    assert "sentences of the uploaded file mine.tsv" in captions  # the gradient flow says what it read
    assert "upload a TSV" not in captions and not app.warning


@pytest.mark.parametrize("name, content, message", [
    ("bad.tsv", b"sentence\tlabel\na fine film\tpositive\n", "line 2"),
    ("notabs.tsv", b"just words, no tab\n", "line 1"),
    ("latin1.tsv", "un film très réussi\t1\n".encode("latin-1"), "not UTF-8"),
    ("empty.tsv", b"", "no labelled sentences"),
    ("huge.tsv", b"a fine film\t1\n" * 80_000, "larger than 1 MB"),
])
def test_a_malformed_upload_is_an_error_message_not_an_exception(app, name, content, message):
    open_page(app, "dataset")
    app.file_uploader(key="dataset_upload").set_value((name, content, "text/tab-separated-values"))
    run(app)
    errors = [error.value for error in app.error]
    assert len(errors) == 1 and message in errors[0] and name in errors[0] and "Traceback" not in errors[0]
    assert not app.dataframe and not charts(app)


def test_an_uploaded_files_name_is_never_markup(app):
    name = "**x** <b>y</b> [a](javascript:alert(1)) :red[z].tsv"
    open_page(app, "dataset")
    app.file_uploader(key="dataset_upload").set_value((name, _tsv(ROWS[:4]), "text/tab-separated-values"))
    run(app)
    captions = [caption.value for caption in app.caption if "uploaded file" in caption.value]
    assert captions and all("uploaded file --x----b-y--b---a--javascript-alert-1----red-z-.tsv" in caption
                            for caption in captions)
    for body in (element.value for element in [*app.caption, *app.markdown, *app.error, *app.warning]):
        assert not any(mark in body for mark in ("**x**", "<b>", "[a]", "javascript:", ":red[")), body


def test_the_shipped_validation_file_is_the_default(monkeypatch, gru):
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    monkeypatch.delenv("GRU_VIZ_DATA", raising=False)
    app = run(page_app())
    open_page(app, "dataset")
    total = len(read_tsv(ROOT / "data" / "sst2" / "val.tsv"))
    assert any(f"the first 872 of the {total:,} in the validation file val.tsv" in c.value for c in app.caption)


# ---- analysis helpers the sections use --------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    _tsv(ROWS), _tsv(ROWS).replace(b"\n", b"\r\n"), b"a fine film\t1\n\n  \nawful\t0", b"tab\tinside\t1\n",
    b"sentence\tlabel\n\t1\na film\t 0 \n",
])
def test_parse_labelled_tsv_reads_what_the_cli_reads(tmp_path, content):
    path = tmp_path / "data.tsv"
    path.write_bytes(content)
    texts, labels = parse_labelled_tsv(content)
    assert list(zip(texts, labels)) == read_tsv(path)


@pytest.mark.parametrize("content, message", [
    (b"a fine film\t2\n", "line 1"), (b"sentence\tlabel\nno tab here\n", "line 2"), (b"\xff\xfe\x00", "UTF-8"),
    (b"sentence\tlabel\n\n", "no labelled sentences"), ("fine\t1\n\u200b\u202e\t0\n".encode(), "line 2: .* no words"),
])
def test_parse_labelled_tsv_faults_are_value_errors_that_name_the_file(content, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_labelled_tsv(content, "upload.tsv")
    assert "upload.tsv" in str(error.value)


def test_parse_labelled_tsv_drops_a_byte_order_mark():
    assert parse_labelled_tsv("\ufeffsentence\tlabel\nfine\t1\n".encode()) == (["fine"], [1])


def test_intervention_clamps_are_the_modes_and_the_custom_box():
    assert analysis.intervention_clamps("free", 4, 8) == {}
    assert analysis.intervention_clamps("vanilla-RNN mode", 4, 8) == {"clamp_update": 0.0, "clamp_reset": 1.0}
    assert analysis.intervention_clamps("frozen memory", 4, 8) == {"clamp_update": 1.0}
    (name, clamp), = analysis.intervention_clamps("custom", 4, 8, gate="reset", value=0.25, chosen_units=[1, 6],
                                                   words=(1, 2)).items()
    expected = np.full((4, 8), np.nan)
    expected[1:3, [1, 6]] = 0.25
    assert name == "clamp_reset"
    np.testing.assert_array_equal(clamp, expected[None, None, None])
    (clamp,) = analysis.intervention_clamps("custom", 3, 5, value=0.0).values()  # no units, no words: all
    assert clamp.shape == (1, 1, 1, 3, 5) and (clamp == 0).all()
    for bad in ({"mode": "sideways"}, {"mode": "custom", "gate": "candidate"},
                {"mode": "custom", "chosen_units": [9]}, {"mode": "custom", "value": 2.0}):
        with pytest.raises(ValueError):
            analysis.intervention_clamps(bad.pop("mode"), 4, 8, **bad)


def test_sentence_gradient_flow_is_gradient_flow_on_the_words_the_page_reads(gru):
    x = analysis.embed_texts(gru, [SENTENCE])[0]
    np.testing.assert_array_equal(analysis.sentence_gradient_flow(gru, SENTENCE), analysis.gradient_flow(gru.gru, x))
    cut = analysis.sentence_gradient_flow(gru, SENTENCE, max_tokens=5)
    np.testing.assert_array_equal(cut, analysis.gradient_flow(gru.gru, x[:5]))
    with pytest.raises(ValueError):
        analysis.sentence_gradient_flow(gru, "   ")


def test_one_per_sentence_keeps_each_sentences_strongest_word():
    hits = [analysis.Activation(sentence=s, position=p, value=v, tokens=["w"] * 9, values=np.zeros(9))
            for s, p, v in ((2, 4, 0.9), (2, 5, 0.9), (7, 0, 0.8), (2, 1, 0.7), (1, 3, 0.6))]
    assert [(h.sentence, h.position) for h in analysis.one_per_sentence(hits, 2)] == [(2, 4), (7, 0)]
    assert [h.sentence for h in analysis.one_per_sentence(hits, 10)] == [2, 7, 1]


def test_activation_rows_mark_the_peak_word_with_its_context():
    tokens = "one two three four five six seven eight nine ten".split()
    hits = [analysis.Activation(sentence=4, position=5, value=0.9, tokens=tokens, values=np.zeros(10)),
            analysis.Activation(sentence=0, position=0, value=0.5, tokens=tokens[:2], values=np.zeros(2))]
    first, second = analysis.activation_rows(hits, window=2)
    assert first == {"rank": 1, "value": 0.9, "before": "… four five", "word": "six", "after": "seven eight …",
                     "sentence": 4, "position": 5}
    assert (second["before"], second["word"], second["after"], second["rank"]) == ("", "one", "two", 2)


def test_a_forced_gru_is_shown_beside_the_model_trained_that_way(app, gru, rnn):
    open_page(app, "compare")
    app.radio(key="intervention_mode").set_value("vanilla-RNN mode")
    run(app)
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["P(positive), sst2-rnn (trained that way)"] == f"{rnn.trace(SENTENCE).probability[-1]:.3f}"
    assert len(app.warning) == 1 and "distribution shift" in app.warning[0].value
    assert f"{rnn.trace(SENTENCE).probability[-1]:.3f}" in app.warning[0].value


def test_reset_forced_open_everywhere_is_shown_beside_the_gru_trained_without_one(app):
    noreset = load_model(ROOT / "models" / "sst2-gru-noreset")
    open_page(app, "compare")
    app.radio(key="intervention_mode").set_value("custom")
    run(app)
    app.radio(key="intervention_gate").set_value("reset")
    app.slider(key="intervention_value").set_value(1.0)
    run(app)
    shown = {metric.label: metric.value for metric in app.metric}
    assert shown["P(positive), sst2-gru-noreset (trained that way)"] == (
        f"{noreset.trace(SENTENCE).probability[-1]:.3f}")
    app.slider(key="intervention_value").set_value(0.5)  # no model is trained with r ≡ 0.5: nothing beside it
    run(app)
    assert not any("trained that way" in metric.label for metric in app.metric)
    assert "no model trained that way ships" in app.warning[0].value


def test_gradient_flow_of_the_rnn_is_shown_beside_the_shipped_gru_as_a_reference(app, gru, rnn):
    app.radio(key="model").set_value("sst2-rnn")
    run(app)
    open_page(app, "dynamics")
    switch_on(app, "sentence_flow_on")
    lines = charts(app)["chart_sentence_flow"]["data"]
    assert [line["name"] for line in lines] == ["vanilla RNN (sst2-rnn), the chosen model",
                                                "GRU (sst2-gru), shipped reference"]
    for line, model in zip(lines, (rnn, gru)):
        expected = analysis.gradient_flow(model.gru, analysis.embed_texts(model, [SENTENCE])[0])
        np.testing.assert_array_equal(decode(line["y"]), expected)


def test_the_reset_gate_ablation_is_called_a_distribution_shift_and_points_to_the_gru_trained_without_one(app):
    open_page(app, "dataset")
    switch_on(app, "ablation_on")
    captions = " ".join(caption.value for caption in app.caption)
    assert "is a distribution shift" in captions and "sst2-gru-noreset" in captions and "gru-noreset" in captions
    assert not any("need the reset gate" in text.value for text in [*app.markdown, *app.caption])


def _float64_probability(model, text: str) -> np.ndarray:
    """P(positive) from the start and after each word, stepped here in float64 from the model's weights."""
    import torch

    from tests.library_helpers import float64_step

    step = float64_step(model.gru)
    ids = model.trace(text).ids
    h = torch.zeros(model.gru.hidden_size, dtype=torch.float64)
    logits = [model.readout_bias]
    for word in ids:
        h = step(model.embed([int(word)])[0].double(), h)
        logits.append(float(h.numpy() @ model.readout_weight.astype(np.float64)) + model.readout_bias)
    return 1 / (1 + np.exp(-np.array(logits)))


MODELS_CHART = "P(positive) after each word, one line per model"


def test_one_sentence_read_by_every_shipped_model_on_one_chart(app, gru, rnn):
    open_page(app, "compare")
    assert app.multiselect(key="compare_models").value == ["sst2-gru", "sst2-gru-noreset", "sst2-rnn"]
    spec, rows = vega_charts(app)[MODELS_CHART]
    names = ["sst2-gru", "sst2-gru-noreset", "sst2-rnn"]
    assert spec["layer"][1]["encoding"]["color"]["scale"]["domain"] == names
    noreset = load_model(ROOT / "models" / "sst2-gru-noreset")
    verdicts = {metric.label: metric.value for metric in app.metric}
    for model, name in zip((gru, noreset, rnn), names):
        line = [row for row in rows if row["series"] == name]
        expected = _float64_probability(model, SENTENCE)  # (T + 1,): the start, then after each word
        np.testing.assert_allclose([row["p"] for row in line], expected, atol=1e-6)
        assert [row["position"] for row in line] == list(range(-1, len(SENTENCE.split())))
        assert [row["word"] for row in line] == ["(start)", *SENTENCE.split()]
        assert verdicts[f"{name}: P(positive) = {expected[-1]:.3f}"] == ("positive" if expected[-1] > 0.5
                                                                         else "negative")
    # two models only, or fewer: one fewer line, or a hint and no chart
    app.multiselect(key="compare_models").set_value(["sst2-rnn", "sst2-gru"])
    run(app)
    assert [row["series"] for row in vega_charts(app)[MODELS_CHART][1]][::len(line)] == ["sst2-rnn",
                                                                                                  "sst2-gru"]
    app.multiselect(key="compare_models").set_value(["sst2-gru"])
    run(app)
    assert MODELS_CHART not in vega_charts(app)
    assert any("at least two models" in caption.value for caption in app.caption)
    assert not app.exception and not app.error


def test_a_long_range_example_the_shipped_gru_gets_wrong_is_flagged_where_it_is_shown(app, gru):
    from gru_viz.examples import EXAMPLES

    verdict_last = EXAMPLES[3]  # "8 plot sentences, then love it": positive
    app.session_state["text"] = verdict_last.text
    open_page(app, "read")
    final = _float64_probability(gru, verdict_last.text)[-1]
    assert final < 0.5  # the shipped GRU reads it negative: a failure, said as one
    warnings = [warning.value for warning in app.warning]
    assert warnings == [f"sst2-gru gets this example wrong: it reads negative (P = {final:.3f}) where the verdict is "
                        f"positive. The probe passes this test (k = 8) on 88% of 300 tests (95% interval 83%–91%): "
                        f"this is one of the failures."]
    app.session_state["open_long_range"] = True
    run(app)
    said = [caption.value for caption in app.caption if caption.value.startswith("sst2-gru ")]
    first = _float64_probability(gru, EXAMPLES[2].text)[-1]
    assert said[0].startswith(f"sst2-gru reads this example right: positive (P = {first:.3f}).")
    assert said[1] == warnings[0] and said[2].startswith("sst2-gru reads this example right: negative")
