"""How long the data-set analyses take: ``python -m benchmarks.bench_analysis [--model DIR] [--data TSV]``.

The goal: memory statistics over 872 sentences in at most 1 s. For three sets of validation
sentences (the first 872, the 872 longest, all), ``memory_statistics`` and a plain
``predict_proba`` (the cheapest full pass: tokenize, embed, fused GRU, head) run alternately in one
process, so machine noise hits both alike; printed are the median seconds of each and their ratio.
The ablation and the data-set gradient flow are timed once. It is a script, not a test: it prints,
it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from gru_viz.analysis import ablation, dataset_gradient_flow, embed_texts, memory_statistics
from gru_viz.model import load_model
from gru_viz.train import LONG_TOKENS, read_tsv

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "data" / "sst2" / "val.tsv"  # the shipped copy
SIZE = 872  # the SST-2 dev set's size, the goal's yardstick


def _median_seconds(functions: dict, repeats: int) -> dict[str, float]:
    times = {name: [] for name in functions}
    for function in functions.values():  # warm up: allocator, thread pool, lazy imports
        function()
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "sst2-gru")
    parser.add_argument("--rnn", type=Path, default=ROOT / "models" / "sst2-rnn",
                        help="vanilla RNN for the gradient-flow timing (skipped when missing)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = load_model(args.model)
        rows = read_tsv(args.data)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    texts, labels = [s for s, _ in rows], [y for _, y in rows]
    longest = sorted(texts, key=lambda text: -len(model.tokenize(text)[1]))[:SIZE]
    print(f"{model.name} ({model.arch}, {model.gru.hidden_size} units), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {len(texts)} sentences in {args.data.name}")

    for name, chosen in ((f"first {SIZE}", texts[:SIZE]), (f"longest {SIZE}", longest), ("all", texts)):
        steps = sum(len(model.tokenize(text)[1]) for text in chosen)
        times = _median_seconds({"memory_statistics": lambda chosen=chosen: memory_statistics(model, chosen),
                                 "predict_proba": lambda chosen=chosen: model.predict_proba(chosen)}, args.repeats)
        print(f"{name:>12} ({len(chosen)} sentences, {steps} steps): memory_statistics "
              f"{times['memory_statistics']:.3f} s, predict_proba {times['predict_proba']:.3f} s, ratio "
              f"{times['memory_statistics'] / times['predict_proba']:.2f}")

    started = time.perf_counter()
    ablation(model, texts[:SIZE], labels[:SIZE])
    print(f"ablation, first {SIZE} sentences, 4 conditions: {time.perf_counter() - started:.3f} s")
    long_texts = [text for text in texts if len(model.tokenize(text)[1]) >= LONG_TOKENS]
    models = [model] + ([load_model(args.rnn)] if (args.rnn / "card.json").is_file() else [])
    for each in models:
        started = time.perf_counter()
        dataset_gradient_flow(each.gru, embed_texts(each, long_texts))
        print(f"dataset_gradient_flow, {each.name}, {len(long_texts)} sentences of ≥{LONG_TOKENS} tokens: "
              f"{time.perf_counter() - started:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
