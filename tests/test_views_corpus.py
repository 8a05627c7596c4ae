"""``views.parts.corpus.corpus_section``: with an index it draws the whole corpus's statistics, contexts and ablation
from the index files (compared here with the files themselves); with no index it returns False and draws
nothing; an index of another model is refused with an error; a reader chooses indexes by name among those the server's
folders hold, and never sees or types a server path."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from streamlit.testing.v1 import AppTest

from gru_viz.corpus import build_index, open_index
from tests.helpers import html_table, vega_charts

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "sst2-gru"
NUMBER = ' class="number"'


@pytest.fixture(scope="module")
def index_folder(tmp_path_factory):
    lines = (ROOT / "data" / "sst2" / "val.tsv").read_text(encoding="utf-8").splitlines()
    data = tmp_path_factory.mktemp("corpus") / "val-head.tsv"
    data.write_text("\n".join(lines[:601]) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("index")
    build_index(data, MODEL, out, shard_rows=200, progress=False)
    return out


def _section(model_folder: str):
    """The section as the page calls it, with the page's answer written out for the test."""
    from pathlib import Path

    import streamlit as st

    from gru_viz.model import load_model
    from views.parts.corpus import corpus_section

    model = load_model(model_folder)
    folder = Path(model_folder)
    shown = corpus_section(model, model_key=(str(folder.parent), folder.name, 0))  # (models root, name, version)
    st.text(f"shown: {shown}")


