"""The page-specific helpers of the analysis sections in ``gru_viz.page_data``.

Numbers on the page are compared with the analysis functions (or independent numpy) on the same input, value
for value. The data set is a small TSV each test writes (GRU_VIZ_DATA), so the data-set views take well under
a second; one test reads the real validation file and skips when it is absent. Tests skip when the shipped
models have not been trained yet.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz import analysis, page_data
from gru_viz.model import load_model
from gru_viz.train import read_tsv

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # seconds per run: the first imports torch on a shared machine
GRU_DIR, RNN_DIR = ROOT / "models" / "sst2-gru", ROOT / "models" / "sst2-rnn"
VALIDATION = ROOT.parent / "shared" / "data" / "sst2" / "val.tsv"
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


# ---- page_data helpers the sections use --------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    _tsv(ROWS), _tsv(ROWS).replace(b"\n", b"\r\n"), b"a fine film\t1\n\n  \nawful\t0", b"tab\tinside\t1\n",
    b"sentence\tlabel\n\t1\na film\t 0 \n",
])
def test_parse_labelled_tsv_reads_what_the_cli_reads(tmp_path, content):
    path = tmp_path / "data.tsv"
    path.write_bytes(content)
    texts, labels = page_data.parse_labelled_tsv(content)
    assert list(zip(texts, labels)) == read_tsv(path)


@pytest.mark.parametrize("content, message", [
    (b"a fine film\t2\n", "line 1"), (b"sentence\tlabel\nno tab here\n", "line 2"), (b"\xff\xfe\x00", "UTF-8"),
    (b"sentence\tlabel\n\n", "no labelled sentences"),
])
def test_parse_labelled_tsv_faults_are_value_errors_that_name_the_file(content, message):
    with pytest.raises(ValueError, match=message) as error:
        page_data.parse_labelled_tsv(content, "upload.tsv")
    assert "upload.tsv" in str(error.value)


def test_parse_labelled_tsv_drops_a_byte_order_mark():
    assert page_data.parse_labelled_tsv("\ufeffsentence\tlabel\nfine\t1\n".encode()) == (["fine"], [1])


def test_intervention_clamps_are_the_modes_and_the_custom_box():
    assert page_data.intervention_clamps("free", 4, 8) == {}
    assert page_data.intervention_clamps("vanilla-RNN mode", 4, 8) == {"clamp_update": 0.0, "clamp_reset": 1.0}
    assert page_data.intervention_clamps("frozen memory", 4, 8) == {"clamp_update": 1.0}
    (name, clamp), = page_data.intervention_clamps("custom", 4, 8, gate="reset", value=0.25, chosen_units=[1, 6],
                                                   words=(1, 2)).items()
    expected = np.full((4, 8), np.nan)
    expected[1:3, [1, 6]] = 0.25
    assert name == "clamp_reset"
    np.testing.assert_array_equal(clamp, expected[None, None, None])
    (clamp,) = page_data.intervention_clamps("custom", 3, 5, value=0.0).values()  # no units, no words: all
    assert clamp.shape == (1, 1, 1, 3, 5) and (clamp == 0).all()
    for bad in ({"mode": "sideways"}, {"mode": "custom", "gate": "candidate"},
                {"mode": "custom", "chosen_units": [9]}, {"mode": "custom", "value": 2.0}):
        with pytest.raises(ValueError):
            page_data.intervention_clamps(bad.pop("mode"), 4, 8, **bad)


@shipped
def test_sentence_gradient_flow_is_gradient_flow_on_the_words_the_page_reads(gru):
    x = analysis.embed_texts(gru, [SENTENCE])[0]
    np.testing.assert_array_equal(page_data.sentence_gradient_flow(gru, SENTENCE), analysis.gradient_flow(gru.gru, x))
    cut = page_data.sentence_gradient_flow(gru, SENTENCE, max_tokens=5)
    np.testing.assert_array_equal(cut, analysis.gradient_flow(gru.gru, x[:5]))
    with pytest.raises(ValueError):
        page_data.sentence_gradient_flow(gru, "   ")


def test_activation_rows_mark_the_peak_word_with_its_context():
    tokens = "one two three four five six seven eight nine ten".split()
    hits = [analysis.Activation(sentence=4, position=5, value=0.9, tokens=tokens, values=np.zeros(10)),
            analysis.Activation(sentence=0, position=0, value=0.5, tokens=tokens[:2], values=np.zeros(2))]
    first, second = page_data.activation_rows(hits, window=2)
    assert first == {"rank": 1, "value": 0.9, "before": "… four five", "word": "six", "after": "seven eight …",
                     "sentence": 4, "position": 5}
    assert (second["before"], second["word"], second["after"], second["rank"]) == ("", "one", "two", 2)
