"""The page's analysis sections driven by Streamlit's AppTest on the shipped models: interventions, gradient
flow GRU vs RNN, "why a reset gate?" and memory statistics with the unit search; and the page-specific
helpers they use in ``gru_viz.analysis``.

Numbers on the page are compared with the analysis functions (or independent numpy) on the same input, value
for value. The data set is a small TSV each test writes (GRU_VIZ_DATA), so the data-set views take well under
a second; one test reads the real validation file and skips when it is absent. Tests skip when the shipped
models have not been trained yet.
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
from tests.test_app import charts, decode, run  # the page helpers every AppTest file shares

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # seconds per run: the first imports torch on a shared machine
GRU_DIR, RNN_DIR = ROOT / "models" / "sst2-gru", ROOT / "models" / "sst2-rnn"
VALIDATION = ROOT / "data" / "sst2" / "val.tsv"
SENTENCE = "the acting is great but the story is thin"  # vanilla-RNN mode flips its verdict
ROWS = [("a gorgeous , witty , seductive movie", 1), ("the movie is so boring", 0),
        ("I love this movie so much", 1), ("But the movie is really boring", 0),
        ("not bad at all", 1), ("a dull , lifeless film with nothing to say", 0),
        ("the acting is great but the story is thin", 1), ("it never quite works", 0),
        ("one of the best films of the year", 1), ("the worst movie I have seen in a long time", 0),
        ("funny , warm and sharp", 1), ("slow , dull and far too long", 0),
        ("the plot is thin and slow , but the acting is wonderful and I loved it", 1),
        ("a clever and moving story that never lets go", 1), ("tedious and badly acted", 0),
        ("I wanted to like it , but I could not", 0)]

shipped = pytest.mark.skipif(not all((folder / "model.safetensors").is_file() for folder in (GRU_DIR, RNN_DIR)),
                             reason="the shipped models (models/sst2-gru, models/sst2-rnn) are not trained yet")


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


@pytest.fixture
def app(data_file, monkeypatch):
    """A fresh AppTest of app.py over the shipped models, with the small TSV as its data set (not yet run)."""
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    monkeypatch.setenv("GRU_VIZ_DATA", str(data_file))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def table(app: AppTest, column: str):
    """The one st.dataframe on the page with this column, as a pandas DataFrame."""
    found = [frame.value for frame in app.dataframe if column in frame.value.columns]
    assert len(found) == 1, [list(frame.value.columns) for frame in app.dataframe]
    return found[0]


def metric(app: AppTest, label: str) -> str:
    (value,) = [m.value for m in app.metric if m.label == label]
    return value


def switch_on(app: AppTest, *keys: str) -> AppTest:
    for key in keys:
        app.toggle(key=key).set_value(True)
    return run(app)


# ---- the page --------------------------------------------------------------------------------------------


@shipped
def test_first_render_computes_no_analysis_view(app):
    run(app)
    headers = [header.value for header in app.header]
    assert headers[-4:] == ["Interventions", "Gradient flow: GRU vs vanilla RNN", "Why a reset gate?",
                            "Memory statistics and unit search"]
    assert app.radio(key="intervention_mode").value == "free"
    assert not any(app.toggle(key=key).value for key in ("gradient_flow_on", "ablation_on", "memory_on"))
    assert not [key for key in charts(app) if key.startswith(("chart_intervention", "chart_gradient", "chart_abl",
                                                               "chart_saturation", "chart_timescale"))]
    assert not app.dataframe and not app.warning and not app.error


@shipped
def test_every_section_renders_on_the_shipped_models(app):
    app.query_params["text"] = SENTENCE
    run(app)
    app.radio(key="intervention_mode").set_value("vanilla-RNN mode")
    switch_on(app, "gradient_flow_on", "ablation_on", "memory_on")
    assert {"chart_intervention_free", "chart_intervention_clamped", "chart_intervention_trajectory",
            "chart_intervention_probability", "chart_intervention_hidden", "chart_gradient_flow",
            "chart_gradient_flow_dataset", "chart_ablation", "chart_saturation", "chart_timescale"} <= set(charts(app))
    for column in ("condition", "τ (words)", "before"):  # ablation, units, top activations
        assert len(table(app, column))
    assert not app.warning and not app.error
    for mode in ("frozen memory", "custom"):
        app.radio(key="intervention_mode").set_value(mode)
        run(app)
        assert "chart_intervention_clamped" in charts(app)


@shipped
def test_vanilla_rnn_mode_shows_exactly_the_clamped_trace(app, gru):
    app.query_params["text"] = SENTENCE
    run(app)
    free = gru.trace(SENTENCE)
    clamped = gru.trace(SENTENCE, clamp_update=0, clamp_reset=1)
    assert metric(app, "P(positive)") == f"{free.probability[-1]:.3f}"
    app.radio(key="intervention_mode").set_value("vanilla-RNN mode")
    run(app)
    assert metric(app, "P(positive), clamped") == f"{clamped.probability[-1]:.3f}" != f"{free.probability[-1]:.3f}"
    assert metric(app, "P(positive), free") == f"{free.probability[-1]:.3f}"
    shown = charts(app)
    for key, sentence in (("chart_intervention_free", free), ("chart_intervention_clamped", clamped)):
        heatmap = shown[key]["data"][0]
        units = decode(heatmap["customdata"])[:, 0, 0]  # the unit in each row
        assert np.array_equal(decode(heatmap["z"]), sentence.gates.update[0, 0, 0][:, units].T), key
    lines = shown["chart_intervention_probability"]["data"]
    assert np.array_equal(decode(lines[0]["y"]), free.probability)
    assert np.array_equal(decode(lines[1]["y"]), clamped.probability)
    change = shown["chart_intervention_hidden"]["data"][0]
    rows = [int(label.split()[1]) for label in change["y"]]
    both = decode(change["customdata"])  # (H, T, free|clamped)
    assert np.array_equal(both[..., 0], free.hidden[:, rows].T.astype(np.float64))
    assert np.array_equal(both[..., 1], clamped.hidden[:, rows].T.astype(np.float64))
    paths = shown["chart_intervention_trajectory"]["data"]
    h0 = free.gates.h0[0, 0, 0][None]  # (1, H)
    free_path, clamped_path = np.vstack([h0, free.hidden]), np.vstack([h0, clamped.hidden])  # (T + 1, H)
    basis = analysis.projection_basis(gru.card, np.vstack([free_path, clamped_path]))
    expected = analysis.project(clamped_path, basis)
    (shown_path,) = [trace for trace in paths if trace["name"] == "clamped"]
    np.testing.assert_array_equal(decode(shown_path["x"]), expected[:, 0])
    np.testing.assert_array_equal(decode(shown_path["y"]), expected[:, 1])
    # the cached model was never clamped: a free trace is what it was
    np.testing.assert_array_equal(gru.trace(SENTENCE).probability, free.probability)


@shipped
def test_a_custom_clamp_forces_the_chosen_units_on_the_chosen_words(app, gru):
    app.query_params["text"] = SENTENCE
    run(app)
    app.radio(key="intervention_mode").set_value("custom")
    run(app)
    app.radio(key="intervention_gate").set_value("reset")
    app.slider(key="intervention_value").set_value(0.0)
    app.multiselect(key="intervention_units").set_value([3, 7, 40])
    app.slider(key="intervention_words").set_value((2, 5))
    run(app)
    steps = len(SENTENCE.split())
    clamp = np.full((1, 1, 1, steps, 64), np.nan)  # written here, not by intervention_clamps
    clamp[..., 2:6, [3, 7, 40]] = 0.0
    clamped = gru.trace(SENTENCE, clamp_reset=clamp)
    reset = clamped.gates.reset[0, 0, 0]
    assert (reset[2:6, [3, 7, 40]] == 0).all() and (reset[:2] > 0).all()
    heatmap = charts(app)["chart_intervention_clamped"]["data"][0]
    units = decode(heatmap["customdata"])[:, 0, 0]
    assert np.array_equal(decode(heatmap["z"]), reset[:, units].T)
    assert metric(app, "P(positive), clamped") == f"{clamped.probability[-1]:.3f}"
    assert any(text.value == "Clamped words: " + " ".join(SENTENCE.split()[2:6]) for text in app.text)


@shipped
def test_two_sessions_never_see_each_others_clamps(data_file, monkeypatch, gru):
    monkeypatch.delenv("GRU_VIZ_MODELS", raising=False)
    monkeypatch.setenv("GRU_VIZ_DATA", str(data_file))
    first, second, third = (AppTest.from_file(APP, default_timeout=TIMEOUT) for _ in range(3))
    for session in (first, second, third):
        session.query_params["text"] = SENTENCE
        run(session)
    first.radio(key="intervention_mode").set_value("vanilla-RNN mode")
    run(first)
    second.radio(key="intervention_mode").set_value("frozen memory")
    run(second)
    run(first)
    run(third)
    expected = {mode: f"{gru.trace(SENTENCE, **clamps).probability[-1]:.3f}"
                for mode, clamps in analysis.CLAMP_MODES.items()}
    assert expected["vanilla-RNN mode"] != expected["frozen memory"]
    assert metric(first, "P(positive), clamped") == expected["vanilla-RNN mode"]
    assert metric(second, "P(positive), clamped") == expected["frozen memory"]
    assert third.radio(key="intervention_mode").value == "free"
    assert "chart_intervention_clamped" not in charts(third)
    assert metric(third, "P(positive)") == f"{gru.trace(SENTENCE).probability[-1]:.3f}"


@shipped
def test_the_rnn_has_nothing_to_clamp_or_ablate(app):
    app.query_params["model"] = "sst2-rnn"
    run(app)
    infos = " ".join(info.value for info in app.info)
    assert "no gates to force" in infos and "choose sst2-gru" in infos.lower()
    assert "intervention_mode" not in [radio.key for radio in app.radio]
    switch_on(app, "memory_on")
    assert app.selectbox(key="search_field").options == ["memory h"]
    assert len(table(app, "before")) == 10


@shipped
def test_gradient_flow_holds_both_models_exact_norms(app, gru, rnn, data_file):
    app.query_params["text"] = SENTENCE
    run(app)
    switch_on(app, "gradient_flow_on")
    shown = charts(app)
    lines = shown["chart_gradient_flow"]["data"]
    for line, model in zip(lines, (gru, rnn)):
        expected = analysis.gradient_flow(model.gru, analysis.embed_texts(model, [SENTENCE])[0])
        np.testing.assert_array_equal(decode(line["y"]), expected)
    assert shown["chart_gradient_flow"]["layout"]["yaxis"]["type"] == "log"
    texts = [text for text, _ in ROWS]
    averages = shown["chart_gradient_flow_dataset"]["data"]
    for line, model in zip(averages, (gru, rnn)):
        flow = analysis.dataset_gradient_flow(model.gru, analysis.embed_texts(model, texts))
        kept = flow.count >= 10
        np.testing.assert_array_equal(decode(line["x"]), flow.distance[kept])
        np.testing.assert_array_equal(decode(line["y"]), flow.geometric_mean[kept])
    assert any(f"first {len(ROWS)} sentences" in caption.value for caption in app.caption)


@shipped
def test_the_ablation_table_equals_analysis_ablation(app, gru):
    run(app)
    switch_on(app, "ablation_on")
    texts, labels = [text for text, _ in ROWS], [label for _, label in ROWS]
    expected = analysis.ablation(gru, texts, labels)
    shown = table(app, "condition")
    assert list(shown["condition"]) == list(expected) == ["free", "reset=1", "update=0", "reset=1,update=0"]
    assert list(shown["accuracy"]) == list(expected.values())
    assert any(f"{len(ROWS)} sentences: all of the validation file small.tsv" in c.value for c in app.caption)
    probabilities = analysis.ablation_probabilities(gru, texts)
    flips = analysis.verdict_flips(probabilities["free"], probabilities["reset=1"], labels)
    if len(flips):
        assert list(table(app, "P(positive), reset = 1")["sentence"]) == [texts[i] for i in flips[:5]]


@shipped
def test_an_uploaded_tsv_replaces_the_validation_data(app, gru):
    rows = ROWS[:9]
    run(app)
    app.file_uploader(key="dataset_upload").set_value(("mine.tsv", _tsv(rows).replace(b"\n", b"\r\n"),
                                                       "text/tab-separated-values"))
    switch_on(app, "ablation_on", "memory_on")
    expected = analysis.ablation(gru, [text for text, _ in rows], [label for _, label in rows])
    assert list(table(app, "condition")["accuracy"]) == list(expected.values())
    assert any("all of the uploaded file mine.tsv" in caption.value for caption in app.caption)


@shipped
@pytest.mark.parametrize("name, content, message", [
    ("bad.tsv", b"sentence\tlabel\na fine film\tpositive\n", "line 2"),
    ("notabs.tsv", b"just words, no tab\n", "line 1"),
    ("latin1.tsv", "un film très réussi\t1\n".encode("latin-1"), "not UTF-8"),
    ("empty.tsv", b"", "no labelled sentences"),
    ("invisible.tsv", "a fine film\t1\n\u200b\u200d\t0\n".encode(), "line 2"),
    ("huge.tsv", b"a fine film\t1\n" * 80_000, "larger than 1 MB"),
])
def test_a_malformed_upload_is_an_error_message_not_an_exception(app, name, content, message):
    run(app)
    app.file_uploader(key="dataset_upload").set_value((name, content, "text/tab-separated-values"))
    switch_on(app, "ablation_on", "memory_on")  # run() asserts there is no exception
    errors = [error.value for error in app.error]
    assert len(errors) == 1 and message in errors[0] and name in errors[0]
    assert "Traceback" not in errors[0]
    assert not app.dataframe and "chart_ablation" not in charts(app)


@shipped
def test_an_uploaded_files_name_is_never_markup(app):
    name = "**x** <b>y</b> [a](javascript:alert(1)) :red[z].tsv"
    run(app)
    app.file_uploader(key="dataset_upload").set_value((name, _tsv(ROWS[:4]), "text/tab-separated-values"))
    switch_on(app, "ablation_on")
    captions = [caption.value for caption in app.caption if "uploaded file" in caption.value]
    assert captions and all("uploaded file --x----b-y--b---a--javascript-alert-1----red-z-.tsv" in caption
                            for caption in captions)
    for body in (element.value for element in [*app.caption, *app.markdown, *app.error, *app.warning]):
        assert not any(mark in body for mark in ("**x**", "<b>", "[a]", "javascript:", ":red[")), body


@shipped
def test_missing_validation_data_is_said_clearly(app, monkeypatch, tmp_path):
    monkeypatch.setenv("GRU_VIZ_DATA", str(tmp_path / "nowhere" / "val.tsv"))
    run(app)
    switch_on(app, "gradient_flow_on", "ablation_on", "memory_on")
    warnings = [warning.value for warning in app.warning]
    assert len(warnings) == 3
    assert all("nowhere/val.tsv`" in warning and "`GRU_VIZ_DATA`" in warning for warning in warnings)
    assert "chart_gradient_flow" in charts(app)  # the sentence's own flow needs no data set


@shipped
def test_memory_statistics_and_unit_search_equal_the_analysis(app, gru):
    run(app)
    switch_on(app, "memory_on")
    texts = [text for text, _ in ROWS]
    stats = analysis.memory_statistics(gru, texts)
    units = table(app, "τ (words)")
    assert list(units["label"]) == stats.labels
    for column, field in (("τ (words)", "timescale"), ("mean z", "update_mean"), ("z < 0.1", "update_low"),
                          ("z > 0.9", "update_high"), ("mean r", "reset_mean"), ("r < 0.1", "reset_low"),
                          ("r > 0.9", "reset_high")):
        np.testing.assert_array_equal(units[column].to_numpy(), getattr(stats, field), err_msg=column)
    saturation = charts(app)["chart_saturation"]["data"][0]
    np.testing.assert_array_equal(decode(saturation["x"]), stats.update_low)
    weight = gru.net.head.weight.detach().numpy()[0]
    assert app.selectbox(key="search_unit").value == int(np.argmax(np.abs(weight)))
    app.selectbox(key="search_unit").set_value(5)
    app.selectbox(key="search_field").set_value("reset")
    app.radio(key="search_direction").set_value("lowest")
    run(app)
    # independently: each sentence read alone, its lowest r of unit 5 (the first on a tie), sentences ranked
    lowest = []
    for index, text in enumerate(texts):
        sentence = gru.trace(text)
        reset = sentence.gates.reset[0, 0, 0][:, 5]  # (T,)
        lowest.append((float(reset.min()), index, sentence.tokens[int(np.argmin(reset))]))
    expected = sorted(lowest)[:10]
    shown = table(app, "before")
    assert list(shown["sentence"]) == [index for _, index, _ in expected]
    assert list(shown["word"]) == [word for _, _, word in expected]
    np.testing.assert_allclose(shown["value"], [value for value, _, _ in expected], rtol=0, atol=1e-6)
    contexts = charts(app)["chart_top_activations"]["data"][0]
    np.testing.assert_array_equal(decode(contexts["z"])[:, 5], shown["value"])  # the boxed column


@shipped
@pytest.mark.skipif(not VALIDATION.is_file(), reason=f"no validation data at {VALIDATION}")
def test_the_page_finds_the_validation_file_next_to_the_repository(app, monkeypatch, gru):
    monkeypatch.delenv("GRU_VIZ_DATA")
    run(app)
    switch_on(app, "memory_on")
    total = len(read_tsv(VALIDATION))
    assert any(f"the first 872 of the {total:,} in the validation file val.tsv" in c.value for c in app.caption)
    texts = [text for text, _ in read_tsv(VALIDATION)[:872]]
    assert list(table(app, "τ (words)")["label"]) == analysis.memory_statistics(gru, texts).labels


# ---- page_data helpers the sections use --------------------------------------------------------------------


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


@shipped
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
