"""Build an activation index of a corpus in one pass, and open one.

``build_index`` reads the corpus (``reading.read_corpus``), cuts it into shards of ``shard_rows`` rows,
reads every shard not already stored under ``OUT/shards/`` with the chosen engine, stores each shard's
partial statistics as it arrives, merges them in shard order and writes the files below. A rerun on the
same data, model and options is skipped (the manifest says so); an interrupted run resumes, rereading only
the shards it lacks: a shard's file is named by the SHA-256 of its rows, its offset and the options, and
by the model's SHA-256.

    units.parquet            unit, update_mean, reset_mean, update_low, update_high, reset_low, reset_high,
                             timescale: ``analysis.memory_statistics`` over the whole corpus, one row a unit
    top_contexts.parquet     unit, field, rank, sentence, position, value: for every unit and field (update,
                             reset, candidate, hidden) the top_k (default 50) steps, rank 0 = the highest,
                             ties to the earlier sentence then position, as ``analysis.top_activations``
    bottom_contexts.parquet  the same for the lowest (``largest=False``)
    context_windows.parquet  unit, field, direction ("top"|"bottom"), rank, window: the unit's field at the
                             ``window`` words either side of each context (NaN beyond the sentence), so a page
                             can shade the words around a hit without tracing
    sentences.parquet        sentence, file, line, text: every sentence a context or the gradient-flow
                             sample refers to
    ablation.json            GRU with labels: {"accuracy": {condition: float}, "correct": {condition: int},
                             "sentences": N} under the four conditions of ``analysis.ABLATIONS``
    gradient_flow.parquet    distance, mean, geometric_mean, count: ``analysis.dataset_gradient_flow`` over
                             the sample described in the manifest (by default the 400 sentences of ≥ 15 tokens
                             of smallest seeded priority, ``statistics.flow_priority``; all of them if fewer)
    histograms.parquet       unit, field, bin_low, bin_high, count: every step of every sentence, in
                             ``Options.bins`` fixed bins of ``statistics.FIELD_RANGES`` (z, r in [0, 1];
                             n, h in [−1, 1]; values beyond a range count in its end bin)
    unit_contexts.parquet    unit, direction, rank, sentence, position, value, window: for every unit the
                             ``Options.sentence_contexts`` sentences of highest (lowest) h, one step each
                             (its strongest, ties to the earlier position), with its window as above
    verdict.parquet          unit, direction, mean_final, mean_share, mean_abs_share: the verdict direction
                             (mean h_T of positive minus negative sentences), the mean h_T, and each unit's
                             mean share w_u (h_T,u − h_0,u) of the logit and its mean size
    unit_ablation.parquet    unit, condition, accuracy, correct, flips: with ``heldout``, accuracy on that
                             file with one unit zeroed (or frozen at h0) after every word
                             (``analysis.unit_ablation``), and how many verdicts flip
    unit_flips.parquet       unit, condition, rank, line, text, label, free, ablated: those sentences,
                             largest move of P(positive) first
    manifest.json            see ``Manifest``; written last, so its presence means the index is complete

>>> manifest = build_index("data/sst2/val.tsv", "models/sst2-gru", "artifacts/index-val")  # doctest: +SKIP
>>> index = open_index("artifacts/index-val", load_model("models/sst2-gru"))             # doctest: +SKIP
>>> index.contexts(unit=12, field="hidden")[0].context(3)                               # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from gru_viz.analysis import (
    ABLATIONS,
    UNIT_ABLATIONS,
    Activation,
    GradientFlowByDistance,
    dataset_gradient_flow,
    embed_texts,
    unit_ablation,
)
from gru_viz.corpus.engines import ENGINES, Shard, run_local, run_ray
from gru_viz.corpus.reading import data_sha256 as _data_sha256
from gru_viz.corpus.reading import read_corpus
from gru_viz.corpus.statistics import (
    DIRECTIONS,
    FIELDS,
    SENTENCE_DIRECTIONS,
    Options,
    bin_edges,
    merge_partials,
    partial_from_bytes,
)
from gru_viz.model import CARD, VOCAB, WEIGHTS, ModelConfig, SentimentModel, is_positive, load_model

__all__ = ["INDEX_FORMAT", "CorpusIndex", "Manifest", "build_index", "model_sha256", "open_index"]

INDEX_FORMAT = "gru-viz-index/1"
SHARD_ROWS = 4096  # rows per shard: ~1-3 s of work each, and ~0.5 MB of partial statistics
UNIT_COLUMNS = ("unit", "update_mean", "reset_mean", "update_low", "update_high", "reset_low", "reset_high",
                "timescale")
CONTEXT_COLUMNS = ("unit", "field", "rank", "sentence", "position", "value")
OUTPUTS = ("units.parquet", "top_contexts.parquet", "bottom_contexts.parquet", "context_windows.parquet",
           "sentences.parquet", "gradient_flow.parquet", "histograms.parquet", "verdict.parquet",
           "unit_contexts.parquet")
HELDOUT_OUTPUTS = ("unit_ablation.parquet", "unit_flips.parquet")  # written when a held-out file is given


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and how (``manifest.json``).

    sentences, tokens: rows read and real steps traced (after the tokenizer's MAX_TOKENS cut).
    model_sha256: ``model_sha256(model)``; data_sha256: ``reading.data_sha256(path)``.
    engine, version (``gru_viz.__version__``), wall_seconds, created (UTC, ISO 8601).
    bad_rows: every skipped row as {"file", "line", "reason"}; files: the corpus's files in reading order.
    shards, shards_reused (read from OUT/shards instead of recomputed), shard_rows, options (``Options``).
    model: {"name", "arch", "hidden_size"}; labelled; cut_sentences (cut at MAX_TOKENS).
    timings: seconds spent loading the model, reading the corpus, reading the shards (``shards``), merging,
    on the gradient-flow sample and writing: the figures a projection to a larger corpus needs; first_shard:
    from the engine's start to its first shard (Ray: actor start-up and model load).
    workers: {"processes": the processes that read shards, "peak_rss_mib": their peak resident memory}.
    ablation: {"accuracy", "correct", "sentences"} or None (an RNN, or no labels).
    gradient_flow: {"sample", "min_tokens", "seed", "eligible" (sentences long enough), "sentences": [rows]}.
    heldout: {"file", "data_sha256", "sentences", "free_accuracy", "bad_rows"} of the held-out file the
    per-unit ablation read, or None (no file given, or an index older than the per-unit ablation).
    skipped: True when ``build_index`` found this index up to date and did nothing (not stored).
    """

    sentences: int
    tokens: int
    model_sha256: str
    data_sha256: str
    engine: str
    version: str
    wall_seconds: float
    created: str
    bad_rows: list[dict]
    files: list[str]
    shards: int
    shards_reused: int
    shard_rows: int
    options: dict
    model: dict
    labelled: bool
    cut_sentences: int
    ablation: dict | None
    gradient_flow: dict
    timings: dict
    workers: dict
    format: str = INDEX_FORMAT
    heldout: dict | None = None
    skipped: bool = field(default=False, compare=False)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("skipped")
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def read(cls, folder) -> "Manifest":
        path = Path(folder) / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{folder}: not an index folder (no manifest.json; build one with "
                             "python -m gru_viz index)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise ValueError(f"{path}: not readable JSON ({error})") from None
        names = {f.name for f in fields(cls)} - {"skipped", "heldout"}
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or not names <= set(data):
            raise ValueError(f"{path}: not a {INDEX_FORMAT} manifest")
        return cls(**{name: data[name] for name in names}, heldout=data.get("heldout"))


STACK_KEYS = ("num_layers", "bidirectional", "num_classes", "readout")


def model_sha256(model: SentimentModel) -> str:
    """SHA-256 of what the model computes: its config, its vocabulary and its float32 weights (by tensor name).
    The same for a folder and for its upload; a card's other notes (metrics, name) do not change it."""
    digest = hashlib.sha256()
    config = asdict(model.config)
    for key in STACK_KEYS:  # a one-layer model hashes as before these keys existed, so its indexes stay valid
        if config[key] == getattr(ModelConfig, key):
            del config[key]
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update(json.dumps(model.vocab.tokens, ensure_ascii=False).encode())
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().float().contiguous().numpy()
        digest.update(f"{name}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _version() -> str:
    import gru_viz

    return getattr(gru_viz, "__version__", "unknown")


def _indexable_model(model_dir):
    model = load_model(model_dir)
    if not model.single_path:  # the statistics read the memory the head reads, one layer and one logit
        raise ValueError(f"{model.name}: a corpus index is built for one layer, one direction and one logit read "
                         "from the last state")
    return model


def build_index(data, model_dir, out, *, engine: str = "local", address: str | None = None, workers: int | None = None,
                shard_rows: int = SHARD_ROWS, options: Options | None = None, progress: bool = True,
                heldout=None) -> Manifest:
    """Index the corpus ``data`` (a labelled TSV or a folder of them) with the model folder ``model_dir``
    into the folder ``out`` (created if needed). ``heldout``, a labelled TSV (e.g. the validation file),
    adds the per-unit ablation on it. ``engine``: "local" (in this process) or "ray" (Ray
    Data; ``address`` joins a cluster, ``workers`` caps the actor pool). ``progress`` draws a tqdm bar on
    stderr. Returns the ``Manifest``; its ``skipped`` is True when the index was already up to date.
    Every fault a user can cause is a ``ValueError``."""
    started = time.perf_counter()
    options = options or Options()
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if not isinstance(shard_rows, int) or isinstance(shard_rows, bool) or shard_rows < 1:
        raise ValueError(f"shard_rows must be a positive whole number, got {shard_rows!r}")
    if address and engine != "ray":
        raise ValueError("--address joins a Ray cluster: use it with --engine ray")
    model = _indexable_model(model_dir)
    load_seconds = time.perf_counter() - started
    model_hash, data_hash = model_sha256(model), _data_sha256(data)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    heldout_hash = None if heldout is None else _data_sha256(heldout)
    current = _up_to_date(out, model_hash, data_hash, shard_rows, options, heldout_hash)
    if current is not None:
        return current
    (out / "manifest.json").unlink(missing_ok=True)  # until the new one is written, the folder is no index

    timings = {"load": load_seconds}
    clock = time.perf_counter()
    corpus = read_corpus(data)
    timings["read"] = time.perf_counter() - clock
    shards = [Shard(number, start, corpus.texts[start:start + shard_rows],
                    corpus.labels[start:start + shard_rows].tolist())
              for number, start in enumerate(range(0, len(corpus.texts), shard_rows))]
    store = out / "shards"
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"{out}: cannot write the folder ({error.strerror or error})") from None
    paths = {shard.number: store / f"{_shard_sha256(shard, options)[:32]}-{model_hash[:16]}.npz" for shard in shards}
    missing = [shard for shard in shards if not paths[shard.number].is_file()]
    bar = _bar(len(corpus.texts), progress, engine)
    bar.update(len(corpus.texts) - sum(len(shard.texts) for shard in missing))
    peak_rss = {}  # {pid: bytes} of the processes that read shards
    if engine == "local" or not missing:  # nothing to read: no need to start Ray
        results = run_local(model, missing, options)
    else:
        files = {name: (Path(model_dir) / name).read_bytes() for name in (WEIGHTS, VOCAB, CARD)}
        results = run_ray(files, missing, options, address=address, workers=workers, peak_rss=peak_rss)
    clock = time.perf_counter()
    try:
        for number, partial in results:
            timings.setdefault("first_shard", time.perf_counter() - clock)
            _write_atomic(paths[number], partial)
            bar.update(len(shards[number].texts))
    finally:
        bar.close()
    timings["shards"] = time.perf_counter() - clock
    if engine == "local" or not missing:
        peak_rss[os.getpid()] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB

    clock = time.perf_counter()
    merged = merge_partials((_read_partial(paths[shard.number]) for shard in shards), options)
    timings["merge"] = time.perf_counter() - clock
    clock = time.perf_counter()
    flow_rows = np.sort(merged["flow_sentence"])
    with _torch_threads(1):
        flow = _gradient_flow(model, [corpus.texts[i] for i in flow_rows])
    timings["gradient_flow"] = time.perf_counter() - clock
    clock = time.perf_counter()
    ablation = None
    if "ablation_correct" in merged:
        correct = {name: int(count) for name, count in zip(ABLATIONS, merged["ablation_correct"])}
        ablation = {"accuracy": {name: count / len(corpus.texts) for name, count in correct.items()},
                    "correct": correct, "sentences": len(corpus.texts)}
    _write_outputs(out, merged, corpus, flow, flow_rows, ablation, model.readout_weight)
    timings["write"] = time.perf_counter() - clock
    clock = time.perf_counter()
    heldout_note = None
    with _torch_threads(1):
        if heldout is not None:
            heldout_note = _write_unit_ablation(out, model, heldout, heldout_hash)
        else:
            for name in HELDOUT_OUTPUTS:
                (out / name).unlink(missing_ok=True)
    timings["unit_ablation"] = time.perf_counter() - clock
    manifest = Manifest(
        sentences=len(corpus.texts), tokens=int(merged["steps"]), model_sha256=model_hash, data_sha256=data_hash,
        engine=engine, version=_version(), wall_seconds=round(time.perf_counter() - started, 3),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        bad_rows=[asdict(row) for row in corpus.bad_rows], files=corpus.files, shards=len(shards),
        shards_reused=len(shards) - len(missing), shard_rows=shard_rows, options=asdict(options),
        model={"name": model.name, "arch": model.arch, "hidden_size": model.gru.hidden_size},
        labelled=True, cut_sentences=int(merged["cut"]), ablation=ablation,
        gradient_flow={"sample": options.flow_sample, "min_tokens": options.flow_min_tokens,
                       "seed": options.flow_seed, "eligible": int(merged["flow_eligible"]),
                       "sentences": flow_rows.tolist()},
        timings={name: round(seconds, 3) for name, seconds in timings.items()},
        workers={"processes": len(peak_rss), "peak_rss_mib": [round(value / 2**20, 1) for value in
                                                              sorted(peak_rss.values())]},
        heldout=heldout_note)
    _write_atomic(out / "manifest.json", manifest.to_json().encode())
    kept = set(paths.values())
    for stale in store.glob("*.npz"):  # shards of earlier data or another model: this folder holds one index
        if stale not in kept:
            stale.unlink(missing_ok=True)
    return manifest


def _up_to_date(out: Path, model_hash, data_hash, shard_rows, options, heldout_hash) -> Manifest | None:
    try:
        manifest = Manifest.read(out)
    except ValueError:
        return None
    same = (manifest.model_sha256 == model_hash and manifest.data_sha256 == data_hash
            and manifest.shard_rows == shard_rows and manifest.options == asdict(options)
            and (manifest.heldout or {}).get("data_sha256") == heldout_hash)
    outputs = OUTPUTS + (HELDOUT_OUTPUTS if heldout_hash else ())
    if same and all((out / name).is_file() for name in outputs):
        return Manifest(**{**asdict(manifest), "skipped": True})
    return None


def _shard_sha256(shard: Shard, options: Options) -> str:
    digest = hashlib.sha256(json.dumps({"offset": shard.offset, "options": asdict(options)}, sort_keys=True).encode())
    for text, label in zip(shard.texts, shard.labels or [None] * len(shard.texts)):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def _bar(total: int, enabled: bool, engine: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"index ({engine})", unit="sentence", file=sys.stderr, mininterval=0.5,
                disable=not enabled)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name and rename, so a half-written file never looks complete."""
    temporary = path.with_name(path.name + ".part")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        raise ValueError(f"{path}: cannot write the file ({error.strerror or error})") from None


def _read_partial(path: Path) -> dict:
    return partial_from_bytes(path.read_bytes())


@contextmanager
def _torch_threads(threads: int):
    """One torch thread: these matrices are small, and with other work on the cores it is several times faster."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _gradient_flow(model: SentimentModel, texts: list[str]) -> GradientFlowByDistance | None:
    if not texts:
        return None
    return dataset_gradient_flow(model.gru, embed_texts(model, texts))


def _write_unit_ablation(out: Path, model: SentimentModel, heldout, heldout_hash: str) -> dict:
    """``analysis.unit_ablation`` of every unit on the held-out file: unit_ablation.parquet, unit_flips.parquet,
    and the manifest's note on what was read."""
    data = read_corpus(heldout)
    result = unit_ablation(model, data.texts, data.labels)
    summary = {"unit": [], "condition": [], "accuracy": [], "correct": [], "flips": []}
    flips = {"unit": [], "condition": [], "rank": [], "line": [], "text": [], "label": [], "free": [], "ablated": []}
    correct = is_positive(result.probability) == result.labels  # (C, U, N)
    for c, condition in enumerate(UNIT_ABLATIONS):
        for i, unit in enumerate(result.units.tolist()):
            flipped = result.flips(condition, unit)
            summary["unit"].append(unit)
            summary["condition"].append(condition)
            summary["accuracy"].append(float(result.accuracy[c, i]))
            summary["correct"].append(int(correct[c, i].sum()))
            summary["flips"].append(len(flipped))
            for rank, row in enumerate(flipped.tolist()):
                for name, value in (("unit", unit), ("condition", condition), ("rank", rank),
                                    ("line", int(data.line_of[row])), ("text", data.texts[row]),
                                    ("label", int(data.labels[row])), ("free", float(result.free[row])),
                                    ("ablated", float(result.probability[c, i, row]))):
                    flips[name].append(value)
    _write_table(out / "unit_ablation.parquet", {name: np.asarray(values) for name, values in summary.items()})
    _write_table(out / "unit_flips.parquet", {
        "unit": np.asarray(flips["unit"], dtype=np.int64), "condition": pa.array(flips["condition"], pa.string()),
        "rank": np.asarray(flips["rank"], dtype=np.int64), "line": np.asarray(flips["line"], dtype=np.int64),
        "text": pa.array(flips["text"], pa.string()), "label": np.asarray(flips["label"], dtype=np.int64),
        "free": np.asarray(flips["free"], dtype=np.float64), "ablated": np.asarray(flips["ablated"], dtype=np.float64)})
    return {"file": str(heldout), "data_sha256": heldout_hash, "sentences": len(data.texts),
            "free_accuracy": result.free_accuracy, "bad_rows": len(data.bad_rows)}


def _write_outputs(out: Path, merged: dict, corpus, flow, flow_rows, ablation, weight) -> None:
    steps = int(merged["steps"])
    update_mean, reset_mean = merged["update_sum"] / steps, merged["reset_sum"] / steps
    with np.errstate(divide="ignore"):  # as memory_statistics: mean z = 1 → τ = inf, mean z = 0 → τ = 0
        timescale = np.where(update_mean >= 1.0, np.inf, -1.0 / np.log(update_mean))
    units = len(update_mean)
    _write_table(out / "units.parquet", {
        "unit": np.arange(units, dtype=np.int64), "update_mean": update_mean, "reset_mean": reset_mean,
        **{name: merged[name] / steps for name in ("update_low", "update_high", "reset_low", "reset_high")},
        "timescale": timescale})
    referenced = {int(row) for row in flow_rows}
    window_columns = {"unit": [], "field": [], "direction": [], "rank": [], "window": []}
    for direction in DIRECTIONS:
        sentence = merged[f"{direction}_sentence"]  # (F, H, K)
        fields_, units_, k = sentence.shape
        f, u, r = np.meshgrid(np.arange(fields_), np.arange(units_), np.arange(k), indexing="ij")
        kept = sentence >= 0  # a corpus shorter than k steps leaves empty slots
        order = np.lexsort((r[kept], f[kept], u[kept]))  # rows by unit, field, rank
        field_names = np.array(FIELDS)[f[kept]][order]
        _write_table(out / f"{direction}_contexts.parquet", {
            "unit": u[kept][order].astype(np.int64), "field": field_names, "rank": r[kept][order].astype(np.int64),
            "sentence": sentence[kept][order], "position": merged[f"{direction}_position"][kept][order],
            "value": merged[f"{direction}_value"][kept][order].astype(np.float64)})
        window_columns["unit"].append(u[kept][order])
        window_columns["field"].append(field_names)
        window_columns["direction"].append(np.full(int(kept.sum()), direction))
        window_columns["rank"].append(r[kept][order])
        window_columns["window"].append(merged[f"{direction}_window"][kept][order])
        referenced.update(sentence[kept].tolist())
    windows = np.concatenate(window_columns.pop("window"))  # (rows, 2·window + 1) float32
    table = {name: np.concatenate(parts) for name, parts in window_columns.items()}
    table["window"] = pa.FixedSizeListArray.from_arrays(pa.array(windows.ravel(), pa.float32()), windows.shape[1])
    _write_table(out / "context_windows.parquet", table)
    columns = {"unit": [], "direction": [], "rank": [], "sentence": [], "position": [], "value": [], "window": []}
    for direction in SENTENCE_DIRECTIONS:
        sentence = merged[f"{direction}_sentence"][0]  # (H, S)
        unit_, rank_ = np.nonzero(sentence >= 0)  # row-major: by unit, then rank
        columns["unit"].append(unit_.astype(np.int64))
        columns["direction"].append(np.full(len(unit_), direction.removeprefix("sentence_")))
        columns["rank"].append(rank_.astype(np.int64))
        for name in ("sentence", "position", "value", "window"):
            columns[name].append(merged[f"{direction}_{name}"][0][unit_, rank_])
        referenced.update(sentence[unit_, rank_].tolist())
    table = {name: np.concatenate(parts) for name, parts in columns.items()}
    table["value"] = table["value"].astype(np.float64)
    table["window"] = pa.FixedSizeListArray.from_arrays(pa.array(table["window"].ravel(), pa.float32()),
                                                        table["window"].shape[1])
    _write_table(out / "unit_contexts.parquet", table)
    rows = np.array(sorted(referenced), dtype=np.int64)
    _write_table(out / "sentences.parquet", {
        "sentence": rows, "file": [corpus.files[corpus.file_of[i]] for i in rows],
        "line": corpus.line_of[rows], "text": [corpus.texts[i] for i in rows]})
    if flow is None:
        flow_table = {"distance": np.zeros(0, np.int64), "mean": np.zeros(0), "geometric_mean": np.zeros(0),
                      "count": np.zeros(0, np.int64)}
    else:
        flow_table = {"distance": flow.distance.astype(np.int64), "mean": flow.mean,
                      "geometric_mean": flow.geometric_mean, "count": flow.count.astype(np.int64)}
    _write_table(out / "gradient_flow.parquet", flow_table)
    histogram = merged["histogram"]  # (F, H, B)
    bins = histogram.shape[-1]
    f, u, b = np.meshgrid(np.arange(len(FIELDS)), np.arange(units), np.arange(bins), indexing="ij")
    edges = np.stack([bin_edges(name, bins) for name in FIELDS])  # (F, B + 1)
    _write_table(out / "histograms.parquet", {
        "unit": u.ravel().astype(np.int64), "field": np.array(FIELDS)[f.ravel()],
        "bin_low": edges[f.ravel(), b.ravel()], "bin_high": edges[f.ravel(), b.ravel() + 1],
        "count": histogram.ravel().astype(np.int64)})  # rows by field, unit, bin
    sentences, positive = int(merged["sentences"]), int(merged["positive"])
    negative = sentences - positive
    with np.errstate(invalid="ignore", divide="ignore"):  # a corpus of one polarity has no direction: NaN
        direction = (merged["final_sum_positive"] / positive
                     - (merged["final_sum"] - merged["final_sum_positive"]) / negative)
    mean_final = merged["final_sum"] / sentences
    _write_table(out / "verdict.parquet", {
        "unit": np.arange(units, dtype=np.int64), "direction": direction, "mean_final": mean_final,
        "mean_share": np.asarray(weight) * mean_final,  # the index traces from h0 = 0
        "mean_abs_share": merged["share_abs_sum"] / sentences})
    ablation_path = out / "ablation.json"
    if ablation is not None:
        _write_atomic(ablation_path, (json.dumps(ablation, indent=1) + "\n").encode())
    elif ablation_path.exists():
        ablation_path.unlink()


def _write_table(path: Path, columns: dict) -> None:
    temporary = path.with_name(path.name + ".part")
    try:
        pq.write_table(pa.table(columns), temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise ValueError(f"{path}: cannot write the file ({error.strerror or error})") from None


# ---- reading an index ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusIndex:
    """An opened index: everything the page shows, read from disk, nothing computed.

    folder, manifest (``Manifest``).
    units:       {column: (H,) array} of units.parquet (UNIT_COLUMNS).
    labels:      H str, ``analysis`` rules (integrator, resetter, fast, mixed) applied to ``units``.
    ablation:    {condition: accuracy} (the keys of ``analysis.ABLATIONS``) or None.
    flow:        ``analysis.GradientFlowByDistance`` over the sample, or None when no sentence was long enough.
    histograms:  {column: array} of histograms.parquet, or None (an index built before it existed).
    verdict:     {column: (H,) array} of verdict.parquet (``direction``, ``mean_share`` …), or None.
    unit_ablation: {column: array} of unit_ablation.parquet, or None (built without a held-out file).
    """

    folder: Path
    manifest: Manifest
    units: dict
    labels: list[str]
    ablation: dict | None
    flow: GradientFlowByDistance | None
    _contexts: dict = field(repr=False)
    _windows: dict = field(repr=False)
    _texts: dict = field(repr=False)
    _where: dict = field(repr=False)
    histograms: dict | None = None
    verdict: dict | None = None
    unit_ablation: dict | None = None
    _flips: dict | None = field(default=None, repr=False)
    _sentence_contexts: dict | None = field(default=None, repr=False)

    def histogram(self, unit: int, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bin_low, bin_high, count) of ``unit``'s ``field`` over every step of the corpus, bins in order."""
        if self.histograms is None:
            raise ValueError("this index has no histograms: build it again with python -m gru_viz index")
        table = self.histograms
        rows = np.flatnonzero((table["unit"] == unit) & (table["field"] == field))
        rows = rows[np.argsort(table["bin_low"][rows], kind="stable")]
        return table["bin_low"][rows], table["bin_high"][rows], table["count"][rows]

    def unit_flips(self, unit: int, condition: str) -> list[dict]:
        """The held-out sentences whose verdict flips when ``unit`` is taken away under ``condition``
        (``analysis.UNIT_ABLATIONS``), largest move first: {"line", "text", "label", "free", "ablated"}."""
        if self._flips is None:
            return []
        table = self._flips
        rows = np.flatnonzero((table["unit"] == unit) & (table["condition"] == condition))
        rows = rows[np.argsort(table["rank"][rows], kind="stable")]
        return [{name: table[name][row].item() if hasattr(table[name][row], "item") else table[name][row]
                 for name in ("line", "text", "label", "free", "ablated")} for row in rows]

    def contexts(self, unit: int, field: str = "hidden", *, largest: bool = True, k: int | None = None,
                 one_per_sentence: bool = False) -> list[Activation]:
        """The stored contexts of ``unit``'s ``field``, best first, as ``analysis.Activation``s (what
        ``top_activations`` returns): ``tokens`` from the stored sentence, ``values`` (T,) the unit's field
        within ``window`` words of the hit and NaN further away. ``one_per_sentence`` keeps each sentence's
        strongest step only (ties to the earlier position)."""
        units = len(self.labels)
        if field not in FIELDS:
            raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {field!r}")
        if not isinstance(unit, (int, np.integer)) or not 0 <= unit < units:
            raise ValueError(f"unit must be a whole number from 0 to {units - 1}, got {unit!r}")
        from gru_viz.text import tokenize

        direction = "top" if largest else "bottom"
        table = self._contexts[direction]
        if field == "hidden" and one_per_sentence and self._sentence_contexts is not None:
            table = self._sentence_contexts  # the sentences kept one step each: more of them than the top steps hold
            rows = np.flatnonzero((table["unit"] == unit) & (table["direction"] == direction))
            rows = rows[np.argsort(table["rank"][rows], kind="stable")]
            windows = table["window"][rows]
            table = {name: table[name][rows] for name in ("sentence", "position", "value")}
            table["rank"] = np.arange(len(rows))
            rows = np.arange(len(rows))
        else:
            rows = np.flatnonzero((table["unit"] == unit) & (table["field"] == field))
            rows = rows[np.argsort(table["rank"][rows], kind="stable")]
            windows = self._windows[direction][(unit, field)]
        window = (windows.shape[1] - 1) // 2
        hits, seen = [], set()
        for row in rows:
            sentence, position = int(table["sentence"][row]), int(table["position"][row])
            if one_per_sentence and sentence in seen:
                continue
            seen.add(sentence)
            tokens = tokenize(self._texts[sentence]).tokens
            values = np.full(len(tokens), np.nan, dtype=np.float32)  # (T,)
            for offset, value in zip(range(-window, window + 1), windows[int(table["rank"][row])]):
                if 0 <= position + offset < len(tokens):
                    values[position + offset] = value
            hits.append(Activation(sentence=sentence, position=position, value=float(table["value"][row]),
                                   tokens=tokens, values=values))
            if k is not None and len(hits) == k:
                break
        return hits

    def sentence(self, row: int) -> tuple[str, str, int]:
        """(text, file, 1-based line) of a corpus row the index refers to (a context or the flow sample)."""
        if row not in self._texts:
            raise ValueError(f"sentence {row} is not among the index's contexts or its gradient-flow sample")
        return self._texts[row], *self._where[row]


def open_index(folder, model: SentimentModel | None = None) -> CorpusIndex:
    """Read an index folder. With ``model``, refuse (``ValueError``) an index built with another model:
    the manifest's ``model_sha256`` must equal ``model_sha256(model)``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such index folder")
    manifest = Manifest.read(folder)
    if model is not None and manifest.model_sha256 != model_sha256(model):
        raise ValueError(f"{folder}: this index was built with another model ({manifest.model['name']}, "
                         f"SHA-256 {manifest.model_sha256[:12]}…), not with {model.name} "
                         f"({model_sha256(model)[:12]}…); build one for this model with "
                         f"python -m gru_viz index --model …")
    try:
        tables = {name: _columns(folder / name) for name in OUTPUTS[:6] if name != "context_windows.parquet"}
        windows_table = pq.read_table(folder / "context_windows.parquet")
        ablation = json.loads((folder / "ablation.json").read_text()) if (folder / "ablation.json").is_file() else None
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ValueError(f"{folder}: an index file is missing or unreadable ({error}); build the index again") from None
    units = tables["units.parquet"]
    if tuple(units) != UNIT_COLUMNS:
        raise ValueError(f"{folder}/units.parquet: columns {list(units)} are not {list(UNIT_COLUMNS)}")
    windows = {"top": {}, "bottom": {}}
    if windows_table.num_rows:
        unit = windows_table["unit"].to_numpy()
        field_ = windows_table["field"].to_numpy(zero_copy_only=False)
        direction = windows_table["direction"].to_numpy(zero_copy_only=False)
        rank = windows_table["rank"].to_numpy()
        span = windows_table.schema.field("window").type.list_size
        values = windows_table["window"].combine_chunks().flatten().to_numpy().reshape(-1, span)  # (rows, W)
        for key in {(d, int(u), f) for d, u, f in zip(direction, unit, field_)}:
            chosen = np.flatnonzero((direction == key[0]) & (unit == key[1]) & (field_ == key[2]))
            windows[key[0]][(key[1], key[2])] = values[chosen[np.argsort(rank[chosen], kind="stable")]]
    sentences = tables["sentences.parquet"]
    texts = {int(row): text for row, text in zip(sentences["sentence"], sentences["text"])}
    where = {int(row): (file, int(line)) for row, file, line in zip(sentences["sentence"], sentences["file"],
                                                                   sentences["line"])}
    flow_table = tables["gradient_flow.parquet"]
    flow = None
    if len(flow_table["distance"]):
        flow = GradientFlowByDistance(**{name: np.asarray(flow_table[name]) for name in
                                         ("distance", "mean", "geometric_mean", "count")})
    optional = {}  # files added to the format later: an older index opens without them
    for name in ("histograms", "verdict", "unit_ablation", "unit_flips"):
        try:
            optional[name] = _columns(folder / f"{name}.parquet") if (folder / f"{name}.parquet").is_file() else None
        except (OSError, ValueError, pa.ArrowException) as error:
            raise ValueError(f"{folder}: {name}.parquet is unreadable ({error}); build the index again") from None
    return CorpusIndex(folder=folder, manifest=manifest, units=units, labels=_labels(units),
                       ablation=None if ablation is None else ablation["accuracy"], flow=flow,
                       _contexts={"top": tables["top_contexts.parquet"], "bottom": tables["bottom_contexts.parquet"]},
                       _windows=windows, _texts=texts, _where=where, histograms=optional["histograms"],
                       verdict=optional["verdict"], unit_ablation=optional["unit_ablation"],
                       _flips=optional["unit_flips"], _sentence_contexts=_sentence_contexts(folder))


def _sentence_contexts(folder: Path) -> dict | None:
    """unit_contexts.parquet as columns, its windows as one (rows, W) array; None in an older index."""
    path = folder / "unit_contexts.parquet"
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        columns = {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names if name != "window"}
        span = table.schema.field("window").type.list_size
        columns["window"] = table["window"].combine_chunks().flatten().to_numpy().reshape(-1, span)  # (rows, W)
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ValueError(f"{folder}: unit_contexts.parquet is unreadable ({error}); build the index again") from None
    return columns


def _columns(path: Path) -> dict:
    table = pq.read_table(path)
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


def _labels(units: dict) -> list[str]:
    """``analysis.memory_statistics``' labels, from the stored fractions and timescales."""
    from gru_viz import analysis

    labels = []
    for update_high, reset_low, timescale in zip(units["update_high"], units["reset_low"], units["timescale"]):
        if update_high >= analysis.INTEGRATOR_FRACTION:
            labels.append("integrator")
        elif reset_low >= analysis.RESETTER_FRACTION:
            labels.append("resetter")
        elif timescale < analysis.FAST_TIMESCALE:
            labels.append("fast")
        else:
            labels.append("mixed")
    return labels
