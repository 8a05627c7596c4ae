"""Reading texts for the data-set analyses: embeddings are the model's own."""

from __future__ import annotations

import torch

from gru_viz.analysis import (
    embed_texts,
)


def test_embed_texts_is_the_models_embedding_of_each_sentence(model):
    sequences = embed_texts(model, ["great movie", "zebra ."])
    ids = [model.tokenize(t)[1] for t in ["great movie", "zebra ."]]
    for sequence, sentence in zip(sequences, ids):
        torch.testing.assert_close(sequence, model.embed(sentence), rtol=0, atol=0)
