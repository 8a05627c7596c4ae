"""The server's warm-up (``views/parts/startup.py``): ``streamlit run app.py`` finds the ``st.App`` in app.py, and its
lifespan fills the very caches a visitor's first run reads, so that run traces nothing; a model folder that
cannot be read is logged, never raised (the page then says what is wrong)."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from streamlit.web.server.app_discovery import discover_asgi_app

from gru_viz.model import SentimentModel
from tests.helpers import APP, write_tiny_model


@pytest.fixture
def models_dir(tmp_path, monkeypatch):
    write_tiny_model(tmp_path / "sst2-gru", "gru", seed=0, projection=False)
    monkeypatch.setenv("GRU_VIZ_MODELS", str(tmp_path))
    return tmp_path


def test_streamlit_run_finds_the_app_and_its_warm_up():
    found = discover_asgi_app(Path(APP))
    assert (found.is_asgi_app, found.import_string) == (True, "app:app")
    source = Path(APP).read_text(encoding="utf-8")
    assert 'st.App("app.py", lifespan=warm_up)' in source  # the script it serves is app.py itself


def test_the_warm_up_fills_the_caches_the_first_screen_reads(models_dir, monkeypatch):
    from views.parts import caches, startup, state

    caches._load.clear()
    caches._trace.clear()
    caches.story_specs.clear()
    assert startup.warm_caches() > 0
    calls = []
    real_trace = SentimentModel.trace
    monkeypatch.setattr(SentimentModel, "trace", lambda *args, **kwargs: calls.append(1) or real_trace(*args, **kwargs))
    model_key, model = caches.named_model(state.DEFAULT_MODEL)
    sentence = caches.trace(model_key, state.DEFAULT_TEXT, model)
    changes, specs = caches.story(model_key, state.DEFAULT_TEXT, sentence)
    assert calls == []  # served from the warm caches: nothing traced again
    assert list(specs) == ["probability", "changes", "units", "reset"]
    expected = real_trace(model, state.DEFAULT_TEXT, max_tokens=caches.PAGE_MAX_TOKENS)
    shown = [row["p"] for row in specs["probability"]["data"]["values"][1:]]
    assert shown == expected.probability.astype(float).tolist()


def test_the_warm_up_opens_the_shipped_index_and_the_unit_page_opening_unit(monkeypatch):
    import gru_viz.corpus
    from views.parts import caches, corpus, startup, state

    monkeypatch.setenv("GRU_VIZ_MODELS", str(Path(APP).parent / "models"))  # the shipped models, with their indexes
    monkeypatch.delenv("GRU_VIZ_INDEX", raising=False)
    corpus._open.clear()
    caches.unit_profile.clear()
    assert startup.warm_caches() > 0
    opened, profiled = [], []
    monkeypatch.setattr(corpus, "open_index", lambda *args: opened.append(args))
    monkeypatch.setattr(gru_viz.corpus, "unit_profile", lambda *args: profiled.append(args))
    model_key, model = caches.named_model(state.DEFAULT_MODEL)
    index = corpus.model_index(model, model_key=model_key)
    profile = caches.unit_profile(model_key, str(index.folder), index.manifest.created, state.DEFAULT_UNIT,
                                  _index=index, _model=model)
    assert opened == [] and profiled == []  # both served from the warm caches
    assert profile.unit == state.DEFAULT_UNIT and profile.sentences == index.manifest.sentences


def test_a_broken_model_folder_is_logged_and_the_server_still_starts(models_dir, caplog):
    from views.parts import caches, startup

    caches._load.clear()
    card = models_dir / "sst2-gru" / "card.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "config": {"arch": "lstm"}}))

    async def start():
        async with startup.warm_up(None):
            return "serving"

    with ThreadPoolExecutor(1) as thread:  # a thread of its own: the browser tests may hold this one's event loop
        assert thread.submit(asyncio.run, start()).result() == "serving"
    assert "could not warm the caches" in caplog.text


def test_the_warm_up_leaves_what_it_loaded_out_of_every_later_collection(models_dir):
    import gc

    from views.parts import caches, startup, state

    caches._load.clear()

    async def start():
        async with startup.warm_up(None):
            model = caches.named_model(state.DEFAULT_MODEL)[1]
            return gc.get_freeze_count(), {id(o) for o in gc.get_objects()}, model

    try:
        with ThreadPoolExecutor(1) as thread:
            frozen, tracked, model = thread.submit(asyncio.run, start()).result()
        assert frozen > len(tracked)  # the modules, the model and the caches: most of what is alive
        # the model loaded by the warm-up, its GRU and its weights are frozen: no collection scans them again
        assert not {id(model), id(model.gru), id(model.gru.weight_hh_l0)} & tracked
    finally:
        gc.unfreeze()  # this test process goes on collecting as before


def test_the_server_sets_torchs_threads_deliberately(monkeypatch):
    import torch

    from views.parts.startup import server_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("GRU_VIZ_TORCH_THREADS", raising=False)
        assert server_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("GRU_VIZ_TORCH_THREADS", "2")
        assert server_threads() == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("GRU_VIZ_TORCH_THREADS", "many")
        assert server_threads() == 1
    finally:
        torch.set_num_threads(before)
