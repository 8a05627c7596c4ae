"""``gru_viz.corpus``: the index equals the in-process analyses on the same texts (``memory_statistics``,
``top_activations``, ``ablation``, ``dataset_gradient_flow``) and an oracle written here from per-sentence
traces; both engines give the same numbers; reruns skip or resume by shard; bad rows are reported by file and
line; an index built with another model is refused; the CLI prints one line and exits 2 on a fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from gru_viz import analysis
from gru_viz.corpus import CONTEXT_COLUMNS, UNIT_COLUMNS, build_index, model_sha256, open_index, read_corpus
from gru_viz.model import load_model
from gru_viz.text import parse_labelled_tsv

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "sst2-gru"
RNN = ROOT / "models" / "sst2-rnn"
ROWS = 2000  # a few thousand sentences, in 4 shards, so merging across shards is exercised
SHARD_ROWS = 500
FIELDS = ("update", "reset", "candidate", "hidden")


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    """The first ROWS phrases of the shipped SST-2 training file, as a TSV of their own."""
    lines = (ROOT / "data" / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("corpus") / "train-head.tsv"
    path.write_text("\n".join(lines[:ROWS + 1]) + "\n", encoding="utf-8")  # the header and ROWS rows
    return path


@pytest.fixture(scope="module")
def texts_labels(corpus_file):
    return parse_labelled_tsv(corpus_file.read_bytes(), str(corpus_file))


@pytest.fixture(scope="module")
def local_index(tmp_path_factory, corpus_file):
    out = tmp_path_factory.mktemp("index-local")
    manifest = build_index(corpus_file, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    return out, manifest


@pytest.fixture(scope="module")
def oracle(model, texts_labels):
    """Every real step of every sentence, from one ``model.trace`` per sentence: {field: (S, H)}, and the
    (sentence, position) of each step."""
    texts, _ = texts_labels
    values = {field: [] for field in FIELDS}
    sentence_of, position_of = [], []
    for index, text in enumerate(texts):
        gates = model.trace(text).gates
        for field in FIELDS:
            values[field].append(getattr(gates, field)[0, 0, 0])  # (T, H)
        length = gates.update.shape[3]
        sentence_of += [index] * length
        position_of += list(range(length))
    return ({field: np.concatenate(parts).astype(np.float64) for field, parts in values.items()},
            np.array(sentence_of), np.array(position_of))


def _table(folder, name):
    return pq.read_table(Path(folder) / name).to_pandas()


def test_files_and_columns_are_exactly_as_documented(local_index, texts_labels):
    out, manifest = local_index
    assert list(_table(out, "units.parquet").columns) == list(UNIT_COLUMNS)
    for name in ("top_contexts.parquet", "bottom_contexts.parquet"):
        table = _table(out, name)
        assert list(table.columns) == list(CONTEXT_COLUMNS)
        assert len(table) == 64 * 4 * 50
        assert set(table["field"]) == set(FIELDS) and set(table["rank"]) == set(range(50))
    stored = json.loads((out / "manifest.json").read_text())
    for key in ("sentences", "tokens", "model_sha256", "data_sha256", "engine", "version", "wall_seconds",
                "bad_rows"):
        assert key in stored
    assert stored["sentences"] == ROWS == manifest.sentences
    assert stored["engine"] == "local" and stored["bad_rows"] == [] and stored["shards"] == ROWS // SHARD_ROWS
    import hashlib

    assert stored["data_sha256"] == hashlib.sha256(Path(manifest.files[0]).read_bytes()).hexdigest()


def test_unit_statistics_equal_memory_statistics_and_the_oracle(local_index, model, texts_labels, oracle):
    out, manifest = local_index
    texts, _ = texts_labels
    units = _table(out, "units.parquet")
    expected = analysis.memory_statistics(model, texts)
    assert manifest.tokens == expected.steps
    for column in UNIT_COLUMNS[1:]:
        np.testing.assert_allclose(units[column], getattr(expected, column), rtol=1e-9, atol=1e-12)
    values, _, _ = oracle  # float64 arithmetic written here, from per-sentence traces
    assert manifest.tokens == len(values["update"])
    np.testing.assert_allclose(units["update_mean"], values["update"].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(units["reset_high"], (values["reset"] > 0.9).mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(units["timescale"], -1 / np.log(values["update"].mean(axis=0)), rtol=1e-5)
    assert open_index(out, model).labels == expected.labels


def test_contexts_equal_top_activations(local_index, model, texts_labels):
    out, _ = local_index
    texts, _ = texts_labels
    tables = {True: _table(out, "top_contexts.parquet"), False: _table(out, "bottom_contexts.parquet")}
    for unit, field, largest in ((0, "hidden", True), (12, "update", True), (12, "update", False),
                                 (40, "reset", False), (63, "candidate", True)):
        hits = analysis.top_activations(model, texts, unit, k=50, field=field, largest=largest)
        table = tables[largest]
        rows = table[(table["unit"] == unit) & (table["field"] == field)].sort_values("rank")
        assert list(zip(rows["sentence"], rows["position"])) == [(h.sentence, h.position) for h in hits]
        assert list(rows["value"]) == [h.value for h in hits]  # the same float32 values, exactly


def test_contexts_against_the_oracle_for_every_unit_and_field(local_index, oracle):
    """Sorted by (value, sentence, position) here with numpy; values agree to float32 rounding of the batch."""
    out, _ = local_index
    values, sentence_of, position_of = oracle
    for name, sign in (("top_contexts.parquet", -1), ("bottom_contexts.parquet", 1)):
        table = _table(out, name)
        for field in FIELDS:
            stored = table[table["field"] == field].sort_values(["unit", "rank"])["value"].to_numpy().reshape(64, 50)
            for unit in range(64):
                best = np.lexsort((position_of, sentence_of, sign * values[field][:, unit]))[:50]
                np.testing.assert_allclose(stored[unit], values[field][best, unit], atol=1e-6)


def test_ablation_and_gradient_flow_equal_the_analyses(local_index, model, texts_labels):
    out, manifest = local_index
    texts, labels = texts_labels
    stored = json.loads((out / "ablation.json").read_text())
    assert stored["accuracy"] == analysis.ablation(model, texts, labels)
    assert list(stored["accuracy"]) == list(analysis.ABLATIONS)
    sample = manifest.gradient_flow["sentences"]
    assert sample == sorted(_sample(texts, model))  # the documented rule, computed here in Python integers
    expected = analysis.dataset_gradient_flow(model.gru, analysis.embed_texts(model, [texts[i] for i in sample]))
    flow = _table(out, "gradient_flow.parquet")
    for column in ("distance", "mean", "geometric_mean", "count"):
        np.testing.assert_array_equal(flow[column], getattr(expected, column))


def _sample(texts, model, size=400, min_tokens=15, seed=0):
    """The ``size`` rows of at least ``min_tokens`` tokens with the smallest splitmix64(row + seed·γ)."""
    mask, gamma = 2**64 - 1, 0x9E3779B97F4A7C15

    def splitmix(row):
        x = (row + seed * gamma + gamma) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    eligible = [row for row, text in enumerate(texts) if len(model.tokenize(text)[1]) >= min_tokens]
    return sorted(eligible, key=lambda row: (splitmix(row), row))[:size]


def test_opened_index_gives_the_page_what_it_needs(local_index, model, texts_labels):
    out, _ = local_index
    texts, _ = texts_labels
    index = open_index(out, model)
    assert index.ablation == json.loads((out / "ablation.json").read_text())["accuracy"]
    hits = index.contexts(12, "update", largest=False, k=5)
    expected = analysis.top_activations(model, texts, 12, k=5, field="update", largest=False)
    for hit, reference in zip(hits, expected, strict=True):
        assert (hit.sentence, hit.position, hit.value, hit.tokens) == (reference.sentence, reference.position,
                                                                       reference.value, reference.tokens)
        near = slice(max(hit.position - 5, 0), hit.position + 6)
        np.testing.assert_allclose(hit.values[near], reference.values[near], atol=1e-6)
        assert np.isnan(hit.values[:max(hit.position - 5, 0)]).all()
        text, _, line = index.sentence(hit.sentence)
        assert text == texts[hit.sentence] and line == hit.sentence + 2  # a header, then 1-based lines
    once = index.contexts(0, "hidden", one_per_sentence=True)
    assert len({hit.sentence for hit in once}) == len(once)
    with pytest.raises(ValueError, match="unit"):
        index.contexts(64)


def test_histograms_and_verdict_direction_equal_the_oracle(local_index, model, texts_labels, oracle):
    out, manifest = local_index
    texts, labels = texts_labels
    values, _, _ = oracle
    index = open_index(out, model)
    ranges = {"update": (0, 1), "reset": (0, 1), "candidate": (-1, 1), "hidden": (-1, 1)}
    for field in FIELDS:
        for unit in (0, 12, 63):
            low, high, count = index.histogram(unit, field)
            edges = np.linspace(*ranges[field], 41)
            np.testing.assert_allclose(low, edges[:-1])
            np.testing.assert_allclose(high, edges[1:])
            assert count.tolist() == np.histogram(np.clip(values[field][:, unit], *ranges[field]), edges)[0].tolist()
            assert count.sum() == manifest.tokens
    final = np.array([model.trace(text).hidden[-1] for text in texts], dtype=np.float64)  # (N, H)
    positive = np.asarray(labels) == 1
    np.testing.assert_allclose(index.verdict["direction"], final[positive].mean(0) - final[~positive].mean(0),
                               atol=1e-6)
    np.testing.assert_allclose(index.verdict["mean_final"], final.mean(0), atol=1e-6)
    weight = model.readout_weight  # float32 traces batched or one by one differ in the last bits: atol 1e-6
    np.testing.assert_allclose(index.verdict["mean_share"], (weight * final).mean(0), atol=1e-6)
    np.testing.assert_allclose(index.verdict["mean_abs_share"], np.abs(weight * final).mean(0), atol=1e-6)


def test_one_context_per_sentence_are_the_sentences_of_most_extreme_h(local_index, model, oracle):
    out, _ = local_index
    values, sentence_of, position_of = oracle
    index = open_index(out, model)
    for unit in (0, 12, 63):
        for largest in (True, False):
            hits = index.contexts(unit, "hidden", largest=largest, one_per_sentence=True)
            h = values["hidden"][:, unit] * (1 if largest else -1)
            best = {}  # sentence → (its most extreme value, the first position holding it)
            for value, sentence, position in zip(h, sentence_of, position_of):
                if sentence not in best or value > best[sentence][0]:
                    best[sentence] = (value, position)
            expected = sorted(best, key=lambda sentence: (-best[sentence][0], sentence))[:20]
            assert len(hits) == 20
            # float32 batched against one by one: the order may differ only between values within 1e-6
            for hit, sentence in zip(hits, expected):
                assert abs(hit.value * (1 if largest else -1) - best[sentence][0]) < 1e-5
            assert {hit.sentence for hit in hits} ^ set(expected) <= {
                s for s in best if abs(best[s][0] - best[expected[-1]][0]) < 1e-5}
            for hit in hits:
                if hit.sentence in best and abs(best[hit.sentence][0] - hit.value * (1 if largest else -1)) < 1e-5:
                    assert hit.values[hit.position] == hit.value


def test_heldout_adds_the_per_unit_ablation(tmp_path, model, corpus_file):
    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    heldout = tmp_path / "heldout.tsv"
    heldout.write_text("\n".join(lines[:301]) + "\n", encoding="utf-8")
    out = tmp_path / "index"
    manifest = build_index(heldout, MODEL, out, progress=False, heldout=heldout)
    assert manifest.heldout["sentences"] == 300 and manifest.heldout["file"] == str(heldout)
    texts, labels = parse_labelled_tsv(heldout.read_bytes(), str(heldout))
    expected = analysis.unit_ablation(model, texts, labels)
    index = open_index(out, model)
    table = index.unit_ablation
    for c, condition in enumerate(analysis.UNIT_ABLATIONS):
        rows = table["condition"] == condition
        assert table["unit"][rows].tolist() == list(range(64))
        np.testing.assert_array_equal(table["accuracy"][rows], expected.accuracy[c])
        for unit in range(64):
            flips = index.unit_flips(unit, condition)
            assert [flip["line"] - 2 for flip in flips] == expected.flips(condition, unit).tolist()
            assert table["flips"][rows][unit] == len(flips)
    assert manifest.heldout["free_accuracy"] == expected.free_accuracy
    assert build_index(heldout, MODEL, out, progress=False, heldout=heldout).skipped
    assert not build_index(heldout, MODEL, out, progress=False).skipped  # the ablation goes with its file
    assert open_index(out, model).unit_ablation is None


def test_an_index_of_another_model_is_refused(local_index):
    out, _ = local_index
    with pytest.raises(ValueError, match="built with another model"):
        open_index(out, load_model(RNN))
    assert open_index(out).manifest.model_sha256 == model_sha256(load_model(MODEL))


def test_rerun_skips_and_an_interrupted_build_resumes_by_shard(tmp_path, corpus_file):
    out = tmp_path / "index"
    first = build_index(corpus_file, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    assert not first.skipped and first.shards_reused == 0
    stamps = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    again = build_index(corpus_file, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    assert again.skipped and {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == stamps

    shards = sorted((out / "shards").glob("*.npz"))
    assert len(shards) == 4
    shards[1].unlink()  # as if the build had stopped before this shard
    (out / "manifest.json").unlink()
    units = _table(out, "units.parquet")
    resumed = build_index(corpus_file, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    assert not resumed.skipped and resumed.shards_reused == 3
    assert _table(out, "units.parquet").equals(units)

    longer = tmp_path / "longer.tsv"  # one row more: the four full shards are reused, one new shard is read
    longer.write_text(corpus_file.read_text() + "a new and quite wonderful film\t1\n")
    grown = build_index(longer, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    assert (grown.sentences, grown.shards, grown.shards_reused) == (ROWS + 1, 5, 4)
    assert len(list((out / "shards").glob("*.npz"))) == 5
    back = build_index(corpus_file, MODEL, out, shard_rows=SHARD_ROWS, progress=False)
    assert (back.shards_reused, len(list((out / "shards").glob("*.npz")))) == (4, 4)  # the stale shard is gone


def test_bad_rows_are_skipped_and_reported_by_file_and_line(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "b").mkdir(parents=True)
    (folder / "a.tsv").write_bytes(b"sentence\tlabel\na fine film\t1\nno tab here\n\nbad label\t2\n\t1\n"
                                   b"a dull film\t0\n")
    (folder / "b" / "c.tsv").write_bytes(b"\xff\xfe broken bytes\t1\nzero\xe2\x80\x8b\t0\n\xe2\x80\x8b\t1\n"
                                         b"the best film of the year\t1\n")
    (folder / "notes.txt").write_text("not a tsv: not read\n")
    corpus = read_corpus(folder)
    assert corpus.texts == ["a fine film", "a dull film", "zero\u200b", "the best film of the year"]
    assert [(corpus.files[f], int(line)) for f, line in zip(corpus.file_of, corpus.line_of)] == [
        ("a.tsv", 2), ("a.tsv", 7), ("b/c.tsv", 2), ("b/c.tsv", 4)]
    assert [(row.file, row.line) for row in corpus.bad_rows] == [("a.tsv", 3), ("a.tsv", 5), ("a.tsv", 6),
                                                                  ("b/c.tsv", 1), ("b/c.tsv", 3)]
    assert "UTF-8" in corpus.bad_rows[3].reason and "no words" in corpus.bad_rows[4].reason
    for bad in ("no tab here\n", "bad label\t2\n", "\u200b\t1\n"):  # the rules of parse_labelled_tsv
        with pytest.raises(ValueError, match="line 2"):
            parse_labelled_tsv(f"a fine film\t1\n{bad}".encode(), "f")

    out = tmp_path / "index"
    manifest = build_index(folder, MODEL, out, progress=False)
    assert manifest.sentences == 4 and manifest.files == ["a.tsv", "b/c.tsv"]
    assert [(row["file"], row["line"]) for row in manifest.bad_rows] == [(row.file, row.line)
                                                                         for row in corpus.bad_rows]
    sentences = _table(out, "sentences.parquet")
    assert set(sentences["sentence"]) == {0, 1, 2, 3}  # every row is some unit's context in so small a corpus
    assert sentences[sentences["sentence"] == 3][["file", "line"]].values.tolist() == [["b/c.tsv", 4]]
    assert len(_table(out, "top_contexts.parquet")) == 64 * 4 * manifest.tokens  # fewer steps than k = 50


def test_a_corpus_shorter_than_k_steps_keeps_every_step(tmp_path):
    data = tmp_path / "tiny.tsv"
    data.write_text("a fine film\t1\nawful\t0\n")
    out = tmp_path / "index"
    build_index(data, MODEL, out, progress=False)
    table = _table(out, "top_contexts.parquet")
    assert len(table) == 64 * 4 * 4  # 4 steps in all: every unit and field ranks all of them
    assert sorted(zip(table[(table.unit == 0) & (table.field == "hidden")]["sentence"],
                      table[(table.unit == 0) & (table.field == "hidden")]["position"])) == [(0, 0), (0, 1), (0, 2),
                                                                                             (1, 0)]


def test_an_rnn_index_has_no_ablation(tmp_path, corpus_file):
    data = tmp_path / "head.tsv"
    data.write_text("\n".join(corpus_file.read_text().splitlines()[:200]) + "\n")
    manifest = build_index(data, RNN, tmp_path / "index", progress=False)
    assert manifest.ablation is None and not (tmp_path / "index" / "ablation.json").exists()
    assert open_index(tmp_path / "index", load_model(RNN)).ablation is None


def test_cli_index_json_and_one_line_errors(tmp_path, corpus_file, capsys):
    data = tmp_path / "head.tsv"
    data.write_text("\n".join(corpus_file.read_text().splitlines()[:100]) + "\n")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "gru_viz", "index", "--data", str(data), "--model", str(MODEL),
                          "--out", str(tmp_path / "index"), "--json"], capture_output=True, text=True, cwd=ROOT,
                         env=environment, timeout=300)
    assert run.returncode == 0, run.stderr
    printed = json.loads(run.stdout)
    assert printed["sentences"] == 99 and printed["skipped"] is False and "index (local)" in run.stderr
    from gru_viz import cli

    for arguments, message in ((["--data", str(tmp_path / "missing.tsv")], "no such file or folder"),
                               (["--data", str(data), "--address", "auto"], "--engine ray"),
                               (["--data", str(data), "--model", str(tmp_path)], "card.json")):
        assert cli.main(["index", *arguments, "--out", str(tmp_path / "x")]) == 2
        printed = capsys.readouterr()
        assert message in printed.err and printed.out == "" and len(printed.err.strip().splitlines()) == 1


# ---- the Ray engine -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_runtime():
    """One small local Ray runtime for the module (two CPUs, no dashboard), stopped at the end."""
    ray = pytest.importorskip("ray", reason="the ray engine needs pip install -r requirements-dev.txt")
    from gru_viz.corpus.engines import start_ray

    started = start_ray(workers=2)
    yield ray
    if started:
        ray.shutdown()


def _assert_same_table(table, expected):
    """Equal schemas and columns, NaN equal to NaN (pyarrow's own equals says NaN ≠ NaN)."""
    assert table.schema == expected.schema
    for name in expected.column_names:
        column, wanted = table[name].combine_chunks(), expected[name].combine_chunks()
        if hasattr(wanted, "flatten"):  # the context windows, a fixed-size list column
            column, wanted = column.flatten(), wanted.flatten()
        np.testing.assert_array_equal(column.to_numpy(zero_copy_only=False), wanted.to_numpy(zero_copy_only=False),
                                      err_msg=name)


@pytest.mark.slow
def test_both_engines_give_the_same_numbers(ray_runtime, local_index, corpus_file, tmp_path):
    local_out, local_manifest = local_index
    out = tmp_path / "index-ray"
    manifest = build_index(corpus_file, MODEL, out, engine="ray", workers=2, shard_rows=SHARD_ROWS, progress=False)
    assert manifest.engine == "ray" and manifest.shards_reused == 0
    for name in ("units.parquet", "top_contexts.parquet", "bottom_contexts.parquet", "context_windows.parquet",
                 "sentences.parquet", "gradient_flow.parquet", "histograms.parquet", "verdict.parquet"):
        _assert_same_table(pq.read_table(out / name), pq.read_table(local_out / name))
    assert (out / "ablation.json").read_text() == (local_out / "ablation.json").read_text()
    for key in ("sentences", "tokens", "model_sha256", "data_sha256", "gradient_flow", "ablation"):
        assert getattr(manifest, key) == getattr(local_manifest, key)
    local_shards = sorted(path.name for path in (local_out / "shards").iterdir())
    assert sorted(path.name for path in (out / "shards").iterdir()) == local_shards
    for name in local_shards:  # the same partial statistics, array by array
        with np.load(out / "shards" / name) as ray_arrays, np.load(local_out / "shards" / name) as local_arrays:
            for key in local_arrays.files:
                np.testing.assert_array_equal(ray_arrays[key], local_arrays[key])
