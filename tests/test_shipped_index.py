"""The corpus index each shipped model carries (models/<model>/index) belongs to that model and says what the model
computes: its contexts, histograms and per-unit ablation are recomputed here on a sample of its own sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gru_viz import analysis
from gru_viz.corpus import open_index, read_corpus
from gru_viz.corpus.statistics import FIELD_RANGES
from gru_viz.model import load_model

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("sst2-gru", "sst2-gru-noreset", "sst2-rnn")
UNITS = (0, 31, 63)  # a sample of units: first, middle, last
MAX_BYTES = 10 * 2**20  # an index travels with its model in git: ~10 MB at most


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request):
    model = load_model(ROOT / "models" / request.param)
    return model, open_index(ROOT / "models" / request.param / "index", model)  # refuses another model's index


def test_the_index_is_small_and_complete(shipped):
    model, index = shipped
    size = sum(path.stat().st_size for path in index.folder.rglob("*") if path.is_file())
    assert size <= MAX_BYTES
    assert index.manifest.files == ["data/sst2/train.tsv"] and index.manifest.sentences == 60_614
    assert index.manifest.heldout["file"] == "data/sst2/val.tsv" and index.manifest.heldout["sentences"] == 6_735
    assert index.histograms is not None and index.verdict is not None and index.unit_ablation is not None


def test_contexts_equal_a_fresh_trace_of_their_sentences(shipped):
    model, index = shipped
    for unit in UNITS:
        for field in ("hidden", "update", "candidate"):
            for largest in (True, False):
                for hit in index.contexts(unit, field, largest=largest, k=5):
                    text, _, _ = index.sentence(hit.sentence)
                    values = getattr(model.trace(text), field)[:, unit]  # (T,)
                    # float32 read in a padded batch or alone: the same equations, rounded apart by ~1e-6
                    assert hit.value == pytest.approx(values[hit.position], abs=1e-5)
                    known = ~np.isnan(hit.values)
                    np.testing.assert_allclose(hit.values[known], values[known], atol=1e-5)


def test_histograms_count_every_word_and_hold_any_sample(shipped):
    model, index = shipped
    sample = read_corpus(ROOT / "data" / "sst2" / "train.tsv").texts[::600]  # 102 of its own sentences
    traces = [model.trace(text) for text in sample]
    for field, (low, high) in FIELD_RANGES.items():
        for unit in UNITS:
            bin_low, bin_high, count = index.histogram(unit, field)
            assert count.sum() == index.manifest.tokens  # every step of every sentence, once
            assert bin_low[0] == low and bin_high[-1] == high and len(count) == index.manifest.options["bins"]
            values = np.concatenate([getattr(trace, field)[:, unit] for trace in traces])
            edges = np.append(bin_low, bin_high[-1])
            counted = np.histogram(np.clip(values, low, high), edges)[0]
            assert (counted <= count).all()  # a sample's words are among the corpus's


def test_unit_ablation_equals_a_recomputation_on_the_validation_file(shipped):
    model, index = shipped
    heldout = read_corpus(ROOT / "data" / "sst2" / "val.tsv")
    result = analysis.unit_ablation(model, heldout.texts, heldout.labels, units=list(UNITS))
    assert result.free_accuracy == index.manifest.heldout["free_accuracy"]
    table = index.unit_ablation
    for c, condition in enumerate(analysis.UNIT_ABLATIONS):
        for i, unit in enumerate(UNITS):
            row = np.flatnonzero((table["unit"] == unit) & (table["condition"] == condition))[0]
            assert table["accuracy"][row] == result.accuracy[c, i]
            stored = index.unit_flips(unit, condition)
            assert [flip["line"] for flip in stored] == heldout.line_of[result.flips(condition, unit)].tolist()
            for flip in stored:
                assert heldout.texts[list(heldout.line_of).index(flip["line"])] == flip["text"]


def test_verdict_direction_is_the_mean_final_state_of_positive_minus_negative(shipped):
    """On a sample, the sample's own direction points the same way as the stored one (it is an estimate of it)."""
    model, index = shipped
    corpus = read_corpus(ROOT / "data" / "sst2" / "train.tsv")
    rows = np.arange(0, len(corpus.texts), 60)  # 1,011 of its sentences
    final = np.array([model.trace(corpus.texts[row]).hidden[-1] for row in rows], dtype=np.float64)
    positive = corpus.labels[rows] == 1
    estimate = final[positive].mean(0) - final[~positive].mean(0)
    direction = index.verdict["direction"]
    assert estimate @ direction / np.linalg.norm(estimate) / np.linalg.norm(direction) > 0.95
    np.testing.assert_allclose(index.verdict["mean_share"], model.readout_weight * index.verdict["mean_final"])
