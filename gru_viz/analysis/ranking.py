"""Which units carry the verdict: each unit's exact share of the logit's change over the sentence.

The classifier reads the last state through a linear head, logit_t = w · h_t + b, so the change of the
logit from the start to the end splits exactly over words *and* units::

    logit_T − logit_start = Σ_t Σ_u w_u (h_{t,u} − h_{t−1,u})

``logit_change_by_unit`` returns that (T, H) table: its rows sum to each word's change of the logit, its
columns to each unit's share (which telescopes to w_u (h_{T,u} − h_{0,u})). ``rank_units`` orders the units
by the size of their share, the ranking the page uses for "the units that carry the verdict".

>>> import numpy as np
>>> hidden = np.array([[0.5, 0.0, 0.1], [0.9, -0.2, 0.1]])      # (T, H) = (2, 3)
>>> previous = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.1]])     # h_{t−1}: h0 = 0, then h_1
>>> changes = logit_change_by_unit(hidden, previous, np.array([2.0, 1.0, -3.0]))
>>> changes.sum(axis=1).round(6).tolist()     # each word's change of the logit
[0.7, 0.6]
>>> rank_units(changes).tolist()   # |shares| = |1.8|, |-0.2|, |-0.3|
[0, 2, 1]
"""

from __future__ import annotations

import numpy as np

from gru_viz.analysis.decomposition import LogitSplit, word_logit_contributions
from gru_viz.analysis.units import cluster_order

__all__ = ["ROW_ORDERS", "logit_change_by_unit", "rank_units", "sentence_logit_changes", "sentence_logit_split",
           "shown_units", "unit_shares"]

ROW_ORDERS = ("verdict", "index", "clustered")


def logit_change_by_unit(hidden, previous, weight) -> np.ndarray:
    """(T, H) float64: w_u (h_{t,u} − h_{t−1,u}), the change of the logit at word t that passes through unit u.

    hidden: (T, H) h_t; previous: (T, H) h_{t−1} (h0 in the first row); weight: (H,) or (1, H) the head's
    weights. Rows sum to the per-word change of the logit, and everything sums to logit_T − logit_start.
    """
    hidden = np.asarray(hidden, dtype=np.float64)
    previous = np.asarray(previous, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64).reshape(-1)  # (H,)
    if hidden.ndim != 2 or hidden.shape != previous.shape or weight.shape != hidden.shape[1:]:
        raise ValueError(f"need hidden and previous states (T, H) and head weights (H,), got {hidden.shape}, "
                         f"{previous.shape} and {weight.shape}")
    return (hidden - previous) * weight  # (T, H)


def unit_shares(changes) -> np.ndarray:
    """(H,) each unit's share of logit_T − logit_start: the columns of ``logit_change_by_unit`` summed."""
    return np.asarray(changes, dtype=np.float64).sum(axis=0)


def rank_units(changes, count: int | None = None) -> np.ndarray:
    """Units by the size of their share of the logit change, largest first (ties: the lower index).

    changes: one (T, H) table of ``logit_change_by_unit``, or a list of them (sentences compared side by
    side: units rank by the sum of their |share| over the sentences). count: keep the first ``count``.
    Returns (H,) or (count,) unit indices.
    """
    tables = [changes] if isinstance(changes, np.ndarray) else list(changes)
    size = sum(np.abs(unit_shares(table)) for table in tables)  # (H,)
    order = np.argsort(-size, kind="stable")
    return order if count is None else order[:max(int(count), 0)]


NO_UNIT_SPLIT = ("the logit splits by unit only for a one-direction \"last\" readout, at its top layer: "
                 "elsewhere the head does not read h_t alone")


def _check_split(sentence) -> None:
    if not getattr(sentence, "splits_by_unit", True):
        raise ValueError(NO_UNIT_SPLIT)


def sentence_logit_changes(sentence) -> np.ndarray:
    """``logit_change_by_unit`` of a ``SentenceTrace``: (T, H), its rows sum to ``sentence.logit_changes``.
    ``ValueError`` where the head does not read the states shown (``sentence.splits_by_unit`` is False)."""
    _check_split(sentence)
    return logit_change_by_unit(sentence.hidden, sentence.previous, sentence.head_weight)


def sentence_logit_split(sentence) -> LogitSplit:
    """The final logit of a ``SentenceTrace`` as ``carry + bias + words.sum()`` (``word_logit_contributions``
    of its gates): words (T,) is what each word wrote into h_T, as the head reads it (the retention view).
    ``ValueError`` where the head does not read the states shown (``sentence.splits_by_unit`` is False)."""
    _check_split(sentence)
    return word_logit_contributions(sentence.update, sentence.candidate, sentence.h0, sentence.head_weight,
                                    sentence.head_bias)


def shown_units(sentences, count: int | None = None, order: str = "verdict") -> np.ndarray:
    """The heatmap rows for one ``SentenceTrace`` or a list of them (sentences side by side): the ``count``
    units with the largest share of the verdict (all units when None), in ``order``: "verdict" (largest share
    first), "index" (ascending unit number) or "clustered" (units whose z, r and h behave alike over the words
    next to each other, ``units.cluster_order``). Where the logit does not split by unit (``splits_by_unit`` is
    False) there is no share to rank by: the first ``count`` units by index, and "verdict" orders by index.
    Returns (count,) or (H,) unit indices.
    """
    sentences = list(sentences) if isinstance(sentences, (list, tuple)) else [sentences]
    if all(getattr(sentence, "splits_by_unit", True) for sentence in sentences):
        chosen = rank_units([sentence_logit_changes(sentence) for sentence in sentences], count)
    else:
        chosen = np.arange(sentences[0].hidden.shape[1])[:count]
    if order == "verdict":
        return chosen
    if order == "index":
        return np.sort(chosen)
    if order == "clustered":
        features = np.hstack([np.hstack([s.update.T, s.reset.T, s.hidden.T]) for s in sentences])  # (H, 3ΣT)
        return chosen[cluster_order(features[chosen])]
    raise ValueError(f"unit order must be one of {', '.join(ROW_ORDERS)}; got {order!r}")
