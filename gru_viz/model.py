"""The sentiment classifier the page explains, and loading it safely from a folder.

embedding → ``nn.GRU`` (or ``nn.RNN``, the baseline) → linear head. The shipped models have one layer, one
direction and one logit read from the last state, which keeps the logit an exact sum over the memory
decomposition h_T = carry + Σ_t contributions[t] (``analysis.decompose_final_state``). Any stack ``nn.GRU``
builds reads too: ``num_layers``, ``bidirectional``, ``num_classes`` (1: one logit and a sigmoid; ≥ 2: a
softmax) and ``readout`` ("last": the top layer's h_n, forward then backward; "mean": its outputs averaged).

A model folder holds ``model.safetensors`` (weights; never pickle), ``vocab.json`` or a Hugging Face
``tokenizer.json``, and ``card.json`` (the ``ModelConfig`` under "config", optional class ``labels``, training
facts and metrics). ``load_model(path)`` rebuilds the network from the card and checks every tensor's shape
against it before use.

>>> model = load_model("models/sst2-gru")
>>> is_positive(model.predict_proba(["a gorgeous , witty , seductive movie .", "a dull , lifeless mess"]))
array([ True, False])
>>> sentence = model.trace("But the movie is really boring")
>>> sentence.tokens, sentence.gates.update.shape, sentence.probability.shape   # doctest: +ELLIPSIS
(['But', 'the', 'movie', 'is', 'really', 'boring'], (1, 1, 1, 6, ...), (6,))
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gru_viz.text import MAX_TOKENS, TokenizedText, TokenizerFile, Vocabulary
from gru_viz.trace import GRUTrace, trace_gru, trace_rnn
from gru_viz.variants import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, ActivationGRU, is_standard

__all__ = ["DIRECTIONS", "READOUTS", "VERDICT_THRESHOLD", "ModelConfig", "SentenceTrace", "SentimentModel",
           "SentimentNet", "is_positive", "load_model", "padded_batches", "save_model"]

CARD_FORMAT = "gru-viz/1"
WEIGHTS, VOCAB, CARD = "model.safetensors", "vocab.json", "card.json"
TOKENIZER = TokenizerFile.FILE  # tokenizer.json, in place of vocab.json
MAX_CONFIG_SIZES = {"vocab_size": 10_000_000, "embed_dim": 4096, "hidden_size": 4096}  # larger is not supported
MAX_WEIGHTS_BYTES = 200 * 2**20  # a bring-your-own model larger than this is refused before reading
READOUTS = ("last", "mean")
DIRECTIONS = ("forward", "backward")  # PyTorch's direction 0 and 1 (the _reverse weights)
MAX_LAYERS = 16
MAX_CLASSES = 1000
MAX_LABEL_CHARACTERS = 80


@dataclass
class ModelConfig:
    arch: str = "gru"  # "gru", or "rnn" for the vanilla tanh RNN baseline
    vocab_size: int = 2
    embed_dim: int = 128
    hidden_size: int = 64  # one heatmap row per unit: 64 rows still read at a glance
    dropout: float = 0.5  # on embeddings and on the final state, training only
    gate_activation: str = "sigmoid"  # GRU gates; "hardsigmoid" for the activation study
    candidate_activation: str = "tanh"  # GRU candidate; "relu" or "linear" for the activation study
    num_layers: int = 1
    bidirectional: bool = False
    num_classes: int = 1  # 1: one logit, P = sigmoid; ≥ 2: one logit per class, softmax
    readout: str = "last"  # "last": the top layer's h_n (forward, then backward); "mean": its outputs averaged

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def __post_init__(self):
        if self.arch not in ("gru", "rnn"):
            raise ValueError(f"arch must be 'gru' or 'rnn', got {self.arch!r}")
        if self.gate_activation not in GATE_ACTIVATIONS:
            raise ValueError(f"gate_activation must be one of {sorted(GATE_ACTIVATIONS)}, got "
                             f"{self.gate_activation!r}")
        if self.candidate_activation not in CANDIDATE_ACTIVATIONS:
            raise ValueError(f"candidate_activation must be one of {sorted(CANDIDATE_ACTIVATIONS)}, got "
                             f"{self.candidate_activation!r}")
        if self.arch == "rnn" and not is_standard(self.gate_activation, self.candidate_activation):
            raise ValueError("the vanilla RNN has no gates: activations other than the defaults need arch 'gru'")
        for name, largest in MAX_CONFIG_SIZES.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= largest:
                raise ValueError(f"{name} must be a whole number from 1 to {largest:,}, got {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        self._check_stack()

    def _check_stack(self) -> None:
        """The keys of any GRU stack, checked before anything is sized from them."""
        for name, top in (("num_layers", MAX_LAYERS), ("num_classes", MAX_CLASSES)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise ValueError(f"{name} must be a whole number from 1 to {top}, got {_short(value)}")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"bidirectional must be true or false, got {_short(self.bidirectional)}")
        if self.readout not in READOUTS:
            raise ValueError(f"readout must be 'last' or 'mean', got {_short(self.readout)}")
        if (self.num_layers > 1 or self.bidirectional) and not is_standard(self.gate_activation,
                                                                          self.candidate_activation):
            raise ValueError("activations other than the defaults need one layer and one direction")

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown config keys {_short(sorted(unknown))}")
        return cls(**data)


def _short(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a card's values go into one-line messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in ``SentimentNet(config).state_dict()``, without building it. Written out
    (a test checks it against the module) because building on the meta device imports ``torch._dynamo``,
    several seconds on a cold page, and building on the CPU would let a card's sizes allocate memory."""
    rows = (3 if config.arch == "gru" else 1) * config.hidden_size  # PyTorch stacks the gates' rows
    width = config.directions * config.hidden_size  # D·H: what the layer above, and the head, read
    shapes = {"embedding.weight": (config.vocab_size, config.embed_dim)}
    for layer in range(config.num_layers):
        for suffix in ("", "_reverse")[:config.directions]:
            shapes.update({f"rnn.weight_ih_l{layer}{suffix}": (rows, config.embed_dim if layer == 0 else width),
                           f"rnn.weight_hh_l{layer}{suffix}": (rows, config.hidden_size),
                           f"rnn.bias_ih_l{layer}{suffix}": (rows,), f"rnn.bias_hh_l{layer}{suffix}": (rows,)})
    shapes.update({"head.weight": (config.num_classes, width), "head.bias": (config.num_classes,)})
    return shapes