def _run(monkeypatch, index: Path | str | None, model: Path = MODEL, models: Path | None = None) -> AppTest:
    """The section with ``index`` as $GRU_VIZ_INDEX; ``models`` as $GRU_VIZ_MODELS (default: a folder of no
    models, so the index each shipped model carries stays out of the choices)."""
    if index is None:
        monkeypatch.delenv("GRU_VIZ_INDEX", raising=False)
    else:
        monkeypatch.setenv("GRU_VIZ_INDEX", str(index))
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models or Path(str(index)).parent / "no-models"))
    app = AppTest.from_function(_section, args=(str(model),), default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def _table(app, column: str) -> pd.DataFrame:
    table = html_table(app, column)
    assert not app.dataframe  # plain HTML: no grid code for the browser to load
    return table


def _shown(app) -> bool:
    return [text.value for text in app.text if text.value.startswith("shown:")] == ["shown: True"]


def test_an_index_is_drawn_from_its_files(monkeypatch, index_folder):
    app = _run(monkeypatch, index_folder)
    assert _shown(app) and not app.error
    assert not [body for body in (element.proto.body for element in app.get("html")) if "τ (words)" in body]
    app.session_state["corpus_table_open"] = True  # every unit's row: on request
    app.run()
    units = pq.read_table(index_folder / "units.parquet").to_pandas()
    table = _table(app, "τ (words)")
    np.testing.assert_array_equal(table["τ (words)"], units["timescale"])
    np.testing.assert_array_equal(table["z > 0.9"], units["update_high"])
    ablation = json.loads((index_folder / "ablation.json").read_text())["accuracy"]
    shown = _table(app, "condition")
    assert dict(zip(shown["condition"], shown["accuracy"])) == ablation
    assert "600 sentences" in app.subheader[0].value
    # every chart on load is Vega-Lite (no Plotly bundle before the page paints), holding the index's numbers
    assert not app.get("plotly_chart")
    charts = vega_charts(app)
    timescale = charts["Memory timescale τ = −1/ln(mean z) per unit"][1]
    order = np.argsort(-units["timescale"].to_numpy(), kind="stable")
    assert [row["unit"] for row in timescale] == [f"unit {u}" for u in order]
    assert [row["shown"] for row in timescale] == units["timescale"].to_numpy()[order].astype(float).tolist()
    assert all(row["href"] == f"unit?unit={row['unit'].split()[1]}&model=sst2-gru" for row in timescale)
    points = charts["Gate saturation per unit"][0]["layer"][1]["data"]["values"]
    assert [row["open"] for row in points if row["gate"] == "reset gate r"] == units["reset_high"].tolist()
    bars = charts[next(title for title in charts if title.startswith("Accuracy with gates forced"))][1]
    assert {row["condition"]: row["accuracy"] for row in bars} == ablation
    flow = open_index(index_folder).flow
    [line] = [rows for title, (_, rows) in charts.items() if title.startswith("Gradient reaching")]
    kept = flow.count >= 10
    assert [row["value"] for row in line] == flow.geometric_mean[kept].astype(float).tolist()


def test_unit_search_shows_the_stored_contexts(monkeypatch, index_folder):
    app = _run(monkeypatch, index_folder)
    assert not [box for box in app.get("selectbox") if box.key == "corpus_unit"]  # on request: closed on load
    app.session_state["corpus_search_open"] = True  # the reader opens it
    app.run()
    app.selectbox(key="corpus_unit").set_value(7)
    app.selectbox(key="corpus_field").set_value("update")
    app.radio(key="corpus_direction").set_value("lowest")
    app.run()
    contexts = pq.read_table(index_folder / "bottom_contexts.parquet").to_pandas()
    stored = contexts[(contexts.unit == 7) & (contexts.field == "update")].sort_values("rank")
    first_per_sentence = stored.drop_duplicates("sentence")  # each sentence at its strongest word
    shown = _table(app, "where")
    np.testing.assert_array_equal(shown["value"], first_per_sentence["value"].to_numpy()[:len(shown)])
    spec, rows = vega_charts(app)[f"Where the unit's update is most extreme: {len(shown)} contexts"]
    hits = [row for row in rows if row["offset"] == "hit"]
    assert [row["value"] for row in hits] == first_per_sentence["value"].to_numpy()[:len(shown)].astype(float).tolist()
    assert [row["word"] for row in hits] == shown["word"].tolist()
    sentences = pq.read_table(index_folder / "sentences.parquet").to_pandas().set_index("sentence")
    first = sentences.loc[first_per_sentence["sentence"].iloc[0]]
    assert shown["where"].iloc[0] == f"{first['file']}, line {first['line']}"


def test_no_index_returns_false_and_draws_nothing(monkeypatch, tmp_path):
    app = _run(monkeypatch, tmp_path / "nothing-here")
    assert [text.value for text in app.text] == ["shown: False"] and not app.error and not app.dataframe


def test_an_index_of_another_model_is_refused(monkeypatch, index_folder):
    app = _run(monkeypatch, index_folder, model=ROOT / "models" / "sst2-rnn")
    assert [text.value for text in app.text] == ["shown: False"]
    assert len(app.error) == 1 and "built with another model" in app.error[0].value and not app.dataframe


def test_indexes_are_chosen_by_name_and_no_server_path_is_shown(monkeypatch, index_folder, tmp_path):
    shelf = tmp_path / "indexes"
    shelf.mkdir()
    (shelf / "val-head").symlink_to(index_folder, target_is_directory=True)
    (shelf / "not-an-index").mkdir()
    app = _run(monkeypatch, shelf)
    assert _shown(app)
    choice = app.selectbox(key="corpus_index")
    assert "$GRU_VIZ_INDEX/val-head" in choice.options and "$GRU_VIZ_INDEX/not-an-index" not in choice.options
    assert not app.text_input  # nothing a reader types names a folder
    shown = " ".join(str(element.value) for kind in ("caption", "markdown", "text", "error", "subheader")
                     for element in getattr(app, kind))
    assert str(tmp_path) not in shown and str(ROOT) not in shown


def test_the_index_a_model_ships_with_is_found_by_itself(monkeypatch):
    app = _run(monkeypatch, None, models=ROOT / "models")
    assert _shown(app) and not app.error
    assert app.selectbox(key="corpus_index").options[0] == "shipped with sst2-gru"
    units = pq.read_table(ROOT / "models" / "sst2-gru" / "index" / "units.parquet").to_pandas()
    app.session_state["corpus_table_open"] = True
    app.run()
    np.testing.assert_array_equal(_table(app, "τ (words)")["τ (words)"], units["timescale"])
