"""What ``capture`` costs over the module's own forward: ``python -m benchmarks.capture_bench``.

A module holding a 2-layer ``nn.GRU`` runs on a batch padded to one length, and on the same batch packed with
lengths spread over the whole range: unidirectional (traced in one padded pass) and bidirectional (traced
length by length, so that the backward direction starts at each sequence's end). ``module(x)`` and
``capture(module, x)`` alternate in one process under ``torch.inference_mode``; the printed number is
median(capture time) / median(forward time). A script, not a test: it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from gru_viz.capture import capture

__all__ = ["main", "measure"]


class _Encoder(nn.Module):
    def __init__(self, features: int, units: int, bidirectional: bool):
        super().__init__()
        self.gru = nn.GRU(features, units, num_layers=2, bidirectional=bidirectional, batch_first=True)

    def forward(self, x, lengths=None):
        if lengths is not None:
            x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return self.gru(x)[1]  # h_n (L*D, B, H)


def measure(module: nn.Module, args: tuple, repeats: int) -> dict:
    """Median seconds of ``module(*args)`` and ``capture(module, *args)``, alternating, and their ratio."""
    times = {"forward": [], "capture": []}
    runs = {"forward": lambda: module(*args), "capture": lambda: capture(module, *args)}
    with torch.inference_mode():
        for repeat in range(repeats + 2):
            for name in ("forward", "capture") if repeat % 2 else ("capture", "forward"):
                start = time.perf_counter()
                runs[name]()
                if repeat >= 2:  # two untimed rounds warm the allocator and the thread pool
                    times[name].append(time.perf_counter() - start)
    forward, captured = statistics.median(times["forward"]), statistics.median(times["capture"])
    return {"forward": forward, "capture": captured, "ratio": captured / forward}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Median capture / forward time ratio.")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1: steadiest on a busy machine)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, steps, features, units = 32, 100, 16, 64
    x = torch.randn(batch, steps, features)  # (B, T, I)
    lengths = torch.randint(1, steps + 1, (batch,))
    lengths[0] = steps
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"capture(module, x) / module(x): nn.GRU 2 layers, B={batch}, T={steps}, I={features}, "
          f"H={units}, CPU float32; torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load}")
    print(f"{'directions':>10} {'input':>34} {'forward ms':>11} {'capture ms':>11} {'ratio':>7}")
    for bidirectional in (False, True):
        module = _Encoder(features, units, bidirectional).eval()
        for name, inputs in ((f"padded to T={steps}", (x,)),
                             (f"packed, {len(torch.unique(lengths))} distinct lengths", (x, lengths))):
            result = measure(module, inputs, args.repeats)
            print(f"{2 if bidirectional else 1:>10} {name:>34} {result['forward'] * 1e3:>11.2f} "
                  f"{result['capture'] * 1e3:>11.2f} {result['ratio']:>7.2f}")


if __name__ == "__main__":
    main()