class SentimentNet(nn.Module):
    """ids (B, T) and lengths (B,) → logit of P(positive) (B,), or the class logits (B, C) when C ≥ 2."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=Vocabulary.PAD)
        if not is_standard(config.gate_activation, config.candidate_activation):
            self.rnn = ActivationGRU(config.embed_dim, config.hidden_size, gate=config.gate_activation,
                                     candidate=config.candidate_activation)
        else:
            recurrent = nn.GRU if config.arch == "gru" else nn.RNN
            self.rnn = recurrent(config.embed_dim, config.hidden_size, batch_first=True,
                                 num_layers=config.num_layers, bidirectional=config.bidirectional)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.directions * config.hidden_size, config.num_classes)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(ids))  # (B, T, E)
        logits = self.head(self.dropout(self.features(embedded, lengths)))  # (B, C)
        return logits.squeeze(-1) if self.config.num_classes == 1 else logits  # (B,) or (B, C)

    def features(self, embedded: torch.Tensor, lengths) -> torch.Tensor:
        """What the head reads, (B, D·H), of right-padded embedded sentences (B, T, E) of ``lengths`` (B,)."""
        lengths = torch.as_tensor(lengths, dtype=torch.long)
        if self.config.directions == 1:
            states, _ = self.rnn(embedded)  # (B, T, H); right padding never reaches earlier steps
            if self.config.readout == "last":
                return states[torch.arange(len(states)), lengths - 1]  # (B, H)
            real = torch.arange(states.shape[1]) < lengths[:, None]  # (B, T)
            return (states * real[..., None]).sum(1) / lengths[:, None]  # (B, H)
        # the backward direction would read the padding first: packed, each sentence starts at its own end
        packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths, batch_first=True, enforce_sorted=False)
        output, h_n = self.rnn(packed)  # h_n (L·D, B, H)
        if self.config.readout == "last":
            top = h_n.view(self.config.num_layers, 2, -1, self.config.hidden_size)[-1]  # (D, B, H)
            return torch.cat([top[0], top[1]], dim=-1)  # (B, 2H): forward, then backward
        states, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True)  # (B, T, 2H), zeros past the end
        return states.sum(1) / lengths[:, None].to(states.dtype)  # (B, 2H)


VERDICT_THRESHOLD = 0.5  # P(positive) above this is a positive verdict: logit > 0, as in training


def is_positive(probability):
    """The verdict of P(positive), elementwise: ``probability > VERDICT_THRESHOLD`` (a bool or bool array).

    >>> is_positive(np.array([0.2, 0.5, 0.93]))
    array([False, False,  True])
    """
    return np.asarray(probability) > VERDICT_THRESHOLD


@dataclass(frozen=True)
class SentenceTrace:
    """One sentence read by the model: everything the page, the CLI and the exports show of it.

    tokens:            the words (or the tokenizer's pieces) as typed (list of T str); ``normalized`` as the
                       vocabulary spells them.
    ids:               (T,) vocabulary ids; ``known`` (T,) False where the word maps to <unk>.
    gates:             the ``GRUTrace`` of the whole recurrent stack, fields (L, D, 1, T, H). For the vanilla
                       RNN baseline: update ≡ 0, reset ≡ 1, candidate = hidden (what a GRU reduces to).
    probability:       (T,) P(positive) had the sentence ended after each token: the model run on each prefix.
                       With C ≥ 2 classes, P(``labels[predicted]``), the class predicted after the last token.
    logit:             (T,) the head's logit after each token (C ≥ 2: the predicted class's logit).
    note:              what the tokenizer cut, if anything.
    start_logit:       the head before any word (on h0, zeros; "mean" reads zeros too); ``start_probability``.
    logit_changes:     (T,) logit_t − logit_{t−1} with logit_{−1} = start_logit: what each word did to the
                       verdict; w·(h_t − h_{t−1}) exactly when ``splits_by_unit``.
    arch:              "gru", or "rnn" for the vanilla baseline.
    head_weight:       (D·H,) float64, the head's weights of the predicted class (which units the verdict reads);
                       ``head_bias`` its bias.
    probabilities:     (T, C) every class's probability after each token (C = 1: P(positive)).
    labels:            the C class names (C = 1: the names of a verdict below and above 0.5); ``predicted``
                       the class ``probability`` follows.
    layer, direction:  the view the (T, H) fields below show: layer 0 … L−1 from the bottom (PyTorch's ``_l0``),
                       direction 0 forward, 1 backward. Default: the top layer, forward. ``at`` picks another.
    readout:           "last" or "mean", as the model's card says.

    (T, H) views of the gates of that layer and direction, by word position, in the trace's dtype: ``update``,
    ``reset``, ``candidate``, ``hidden`` and ``previous`` (the state each word read: h_{t−1}, or h_{t+1} for the
    backward direction); ``h0`` (H,); ``path`` (T + 1, H) = h0 then each h_t in position order.
    The analyses of one sentence take it whole: ``analysis.sentence_logit_split(sentence)`` is the final logit
    as an exact sum over words, ``analysis.sentence_logit_changes(sentence)`` its change by word and unit; both
    only where ``splits_by_unit`` (a one-direction "last" readout, seen at its top layer).

    >>> sentence = load_model("models/sst2-gru").trace("not bad at all")
    >>> sentence.tokens, sentence.update.shape, sentence.path.shape   # doctest: +ELLIPSIS
    (['not', 'bad', 'at', 'all'], (4, ...), (5, ...))
    >>> bool(np.isclose(sentence.start_logit + sentence.logit_changes.sum(), sentence.logit[-1]))
    True
    """

    tokens: list[str]
    normalized: list[str]
    ids: np.ndarray
    known: np.ndarray
    gates: GRUTrace
    probability: np.ndarray
    logit: np.ndarray
    note: str | None
    start_logit: float
    start_probability: float
    logit_changes: np.ndarray
    arch: str
    head_weight: np.ndarray
    head_bias: float
    probabilities: np.ndarray | None = None
    labels: tuple[str, ...] = ("negative", "positive")
    predicted: int = 0
    layer: int = -1
    direction: int = 0
    readout: str = "last"

    def __post_init__(self):
        layers, directions = self.gates.shape[:2]
        layer = self.layer % layers if -layers <= self.layer < layers else None
        if layer is None or self.direction not in range(directions):
            raise ValueError(f"this model has layers 1 to {layers} and {directions} direction(s); got layer "
                             f"{self.layer + 1} and direction {self.direction}")
        object.__setattr__(self, "layer", layer)  # negative layers count from the top, as in Python
        if self.probabilities is None:
            object.__setattr__(self, "probabilities", np.asarray(self.probability)[:, None])

    def at(self, layer: int, direction: int = 0) -> SentenceTrace:
        """The same sentence seen at another ``layer`` (0 … L−1 from the bottom; −1 the top) and ``direction``
        (0 forward, 1 backward); ``ValueError`` when the model has no such layer or direction."""
        return replace(self, layer=layer, direction=direction)

    @property
    def num_layers(self) -> int:
        return self.gates.shape[0]

    @property
    def num_directions(self) -> int:
        return self.gates.shape[1]

    @property
    def num_classes(self) -> int:
        return self.probabilities.shape[1]

    @property
    def splits_by_unit(self) -> bool:
        """Whether the logit is w · h_t + b of the states shown: a one-direction "last" readout, seen at its
        top layer. Only then do the logit's change by unit and the memory decomposition exist."""
        return (self.readout == "last" and self.num_directions == 1 and self.direction == 0
                and self.layer == self.num_layers - 1)

    @property
    def update(self) -> np.ndarray:
        return self.gates.update[self.layer, self.direction, 0]  # (T, H)

    @property
    def reset(self) -> np.ndarray:
        return self.gates.reset[self.layer, self.direction, 0]  # (T, H)

    @property
    def candidate(self) -> np.ndarray:
        return self.gates.candidate[self.layer, self.direction, 0]  # (T, H)

    @property
    def hidden(self) -> np.ndarray:
        return self.gates.hidden[self.layer, self.direction, 0]  # (T, H)

    @property
    def previous(self) -> np.ndarray:
        return self.gates.previous[self.layer, self.direction, 0]  # (T, H): h_{t-1} (h_{t+1} backward)

    @property
    def h0(self) -> np.ndarray:
        return self.gates.h0[self.layer, self.direction, 0]  # (H,)

    @property
    def path(self) -> np.ndarray:
        """h0 then h_1 … h_T, (T + 1, H): the path the hidden state takes."""
        return np.vstack([self.h0[None], self.hidden])

    @property
    def layer_input(self) -> np.ndarray | None:
        """(T, D·H) what the shown layer read at each position: the layer below's outputs (forward, then
        backward); None for the bottom layer, which reads the embeddings."""
        if self.layer == 0:
            return None
        below = self.gates.hidden[self.layer - 1, :, 0]  # (D, T, H)
        return np.concatenate(list(below), axis=-1)  # (T, D·H)


class SentimentModel:
    """A loaded, read-only classifier: ``.gru``, ``.predict_proba``, ``.trace``, and the primitives the
    analyses share (``encode``, ``embed``, ``head_logits``, the readout ``readout_weight``/``readout_bias``).
    Ask the model, never its ``net``: only this module and training touch the network. Safe to share across
    threads: nothing here writes to the network after loading."""

    def __init__(self, net: SentimentNet, vocab: Vocabulary | TokenizerFile, card: dict, path: Path | None = None):
        self.net = net.eval()
        for parameter in self.net.parameters():
            parameter.requires_grad_(False)
        self.vocab, self.card, self.path = vocab, card, path
        self.config = net.config

    @property
    def gru(self) -> nn.GRU | nn.RNN:
        return self.net.rnn

    @property
    def arch(self) -> str:
        return self.config.arch

    @property
    def num_layers(self) -> int:
        return self.config.num_layers

    @property
    def num_directions(self) -> int:
        return self.config.directions

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def readout(self) -> str:
        return self.config.readout

    @property
    def labels(self) -> tuple[str, ...]:
        """The class names: the card's ``labels``, else "negative", "positive" for one logit and "class 0", …"""
        labels = self.card.get("labels")
        if isinstance(labels, list) and len(labels) == max(self.num_classes, 2):
            return tuple(labels)
        return ("negative", "positive") if self.num_classes == 1 else tuple(f"class {c}"
                                                                             for c in range(self.num_classes))

    @property
    def single_path(self) -> bool:
        """One layer, one direction, one logit read from the last state: the shape of the shipped models, for
        which every analysis of the page is defined."""
        return (self.num_layers == 1 and self.num_directions == 1 and self.readout == "last"
                and self.num_classes == 1)

    @property
    def readout_weight(self) -> np.ndarray:
        """(H,) float64, the head's weights w: the verdict's logit is w · h_T + b, so w says which units it reads.
        Defined for one logit and one direction; ``ValueError`` otherwise."""
        self._check_one_readout()
        return self.net.head.weight.detach().double().numpy()[0].copy()

    @property
    def readout_bias(self) -> float:
        """The head's bias b (float64), the logit of the zero state."""
        self._check_one_readout()
        return float(self.net.head.bias.detach().double()[0])

    def _check_one_readout(self) -> None:
        if self.num_classes != 1 or self.num_directions != 1:
            raise ValueError("the readout is one vector of H weights only for a one-logit, one-direction model")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """A copy of every tensor of the network by PyTorch's name (``embedding.weight``, ``rnn.weight_ih_l0``,
        ``head.bias``, …): what a model folder stores."""
        return {name: tensor.detach().clone() for name, tensor in self.net.state_dict().items()}

    @property
    def name(self) -> str:
        return self.card.get("name") or (self.path.name if self.path else "model")

    def __repr__(self) -> str:
        c = self.config
        stack = "" if self.single_path else (f", layers={c.num_layers}, directions={c.directions}, "
                                             f"classes={c.num_classes}, readout={c.readout}")
        return (f"SentimentModel({self.name!r}, arch={c.arch}, vocab={c.vocab_size}, "
                f"embed={c.embed_dim}, hidden={c.hidden_size}{stack})")

    def tokenize(self, text: str, max_tokens: int = MAX_TOKENS) -> tuple[TokenizedText, list[int]]:
        return self.vocab.encode_text(text, max_tokens)

    def encode(self, texts, max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        """Vocabulary ids of each text, tokenized as typed text is. A text that cannot be read (no words)
        raises ``ValueError`` naming its place in the list (1-based)."""
        if isinstance(texts, str):
            raise ValueError("give a list of texts, not one string")
        encoded = []
        for index, text in enumerate(texts):
            try:
                encoded.append(self.tokenize(text, max_tokens)[1])
            except ValueError as error:
                raise ValueError(f"sentence {index + 1}: {error}") from None
        return encoded

    def embed(self, ids) -> torch.Tensor:
        """The embedding of ids (T,) or (B, T) as the recurrent layer reads it: float (…, E), a tensor
        outside inference mode (so autograd may use it)."""
        with torch.inference_mode():
            embedded = self.net.embedding(torch.as_tensor(ids, dtype=torch.long))  # (…, E)
        return embedded.clone()

    def head_logits(self, hidden) -> np.ndarray:
        """The head's logit of what it reads (…, D·H): (…,) float64, or (…, C) with C ≥ 2 classes (the float32
        head, then widened)."""
        with torch.inference_mode():
            logits = self.net.head(torch.as_tensor(hidden, dtype=self.net.head.weight.dtype))  # (…, C)
        return (logits.squeeze(-1) if self.num_classes == 1 else logits).double().numpy()

    def trace(self, text: str, *, clamp_update=None, clamp_reset=None, max_tokens: int = MAX_TOKENS,
              layer: int = -1, direction: int = 0) -> SentenceTrace:
        """Read one text. Clamps mean what they mean in ``trace_gru`` (shape (L, D, 1, T, H)); the (T, H) views
        show ``layer`` (0 … L−1, default the top) and ``direction`` (0 forward, 1 backward)."""
        tokenized, ids = self.tokenize(text, max_tokens)
        clamped = clamp_update is not None or clamp_reset is not None
        gates = self._trace(self.embed(ids)[None], clamp_update, clamp_reset)  # embedded (1, T, E)
        logits = self._prefix_logits(ids, gates, clamped)  # (T,) or (T, C): the model run on each prefix
        if self.readout == "last":  # before any word the top layer holds h0
            start = self.head_logits(np.concatenate(list(gates.h0[-1, :, 0])))  # () or (C,)
        else:  # the mean of no outputs is read as zeros
            start = self.head_logits(np.zeros(self.num_directions * self.config.hidden_size, gates.h0.dtype))
        weight = self.net.head.weight.detach().double().numpy()  # (C, D·H)
        bias = self.net.head.bias.detach().double().numpy()  # (C,)
        if self.num_classes == 1:
            predicted, logit, start_logit = 0, logits, float(start)
            probability = _sigmoid(logit)
            probabilities, start_probability = probability[:, None], float(_sigmoid(start_logit))
        else:
            probabilities = _softmax(logits)  # (T, C)
            predicted = int(np.argmax(probabilities[-1]))
            logit, probability = logits[:, predicted], probabilities[:, predicted]  # (T,)
            start_logit, start_probability = float(start[predicted]), float(_softmax(start)[predicted])
        return SentenceTrace(tokens=tokenized.tokens, normalized=tokenized.normalized,
                             ids=np.asarray(ids, dtype=np.int64), known=np.asarray(ids) != self.vocab.unknown_id,
                             gates=gates, probability=probability, logit=logit, note=tokenized.note,
                             start_logit=start_logit, start_probability=start_probability,
                             logit_changes=np.diff(logit, prepend=start_logit), arch=self.arch,
                             head_weight=weight[predicted].copy(), head_bias=float(bias[predicted]),
                             probabilities=probabilities, labels=self.labels, predicted=predicted,
                             layer=layer, direction=direction, readout=self.readout)

    def _prefix_logits(self, ids: list[int], gates: GRUTrace, clamped: bool) -> np.ndarray:
        """The head on each prefix of the sentence, (T,) or (T, C). One direction: the prefix's state is the
        full run's state at that word (nothing later reaches it). Two: every prefix is run again, in one
        batched pass, since the backward direction of a prefix starts at its own last word."""
        top = gates.hidden[-1, :, 0]  # (D, T, H)
        if self.num_directions == 1:
            if self.readout == "last":
                return self.head_logits(top[0])
            mean = np.cumsum(top[0], axis=0, dtype=np.float64) / np.arange(1, len(ids) + 1)[:, None]  # (T, H)
            return self.head_logits(mean)
        if clamped:
            raise ValueError("forcing the gates of a bidirectional model is not supported: each prefix would "
                             "need its own clamped backward pass")
        return self.head_logits(self._prefix_features(ids))

    def _prefix_features(self, ids: list[int]) -> np.ndarray:
        """What the head reads after each prefix of ``ids``, (T, D·H): the prefixes as one padded batch (in
        chunks of at most ~2^24 floats of output)."""
        steps = len(ids)
        prefixes = torch.tensor(ids, dtype=torch.long).repeat(steps, 1)  # (T, T): row k is ids[:k + 1], padded
        prefixes[torch.ones(steps, steps, dtype=torch.bool).triu(1)] = self.vocab.PAD
        lengths = torch.arange(1, steps + 1)
        chunk = max(1, 2**24 // (steps * self.num_directions * self.config.hidden_size))
        with torch.inference_mode():
            return torch.cat([self.net.features(self.net.embedding(prefixes[start:start + chunk]),
                                                lengths[start:start + chunk])
                              for start in range(0, steps, chunk)]).numpy()  # (T, D·H)

    def predict_proba(self, texts, *, clamp_update=None, clamp_reset=None, batch_size: int = 512) -> np.ndarray:
        """P(positive) for each text, (N,); with C ≥ 2 classes every class's probability, (N, C). Clamps
        broadcast to (L, D, N, T_max, H) of the padded batch; a scalar or a per-unit (H,) array is the usual
        choice."""
        if isinstance(texts, str):
            raise ValueError("predict_proba takes a list of texts; use [text] for one")
        encoded = self.encode(texts)
        clamped = clamp_update is not None or clamp_reset is not None
        if clamped and self.num_directions == 2:
            raise ValueError("forcing the gates of a bidirectional model is not supported: the backward direction "
                             "of a padded batch would read the padding")
        # a clamp with batch or step axes refers to the whole padded batch in input order: one batch;
        # otherwise (no clamp, a scalar, a per-unit (H,) array) similar lengths go together
        whole = any(np.ndim(clamp) > 1 for clamp in (clamp_update, clamp_reset))
        probabilities = np.empty((len(encoded), self.num_classes))
        for chosen, ids, lengths in padded_batches(encoded, max(len(encoded), 1) if whole else batch_size,
                                                   sort=not whole):
            if clamped:
                states = self.trace_ids(ids, clamp_update, clamp_reset).hidden[-1, 0]  # (B, T, H), top layer
                if self.readout == "last":
                    features = states[np.arange(len(chosen)), lengths - 1]  # (B, H)
                else:
                    real = np.arange(states.shape[1]) < lengths[:, None]  # (B, T)
                    features = (states * real[..., None]).sum(1, dtype=np.float64) / lengths[:, None]  # (B, H)
                logits = torch.from_numpy(self.head_logits(features))  # (B,) or (B, C)
            else:
                with torch.inference_mode():
                    logits = self.net(ids, torch.from_numpy(lengths))  # (B,) or (B, C)
            if self.num_classes == 1:
                probabilities[chosen, 0] = torch.sigmoid(logits.double()).numpy()
            else:
                probabilities[chosen] = torch.softmax(logits.double(), dim=-1).numpy()
        return probabilities[:, 0] if self.num_classes == 1 else probabilities

    def trace_ids(self, ids: torch.Tensor, clamp_update=None, clamp_reset=None) -> GRUTrace:
        """The recurrent stack's trace of a padded batch of ids (B, T): fields (L, D, B, T, H). Right padding
        never reaches a sentence's real steps in the forward direction (the backward one reads it first)."""
        return self._trace(self.embed(ids), clamp_update, clamp_reset)  # embedded (B, T, E)

    def _trace(self, embedded, clamp_update, clamp_reset) -> GRUTrace:
        if self.config.arch == "gru":
            return trace_gru(self.net.rnn, embedded, clamp_update=clamp_update, clamp_reset=clamp_reset)
        if clamp_update is not None or clamp_reset is not None:
            raise ValueError("the vanilla RNN has no gates to clamp; choose the GRU model")
        return trace_rnn(self.net.rnn, embedded)


def padded_batches(encoded: list[list[int]], batch_size: int, *, sort: bool = True, groups=None):
    """(indices (B,), ids (B, T), lengths (B,)) batches of encoded sentences, right-padded with PAD, so
    padding never reaches a sentence's real steps. ``sort``: similar lengths together (little padding).
    ``groups``: the batches' indices chosen by the caller (e.g. training's shuffled, length-sorted chunks),
    one list per batch, in the order given; ``batch_size`` and ``sort`` are then not used.

    >>> [(chosen.tolist(), ids.tolist()) for chosen, ids, _ in padded_batches([[5, 6, 7], [8], [9, 4]], 2)]
    [([1, 2], [[8, 0], [9, 4]]), ([0], [[5, 6, 7]])]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    lengths = np.array([len(sentence) for sentence in encoded], dtype=np.int64)
    if groups is None:
        order = np.argsort(lengths, kind="stable") if sort else np.arange(len(encoded))
        groups = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    for group in groups:
        chosen = np.asarray(group, dtype=np.int64)
        ids = torch.full((len(chosen), int(lengths[chosen].max())), Vocabulary.PAD, dtype=torch.long)  # (B, T)
        for row, index in enumerate(chosen):
            ids[row, :lengths[index]] = torch.tensor(encoded[index])
        yield chosen, ids, lengths[chosen]


def _sigmoid(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, float64."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def save_model(net: SentimentNet, vocab: Vocabulary | TokenizerFile, card: dict, path) -> None:
    """Write a model folder: weights as safetensors, the vocabulary (vocab.json) or tokenizer (tokenizer.json),
    and the card with the config."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in net.state_dict().items()}
    save_file(state, str(path / WEIGHTS))
    vocab.save(path / vocab.FILE)
    card = {**card, "format": CARD_FORMAT, "config": asdict(net.config),
            "parameters": sum(p.numel() for p in net.parameters())}
    (path / CARD).write_text(json.dumps(card, indent=2) + "\n")


def load_model(path) -> SentimentModel:
    """Load a model folder. Any missing, corrupt, truncated or mis-shaped file raises ``ValueError``
    naming the file and the fault. Weights are read with safetensors only (no code runs from files)."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"{path}: no such model folder")
    card_path, weights_path = path / CARD, path / WEIGHTS
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{card_path}: file is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:  # deep nesting recurses
        raise ValueError(f"{card_path}: not readable JSON ({error})") from None
    if not isinstance(card, dict) or not isinstance(card.get("config"), dict):
        raise ValueError(f"{card_path}: must be a JSON object with a 'config' object")
    try:
        config = ModelConfig.from_dict(card["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{card_path}: bad config: {error}") from None

    _check_labels(card.get("labels"), config, card_path)
    vocab = _load_vocabulary(path, config)

    if not weights_path.is_file():
        raise ValueError(f"{weights_path}: file is missing")
    if weights_path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise ValueError(f"{weights_path}: larger than {MAX_WEIGHTS_BYTES // 2**20} MiB")
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ValueError(f"{weights_path}: not a readable safetensors file ({error})") from None

    expected = parameter_shapes(config)  # checked before the net exists: a hostile card must not allocate
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{weights_path}: tensors do not match the card's {config.arch} model "
                         f"(missing {_short(missing, 200)}, unexpected {_short(unexpected, 200)})")
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise ValueError(f"{weights_path}: tensor {name!r} has shape {tuple(state[name].shape)}, "
                             f"the card implies {shape}")
        if not state[name].is_floating_point():
            raise ValueError(f"{weights_path}: tensor {name!r} is {state[name].dtype}, not floating point")
        if not torch.isfinite(state[name].float()).all():  # isfinite has no float8 kernel
            raise ValueError(f"{weights_path}: tensor {name!r} holds NaN or infinite values")
    net = SentimentNet(config)
    net.load_state_dict({name: t.float() for name, t in state.items()})
    return SentimentModel(net, vocab, card, path)


def _check_labels(labels, config: ModelConfig, card_path: Path) -> None:
    """The card's optional class names: C of them (two for one logit: below and above 0.5), short and distinct."""
    if labels is None:
        return
    count = max(config.num_classes, 2)
    if (not isinstance(labels, list) or len(labels) != count
            or not all(isinstance(label, str) and 0 < len(label.strip()) <= MAX_LABEL_CHARACTERS
                       and label.isprintable() for label in labels)
            or len(set(labels)) != count):
        raise ValueError(f"{card_path}: 'labels' must be a list of {count} distinct class names of 1 to "
                         f"{MAX_LABEL_CHARACTERS} printable characters")


def _load_vocabulary(path: Path, config: ModelConfig) -> Vocabulary | TokenizerFile:
    """vocab.json, or a Hugging Face tokenizer.json whose ids all index a row of the embedding."""
    has_vocab, has_tokenizer = (path / VOCAB).is_file(), (path / TOKENIZER).is_file()
    if has_vocab and has_tokenizer:
        raise ValueError(f"{path}: holds both {VOCAB} and {TOKENIZER}; keep the one the model was trained with")
    if has_tokenizer:
        tokenizer = TokenizerFile.load(path / TOKENIZER)
        if len(tokenizer) > config.vocab_size:
            raise ValueError(f"{path / TOKENIZER}: has {len(tokenizer)} ids but the card says vocab_size="
                             f"{config.vocab_size} embedding rows")
        return tokenizer
    if not has_vocab:
        raise ValueError(f"{path / VOCAB}: file is missing (or give a Hugging Face {TOKENIZER})")
    vocab = Vocabulary.load(path / VOCAB)
    if len(vocab) != config.vocab_size:
        raise ValueError(f"{path / VOCAB}: has {len(vocab)} tokens but the card says vocab_size="
                         f"{config.vocab_size}")
    return vocab
