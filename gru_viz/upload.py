"""Bring your own GRU: a model folder uploaded as three files, and a template folder to start from.

The format is the one ``save_model`` writes and ``load_model`` reads (see ``model.py``):

    model.safetensors  the weights, safetensors only (never pickle): embedding.weight (V, E),
                       rnn.weight_ih_l0 (3H, E), rnn.weight_hh_l0 (3H, H), rnn.bias_ih_l0 (3H,),
                       rnn.bias_hh_l0 (3H,), head.weight (1, H), head.bias (1,); for arch "rnn" the
                       rnn.* tensors have H rows instead of 3H
    vocab.json         {"tokens": ["<pad>", "<unk>", ...]}: V tokens, spelled as ``text.tokenize`` normalises
                       (or tokenizer.json: a Hugging Face tokenizer whose ids index the embedding rows)
    card.json          {"config": {"arch", "vocab_size", "embed_dim", "hidden_size", "dropout"}, "name", ...}

A stack (``num_layers``, ``bidirectional``, ``num_classes``, ``readout`` in the config) has the tensors
``load_model`` names; docs/bring-your-own-model.md lists them.

``model_from_uploads`` takes the files as (name, bytes) pairs, as a page's file uploader gives them:
names are matched by basename only, the total size is capped, the files are written to a fresh temporary
folder that is removed afterwards, and ``load_model`` checks every shape against the card before use.
Every fault is a ``ValueError`` whose message names the file and says what to do; messages never carry
the server's temporary paths.

>>> model = model_from_uploads([(p.name, p.read_bytes()) for p in Path("models/sst2-gru").iterdir()
...                              if p.is_file()])
>>> model.arch, model.trace("a great movie").tokens
('gru', ['a', 'great', 'movie'])
>>> folder = Path(tempfile.mkdtemp()) / "my-model"
>>> sorted(path.name for path in write_template(folder, words=["a", "great", "movie"], hidden_size=8))
['card.json', 'model.safetensors', 'vocab.json']
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from gru_viz.model import (
    CARD,
    TOKENIZER,
    VOCAB,
    WEIGHTS,
    ModelConfig,
    SentimentModel,
    SentimentNet,
    load_model,
    save_model,
)
from gru_viz.text import Vocabulary, tokenize

__all__ = ["MAX_FILE_BYTES", "MAX_UPLOAD_BYTES", "MODEL_FILES", "model_from_uploads", "write_template"]

MODEL_FILES = (WEIGHTS, VOCAB, CARD)  # or TOKENIZER in place of VOCAB
MAX_UPLOAD_BYTES = 50 * 2**20  # the three files together; the shipped 64-unit model is 7.9 MB
MAX_FILE_BYTES = {  # parsing JSON costs ~10× its size in memory: these bound one upload's parse to ~200 MB
    CARD: 2**20,  # a card with a PCA basis for 4,096 units is ~0.3 MB
    VOCAB: 16 * 2**20,  # ~1.5 million tokens; the shipped vocabulary (14,708 tokens) is 0.2 MB
    TOKENIZER: 32 * 2**20,  # read by the tokenizers library (Rust); a 250k-piece tokenizer.json is ~20 MB
}
MAX_MESSAGE = 400  # characters: a file with thousands of odd tensor names must not flood the page
TEMPLATE_TEXT = ("the movie is great , a lovely and moving film . the plot is boring , dull and bad ; "
                 "I did n't like it , but it 's not awful ! a good story with a superb cast")


def model_from_uploads(files, max_bytes: int = MAX_UPLOAD_BYTES) -> SentimentModel:
    """Load a model from exactly three uploaded files, ``[(name, bytes), ...]`` (model.safetensors,
    vocab.json or tokenizer.json, card.json, in any order). Raises ``ValueError`` with a readable message on any
    fault."""
    contents = _checked_files(files, max_bytes)
    with tempfile.TemporaryDirectory(prefix="gru-viz-upload-") as folder:
        for name, data in contents.items():
            descriptor = os.open(Path(folder) / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
        try:
            model = load_model(folder)
        except ValueError as error:
            raise ValueError(_shorten(str(error).replace(folder + os.sep, "").replace(folder, "the upload"))) from None
    name = model.card.get("name", "uploaded model")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{CARD}: 'name' must be a short text, like \"my-gru\"")
    model.card = {**model.card, "name": _shorten(name.strip(), 80)}
    model.path = None  # the temporary folder is gone; the name comes from the card
    return model


def _checked_files(files, max_bytes: int) -> dict[str, bytes]:
    """{basename: bytes} of exactly the three model files, or a ValueError saying what is wrong."""
    try:
        pairs = [(name, data) for name, data in files]
    except (TypeError, ValueError):
        raise ValueError("Upload the model as (file name, contents) pairs.") from None
    contents: dict[str, bytes] = {}
    total = 0
    for name, data in pairs:
        if not isinstance(name, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise ValueError("Upload the model as (file name, contents) pairs.")
        if any(mark in name for mark in ("/", "\\", "\x00")) or ".." in name:
            raise ValueError(f"The file name {_shown(name)} contains a folder or '..'; upload the files "
                             f"themselves: {', '.join(MODEL_FILES)}.")
        if name not in (*MODEL_FILES, TOKENIZER):
            raise ValueError(f"The file {_shown(name)} is not part of a model folder; upload exactly "
                             f"{', '.join(MODEL_FILES)}.")
        if name in contents:
            raise ValueError(f"{name} was uploaded twice; upload each of {', '.join(MODEL_FILES)} once.")
        if len(data) > MAX_FILE_BYTES.get(name, max_bytes):
            raise ValueError(f"{name} is larger than the limit of {_size(MAX_FILE_BYTES.get(name, max_bytes))} "
                             f"for that file.")
        contents[name] = bytes(data)
        total += len(contents[name])
        if total > max_bytes:  # counted as they come, so an oversized upload is refused before it is copied
            raise ValueError(f"The upload is larger than the limit of {_size(max_bytes)} for the three files "
                             f"together.")
    if VOCAB in contents and TOKENIZER in contents:
        raise ValueError(f"Upload {VOCAB} or {TOKENIZER}, not both: the one the model was trained with.")
    missing = [name for name in MODEL_FILES if name not in contents and not (name == VOCAB and TOKENIZER in contents)]
    if missing:
        raise ValueError(f"Missing {', '.join(missing)}: a model is the three files {', '.join(MODEL_FILES)}.")
    for name, data in contents.items():
        if not data:
            raise ValueError(f"{name} is empty.")
    return contents


def _shown(name: str) -> str:
    """A user's file name, quoted, with only safe characters kept: it goes into a message on the page."""
    kept = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "?" for c in name[:60])
    return f"'{kept}'" + ("…" if len(name) > 60 else "")


