"""The heavy views' worker process (``views/parts/workers.py``): a job computed there returns exactly what the
caller's thread computes, for a model read from a folder and for an uploaded one (no folder), its errors come
back as the same exceptions, and before ``start`` nothing leaves the caller's thread."""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pytest
import torch

from gru_viz import analysis
from gru_viz.model import load_model
from gru_viz.paths import default_model_dir
from views.parts import workers

TEXT = "the plot is thin but the acting is superb , and I would watch it again"


def process_id(model) -> int:
    """A job: the id of the process that ran it."""
    return os.getpid()


@pytest.fixture(scope="module")
def worker():
    # A spawned worker first re-runs the parent's __main__. Streamlit's script runner leaves it pointing at the
    # last script it ran, which in this test process is an earlier AppTest's throwaway script; on a server it is
    # the streamlit command or app.py, both safe to re-run. Each worker here starts from a plain __main__.
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    workers.start()
    yield
    workers.shut_down()
    sys.modules["__main__"] = main


@pytest.fixture
def one_thread():
    """The worker's torch threads here too, so float sums are split the same way."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_before_start_a_job_runs_in_the_callers_thread():
    model = load_model(default_model_dir())
    assert workers.run(process_id, model) == os.getpid()
    assert workers.run(lambda m, text: m.trace(text).tokens, model, "a triumph") == ["a", "triumph"]


def test_a_job_in_the_worker_equals_the_same_job_here(worker, one_thread):
    model = load_model(default_model_dir())
    assert workers.run(process_id, model) != os.getpid()
    np.testing.assert_array_equal(workers.run(workers.connectivity, model, TEXT, 5),
                                  analysis.connectivity(model.gru, model.embed(model.tokenize(TEXT)[1][:5])))
    np.testing.assert_array_equal(workers.run(analysis.sentence_gradient_flow, model, TEXT, max_tokens=300),
                                  analysis.sentence_gradient_flow(model, TEXT))
    there = workers.run(analysis.integrated_gradients, model, TEXT, max_tokens=6)
    here = analysis.integrated_gradients(model, TEXT, max_tokens=6)
    assert there.tokens == here.tokens == TEXT.split()[:6]
    np.testing.assert_array_equal(there.attributions, here.attributions)
    texts = [TEXT, "a triumph", "dull and lifeless"]
    stats = workers.run(analysis.memory_statistics, model, texts)
    np.testing.assert_array_equal(stats.timescale, analysis.memory_statistics(model, texts).timescale)


def test_an_uploaded_model_travels_as_itself(worker, one_thread):
    model = load_model(default_model_dir("sst2-rnn"))
    model.path = None  # as gru_viz.upload leaves it: the folder is gone
    with torch.no_grad():  # weights no folder holds: the worker must compute with these
        model.gru.weight_hh_l0.mul_(0.5)
    np.testing.assert_array_equal(workers.run(analysis.sentence_gradient_flow, model, TEXT),
                                  analysis.sentence_gradient_flow(model, TEXT))


def test_a_jobs_error_comes_back_as_itself(worker):
    model = load_model(default_model_dir())
    with pytest.raises(ValueError) as here:
        analysis.sentence_gradient_flow(model, "   ")
    with pytest.raises(ValueError) as there:
        workers.run(analysis.sentence_gradient_flow, model, "   ")
    assert str(there.value) == str(here.value)


def dies(model):
    """A job whose process dies mid-way, as one killed for memory would."""
    os._exit(1)


def test_a_dead_worker_is_replaced_and_the_next_job_runs(worker):
    model = load_model(default_model_dir())
    with pytest.raises(RuntimeError, match="stopped twice"):
        workers.run(dies, model)
    assert workers.run(process_id, model) != os.getpid()
