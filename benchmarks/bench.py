"""How much a full gate trace costs over the plain fused forward: ``python -m benchmarks.bench``.

For each size, ``trace_gru`` and ``nn.GRU.forward`` (under ``torch.inference_mode``) run alternately in
one process on the same module and input, batch 1, so machine noise hits both alike; the printed number
is median(trace time) / median(forward time). It is a script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from gru_viz.trace import trace_gru

__all__ = ["BenchConfig", "measure", "main"]


@dataclass
class BenchConfig:
    sizes: tuple[tuple[int, int, int], ...] = ((50, 256, 128), (1000, 256, 128))  # (T, H, I)
    batch: int = 1
    warmup: int = 5  # untimed pairs first: allocator and thread pool warm up
    budget: float = 4.0  # seconds of timed pairs per size; sets the repeat count
    min_repeats: int = 30
    seed: int = 0


def measure(steps: int, units: int, features: int, config: BenchConfig) -> dict:
    """Interleaved timings of trace_gru and the forward. Returns medians (seconds), the ratio, and repeats."""
    torch.manual_seed(config.seed)
    gru = nn.GRU(features, units).eval()
    x = torch.randn(steps, config.batch, features)  # (T, B, I)

    def forward():
        with torch.inference_mode():
            gru(x)

    def trace():
        trace_gru(gru, x)

    for _ in range(config.warmup):
        forward()
        trace()
    start = time.perf_counter()
    forward()
    trace()
    pair = time.perf_counter() - start
    repeats = max(config.min_repeats, int(config.budget / max(pair, 1e-6)))

    times = {"trace": [], "forward": []}
    for repeat in range(repeats):
        # alternate which goes first so neither always runs on a cache the other just warmed
        order = (("trace", trace), ("forward", forward)) if repeat % 2 else (("forward", forward), ("trace", trace))
        for name, run in order:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    trace_median, forward_median = statistics.median(times["trace"]), statistics.median(times["forward"])
    return {"trace": trace_median, "forward": forward_median, "ratio": trace_median / forward_median,
            "repeats": repeats}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Median trace_gru / nn.GRU forward time ratio.")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own choice); 1 is steadiest on a busy machine")
    parser.add_argument("--budget", type=float, default=BenchConfig.budget, help="seconds of timed pairs per size")
    args = parser.parse_args(argv)
    config = BenchConfig(budget=args.budget)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    print("Median time of trace_gru(gru, x) over median time of gru(x) under torch.inference_mode: one nn.GRU, "
          "1 layer, unidirectional, CPU float32, batch 1; the two calls alternate in one process.")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average {load} "
          "(busy cores inflate the ratio with several threads; --threads 1 is steadier). "
          "Goal <= 1.3, acceptable <= 2.0.")
    print(f"{'T':>6} {'H':>5} {'I':>5} {'repeats':>8} {'forward ms':>11} {'trace ms':>10} {'ratio':>7}")
    for steps, units, features in config.sizes:
        result = measure(steps, units, features, config)
        print(f"{steps:>6} {units:>5} {features:>5} {result['repeats']:>8} {result['forward'] * 1e3:>11.3f} "
              f"{result['trace'] * 1e3:>10.3f} {result['ratio']:>7.2f}")


if __name__ == "__main__":
    main()
