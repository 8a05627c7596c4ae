"""Helpers the library tests share (test files never import each other): tiny random models, random texts
and labelled rows, and Plotly's full validation. The page tests' helpers are in tests/helpers.py."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import plotly.graph_objects as go
import torch
from torch import nn

from gru_viz.analysis import fit_pca
from gru_viz.model import ModelConfig, SentimentModel, SentimentNet, save_model
from gru_viz.text import Vocabulary

ANALYSIS_WORDS = ["great", "lovely", "awful", "boring", "the", "movie", "plot", "is", "not", "and", "a", "but", "."]
ANALYSIS_UNITS = 6
FIGURE_WORDS = "i love this movie so much but the is really boring a film , .".split()
CLI_WORDS = ["great", "lovely", "awful", "boring", "the", "movie", "plot", "is", "not", "and", "but", "."]
POSITIVE, NEGATIVE = ["great", "lovely", "superb"], ["awful", "boring", "dull"]
FILLER = ["the", "movie", "plot", "is", "and", "a", "story", "film"]


def gated_model(arch="gru", seed=0, gain=4.0) -> SentimentModel:
    """A tiny random model; recurrent weights scaled by ``gain`` so gates reach saturation."""
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + ANALYSIS_WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=ANALYSIS_UNITS))
    with torch.no_grad():
        for parameter in net.rnn.parameters():
            parameter.mul_(gain)
    return SentimentModel(net, vocab, {"name": f"tiny-{arch}"})


def random_texts(count=40, seed=1) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(ANALYSIS_WORDS + ["zebra"], size=int(rng.integers(1, 13)))) for _ in range(count)]
    return texts + ["great", "not great and not boring"]


def model_state(model):
    return model.state_dict()  # copies


def assert_unchanged(model, before):
    after = model.state_dict()
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert torch.equal(tensor, after[name]), name
    assert not any(p.requires_grad for p in model.net.parameters())


def tiny_model(arch: str = "gru", seed: int = 0, hidden: int = 8, projection: bool = True) -> SentimentModel:
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + FIGURE_WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=6, hidden_size=hidden))
    with torch.no_grad():  # a larger head than init gives, so words move P visibly
        net.head.weight.mul_(4)
    model = SentimentModel(net, vocab, {"name": f"tiny-{arch}"})
    if projection:
        windows = [" ".join(FIGURE_WORDS[i:i + 6]) for i in range(0, len(FIGURE_WORDS), 3)]
        states = np.vstack([model.trace(window).hidden for window in windows])
        model.card["projection"] = {k: v.tolist() for k, v in fit_pca(states).items()}
    return model


def validated(figure: go.Figure) -> go.Figure:
    """``figure``, after Plotly's full validation of what the builder made without it (raises on any bad
    property)."""
    assert isinstance(figure, go.Figure)
    go.Figure(figure.to_dict())
    return figure


def vega_validated(spec: dict) -> dict:
    """``spec``, after a check against the Vega-Lite schema (Altair's; raises on anything it does not allow)."""
    (alt.LayerChart if "layer" in spec else alt.Chart).from_dict(spec)
    return spec


def outside_data(spec: dict) -> str:
    """Everything of ``spec`` but its data and its scales' domains (the word columns' keys, which Vega draws as
    plain text), as JSON: where a user's word must never appear, as it travels as data."""
    def strip(node):
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if key != "data"
                    and not (key == "domain" and isinstance(value, list))}
        return [strip(item) for item in node] if isinstance(node, list) else node
    return json.dumps(strip(spec), ensure_ascii=False)


def labelled_rows(count=30, seed=0):
    rng = np.random.default_rng(seed)
    return [(" ".join(rng.choice(CLI_WORDS, size=int(rng.integers(1, 10)))), int(rng.integers(2)))
            for _ in range(count)]


def save_gated_model(folder, arch="gru"):
    torch.manual_seed(0)
    vocab = Vocabulary(["<pad>", "<unk>"] + CLI_WORDS)
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=8, hidden_size=6))
    with torch.no_grad():
        for parameter in net.rnn.parameters():
            parameter.mul_(4.0)  # saturating gates, so forcing them changes verdicts
    save_model(net, vocab, {"name": f"tiny-{arch}"}, folder)
    return folder


def sentiment_model(arch="gru", seed=0):
    torch.manual_seed(seed)
    vocab = Vocabulary(["<pad>", "<unk>"] + POSITIVE + NEGATIVE + FILLER + [".", ",", "n't", "do"])
    net = SentimentNet(ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=5, hidden_size=4))
    return SentimentModel(net, vocab, {"name": f"tiny-{arch}"})


def random_recurrent(kind: str, features: int, units: int, bias: bool, seed: int) -> nn.GRU | nn.RNN:
    """A seeded 1-layer ``nn.GRU`` (kind "gru") or ``nn.RNN`` (kind "tanh" or "relu"), its recurrent weights doubled
    so that gates sit away from 0.5 and norms neither vanish at once nor all match."""
    torch.manual_seed(seed)
    rnn = nn.GRU(features, units, bias=bias) if kind == "gru" else nn.RNN(features, units, nonlinearity=kind, bias=bias)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(2.0)
    return rnn


def float64_step(rnn, gate=torch.sigmoid, candidate=None):
    """One step (x_t (I,), h (H,)) → h_t of a 1-layer ``rnn`` in float64, equation by equation from PyTorch's
    documentation (gate order r, z, n); ``gate`` and ``candidate`` replace σ and tanh (or the RNN's f)."""
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b_ih = rnn.bias_ih_l0.detach().double() if rnn.bias else torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_hh = rnn.bias_hh_l0.detach().double() if rnn.bias else torch.zeros(w_hh.shape[0], dtype=torch.float64)
    if isinstance(rnn, nn.RNN):
        activation = candidate or (torch.tanh if rnn.nonlinearity == "tanh" else torch.relu)
        return lambda x_t, h: activation(w_ih @ x_t + b_ih + w_hh @ h + b_hh)
    candidate = candidate or torch.tanh
    (w_ir, w_iz, w_in), (w_hr, w_hz, w_hn) = w_ih.chunk(3), w_hh.chunk(3)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = b_ih.chunk(3), b_hh.chunk(3)

    def step(x_t, h):
        r = gate(w_ir @ x_t + b_ir + w_hr @ h + b_hr)
        z = gate(w_iz @ x_t + b_iz + w_hz @ h + b_hz)
        n = candidate(w_in @ x_t + b_in + r * (w_hn @ h + b_hn))
        return (1 - z) * n + z * h
    return step

def vega_expressions(spec) -> list[str]:
    """Every string Vega evaluates as an expression in ``spec`` (labelExpr, filter, test, expr)."""
    if isinstance(spec, dict):
        return [item for key, item in spec.items() if key in ("filter", "test", "labelExpr", "expr")
                and isinstance(item, str)] + [found for item in spec.values() for found in vega_expressions(item)]
    if isinstance(spec, list):
        return [found for item in spec for found in vega_expressions(item)]
    return []
