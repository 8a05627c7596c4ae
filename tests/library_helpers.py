"""Helpers the library tests share (test files never import each other): tiny random models, random texts
and labelled rows, and Plotly's full validation. The page tests' helpers are in tests/helpers.py."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch

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
