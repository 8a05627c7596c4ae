"""Throughput of ``python -m gru_viz index``: ``python -m benchmarks.index_bench [--data TSV] [--limit N]``.

Builds the index of the SST-2 training phrases (``data/sst2/train.tsv``, ~60k rows) with the shipped GRU,
in this process and then with Ray Data with 1 and 2 workers (one local Ray runtime of 2 CPUs, started once
and timed: Ray's start-up cost). Prints sentences/s and tokens/s of the shard pass (one exact trace plus the
three clamped traces of the ablation), the whole build's wall time, the first-shard latency (for Ray: actor
start and model load), each reading process's peak resident memory, the merge cost per shard, and the
machine's load average (2 shared cores; trainings may be running), then a projection measured from these
figures: time ≈ read·N + c·N/W + merge·N/shard_rows + gradient-flow sample + write, with c from the fastest
single-process run (in-process, or one Ray worker after start-up). "steady/s" is the rate
after the first shard, once Ray's actors have started and loaded the model.

It is a script, not a test: it prints and asserts nothing. Each build goes to a fresh temporary folder, so
nothing is reused from an earlier run.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from gru_viz import paths
from gru_viz.corpus import build_index

__all__ = ["main"]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _run(label: str, data: Path, model: Path, **settings) -> dict:
    before = _load()
    with tempfile.TemporaryDirectory(prefix="index-bench-") as out:
        manifest = build_index(data, model, out, progress=False, **settings)
    shards = manifest.timings["shards"]
    # after the first shard (Ray: actor start and model load), the pool reads at its steady rate
    after_first = (manifest.sentences - min(manifest.shard_rows, manifest.sentences)) / max(
        shards - manifest.timings.get("first_shard", 0.0), 1e-9)
    row = {"label": label, "sentences": manifest.sentences, "tokens": manifest.tokens, "wall": manifest.wall_seconds,
           "pass": shards, "first": manifest.timings.get("first_shard", 0.0), "merge": manifest.timings["merge"],
           "read": manifest.timings["read"], "flow": manifest.timings["gradient_flow"],
           "write": manifest.timings["write"], "shard_count": manifest.shards, "shard_rows": manifest.shard_rows,
           "rss": manifest.workers["peak_rss_mib"], "load": f"{before} → {_load()}", "steady": after_first}
    print(f"{label:<22}{manifest.sentences / shards:>10,.0f}{manifest.tokens / shards:>11,.0f}{after_first:>10,.0f}"
          f"{shards:>9.1f}{manifest.wall_seconds:>9.1f}{row['first']:>9.1f}   "
          f"{', '.join(f'{value:.0f}' for value in row['rss'])} MiB   ({row['load']})", flush=True)
    return row


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.index_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="labelled TSV (default: data/sst2/train.tsv of the checkout)")
    parser.add_argument("--model", type=Path, help="model folder (default: models/sst2-gru)")
    parser.add_argument("--limit", type=int, help="index only the first N rows (a quick run)")
    parser.add_argument("--no-ray", action="store_true", help="measure the in-process engine only")
    parser.add_argument("--shard-rows", type=int, default=2048, help="rows per shard (default: %(default)s, so 2 "
                                                                      "workers share ~30 shards of SST-2)")
    args = parser.parse_args(argv)
    data = args.data or paths.default_data_file("train")
    model = args.model or paths.default_model_dir()
    folder = None
    if args.limit:
        folder = tempfile.TemporaryDirectory(prefix="index-bench-data-")
        lines = data.read_text(encoding="utf-8").splitlines()[:args.limit + 1]
        data = Path(folder.name) / data.name
        data.write_text("\n".join(lines) + "\n", encoding="utf-8")

    print(f"index of {data} with {model}; {_load()}")
    print(f"{'engine':<22}{'sent/s':>10}{'tokens/s':>11}{'steady/s':>10}{'pass s':>9}{'wall s':>9}{'1st s':>9}   "
          f"peak RSS per reading process")
    rows = [_run("in-process", data, model, shard_rows=args.shard_rows)]
    startup = None
    if not args.no_ray:
        import ray

        from gru_viz.corpus.engines import start_ray

        clock = time.perf_counter()
        start_ray(workers=2)
        startup = time.perf_counter() - clock
        print(f"{'ray start-up':<22}{'':>10}{'':>11}{startup:>9.1f}   (ray.init of a local 2-CPU runtime)")
        try:
            for workers in (1, 2):
                rows.append(_run(f"ray, {workers} worker{'s' * (workers > 1)}", data, model, engine="ray",
                                 workers=workers, shard_rows=args.shard_rows))
        finally:
            ray.shutdown()
    if folder is not None:
        folder.cleanup()

    local = rows[0]
    # one reading process's cost per sentence: its steady rate, and of the single-process runs the fastest,
    # i.e. the one that other work on the shared cores slowed least
    per_sentence = 1 / max(row["steady"] for row in rows if len(row["rss"]) == 1)
    read = local["read"] / local["sentences"]
    merge = local["merge"] / local["shard_count"]
    fixed = local["flow"] + local["write"]
    print(f"\nper sentence: {per_sentence * 1e3:.2f} ms of reading (one process), {read * 1e6:.1f} µs of parsing on "
          f"the driver; merge {merge * 1e3:.1f} ms per shard of {local['shard_rows']} rows; gradient-flow sample "
          f"and writing {fixed:.1f} s")
    if len(rows) == 3:
        one, two = rows[1], rows[2]
        print(f"ray: 2 workers read {one['pass'] / two['pass']:.2f}× as fast as 1 "
              f"({two['steady'] / one['steady']:.2f}× after the first shard); 1 worker vs in-process "
              f"{local['pass'] / one['pass']:.2f}×; start-up {startup:.1f} s + first shard {two['first']:.1f} s")
    print("projection (time ≈ parse·N + reading·N/W + merge·N/shard_rows + sample and writing; start-up excluded):")
    for sentences in (1_000_000, 10_000_000):
        cells = []
        for workers in (1, 2, 8, 64):
            seconds = read * sentences + per_sentence * sentences / workers + merge * sentences / local["shard_rows"]
            cells.append(f"W={workers}: {(seconds + fixed) / 60:,.1f} min")
        print(f"  {sentences:>10,} sentences  " + "   ".join(cells))


if __name__ == "__main__":
    main()
