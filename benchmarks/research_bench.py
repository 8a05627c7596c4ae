"""Accuracy and speed of the research tools: ``python -m benchmarks.research_bench [--threads N]``.

Prints, against computations written here (float64 step by step, or torch autograd):
- patching error: max |patch_hidden − float64 run| over the seed pair's whole grid (bar ≤ 1e-5);
- connectivity relative error against ``torch.autograd.functional.jacobian`` on a sentence (bar ≤ 1e-6);
- fixed points of the shipped GRU: largest residual ‖F(h) − h‖ through a float64 copy of the module (bar ≤ 1e-10),
  largest |h_i| (bar < 1), the largest eigenvalue error against the autograd Jacobian (bar ≤ 1e-3), and the
  search time (bar ≤ 10 s);
- connectivity time at T = 300, H = 64 (bar ≤ 2 s);
- integrated gradients: completeness delta and time;
with the torch thread count and the machine's load average (2 shared cores; trainings may be running).

A script, not a test: it prints and asserts nothing. Times are the best of ``--repeat`` runs in this process.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn

from gru_viz import analysis, paths
from gru_viz.examples import SEED_PAIR
from gru_viz.model import load_model
from gru_viz.train import read_tsv

__all__ = ["main"]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return (f"load {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores, "
            f"torch threads {torch.get_num_threads()}")


def _best(function, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _float64_states(model, ids, h=None):
    """h_t in float64, one step at a time, from PyTorch's documented GRU equations (or the tanh RNN's)."""
    p = {name: value.detach().double().numpy() for name, value in model.gru.named_parameters()}
    embedding = model.embed(np.arange(model.config.vocab_size)).double().numpy()  # (V, E)
    units = model.gru.hidden_size
    h = np.zeros(units) if h is None else h.copy()
    states = []
    for word in ids:
        gi = p["weight_ih_l0"] @ embedding[word] + p["bias_ih_l0"]
        gh = p["weight_hh_l0"] @ h + p["bias_hh_l0"]
        if model.arch == "gru":
            r = 1 / (1 + np.exp(-(gi[:units] + gh[:units])))
            z = 1 / (1 + np.exp(-(gi[units:2 * units] + gh[units:2 * units])))
            h = z * h + (1 - z) * np.tanh(gi[2 * units:] + r * gh[2 * units:])
        else:
            h = np.tanh(gi + gh)
        states.append(h)
    return np.array(states).reshape(-1, units)


def patching_error(model) -> float:
    base, source = SEED_PAIR
    base_ids, source_ids = model.tokenize(base)[1], model.tokenize(source)[1]
    source_states = _float64_states(model, source_ids)  # all units patched: the base's own state is replaced
    weight, bias = model.readout_weight, model.readout_bias
    grid = analysis.patching_grid(model, base, source)
    worst = 0.0
    for t in range(len(base_ids)):
        for s in range(len(source_ids)):
            rest = _float64_states(model, base_ids[t + 1:], source_states[s])
            final = rest[-1] if len(rest) else source_states[s]
            expected = 1 / (1 + np.exp(-(weight @ final + bias)))
            worst = max(worst, abs(grid[t, s] - expected))
    return worst


def connectivity_error(model, text: str) -> float:
    x = model.embed(model.tokenize(text)[1])  # (T, E)
    got = analysis.connectivity(model.gru, x)
    twin = nn.GRU(model.gru.input_size, model.gru.hidden_size).double()
    twin.load_state_dict(model.gru.state_dict())
    x = x.double()
    with torch.no_grad():
        states, _ = twin(x)
    worst = 0.0
    for s in range(len(x)):
        for t in range(s + 1, len(x)):
            def run(h, inputs=x[s + 1:t + 1]):
                return twin(inputs, h[None])[0][-1]
            expected = torch.linalg.matrix_norm(torch.autograd.functional.jacobian(run, states[s])).item()
            worst = max(worst, abs(got[t, s] - expected) / expected)
    return worst


def module_residual(rnn, found) -> float:
    """The largest ‖F(h) − h‖ over the points, F through a float64 copy of the module."""
    twin = nn.GRU(rnn.input_size, rnn.hidden_size).double()
    twin.load_state_dict(rnn.state_dict())
    points = torch.from_numpy(found.points)
    with torch.no_grad():
        moved = twin(torch.from_numpy(found.input).expand(1, len(points), -1), points[None])[1][0]  # (K, H)
    return float(torch.linalg.vector_norm(moved - points, dim=-1).max()) if len(points) else float("nan")


def eigenvalue_error(rnn, found) -> float:
    twin = nn.GRU(rnn.input_size, rnn.hidden_size).double()
    twin.load_state_dict(rnn.state_dict())
    x = torch.from_numpy(found.input)[None]
    worst = 0.0
    for point, eigenvalues in zip(found.points, found.eigenvalues):
        def step(h):
            return twin(x, h[None])[0][0]
        expected = np.linalg.eigvals(torch.autograd.functional.jacobian(step, torch.from_numpy(point)).numpy())
        distance = np.abs(eigenvalues[:, None] - expected[None, :])
        worst = max(worst, distance.min(axis=1).max(), distance.min(axis=0).max())
    return worst


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.research_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs; the best is printed (default: 2)")
    parser.add_argument("--input", default="mean", help="constant input of the fixed points (default: mean)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(_load())
    gru = load_model(paths.default_model_dir("sst2-gru"))
    print(f"patching error (seed pair grid vs float64 run): {patching_error(gru):.2e}   bar ≤ 1e-5")
    sentence = "the plot is thin but the acting is great , and i would watch it again"
    print(f"connectivity relative error (vs autograd jacobian, {len(gru.tokenize(sentence)[1])} words): "
          f"{connectivity_error(gru, sentence):.2e}   bar ≤ 1e-6")

    torch.manual_seed(0)
    random_gru, x = nn.GRU(128, 64), torch.randn(300, 128)
    seconds, _ = _best(lambda: analysis.connectivity(random_gru, x), args.repeat)
    jacobian_seconds, _ = _best(lambda: analysis.step_jacobians(random_gru, x), args.repeat)
    print(f"connectivity at T = 300, H = 64: {seconds:.2f} s (of which the step Jacobians {jacobian_seconds:.2f} s)"
          f"   bar ≤ 2 s")

    texts = [sentence for sentence, _ in read_tsv(paths.default_data_file("val"))[:400]]
    start_seconds, starts = _best(lambda: analysis.visited_states(gru, texts, count=256), 1)
    fixed_input = analysis.constant_input(gru, args.input)
    seconds, found = _best(lambda: analysis.fixed_points(gru.gru, fixed_input, starts), args.repeat)
    largest = float(np.abs(found.points).max()) if len(found) else float("nan")
    print(f"fixed points of {gru.name} (input {args.input!r}, {found.starts} starts from 400 val sentences, "
          f"reading them {start_seconds:.2f} s): {len(found)} points in {seconds:.2f} s   bar ≤ 10 s")
    print(f"  largest residual (float64 module) {module_residual(gru.gru, found):.2e}   bar ≤ 1e-10;  "
          f"largest |h_i| {largest:.15f}   bar < 1;  eigenvalue error vs autograd "
          f"{eigenvalue_error(gru.gru, found):.2e}   bar ≤ 1e-3")

    seconds, result = _best(lambda: analysis.integrated_gradients(gru, sentence), args.repeat)
    print(f"integrated gradients ({len(result.tokens)} words): completeness delta {result.delta:.1e} with "
          f"{result.steps} points, {seconds:.2f} s")
    print(_load())


if __name__ == "__main__":
    main()
