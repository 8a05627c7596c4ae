"""The sentiment classifier the page explains, and loading it safely from a folder.

embedding → one unidirectional ``nn.GRU`` (or ``nn.RNN``, the baseline) → linear head on the last hidden
state. Reading the last state keeps the logit an exact sum over the memory decomposition
h_T = carry + Σ_t contributions[t] (``analysis.decompose_final_state``).

A model folder holds ``model.safetensors`` (weights; never pickle), ``vocab.json`` and ``card.json``
(the ``ModelConfig`` under "config", training facts and metrics). ``load_model(path)`` rebuilds the
network from the card and checks every tensor's shape against it before use.

>>> model = load_model("models/sst2-gru")
>>> is_positive(model.predict_proba(["a gorgeous , witty , seductive movie .", "a dull , lifeless mess"]))
array([ True, False])
>>> sentence = model.trace("But the movie is really boring")
>>> sentence.tokens, sentence.gates.update.shape, sentence.probability.shape   # doctest: +ELLIPSIS
(['But', 'the', 'movie', 'is', 'really', 'boring'], (1, 1, 1, 6, ...), (6,))
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gru_viz.text import MAX_TOKENS, TokenizedText, Vocabulary, tokenize
from gru_viz.trace import GRUTrace, trace_gru, trace_rnn
from gru_viz.variants import CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, ActivationGRU, is_standard

__all__ = ["VERDICT_THRESHOLD", "ModelConfig", "SentenceTrace", "SentimentModel", "SentimentNet", "is_positive",
           "load_model", "padded_batches", "save_model"]

CARD_FORMAT = "gru-viz/1"
WEIGHTS, VOCAB, CARD = "model.safetensors", "vocab.json", "card.json"
MAX_CONFIG_SIZES = {"vocab_size": 10_000_000, "embed_dim": 4096, "hidden_size": 4096}  # larger is not supported
MAX_WEIGHTS_BYTES = 200 * 2**20  # a bring-your-own model larger than this is refused before reading


@dataclass
class ModelConfig:
    arch: str = "gru"  # "gru", or "rnn" for the vanilla tanh RNN baseline
    vocab_size: int = 2
    embed_dim: int = 128
    hidden_size: int = 64  # one heatmap row per unit: 64 rows still read at a glance
    dropout: float = 0.5  # on embeddings and on the final state, training only
    gate_activation: str = "sigmoid"  # GRU gates; "hardsigmoid" for the activation study
    candidate_activation: str = "tanh"  # GRU candidate; "relu" or "linear" for the activation study

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

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**data)


def parameter_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor in ``SentimentNet(config).state_dict()``, without building it. Written out
    (a test checks it against the module) because building on the meta device imports ``torch._dynamo``,
    several seconds on a cold page, and building on the CPU would let a card's sizes allocate memory."""
    rows = (3 if config.arch == "gru" else 1) * config.hidden_size  # PyTorch stacks the gates' rows
    return {"embedding.weight": (config.vocab_size, config.embed_dim),
            "rnn.weight_ih_l0": (rows, config.embed_dim), "rnn.weight_hh_l0": (rows, config.hidden_size),
            "rnn.bias_ih_l0": (rows,), "rnn.bias_hh_l0": (rows,),
            "head.weight": (1, config.hidden_size), "head.bias": (1,)}


