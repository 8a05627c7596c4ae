"""Reading a list of texts for the data-set analyses: ids, tokens, embeddings and the mask of real steps.

Every data-set analysis (ablation, memory statistics, unit search, gradient flow) reads its texts through
these, so a text that cannot be read is refused the same way everywhere: a ``ValueError`` naming its place.

>>> from gru_viz.model import load_model
>>> encode_texts(load_model("models/sst2-gru"), ["a great movie", "   "])   # doctest: +ELLIPSIS
Traceback (most recent call last):
ValueError: sentence 2: The text is empty: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["Progress", "embed_texts", "encode_texts", "real_steps", "tokenize_texts"]

Progress = Callable[[int, int], None]  # progress(done, total), e.g. a tqdm bar or st.progress behind it


def encode_texts(model: SentimentModel, texts) -> list[list[int]]:
    """Vocabulary ids of each text (``model.encode``); an empty list is refused."""
    ids = model.encode(texts)
    if not ids:
        raise ValueError("there are no sentences to analyse")
    return ids


def tokenize_texts(model: SentimentModel, texts) -> tuple[list[list[str]], list[list[int]]]:
    """Tokens as typed and vocabulary ids of each text; a text that cannot be read names its index."""
    if isinstance(texts, str):
        raise ValueError("give a list of texts, not one string")
    tokens, ids = [], []
    for index, text in enumerate(texts):
        try:
            tokenized, encoded = model.tokenize(text)
        except ValueError as error:
            raise ValueError(f"sentence {index + 1}: {error}") from None
        tokens.append(tokenized.tokens)
        ids.append(encoded)
    if not ids:
        raise ValueError("there are no sentences to analyse")
    return tokens, ids


def real_steps(lengths: np.ndarray, steps: int) -> np.ndarray:
    """(B, T) True on the real (unpadded) steps of a right-padded batch of ``lengths`` (B,)."""
    return np.arange(steps)[None, :] < np.asarray(lengths)[:, None]


def embed_texts(model: SentimentModel, texts) -> list[torch.Tensor]:
    """Each text as the recurrent layer reads it: a list of (T_i, E) float tensors, in input order.
    Feed them to ``gradient_flow`` (one) or ``dataset_gradient_flow`` (all)."""
    return [model.embed(ids) for ids in encode_texts(model, texts)]  # (T_i, E) each
