"""What reading a sentence costs for a stack: ``python -m benchmarks.stack_bench``.

For the shipped one-layer GRU and for random stacks of the same sizes (E = 128, H = 64; 2 layers, one or two
directions), ``model.trace(text)`` (every gate of every layer and every prefix's probabilities) and
``model.predict_proba([text])`` (one forward pass) run alternately in one process on the same sentence, so
machine noise hits both alike. It prints median times and trace / forward; with two directions the trace runs
every prefix again in one batched pass. A script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from gru_viz.model import ModelConfig, SentimentModel, SentimentNet, load_model
from gru_viz.paths import default_model_dir

__all__ = ["main"]


def _stack(vocab, layers: int, bidirectional: bool, readout: str) -> SentimentModel:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=len(vocab), embed_dim=128, hidden_size=64, num_layers=layers,
                         bidirectional=bidirectional, num_classes=3, readout=readout)
    return SentimentModel(SentimentNet(config), vocab, {"name": f"{layers}x{1 + bidirectional} {readout}"})


def _median_pair(model, text: str, repeats: int) -> tuple[float, float]:
    traced, forward = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        model.trace(text)
        traced.append(time.perf_counter() - started)
        started = time.perf_counter()
        model.predict_proba([text])
        forward.append(time.perf_counter() - started)
    return statistics.median(traced), statistics.median(forward)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, nargs="+", default=[30, 300],
                        help="sentence lengths (default: %(default)s; 300 is the page's cap)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    shipped = load_model(default_model_dir())
    models = [shipped] + [_stack(shipped.vocab, 2, bidirectional, readout)
                          for bidirectional, readout in ((False, "last"), (False, "mean"), (True, "last"))]
    for words in args.words:
        text = " ".join((["the", "movie", "is", "not", "bad", "but", "slow", ","] * words)[:words])
        print(f"{words} words, median of {args.repeats}, 1 thread")
        print(f"{'model':<18}{'trace ms':>10}{'forward ms':>12}{'trace/forward':>15}")
        for model in models:
            model.trace(text), model.predict_proba([text])  # warm-up
            traced, forward = _median_pair(model, text, args.repeats)
            print(f"{model.name:<18}{traced * 1e3:>10.2f}{forward * 1e3:>12.2f}{traced / forward:>15.2f}")


if __name__ == "__main__":
    main()
