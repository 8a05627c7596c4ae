"""The heavy views run in one worker process beside the server, never in the server's own threads.

Why a process, and only one:

- Streamlit runs every session as a thread of one Python process. The heavy views (connectivity, fixed points,
  integrated gradients, the gradient flow, the data-set statistics) spend much of their time in small Python-level
  steps that hold the GIL, so in a thread they slowed every other reader's redraw, not just their own page
  (``python -m benchmarks.responsiveness``). A worker process has its own GIL.
- One worker, at a lower priority (``os.nice``), uses at most one of the server's cores and yields it to the
  readers; heavy requests from several sessions wait their turn in its queue instead of sharing the cores with
  the readers. ``$GRU_VIZ_HEAVY_WORKERS`` sets another number; 0 computes in the caller's thread (no process).

The server's warm-up (``parts/startup.py``) calls ``start``; until then (in a test's ``AppTest``, say) ``run``
computes in the caller's thread, exactly as the worker would.

``run(job, model, *args)`` calls ``job(model, *args)`` in the worker and returns its result; ``job`` is a function
defined at module level (the worker finds it by name). A model read from a folder travels as its path and is
loaded once per worker; an uploaded model, which has no folder, travels as the object itself. The page's caches
(``st.cache_data``) sit in front of ``run``, so a view computed once is not sent again.

Nothing here imports Streamlit: the worker imports only what its jobs need.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

__all__ = ["WORKERS_ENV", "connectivity", "dataset_flow", "fixed_points", "patching", "run", "shut_down", "start",
           "top_contexts", "worker_count"]

WORKERS_ENV = "GRU_VIZ_HEAVY_WORKERS"
NICENESS = 5  # the worker's priority below the server's: a reader's redraw comes first
MODELS_KEPT = 4  # models a worker keeps loaded (each ~15 MB); the pages offer three shipped ones and an upload

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_started = False  # set by start(): jobs go to the worker
_worker_models: dict = {}  # in the worker: (folder, version) → model


def worker_count() -> int:
    """``$GRU_VIZ_HEAVY_WORKERS``, else 1; 0 means no worker (the caller's thread computes)."""
    try:
        return max(0, int(os.environ.get(WORKERS_ENV, "1")))
    except ValueError:
        return 1


def start() -> None:
    """Start the worker now (the server's warm-up calls this), so the first heavy view does not wait for it to
    import torch; returns at once. From here on ``run`` sends its jobs there."""
    global _started
    if worker_count():
        _started = True
        _executor().submit(_warm)


def run(job, model, *args, **kwargs):
    """``job(model, *args, **kwargs)`` in the worker (or here, with no worker); its exceptions come back as
    they were raised. A worker that died (e.g. killed for memory) is replaced once."""
    if not _started:
        return job(model, *args, **kwargs)
    source = _model_source(model)
    try:
        return _executor().submit(_call, job, source, args, kwargs).result()
    except BrokenProcessPool:
        _discard_pool()  # its worker died: a new pool starts a new one
    try:
        return _executor().submit(_call, job, source, args, kwargs).result()
    except BrokenProcessPool:
        _discard_pool()
        raise RuntimeError("the worker that computes this view stopped twice; try again later") from None


def shut_down() -> None:
    """Stop the worker; ``run`` computes in the caller's thread again (the server's exit ends the worker too)."""
    global _started
    _started = False
    _discard_pool(wait=True)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            import multiprocessing

            # spawn, not fork: forking a process that runs threads (the server's) can copy a held lock
            _pool = ProcessPoolExecutor(worker_count(), mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker)
        return _pool


def _discard_pool(wait: bool = False) -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=True)


def _start_worker() -> None:
    import torch

    os.nice(NICENESS)
    torch.set_num_threads(1)  # one core: the other stays with the readers


def _warm() -> None:
    import gru_viz.analysis  # noqa: F401  (torch, numpy and the analyses: most of a first job's wait)


def _folder_version(folder: Path) -> int:
    return sum(path.stat().st_mtime_ns for path in folder.iterdir() if path.is_file())


def _model_source(model):
    """What the worker needs to have the same model: its folder and version, or the object (an upload)."""
    if getattr(model, "path", None) is not None:
        folder = Path(model.path)
        try:
            return ("folder", str(folder), _folder_version(folder))
        except OSError:
            pass
    return ("object", model)


def _worker_model(source):
    if source[0] == "object":
        return source[1]
    from gru_viz.model import load_model

    key = source[1:]
    if key not in _worker_models:
        while len(_worker_models) >= MODELS_KEPT:
            _worker_models.pop(next(iter(_worker_models)))
        _worker_models[key] = load_model(Path(source[1]))
    return _worker_models[key]


def _call(job, source, args, kwargs):
    return job(_worker_model(source), *args, **kwargs)


# ---- jobs that are not a single gru_viz.analysis call -------------------------------------------------------


def connectivity(model, text: str, max_tokens: int):
    """(T, T) ``analysis.connectivity`` of the first ``max_tokens`` words of ``text``."""
    from gru_viz import analysis

    _, ids = model.tokenize(text)
    return analysis.connectivity(model.gru, model.embed(ids[:max_tokens]))  # embedded (T, E)


def fixed_points(model, which: str, texts: list, starts: int):
    """``analysis.fixed_points`` under the constant input ``which``, searched from ``starts`` states the model
    visits on ``texts``."""
    from gru_viz import analysis

    states = analysis.visited_states(model, texts, count=starts)
    return analysis.fixed_points(model.gru, analysis.constant_input(model, which), states)


def patching(model, base: str, source: str, mode: str):
    """(grid, column labels): ``analysis.patching_grid`` (``mode="words"``) or ``patching_by_units``."""
    from gru_viz import analysis

    if mode == "words":
        return analysis.patching_grid(model, base, source), list(model.trace(source).tokens)
    groups = analysis.head_unit_groups(model)
    return analysis.patching_by_units(model, base, source, groups), list(groups)


def dataset_flow(model, texts: list):
    """``analysis.dataset_gradient_flow`` of ``texts``."""
    from gru_viz import analysis

    return analysis.dataset_gradient_flow(model.gru, analysis.embed_texts(model, texts))


def top_contexts(model, texts: list, unit: int, field: str, largest: bool, pool: int, shown: int):
    """``analysis.top_activations`` (``pool`` strongest words), then one per sentence, ``shown`` of them."""
    from gru_viz import analysis

    hits = analysis.top_activations(model, texts, unit, k=pool, field=field, largest=largest)
    return analysis.one_per_sentence(hits, shown)
