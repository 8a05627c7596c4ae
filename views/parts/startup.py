"""What the server does once, before its first visitor: import torch and Plotly, load the default model, read
the default sentence into the caches the pages use, and open the model's shipped corpus index with its first unit's
profile. Without it the first visitor after a start waited ~3 s more than the next one (``python -m
benchmarks.browser_bench``: cold against warm), and the first visit to *Units* ran its script 0.7 s longer than
the next (opening the index).

``app.py`` hands ``warm_up`` to ``st.App`` as its lifespan; ``streamlit run app.py`` runs it before the
server answers. A failure here is only logged: the page then says what is wrong, as it would without it.

It ends by freezing what it loaded out of the garbage collector's sight (``freeze_survivors``): Streamlit collects
every generation after each run of a page, holding the GIL. Over the ~280,000 objects of torch, pandas and Plotly
one collection took 135 ms, and the unit page's last messages left the server 170–345 ms after its script had
ended; now a collection after a run takes a few ms.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from contextlib import asynccontextmanager

__all__ = ["TORCH_THREADS_ENV", "freeze_survivors", "server_threads", "warm_caches", "warm_up"]

LOG = logging.getLogger("gru_viz.startup")
TORCH_THREADS_ENV = "GRU_VIZ_TORCH_THREADS"


def server_threads() -> int:
    """Torch's intra-op threads for the whole server: ``$GRU_VIZ_TORCH_THREADS``, else 1. Each session runs in a
    thread of its own, so one thread each keeps a heavy view from taking every core from the other readers
    (``benchmarks/research_bench`` measured one thread faster than two on two shared cores)."""
    import torch

    try:
        threads = max(1, int(os.environ.get(TORCH_THREADS_ENV, "1")))
    except ValueError:
        threads = 1
    torch.set_num_threads(threads)
    return threads


def warm_caches() -> float:
    """Import what the pages import, load the default model and trace the default sentence through the pages'
    own cached loaders (so a session finds them filled), build its story chart once, and open the model's corpus
    index with the profile of the unit the unit page opens on. Returns seconds."""
    started = time.perf_counter()
    server_threads()
    # Imported here, once, before any session: sessions run in threads, and two threads importing pandas at once
    # (Streamlit's Vega-Lite data on one page, Plotly's optional pandas on another) met a half-initialised module
    # in the load test (`python -m benchmarks.loadtest`).
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    from views.parts import caches, corpus, state  # imports torch and Plotly: most of the time

    folders = caches.model_folders(caches.models_root())
    if state.DEFAULT_MODEL in folders:
        model_key, model = caches.named_model(state.DEFAULT_MODEL)
        sentence = caches.trace(model_key, state.DEFAULT_TEXT, model)
        caches.story(model_key, state.DEFAULT_TEXT, sentence)
        index = corpus.model_index(model, model_key=model_key)
        if index is not None:
            caches.unit_profile(model_key, str(index.folder), index.manifest.created, state.DEFAULT_UNIT,
                                _index=index, _model=model)
    return time.perf_counter() - started


def freeze_survivors() -> int:
    """Collect once, then move every object still alive (the modules, the models, the warm caches) to the
    collector's permanent generation, which later collections skip: they live as long as the server. Returns how
    many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@asynccontextmanager
async def warm_up(_app):
    """``st.App`` lifespan: start the heavy views' worker (``parts/workers.py``; it imports torch on the other
    core meanwhile) and ``warm_caches``, then ``freeze_survivors``, before the server answers; stop the worker at
    shutdown."""
    from views.parts import workers

    workers.start()
    # The caches are filled outside any visitor's run, which Streamlit reports as "missing ScriptRunContext!"
    # on the terminal of everyone who starts the app: expected here, so that logger is quiet meanwhile.
    context_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    level = context_log.level
    context_log.setLevel(logging.ERROR)
    try:
        LOG.info("warmed the caches in %.1f s", warm_caches())
    except Exception:  # a broken model folder must not stop the server: the page explains it
        LOG.exception("could not warm the caches; the first visitor loads the model instead")
    finally:
        context_log.setLevel(level)
    LOG.info("froze %d objects out of the garbage collector's sight", freeze_survivors())
    try:
        yield
    finally:
        workers.shut_down()