def _size(count: int) -> str:
    return f"{count / 2**20:.0f} MiB" if count >= 2**20 else f"{count:,} bytes"


def _shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def write_template(out, *, words=None, arch: str = "gru", embed_dim: int = 16, hidden_size: int = 8,
                   seed: int = 0) -> list[Path]:
    """Write a randomly initialised, valid model folder to ``out`` (which must be new or empty) and return
    the files written. ``words``: the vocabulary, split and lower-cased the way typed text is (default: a
    few dozen sentiment words). The model is untrained: it shows the format, not a verdict."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: already exists and is not an empty folder; choose a new folder")
    vocab = Vocabulary(["<pad>", "<unk>"] + _vocabulary_tokens(TEMPLATE_TEXT.split() if words is None else words))
    config = ModelConfig(arch=arch, vocab_size=len(vocab), embed_dim=embed_dim, hidden_size=hidden_size)
    torch.manual_seed(seed)
    net = SentimentNet(config)
    card = {"name": out.name or "template",
            "description": ("Template: randomly initialised, untrained. Replace model.safetensors with trained "
                            "weights of these shapes (or change config and vocab.json together)."),
            "template": {"seed": seed}}
    save_model(net, vocab, card, out)
    load_model(out)  # the template must itself pass every check a bring-your-own model meets
    return [out / name for name in MODEL_FILES]


def _vocabulary_tokens(words) -> list[str]:
    """Distinct tokens of ``words`` in first-seen order, as ``tokenize`` normalises them ("Don't" → do, n't)."""
    seen: dict[str, None] = {}
    for word in words:
        try:
            normalized = tokenize(str(word)).normalized
        except ValueError:  # a blank entry
            continue
        for token in normalized:
            if token not in ("<pad>", "<unk>"):
                seen.setdefault(token, None)
    if not seen:
        raise ValueError("the word list is empty: give at least one word")
    return list(seen)
