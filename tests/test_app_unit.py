"""The unit page (``unit?unit=N``) and steering on *Compare & intervene*, driven by AppTest over a tiny model with
a corpus index of its own: every number against a computation written here (float64 steps from the weights, and
statistics over per-sentence traces), markup in the corpus or typed shown literally, and bad ``unit=`` values."""

from __future__ import annotations

import html
from urllib.parse import urlencode

import numpy as np
import pytest
import torch

from gru_viz.corpus import build_index
from gru_viz.model import load_model
from tests.helpers import html_table, open_page, page_app, run, story, vega_charts, write_tiny_model
from tests.library_helpers import float64_step

WORDS = "a great movie boring plot not lovely awful the film is and but bold script alert".split()
MARKUP = ["<b>bold</b> great movie", "the plot <script>alert(1)</script> is boring"]
TYPED = "<b>bold</b> & a great movie"
UNIT = 5


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A tiny GRU with an index of a 30-sentence corpus (held out: the same file), as a shipped model has: its 20
    highest and 20 lowest sentences cover the corpus, so the markup sentences are among them."""
    folder = tmp_path_factory.mktemp("models")
    write_tiny_model(folder / "sst2-gru", "gru", seed=0, projection=True, extra_words=[*WORDS, *MARKUP, TYPED])
    rng = np.random.default_rng(0)
    texts = MARKUP + [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 12)))) for _ in range(28)]
    labels = [int(label) for label in rng.integers(0, 2, len(texts))]
    data = folder / "corpus.tsv"
    data.write_text("".join(f"{text}\t{label}\n" for text, label in zip(texts, labels)), encoding="utf-8")
    build_index(data, folder / "sst2-gru", folder / "sst2-gru" / "index", progress=False, heldout=data)
    return folder


@pytest.fixture(scope="module")
def corpus(models_dir):
    """The corpus as the test reads it: texts, labels, and every sentence traced alone."""
    model = load_model(models_dir / "sst2-gru")
    rows = [line.rsplit("\t", 1) for line in (models_dir / "corpus.tsv").read_text().splitlines()]
    texts, labels = [text for text, _ in rows], np.array([int(label) for _, label in rows])
    return model, texts, labels, [model.trace(text) for text in texts]


@pytest.fixture
def app(models_dir, monkeypatch):
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_dir))
    monkeypatch.delenv("GRU_VIZ_INDEX", raising=False)
    return page_app()


def _unit_page(app, unit="5", text=TYPED):
    app.query_params["unit"] = unit
    app.query_params["text"] = text
    run(app)
    return open_page_unit(app)


def open_page_unit(app):
    app.switch_page("views/pages/unit.py")
    return run(app)


def state_link(text: str) -> str:
    return "read?" + urlencode({"text": text, "model": "sst2-gru"})


def _float64_run(model, text, push=None):
    """h (T, H) and P(positive) (T,) in float64 from the weights, adding ``push`` (H,) to h after every word."""
    step = float64_step(model.gru)
    state = model.state_dict()
    embedding, weight, bias = state["embedding.weight"].double(), state["head.weight"][0].double(), state["head.bias"]
    h, states, probability = torch.zeros(model.gru.hidden_size, dtype=torch.float64), [], []
    for word in model.tokenize(text)[1]:
        h = step(embedding[word], h)
        if push is not None:
            h = h + torch.as_tensor(push, dtype=torch.float64)
        states.append(h.numpy().copy())
        probability.append(float(torch.sigmoid(weight @ h + bias[0].double())))
    return np.array(states), np.array(probability)


def test_the_unit_page_shows_the_units_numbers(app, corpus):
    model, texts, labels, traces = corpus
    _unit_page(app)
    assert not app.error
    assert [h.value for h in app.header] == [f"Unit {UNIT} of 12 in sst2-gru"]
    weight = model.state_dict()["head.weight"][0].double().numpy()
    update = np.concatenate([trace.update[:, UNIT] for trace in traces]).astype(np.float64)
    reset = np.concatenate([trace.reset[:, UNIT] for trace in traces]).astype(np.float64)
    final = np.array([trace.hidden[-1] for trace in traces], dtype=np.float64)  # (N, H)
    size = np.abs(weight * final).mean(0)
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Readout weight w": f"{weight[UNIT]:+.4f}",
                       "Verdict share": f"{size[UNIT] / size.sum():.1%}",
                       "τ (words)": f"{-1 / np.log(update.mean()):.2f}", "Mean z": f"{update.mean():.3f}",
                       "Mean r": f"{reset.mean():.3f}"}
    shown = vega_charts(app)
    assert not app.get("plotly_chart")  # nothing on load waits for Plotly's bundle
    hidden = np.concatenate([trace.hidden[:, UNIT] for trace in traces])
    edges = np.linspace(-1, 1, 41)
    counts = np.histogram(hidden, edges)[0]
    rows = shown[f"Unit {UNIT}: h at every word"][1]
    assert [row["count"] for row in rows] == counts.tolist()
    assert [row["share"] for row in rows] == (counts / counts.sum()).tolist()
    np.testing.assert_allclose([row["bin_low"] for row in rows], edges[:-1], atol=1e-6)
    np.testing.assert_allclose([row["bin_high"] for row in rows], edges[1:], atol=1e-6)
    for symbol, field in (("z", "update"), ("r", "reset")):
        values = np.concatenate([getattr(trace, field)[:, UNIT] for trace in traces])
        rows = shown[f"Unit {UNIT}: {symbol} at every word"][1]
        assert sum(row["count"] for row in rows) == len(values)
    ablation = [body for body in (element.proto.body for element in app.get("html")) if "verdicts flipped" in body]
    assert len(ablation) == 1 and "h of unit 5 zeroed (h ≡ 0)" in ablation[0]
    description = app.get("html")[0].proto.body
    tau = -1 / np.log(update.mean())
    kind = "slow" if tau >= 5 else "fast" if tau < 1.5 else "medium"
    assert f"{kind} memory (τ ≈ {tau:.0f} word" in description
    assert f"pushes toward {'positive' if weight[UNIT] > 0 else 'negative'} when high" in description


def test_the_contexts_are_the_sentences_of_highest_and_lowest_h_shown_literally(app, corpus):
    model, texts, labels, traces = corpus
    _unit_page(app)
    bodies = [element.proto.body for element in app.get("html")]
    top, bottom = [body for body in bodies if "unit-contexts" in body]
    for body, largest in ((top, True), (bottom, False)):
        extreme = [trace.hidden[:, UNIT].max() if largest else -trace.hidden[:, UNIT].min() for trace in traces]
        # float32 read alone or in a batch differs in the last bits: values equal to 1e-5 are a tie, to the earlier
        best = sorted(range(len(texts)), key=lambda i: (-round(float(extreme[i]), 5), i))[:20]
        found = -1
        for i in best:  # every one of the 20 sentences, in order (a repeated sentence appears twice)
            found = body.index(f'href="{html.escape(state_link(texts[i]), quote=True)}"', found + 1)
    for body in (top, bottom):
        assert "<b>" not in body and "<script>" not in body
    assert ">&lt;</span>" in top + bottom and ">script</span>" in top + bottom  # the tokens "<", "script"
    [typed] = [body for body in bodies if body.startswith('<span class="unit-words">')]  # your sentence, shaded
    assert ">&lt;</span>" in typed and ">&amp;</span>" in typed and "<b>" not in typed


def test_the_sentences_whose_verdict_flips_open_on_request_against_a_float64_run(app, corpus):
    model, texts, labels, traces = corpus
    _unit_page(app)
    step = float64_step(model.gru)
    state = model.state_dict()
    embedding, weight, bias = state["embedding.weight"].double(), state["head.weight"][0].double(), state["head.bias"]
    flips = []
    for line, text in enumerate(texts, start=1):
        p = {}
        for zeroed in (False, True):
            h = torch.zeros(model.gru.hidden_size, dtype=torch.float64)
            for word in model.tokenize(text)[1]:
                h = step(embedding[word], h)
                if zeroed:
                    h[UNIT] = 0.0
            p[zeroed] = float(torch.sigmoid(weight @ h + bias[0].double()))
        if (p[False] > 0.5) != (p[True] > 0.5):
            flips.append((line, p[False], p[True]))
    expanders = [e for e in app.expander if "whose verdict flips" in e.label]
    if not flips:
        assert not expanders
        return
    assert [e.label for e in expanders] == [f"The {len(flips)} sentences whose verdict flips with the unit zeroed"]
    assert not [e for e in app.get("html") if "P(positive), zeroed" in e.proto.body]  # closed on load
    app.session_state["unit_flips_open"] = True
    run(app)
    table = html_table(app, "P(positive), zeroed", {"P(positive), free": ".3f", "P(positive), zeroed": ".3f"})
    shown = {int(line): (free, zeroed) for line, free, zeroed in
             zip(table["line"], table["P(positive), free"], table["P(positive), zeroed"])}
    assert len(table) == len(flips) and sorted(shown) == [line for line, _, _ in flips]
    np.testing.assert_allclose([shown[line] for line, _, _ in flips], [(a, b) for _, a, b in flips], atol=1e-5)


def test_your_sentence_through_the_unit_against_a_float64_run(app, corpus):
    model = corpus[0]
    _unit_page(app)
    assert not app.dataframe  # a plain HTML table: no grid code for the browser to load
    [body] = [element.proto.body for element in app.get("html") if "<th>word</th>" in element.proto.body]
    table = html_table(app, "word", dict.fromkeys("hzrn", "+.4f"))  # each cell printed as its exact value's +.4f
    words = table["word"].tolist()
    states, _ = _float64_run(model, TYPED)
    np.testing.assert_allclose(table["h"], states[:, UNIT], atol=1e-6)
    sentence = model.trace(TYPED)
    for name, field in (("z", "update"), ("r", "reset"), ("n", "candidate")):
        np.testing.assert_allclose(table[name], getattr(sentence, field)[:, UNIT], atol=1e-7)
    assert words == sentence.tokens and "<b>" not in body  # the typed markup, escaped
    spec, rows = vega_charts(app)[f"Unit {UNIT} through the sentence"]
    assert [row["value"] for row in rows if row["series"].startswith("h:")] == \
        sentence.hidden[:, UNIT].astype(float).tolist()
    assert [row["word"] for row in rows if row["series"].startswith("h:")] == sentence.tokens  # as data


def test_steering_along_the_unit_and_the_verdict_direction(app, corpus):
    model, texts, labels, traces = corpus
    _unit_page(app)
    assert not [title for title in vega_charts(app) if title.startswith("P(positive) after each word: free")]
    app.toggle(key="unit_steer_on").set_value(True)  # steering draws on request
    run(app)
    free, steered = _steering(app, "+1", f"unit {UNIT}")
    push = np.zeros(12)
    push[UNIT] = 1.0  # α = 1 by default
    np.testing.assert_allclose(steered, _float64_run(model, TYPED, push)[1], atol=2e-6)
    np.testing.assert_allclose(free, _float64_run(model, TYPED)[1], atol=2e-6)
    app.radio(key="unit_steer_direction").set_value("the verdict direction")
    app.slider(key="unit_steer_alpha").set_value(-2.0)
    run(app)
    final = np.array([trace.hidden[-1] for trace in traces], dtype=np.float64)
    direction = final[labels == 1].mean(0) - final[labels == 0].mean(0)
    _, steered = _steering(app, "-2", "the verdict direction")
    np.testing.assert_allclose(steered, _float64_run(model, TYPED, -2.0 * direction)[1], atol=2e-6)


def _steering(app, alpha: str, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """P(positive) free and steered, as the steering chart (Vega-Lite) holds them."""
    name = f"{alpha} · {direction}"
    spec, rows = vega_charts(app)[f"P(positive) after each word: free against steered ({name})"]
    free = [row["p"] for row in rows if row["series"] == "free"]
    steered = [row["p"] for row in rows if row["series"] == f"steered: {name}"]
    assert free and len(free) == len(steered)
    return np.array(free), np.array(steered)


def test_compare_steers_sentence_a(app, corpus):
    model = corpus[0]
    run(app)
    app = open_page(app, "compare")
    app.toggle(key="steering_on").set_value(True)
    run(app)
    app.number_input(key="compare_steer_unit").set_value(3)
    app.slider(key="compare_steer_alpha").set_value(2.5)
    run(app)
    text = app.session_state["text"]
    push = np.zeros(12)
    push[3] = 2.5
    _, steered = _steering(app, "+2.5", "unit 3")
    np.testing.assert_allclose(steered, _float64_run(model, text, push)[1], atol=2e-6)


@pytest.mark.parametrize("bad", ["12", "-1", "abc", "<script>x", "1e3", "٣", "", " 5 5"])
def test_a_bad_unit_in_the_link_is_one_message_and_unit_0(app, bad):
    _unit_page(app, unit=bad)
    assert len(app.error) == 1 and "showing unit 0" in app.error[0].value
    assert bad.strip() == "" or bad not in app.error[0].value
    assert [h.value for h in app.header] == ["Unit 0 of 12 in sst2-gru"]
    assert app.query_params["unit"] == ["0"] or app.query_params["unit"] == "0"


def test_unit_labels_elsewhere_link_to_the_unit_page(app):
    run(app)
    rows = story(app)["units"][1]
    assert rows and all(row["href"] == f"unit?unit={row['unit'].split()[1]}&model=sst2-gru" for row in rows)
    app = open_page(app, "compare")
    spec, cells = vega_charts(app)["Sentence A: update gate z"]
    assert spec["encoding"]["href"] == {"field": "href", "type": "nominal"}  # a click on a row opens its unit
    assert cells and all(row["href"] == f"unit?unit={row['unit'].split()[1]}&model=sst2-gru" for row in cells)
