"""Why integrated gradients fails to converge on long reviews: the integrand along its straight-line path.

    python -m benchmarks.ig_path [--model models/sst2-gru] [--example 3] [--points 4001]

Integrated gradients integrates g(α) = ∇f(x' + α(x − x')) · (x − x') over α ∈ [0, 1]; its credits add up to
f(x) − f(x') only when the quadrature resolves g. This script evaluates, in float64 on a uniform α grid,
F(α) = f(x' + α(x − x')) (the logit along the path) and g(α) = dF/dα by autograd, and prints where g spikes,
how narrow the spike is, what Gauss–Legendre with n points makes of the integral, how saturated the gates
are along the path, and the same for a second baseline (the mean embedding of the vocabulary). It prints
figures; it asserts nothing (docs/research-tools.md gives what it found).
"""

from __future__ import annotations

import argparse
import copy

import numpy as np
import torch

from gru_viz.examples import EXAMPLES
from gru_viz.model import load_model
from gru_viz.trace import trace_gru


def _path(model, embedded, baseline, alphas):
    """F(α) (N,) and g(α) = dF/dα (N,) in float64 at each α of ``alphas`` (N,)."""
    rnn = copy.deepcopy(model.gru).double()
    weight, bias = torch.from_numpy(model.readout_weight), model.readout_bias
    values, slopes = [], []
    for chunk in np.array_split(alphas, max(1, len(alphas) // 256)):
        alpha = torch.tensor(chunk, dtype=torch.float64, requires_grad=True)  # (B,)
        inputs = baseline + alpha[:, None, None] * (embedded - baseline)  # (B, T, E)
        states, _ = rnn(inputs)  # (B, T, H)
        logit = states[:, -1] @ weight + bias  # (B,)
        (slope,) = torch.autograd.grad(logit.sum(), alpha)  # each α's own dF/dα: the batch rows are independent
        values.append(logit.detach().numpy())
        slopes.append(slope.numpy())
    return np.concatenate(values), np.concatenate(slopes)


def steepest_step(model, embedded, baseline, low: float, high: float, rounds=(401, 201)) -> tuple[float, float, float]:
    """Zoom on the steepest step of F in [low, high]: each round evaluates F on that many points and keeps the
    interval with the largest change. Returns (its width, its share of F's change over [low, high], its start)."""
    values, _ = _path(model, embedded, baseline, np.array([low, high]))
    whole = values[1] - values[0]
    for points in rounds:
        alphas = np.linspace(low, high, points)
        values, _ = _path(model, embedded, baseline, alphas)
        step = int(np.argmax(np.abs(np.diff(values))))
        low, high, change = float(alphas[step]), float(alphas[step + 1]), values[step + 1] - values[step]
    return high - low, float(change / whole), low


def _gauss_legendre(model, embedded, baseline, points: int) -> float:
    nodes, weights = np.polynomial.legendre.leggauss(points)
    _, slopes = _path(model, embedded, baseline, (nodes + 1) / 2)
    return float((weights / 2) @ slopes)


def _saturation(model, inputs) -> tuple[float, float]:
    """Fractions of z and of r within 0.01 of 0 or 1, over every word and unit of one path point (1, T, E)."""
    gates = trace_gru(copy.deepcopy(model.gru).double(), inputs)
    z, r = gates.update.ravel(), gates.reset.ravel()
    return float(np.mean((z < 0.01) | (z > 0.99))), float(np.mean((r < 0.01) | (r > 0.99)))


def report(model, text: str, baseline, name: str, points: int) -> None:
    sentence = model.trace(text)
    embedded = model.embed(sentence.ids).double().unsqueeze(0)  # (1, T, E)
    baseline = baseline.expand_as(embedded)
    alphas = np.linspace(0.0, 1.0, points)
    values, slopes = _path(model, embedded, baseline, alphas)
    total = values[-1] - values[0]
    variation = np.abs(np.diff(values))  # (N − 1,)
    order = np.argsort(-variation)
    share = np.cumsum(variation[order]) / variation.sum()
    narrow = (np.searchsorted(share, 0.5) + 1) / (points - 1)  # α-width holding half the path's total variation
    peak = int(np.argmax(np.abs(slopes)))
    print(f"\n[{name} baseline] {len(sentence.tokens)} words; F(0) = {values[0]:+.4f}, F(1) = {values[-1]:+.4f}, "
          f"F(1) − F(0) = {total:+.4f}")
    print(f"  total variation of F along the path {variation.sum():.4f} (|F(1) − F(0)| = {abs(total):.4f})")
    print(f"  |g| peaks at α = {alphas[peak]:.4f}: g = {slopes[peak]:+.1f} "
          f"(median |g| {np.median(np.abs(slopes)):.3f})")
    print(f"  half of the total variation lies in α-intervals of total width {narrow:.5f}")
    trapezoid = float(np.sum((slopes[1:] + slopes[:-1]) / 2 * np.diff(alphas)))
    print(f"  trapezoid on the {points}-point grid: {trapezoid:+.4f} (delta {trapezoid - total:+.2e})")
    for n in (64, 256, 1024, 4096):
        estimate = _gauss_legendre(model, embedded, baseline, n)
        print(f"  Gauss–Legendre, {n:4d} points: {estimate:+.4f} (delta {estimate - total:+.3e})")
    for alpha in sorted({0.0, 0.5, float(alphas[peak]), 1.0}):
        z, r = _saturation(model, baseline[:1] + alpha * (embedded - baseline[:1]))
        print(f"  α = {alpha:.4f}: z saturated (<0.01 or >0.99) {z:.1%}, r saturated {r:.1%}")
    if 0 < peak < points - 1:
        before, after = peak - 1, peak + 1
        for alpha in (alphas[before], alphas[after]):
            inputs = baseline[:1] + float(alpha) * (embedded - baseline[:1])
            hidden = trace_gru(copy.deepcopy(model.gru).double(), inputs).hidden[0, 0, 0]  # (T, H)
            print(f"  α = {alpha:.4f}: logit {float(hidden[-1] @ model.readout_weight + model.readout_bias):+.4f}")
        width, share, start = steepest_step(model, embedded, baseline, float(alphas[before]), float(alphas[after]))
        print(f"  zoomed in: {share:.0%} of F's change over [{alphas[before]:.4f}, {alphas[after]:.4f}] happens "
              f"within Δα = {width:.2e}, from α = {start:.10f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/sst2-gru")
    parser.add_argument("--example", type=int, default=3, help="index into gru_viz.examples.EXAMPLES")
    parser.add_argument("--points", type=int, default=4001)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    text = EXAMPLES[args.example].text
    print(f"{args.model}, example {args.example} ({EXAMPLES[args.example].label!r})")
    pad = model.embed([model.vocab.PAD])[0].double()  # the page's baseline: the padding embedding
    mean = model.embed(list(range(len(model.vocab)))).double().mean(0)  # the vocabulary's mean embedding
    report(model, text, pad, "padding", args.points)
    report(model, text, mean, "mean-embedding", args.points)


if __name__ == "__main__":
    main()
