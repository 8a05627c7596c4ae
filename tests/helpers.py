"""Helpers the page tests share (AppTest runs, the charts it holds, Plotly's typed arrays, tiny models)."""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from streamlit.testing.v1 import AppTest

from gru_viz.analysis import fit_pca
from gru_viz.examples import EXAMPLES, NEUTRAL_TAIL, SEED_PAIR
from gru_viz.model import ModelConfig, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary, tokenize
from views.parts.first_screen import WHOLE_PAGES_KEY

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # seconds per run: the machine is shared and the first run imports torch
PAGES = {name: f"views/pages/{name}.py" for name in ("read", "cell", "compare", "dynamics", "dataset", "your_model")}
SENTENCE = "the movie is so boring but I love the movie"


def write_tiny_model(folder: Path, arch: str, seed: int, projection: bool, extra_words=()) -> None:
    """A small untrained model whose vocabulary holds every example word, so every number is known."""
    words = sorted({token for text in [*SEED_PAIR, SENTENCE, NEUTRAL_TAIL, *(e.text for e in EXAMPLES), *extra_words]
                    for token in tokenize(text).normalized})
    vocab = Vocabulary(["<pad>", "<unk>"] + words)
    torch.manual_seed(seed)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=12))
    with torch.no_grad():
        net.head.weight.mul_(4)  # verdicts that move visibly
    save_model(net, vocab, {"name": folder.name}, folder)
    if projection:
        model = load_model(folder)
        states = np.vstack([model.trace(text).hidden for text in [*SEED_PAIR, SENTENCE, NEUTRAL_TAIL]])
        card = json.loads((folder / "card.json").read_text())
        axes = fit_pca(states)
        card["projection"] = {name: np.asarray(values).tolist() for name, values in axes.items()}
        card["probe"] = {"retention": {"verdict_first": {"0": 1.0, "4": 0.75, "16": 0.5},
                                       "verdict_last": {"0": 1.0, "4": 0.9}}, "contrast": {"0": 0.8, "4": 0.6}}
        (folder / "card.json").write_text(json.dumps(card))


def write_gru_and_rnn(folder: Path) -> Path:
    """``folder`` holding a tiny GRU (``sst2-gru``, with a projection) and a tiny vanilla RNN (``sst2-rnn``): the
    models folder the app tests serve."""
    write_tiny_model(folder / "sst2-gru", "gru", seed=0, projection=True)
    write_tiny_model(folder / "sst2-rnn", "rnn", seed=1, projection=False)
    return folder


def html_table(app: AppTest, column: str, formats: dict[str, str] | None = None) -> pd.DataFrame:
    """The one plain HTML table (``figures.values_table_html``) on the page with this column: text cells unescaped,
    number cells at the exact value their tooltip holds. Each number cell is checked to print that value: in its
    column's format when ``formats`` names one (e.g. "+.4f"), else rounded to the digits it shows."""
    bodies = [element.proto.body for element in app.get("html") if f'<th class="number">{column}</th>' in
              element.proto.body or f"<th>{column}</th>" in element.proto.body]
    assert len(bodies) == 1, len(bodies)
    head, body = bodies[0].split("<tbody>")
    names = [html.unescape(name) for name in re.findall(r"<th[^>]*>([^<]*)</th>", head)]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body):
        cells = re.findall(r'<td( class="number" title="([^"]+)")?>([^<]*)</td>', row)
        for name, (number, exact, printed) in zip(names, cells):
            if number and formats and name in formats:
                assert printed == format(float(exact), formats[name]), (name, exact, printed)
            elif number:
                digits = len(printed.partition(".")[2])
                assert abs(float(printed.replace(",", "")) - float(exact)) <= 0.5 * 10 ** -digits + 1e-12
        rows.append([float(exact) if number else html.unescape(printed) for number, exact, printed in cells])
    return pd.DataFrame(rows, columns=names)


def page_app(timeout: float = TIMEOUT) -> AppTest:
    """app.py under AppTest, drawing whole pages from its first run: AppTest has no browser to report that a page's
    first screen has painted (``views/parts/first_screen.py``; its own test covers that path)."""
    app = AppTest.from_file(APP, default_timeout=timeout)
    app.session_state[WHOLE_PAGES_KEY] = True
    return app


def run(app: AppTest) -> AppTest:
    app.run(timeout=TIMEOUT)
    assert not app.exception, [e.message for e in app.exception]
    return app


def open_page(app: AppTest, name: str) -> AppTest:
    app.switch_page(PAGES[name])
    return run(app)


def charts(app: AppTest) -> dict[str, dict]:
    """Every Plotly chart on the page, by key, as the figure JSON the browser receives."""
    return {element.key: json.loads(element.proto.spec) for element in app.get("plotly_chart")}


def vega_charts(app: AppTest) -> dict[str, tuple[dict, list[dict]]]:
    """Every Vega-Lite chart on the page by its title (AppTest does not give a chart's key), as (spec, the top-level
    data rows the browser receives: Streamlit moves a spec's inline values into Arrow; a layer keeps its own)."""
    shown = {}
    for element in app.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        rows = (pa.ipc.open_stream(element.proto.data.data).read_all().to_pylist() if element.proto.data.data
                else spec.get("data", {}).get("values", []))
        title = spec.get("title")
        shown[title.get("text") if isinstance(title, dict) else title] = (spec, rows)
    return shown


def story(app: AppTest) -> dict[str, tuple[dict, list[dict]]]:
    """The Read page's first chart, its Vega-Lite rows by name ("probability", "changes", "units", and "reset" for a
    GRU), each as (spec, data rows) the way the browser receives them (Streamlit moves a spec's inline values into
    Arrow)."""
    rows = {}
    for element, name in zip(app.get("vega_lite_chart"), ("probability", "changes", "units", "reset")):
        data = pa.ipc.open_stream(element.proto.data.data).read_all().to_pylist()
        rows[name] = (json.loads(element.proto.spec), data)
    return rows


def open_sections(app: AppTest, *keys: str) -> AppTest:
    """Open the page's expanders ``keys`` (those that run only while open) and rerun."""
    for key in keys:
        app.session_state[key] = True
    return run(app)


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


def switch_on_every_toggle(app: AppTest) -> AppTest:
    """Open every expander that has a key and turn on every toggle the page shows, rerunning until no new one
    appears (an open section or a toggle can reveal more)."""
    for _ in range(5):
        closed = [expander.key for expander in app.expander
                  if expander.key and not (expander.key in app.session_state and app.session_state[expander.key])]
        off = [toggle for toggle in app.toggle if not toggle.value]
        if not off and not closed:
            break
        for key in closed:
            app.session_state[key] = True
        for toggle in off:
            toggle.set_value(True)
        run(app)
    return app