class SentimentNet(nn.Module):
    """ids (B, T) and lengths (B,) → logit of P(positive) (B,)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=Vocabulary.PAD)
        if not is_standard(config.gate_activation, config.candidate_activation):
            self.rnn = ActivationGRU(config.embed_dim, config.hidden_size, gate=config.gate_activation,
                                     candidate=config.candidate_activation)
        else:
            recurrent = nn.GRU if config.arch == "gru" else nn.RNN
            self.rnn = recurrent(config.embed_dim, config.hidden_size, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, 1)

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        embedded = self.dropout(self.embedding(ids))  # (B, T, E)
        states, _ = self.rnn(embedded)  # (B, T, H); right padding never reaches earlier steps
        last = states[torch.arange(len(ids)), lengths - 1]  # (B, H)
        return self.head(self.dropout(last)).squeeze(-1)  # (B,)


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

    tokens:            the words as typed (list of T str); ``normalized`` as the vocabulary spells them.
    ids:               (T,) vocabulary ids; ``known`` (T,) False where the word maps to <unk>.
    gates:             the ``GRUTrace`` of the recurrent layer, fields (1, 1, 1, T, H). For the vanilla RNN
                       baseline: update ≡ 0, reset ≡ 1, candidate = hidden (what a GRU reduces to).
    probability:       (T,) P(positive) had the sentence ended after each token.
    logit:             (T,) the head's logit after each token.
    note:              what the tokenizer cut, if anything.
    start_logit:       the head on h0 (zeros unless given), before any word; ``start_probability`` its P.
    logit_changes:     (T,) logit_t − logit_{t−1} with logit_{−1} = start_logit: w·(h_t − h_{t−1}), what each
                       word did to the verdict.
    arch:              "gru", or "rnn" for the vanilla baseline.
    head_weight:       (H,) float64, the head's weights (which units the verdict reads); ``head_bias`` its bias.

    (T, H) views of the gates, in the trace's dtype: ``update``, ``reset``, ``candidate``, ``hidden`` and
    ``previous`` (h_{t−1}, the state each word read); ``h0`` (H,); ``path`` (T + 1, H) = h0 then each h_t.
    The analyses of one sentence take it whole: ``analysis.sentence_logit_split(sentence)`` is the final logit
    as an exact sum over words, ``analysis.sentence_logit_changes(sentence)`` its change by word and unit.

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

    @property
    def update(self) -> np.ndarray:
        return self.gates.update[0, 0, 0]  # (T, H)

    @property
    def reset(self) -> np.ndarray:
        return self.gates.reset[0, 0, 0]  # (T, H)

    @property
    def candidate(self) -> np.ndarray:
        return self.gates.candidate[0, 0, 0]  # (T, H)

    @property
    def hidden(self) -> np.ndarray:
        return self.gates.hidden[0, 0, 0]  # (T, H)

    @property
    def previous(self) -> np.ndarray:
        return self.gates.previous[0, 0, 0]  # (T, H): h_{t-1}

    @property
    def h0(self) -> np.ndarray:
        return self.gates.h0[0, 0, 0]  # (H,)

    @property
    def path(self) -> np.ndarray:
        """h0 then h_1 … h_T, (T + 1, H): the path the hidden state takes."""
        return np.vstack([self.h0[None], self.hidden])


class SentimentModel:
    """A loaded, read-only classifier: ``.gru``, ``.predict_proba``, ``.trace``, and the primitives the
    analyses share (``encode``, ``embed``, ``head_logits``, the readout ``readout_weight``/``readout_bias``).
    Ask the model, never its ``net``: only this module and training touch the network. Safe to share across
    threads: nothing here writes to the network after loading."""

    def __init__(self, net: SentimentNet, vocab: Vocabulary, card: dict, path: Path | None = None):
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
    def readout_weight(self) -> np.ndarray:
        """(H,) float64, the head's weights w: the verdict's logit is w · h_T + b, so w says which units it reads."""
        return self.net.head.weight.detach().double().numpy()[0].copy()

    @property
    def readout_bias(self) -> float:
        """The head's bias b (float64), the logit of the zero state."""
        return float(self.net.head.bias.detach().double()[0])

    def state_dict(self) -> dict[str, torch.Tensor]:
        """A copy of every tensor of the network by PyTorch's name (``embedding.weight``, ``rnn.weight_ih_l0``,
        ``head.bias``, …): what a model folder stores."""
        return {name: tensor.detach().clone() for name, tensor in self.net.state_dict().items()}

    @property
    def name(self) -> str:
        return self.card.get("name") or (self.path.name if self.path else "model")

    def __repr__(self) -> str:
        c = self.config
        return (f"SentimentModel({self.name!r}, arch={c.arch}, vocab={c.vocab_size}, "
                f"embed={c.embed_dim}, hidden={c.hidden_size})")

    def tokenize(self, text: str, max_tokens: int = MAX_TOKENS) -> tuple[TokenizedText, list[int]]:
        tokenized = tokenize(text, max_tokens)
        return tokenized, self.vocab.encode(tokenized.normalized)

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
        """The head's logit of hidden states (…, H): (…,) float64 (the float32 head, then widened)."""
        with torch.inference_mode():
            return self.net.head(torch.as_tensor(hidden)).squeeze(-1).double().numpy()  # (…,)

    def trace(self, text: str, *, clamp_update=None, clamp_reset=None,
              max_tokens: int = MAX_TOKENS) -> SentenceTrace:
        """Read one text; clamps mean what they mean in ``trace_gru`` (shape (1, 1, 1, T, H))."""
        tokenized, ids = self.tokenize(text, max_tokens)
        gates = self._trace(self.embed(ids)[None], clamp_update, clamp_reset)  # embedded (1, T, E)
        logit = self.head_logits(gates.hidden[0, 0, 0])  # (T,)
        start_logit = float(self.head_logits(gates.h0[0, 0, 0]))
        return SentenceTrace(tokens=tokenized.tokens, normalized=tokenized.normalized,
                             ids=np.asarray(ids, dtype=np.int64), known=np.asarray(ids) != Vocabulary.UNK,
                             gates=gates, probability=_sigmoid(logit), logit=logit, note=tokenized.note,
                             start_logit=start_logit, start_probability=float(_sigmoid(start_logit)),
                             logit_changes=np.diff(logit, prepend=start_logit), arch=self.arch,
                             head_weight=self.readout_weight, head_bias=self.readout_bias)

    def predict_proba(self, texts, *, clamp_update=None, clamp_reset=None, batch_size: int = 512) -> np.ndarray:
        """P(positive) for each text, (N,). Clamps broadcast to (1, 1, N, T_max, H) of the padded batch;
        a scalar or a per-unit (H,) array is the usual choice."""
        if isinstance(texts, str):
            raise ValueError("predict_proba takes a list of texts; use [text] for one")
        encoded = self.encode(texts)
        clamped = clamp_update is not None or clamp_reset is not None
        # a clamp with batch or step axes refers to the whole padded batch in input order: one batch;
        # otherwise (no clamp, a scalar, a per-unit (H,) array) similar lengths go together
        whole = any(np.ndim(clamp) > 1 for clamp in (clamp_update, clamp_reset))
        probabilities = np.empty(len(encoded))
        for chosen, ids, lengths in padded_batches(encoded, max(len(encoded), 1) if whole else batch_size,
                                                   sort=not whole):
            if clamped:
                states = self.trace_ids(ids, clamp_update, clamp_reset).hidden[0, 0]  # (B, T, H)
                logits = torch.from_numpy(self.head_logits(states[np.arange(len(chosen)), lengths - 1]))  # (B,)
            else:
                with torch.inference_mode():
                    logits = self.net(ids, torch.from_numpy(lengths))  # (B,)
            probabilities[chosen] = torch.sigmoid(logits.double()).numpy()
        return probabilities

    def trace_ids(self, ids: torch.Tensor, clamp_update=None, clamp_reset=None) -> GRUTrace:
        """The recurrent layer's trace of a padded batch of ids (B, T): fields (1, 1, B, T, H)."""
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


def save_model(net: SentimentNet, vocab: Vocabulary, card: dict, path) -> None:
    """Write a model folder: weights as safetensors, the vocabulary, and the card with the config."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous() for name, tensor in net.state_dict().items()}
    save_file(state, str(path / WEIGHTS))
    vocab.save(path / VOCAB)
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

    vocab = Vocabulary.load(path / VOCAB)
    if len(vocab) != config.vocab_size:
        raise ValueError(f"{path / VOCAB}: has {len(vocab)} tokens but the card says vocab_size="
                         f"{config.vocab_size}")

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
                         f"(missing {missing}, unexpected {unexpected})")
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
