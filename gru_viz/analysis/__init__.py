"""Analyses on traces: what each word wrote into memory, how gradient flows back through time, what
happens when gates are forced, and how each unit uses its gates over a whole data set.

Every function here takes arrays, modules or a loaded ``SentimentModel`` and returns arrays or one named
result object; the page and the CLI only display them. Nothing here writes to a model: interventions go
through the clamps of ``trace_gru``, which never modify the module.

>>> clamp = clamp_array((len(tokens), 64), units=[3, 7], positions=slice(2, 5), value=1.0)
>>> run = intervene(model, "not bad at all", clamp_update=clamp)      # free and clamped side by side
>>> ablation(model, texts, labels)        # {"free": 0.89, "reset=1": ..., "update=0": ..., "reset=1,update=0": ...}
>>> memory_statistics(model, texts).timescale                         # (H,) steps
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from gru_viz.model import padded_batches

if TYPE_CHECKING:
    from gru_viz.model import SentenceTrace, SentimentModel

__all__ = ["ABLATIONS", "CLAMP_MODES", "Activation", "GradientFlowByDistance", "Intervention",
           "MemoryStatistics", "ablation", "ablation_accuracy", "ablation_probabilities", "clamp_array",
           "dataset_gradient_flow", "decompose_final_state", "embed_texts", "fit_pca", "gradient_flow",
           "intervene", "memory_statistics", "step_jacobians", "top_activations", "verdict_flips"]

Progress = Callable[[int, int], None]  # progress(done, total), e.g. a tqdm bar or st.progress behind it


def decompose_final_state(update: np.ndarray, candidate: np.ndarray, h0: np.ndarray):
    """Split h_T exactly into what survives of h0 and what each step wrote.

    Unrolling h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ n_t gives
    h_T = (∏_s z_s) h0 + Σ_t (∏_{s>t} z_s)(1 − z_t) n_t.

    update, candidate: (T, H); h0: (H,).
    Returns ``carry`` (H,) = (∏_s z_s) h0 and ``contributions`` (T, H), float64, with
    ``carry + contributions.sum(0) == h_T``. O(T·H) through a reverse cumulative product.

    >>> carry, contributions = decompose_final_state(trace.update[0, 0, 0], trace.candidate[0, 0, 0], trace.h0[0, 0, 0])
    """
    update = np.asarray(update, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    h0 = np.asarray(h0, dtype=np.float64)
    if update.ndim != 2 or update.shape != candidate.shape or h0.shape != update.shape[1:]:
        raise ValueError(f"need update and candidate (T, H) and h0 (H,), got {update.shape}, "
                         f"{candidate.shape}, {h0.shape}")
    suffix = np.cumprod(update[::-1], axis=0)[::-1]  # (T, H): suffix[t] = ∏_{s>=t} z_s
    survival = np.ones_like(update)  # (T, H): ∏_{s>t} z_s
    survival[:-1] = suffix[1:]
    contributions = survival * (1.0 - update) * candidate  # (T, H)
    carry = suffix[0] * h0 if len(update) else h0.copy()  # (H,)
    return carry, contributions


def step_jacobians(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """∂h_t/∂h_{t-1} for every step of a 1-layer unidirectional GRU or RNN on unbatched x (T, I).

    Returns (T, H, H) float64: entry t is the Jacobian of step t at the state it actually read.
    Computed by autograd on one step function, vectorised over steps (exact, no finite differences).
    """
    _check_single_layer(rnn)
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != rnn.input_size:
        raise ValueError(f"x must be unbatched (T, {rnn.input_size}), got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError("x has no steps: gradient flow needs at least one")
    # float64 so products of many small Jacobians stay accurate
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    b_ih = rnn.bias_ih_l0.detach().double() if rnn.bias else torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_hh = rnn.bias_hh_l0.detach().double() if rnn.bias else torch.zeros(w_hh.shape[0], dtype=torch.float64)
    x = x.detach().double()
    with torch.no_grad():
        states, _ = _double_copy(rnn)(x)  # (T, H)
    previous = torch.cat([torch.zeros(1, rnn.hidden_size, dtype=torch.float64), states[:-1]])  # (T, H)

    if isinstance(rnn, nn.GRU):
        units = rnn.hidden_size

        def step(x_t, h):
            gi, gh = w_ih @ x_t + b_ih, w_hh @ h + b_hh  # (3H,)
            reset = torch.sigmoid(gi[:units] + gh[:units])
            update = torch.sigmoid(gi[units:2 * units] + gh[units:2 * units])
            candidate = torch.tanh(gi[2 * units:] + reset * gh[2 * units:])
            return update * h + (1 - update) * candidate
    else:
        activation = torch.tanh if rnn.nonlinearity == "tanh" else torch.relu

        def step(x_t, h):
            return activation(w_ih @ x_t + b_ih + w_hh @ h + b_hh)

    jacobians = torch.func.vmap(torch.func.jacrev(step, argnums=1))(x, previous)  # (T, H, H)
    return jacobians.numpy()


def gradient_flow(rnn: nn.GRU | nn.RNN, x: torch.Tensor) -> np.ndarray:
    """‖∂h_{T−1}/∂h_t‖_F for every position t (0-based), shape (T,).

    For a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN`` on unbatched x (T, I). The last entry is
    ‖I‖_F = √H; earlier entries show how much of a gradient arriving at the end reaches position t.
    The product of step Jacobians is accumulated from the end, so the cost is O(T·H³), not O(T²·H³).
    """
    jacobians = step_jacobians(rnn, x)  # (T, H, H)
    steps, units = jacobians.shape[0], jacobians.shape[1]
    norms = np.empty(steps)
    chain = np.eye(units)  # ∂h_{T-1}/∂h_t, starting at t = T-1
    norms[-1] = np.sqrt(units)
    for t in range(steps - 2, -1, -1):
        chain = chain @ jacobians[t + 1]
        norms[t] = np.linalg.norm(chain)
    return norms


def _check_single_layer(rnn) -> None:
    if not isinstance(rnn, (nn.GRU, nn.RNN)):
        raise ValueError(f"need a torch.nn.GRU or torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("gradient flow is defined here for a 1-layer unidirectional network")


def _double_copy(rnn):
    """A float64 twin of rnn for the forward pass; the original is never touched."""
    twin = type(rnn)(rnn.input_size, rnn.hidden_size, bias=rnn.bias,
                     **({"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}))
    twin.load_state_dict(rnn.state_dict())
    return twin.double().eval()


def fit_pca(states: np.ndarray, components: int = 3) -> dict:
    """Principal axes of hidden states (N, H): ``mean`` (H,), ``components`` (k, H), ``explained`` (k,)
    (fraction of variance). Signs are fixed so each axis's largest loading is positive (stable bases)."""
    states = np.asarray(states, dtype=np.float64)
    mean = states.mean(axis=0)  # (H,)
    _, singular, axes = np.linalg.svd(states - mean, full_matrices=False)  # axes (min(N,H), H)
    axes = axes[:components]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular ** 2
    return {"mean": mean, "components": axes, "explained": variance[:components] / variance.sum()}


# ---- interventions ---------------------------------------------------------------------------------

CLAMP_MODES = {  # global interventions, as keyword arguments of trace / predict_proba / intervene
    "vanilla-RNN mode": {"clamp_update": 0.0, "clamp_reset": 1.0},  # h_t = tanh(W x_t + U h_{t-1} + b)
    "frozen memory": {"clamp_update": 1.0},  # h_t = h_{t-1}: nothing is ever written
}


def clamp_array(shape, units=None, positions=None, value: float = 1.0, base=None) -> np.ndarray:
    """A clamp for ``trace_gru`` / ``SentimentModel.trace`` / ``predict_proba``: NaN (free) except
    ``value`` at the chosen units × positions.

    shape:     H (an int) → a per-unit clamp (H,) that holds at every step of every sentence (for
               data sets); (T, H) → a clamp (1, 1, 1, T, H) for one sentence of T tokens.
    units:     None (all), an index, a list of indices or a boolean mask over the H units.
    positions: None (all), an index, a slice/range (a word range) or a list; only with shape (T, H).
    value:     the gate value in [0, 1] to force.
    base:      an earlier clamp of the same shape to add to (its non-NaN entries are kept unless
               overwritten here), so different units can be forced to different values.
    Indices follow Python's rules (negative counts from the end); an index out of range is a ValueError.

    >>> clamp_array((6, 64), units=[3, 7], positions=slice(2, 5), value=0.0)   # (1, 1, 1, 6, 64)
    >>> model.predict_proba(texts, clamp_update=clamp_array(64, units=[3], value=1.0))
    """
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"a gate can only be clamped to a value in [0, 1], got {value:g}")
    if isinstance(shape, (int, np.integer)):
        if positions is not None:
            raise ValueError("positions need a sentence: give the shape as (T, H), not H")
        full = (int(shape),)
    else:
        full = tuple(int(n) for n in shape)
        if len(full) != 2:
            raise ValueError(f"shape must be H or (T, H), got {shape!r}")
    if min(full) < 1:
        raise ValueError(f"shape must be positive, got {full}")
    clamp = np.full(full, np.nan)  # (H,) or (T, H)
    if base is not None:
        base = np.asarray(base, dtype=np.float64)
        if base.size != clamp.size:
            raise ValueError(f"base has shape {base.shape}, which does not match {full}")
        clamp[...] = base.reshape(full)
    chosen_units = _select(full[-1], units, "unit")
    if len(full) == 1:
        clamp[chosen_units] = value
        return clamp
    chosen_positions = _select(full[0], positions, "position")
    clamp[np.ix_(chosen_positions, chosen_units)] = value
    return clamp[None, None, None]  # (1, 1, 1, T, H)


def _select(size: int, index, what: str) -> np.ndarray:
    """Indices chosen by ``index`` (None = all) among ``range(size)``, as an int array."""
    everything = np.arange(size)
    if index is None:
        return everything
    if isinstance(index, range):
        index = slice(index.start, index.stop, index.step)
    try:
        chosen = everything[index]
    except IndexError:
        raise ValueError(f"{what} {index!r} is out of range: there are {size} ({what}s 0 to {size - 1})") from None
    except (TypeError, ValueError):
        raise ValueError(f"cannot choose {what}s with {index!r}: give an index, a slice, a list of indices "
                         "or a boolean mask") from None
    return np.atleast_1d(chosen)


@dataclass(frozen=True)
class Intervention:
    """One sentence read freely and with forced gates.

    free, clamped:      ``SentenceTrace``s of the same tokens (gate fields (1, 1, 1, T, H)).
    hidden_distance:    (T,) ‖h_t(clamped) − h_t(free)‖₂ after each token: how far the path moved.
    probability_change: (T,) P(positive | clamped) − P(positive | free) after each token.
    """

    free: "SentenceTrace"
    clamped: "SentenceTrace"
    hidden_distance: np.ndarray
    probability_change: np.ndarray

    @property
    def verdict_flipped(self) -> bool:
        return bool((self.free.probability[-1] > 0.5) != (self.clamped.probability[-1] > 0.5))


def intervene(model: "SentimentModel", text: str, *, clamp_update=None, clamp_reset=None) -> Intervention:
    """Read ``text`` freely and under the clamps (as in ``trace_gru``; see ``clamp_array`` and
    ``CLAMP_MODES``). The model is never modified, so concurrent users never see each other's clamps.

    >>> run = intervene(model, "the plot is thin but the acting is great", **CLAMP_MODES["frozen memory"])
    >>> run.probability_change[-1]
    """
    free = model.trace(text)
    clamped = model.trace(text, clamp_update=clamp_update, clamp_reset=clamp_reset)
    distance = np.linalg.norm(clamped.hidden.astype(np.float64) - free.hidden, axis=-1)  # (T,)
    return Intervention(free=free, clamped=clamped, hidden_distance=distance,
                        probability_change=clamped.probability - free.probability)


# ---- data sets: encoding and batched traces ---------------------------------------------------------


def _encode(model: "SentimentModel", texts) -> tuple[list[list[str]], list[list[int]]]:
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


def _mask(lengths: np.ndarray, steps: int) -> np.ndarray:
    return np.arange(steps)[None, :] < lengths[:, None]  # (B, T): True on real tokens


def embed_texts(model: "SentimentModel", texts) -> list[torch.Tensor]:
    """Each text as the recurrent layer reads it: a list of (T_i, E) float tensors, in input order.
    Feed them to ``gradient_flow`` (one) or ``dataset_gradient_flow`` (all)."""
    _, ids = _encode(model, texts)
    with torch.inference_mode():
        return [model.net.embedding(torch.tensor(sentence)).clone() for sentence in ids]  # (T_i, E)


# ---- "why a reset gate?": accuracy under forced gates ------------------------------------------------

ABLATIONS = {  # condition → clamps; the keys are the public names of the table (CLI --json, page)
    "free": {},
    "reset=1": {"clamp_reset": 1.0},
    "update=0": {"clamp_update": 0.0},
    "reset=1,update=0": {"clamp_update": 0.0, "clamp_reset": 1.0},
}
ABLATION_MEANINGS = {  # what each condition does, in words, for the CLI's table and the page's
    "free": "gates as trained",
    "reset=1": "reset gate forced open: every candidate reads all of h",
    "update=0": "update gate forced to 0: the memory is overwritten at every word",
    "reset=1,update=0": "both: a vanilla tanh RNN with the GRU's weights",
}


def ablation_probabilities(model: "SentimentModel", texts, *, progress: Progress | None = None,
                           batch_size: int = 512) -> dict[str, np.ndarray]:
    """P(positive) of every text under each condition of ``ABLATIONS``: {name: (N,) float64}.

    Equal to ``model.predict_proba(texts, **ABLATIONS[name])``, computed in length-sorted batches (a
    scalar clamp does not care how sentences are batched). ``progress(done, total)`` is called after
    each batch, counting sentences over all four conditions (total = 4N).
    """
    if model.arch != "gru":
        raise ValueError("the vanilla RNN has no gates to force; the ablation needs a GRU model")
    _, ids = _encode(model, texts)
    total, done = len(ABLATIONS) * len(ids), 0
    probabilities = {}
    for name, clamps in ABLATIONS.items():
        result = np.empty(len(ids))
        for chosen, padded, lengths in padded_batches(ids, batch_size):
            states = model.trace_ids(padded, **clamps).hidden[0, 0]  # (B, T, H)
            last = torch.from_numpy(states[np.arange(len(chosen)), lengths - 1])  # (B, H)
            with torch.inference_mode():
                logits = model.net.head(last).squeeze(-1)  # (B,)
            result[chosen] = torch.sigmoid(logits.double()).numpy()
            done += len(chosen)
            if progress is not None:
                progress(done, total)
        probabilities[name] = result
    return probabilities


def ablation_accuracy(probabilities: dict[str, np.ndarray], labels) -> dict[str, float]:
    """Accuracy of each condition: the verdict is positive when P(positive) > 0.5 (logit > 0, as in
    training). ``probabilities`` as returned by ``ablation_probabilities``; labels (N,) of 0/1."""
    labels = np.asarray(labels)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (negative) or 1 (positive)")
    accuracy = {}
    for name, values in probabilities.items():
        if len(values) != len(labels):
            raise ValueError(f"{len(values)} probabilities but {len(labels)} labels")
        accuracy[name] = float(np.mean((np.asarray(values) > 0.5) == (labels == 1)))
    return accuracy


def ablation(model: "SentimentModel", texts, labels, progress: Progress | None = None,
             batch_size: int = 512) -> dict[str, float]:
    """The data set's accuracy with free gates and with the reset and/or update gate forced open:
    exactly the keys "free", "reset=1", "update=0", "reset=1,update=0" (floats in [0, 1]).

    "reset=1" lets every candidate read all of h_{t-1}; "update=0" overwrites the memory at every step;
    both at once make the GRU a vanilla tanh RNN with the GRU's candidate weights.

    >>> ablation(model, texts, labels)   # {"free": 0.889, "reset=1": ..., "update=0": ..., ...}
    """
    if len(labels) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    return ablation_accuracy(ablation_probabilities(model, texts, progress=progress, batch_size=batch_size),
                             labels)


def verdict_flips(free, changed, labels=None) -> np.ndarray:
    """Indices of the sentences whose verdict (P > 0.5) differs between ``free`` and ``changed``
    probabilities (both (N,)), largest |change| first. With ``labels`` (N,), only the flips that made a
    right verdict wrong: the sentences that needed the gate.

    >>> p = ablation_probabilities(model, texts)
    >>> for i in verdict_flips(p["free"], p["reset=1"], labels)[:5]: print(texts[i], p["free"][i], p["reset=1"][i])
    """
    free, changed = np.asarray(free, dtype=np.float64), np.asarray(changed, dtype=np.float64)
    if free.shape != changed.shape or free.ndim != 1:
        raise ValueError(f"need two probability arrays of the same length, got {free.shape} and {changed.shape}")
    flipped = (free > 0.5) != (changed > 0.5)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != free.shape:
            raise ValueError(f"{len(labels)} labels for {len(free)} sentences")
        flipped &= (free > 0.5) == (labels == 1)
    indices = np.flatnonzero(flipped)
    return indices[np.argsort(-np.abs(changed - free)[indices], kind="stable")]


# ---- gradient flow over a data set -------------------------------------------------------------------


@dataclass(frozen=True)
class GradientFlowByDistance:
    """‖∂h_{T−1}/∂h_t‖_F over many sentences, grouped by distance d = T−1−t from the last token.

    distance:       (D,) 0, 1, …, D−1 (D = the longest sentence); d = 0 is the last token, norm √H.
    mean:           (D,) mean norm over the sentences long enough to have distance d.
    geometric_mean: (D,) exp(mean log norm): the typical sentence, the right average on a log axis.
    count:          (D,) how many sentences reach distance d (T_i > d).
    """

    distance: np.ndarray
    mean: np.ndarray
    geometric_mean: np.ndarray
    count: np.ndarray


def dataset_gradient_flow(rnn: nn.GRU | nn.RNN, sequences, *, batch_size: int = 256,
                          progress: Progress | None = None) -> GradientFlowByDistance:
    """``gradient_flow`` of every sequence, averaged by distance from the end.

    rnn: a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN``; sequences: (T_i, I) tensors or arrays,
    e.g. ``embed_texts(model, texts)``. Batched: step Jacobians come from their closed form (the GRU's
    gate derivatives) in float64, and the chains ∂h_{T−1}/∂h_t of a whole batch grow together from the
    end, right-aligned. ``progress(done, total)`` counts sequences.

    >>> flow = dataset_gradient_flow(model.gru, embed_texts(model, texts))
    >>> flow.geometric_mean[10]     # typical ‖∂h_T/∂h_{T-10}‖ over the data set
    """
    _check_single_layer(rnn)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    sequences = [torch.as_tensor(s).detach().double() for s in sequences]
    if not sequences:
        raise ValueError("there are no sequences to average over")
    for index, sequence in enumerate(sequences):
        if sequence.dim() != 2 or sequence.shape[0] == 0 or sequence.shape[1] != rnn.input_size:
            raise ValueError(f"sequence {index} must be (T, {rnn.input_size}) with T ≥ 1, "
                             f"got {tuple(sequence.shape)}")
    units = rnn.hidden_size
    lengths = np.array([len(s) for s in sequences])
    longest = int(lengths.max())
    norm_sum, log_sum = np.zeros(longest), np.zeros(longest)
    count = np.zeros(longest, dtype=np.int64)
    twin = _double_copy(rnn)
    weights = {name: p.detach() for name, p in twin.named_parameters()}
    order = np.argsort(-lengths, kind="stable")  # longest first: the sentences still active are a prefix
    done = 0
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        batch_lengths = torch.from_numpy(lengths[chosen])
        x = nn.utils.rnn.pad_sequence([sequences[i] for i in chosen], batch_first=True)  # (B, T, I)
        with torch.no_grad():
            states, _ = twin(x.transpose(0, 1))  # (T, B, H), right padding never reaches real steps
        states = states.transpose(0, 1)  # (B, T, H)
        previous = torch.cat([torch.zeros_like(states[:, :1]), states[:, :-1]], dim=1)  # (B, T, H)
        chain = torch.eye(units, dtype=torch.float64).repeat(len(chosen), 1, 1)  # (B, H, H)
        count[0] += len(chosen)
        norm_sum[0] += len(chosen) * np.sqrt(units)
        log_sum[0] += len(chosen) * 0.5 * np.log(units)
        for distance in range(1, int(batch_lengths[0])):
            active = int((batch_lengths > distance).sum())  # a prefix, as lengths fall
            rows = torch.arange(active)
            step = batch_lengths[:active] - distance  # (A,) the step t+1 whose Jacobian extends the chain
            jacobian = _step_jacobian_batch(rnn, weights, x[rows, step], previous[rows, step],
                                            states[rows, step])  # (A, H, H)
            chain = chain[:active] @ jacobian  # (A, H, H): ∂h_{T-1}/∂h_{T-1-distance}
            norms = torch.linalg.matrix_norm(chain).numpy()  # (A,) Frobenius
            count[distance] += active
            norm_sum[distance] += norms.sum()
            with np.errstate(divide="ignore"):
                log_sum[distance] += np.log(norms).sum()
        done += len(chosen)
        if progress is not None:
            progress(done, len(sequences))
    return GradientFlowByDistance(distance=np.arange(longest), mean=norm_sum / count,
                                  geometric_mean=np.exp(log_sum / count), count=count)


def _step_jacobian_batch(rnn, weights, x_t, previous, state) -> torch.Tensor:
    """∂h_t/∂h_{t-1} of A independent steps in closed form, (A, H, H) float64.

    GRU (PyTorch's gate order r|z|n in the rows of weight_hh): with h = z h' + (1 − z) n,
        ∂h/∂h' = diag(z) + diag((h' − n) z(1 − z)) W_hz + diag((1 − z)(1 − n²)) (diag(r) W_hn
                 + diag((W_hn h' + b_hn) r(1 − r)) W_hr).
    RNN: ∂h/∂h' = diag(f'(·)) W_hh, with f' = 1 − h² for tanh and [h > 0] for relu.
    """
    w_hh = weights["weight_hh_l0"]
    if isinstance(rnn, nn.RNN):
        slope = 1 - state ** 2 if rnn.nonlinearity == "tanh" else (state > 0).double()  # (A, H)
        return slope[:, :, None] * w_hh  # (A, H, H)
    units = rnn.hidden_size
    from_input = x_t @ weights["weight_ih_l0"].T  # (A, 3H)
    from_hidden = previous @ w_hh.T  # (A, 3H)
    if rnn.bias:
        from_input = from_input + weights["bias_ih_l0"]
        from_hidden = from_hidden + weights["bias_hh_l0"]
    reset = torch.sigmoid(from_input[:, :units] + from_hidden[:, :units])  # (A, H)
    update = torch.sigmoid(from_input[:, units:2 * units] + from_hidden[:, units:2 * units])
    hidden_part = from_hidden[:, 2 * units:]  # (A, H): W_hn h' + b_hn
    candidate = torch.tanh(from_input[:, 2 * units:] + reset * hidden_part)
    w_hr, w_hz, w_hn = w_hh[:units], w_hh[units:2 * units], w_hh[2 * units:]  # (H, H) each
    d_candidate = (reset[:, :, None] * w_hn
                   + (hidden_part * reset * (1 - reset))[:, :, None] * w_hr)  # (A, H, H): ∂(r ⊙ (W_hn h' + b))/∂h'
    jacobian = torch.diag_embed(update)
    jacobian += ((previous - candidate) * update * (1 - update))[:, :, None] * w_hz
    jacobian += ((1 - update) * (1 - candidate ** 2))[:, :, None] * d_candidate
    return jacobian


# ---- memory statistics and unit search ---------------------------------------------------------------

SATURATION = (0.1, 0.9)  # a gate below 0.1 is "closed", above 0.9 "open" (Karpathy, Johnson & Fei-Fei 2015)
# Label rules. Thresholds were set by looking at the shipped SST-2 GRU, where the old 0.5 / 0.5 / 1 step
# named only integrators: a reset gate closes on particular words, so closing on 30% of them is frequent.
INTEGRATOR_FRACTION = 0.6  # z > 0.9 on at least 60% of steps: the unit keeps its memory on most words
RESETTER_FRACTION = 0.3  # r < 0.1 on at least 30% of steps: its candidate often ignores h_{t-1}
FAST_TIMESCALE = 1.5  # τ < 1.5 steps (mean z < 0.51): the memory is mostly rewritten at every word


@dataclass(frozen=True)
class MemoryStatistics:
    """How each hidden unit uses its gates over a data set; every field is per unit, (H,), over all real
    (unpadded) steps of all sentences.

    update_low, update_high: fraction of steps with z < 0.1 (overwrite) and z > 0.9 (keep).
    reset_low, reset_high:   fraction of steps with r < 0.1 (ignore the past) and r > 0.9 (read it).
    update_mean, reset_mean: mean z and mean r.
    timescale:  τ = −1/ln(mean z) in steps: a memory kept with probability mean z per word decays as
                (mean z)^t = e^{−t/τ}. inf where mean z = 1, 0 where mean z = 0.
    labels:     list of H str, the first rule that holds, in this order:
                "integrator" update_high ≥ 0.6; "resetter" reset_low ≥ 0.3; "fast" τ < 1.5 steps;
                otherwise "mixed".
    steps:      number of real steps counted; sentences: number of sentences.
    """

    update_low: np.ndarray
    update_high: np.ndarray
    reset_low: np.ndarray
    reset_high: np.ndarray
    update_mean: np.ndarray
    reset_mean: np.ndarray
    timescale: np.ndarray
    labels: list[str]
    steps: int
    sentences: int


def memory_statistics(model: "SentimentModel", texts, *, batch_size: int = 256) -> MemoryStatistics:
    """Gate saturation, mean gates, timescales and labels of every unit over ``texts`` (see
    ``MemoryStatistics``). One exact trace per length-sorted batch; padding is masked out.

    >>> stats = memory_statistics(model, texts)
    >>> [u for u, label in enumerate(stats.labels) if label == "integrator"]
    """
    _, ids = _encode(model, texts)
    units = model.gru.hidden_size
    low, high = SATURATION
    counts = {name: np.zeros(units, dtype=np.int64) for name in ("update_low", "update_high", "reset_low",
                                                                 "reset_high")}
    sums = {"update": np.zeros(units), "reset": np.zeros(units)}
    steps = 0
    for _, padded, lengths in padded_batches(ids, batch_size):
        trace = model.trace_ids(padded)
        mask = _mask(lengths, padded.shape[1])  # (B, T)
        steps += int(mask.sum())
        for gate in ("update", "reset"):
            values = getattr(trace, gate)[0, 0][mask]  # (real steps, H)
            counts[gate + "_low"] += (values < low).sum(axis=0)
            counts[gate + "_high"] += (values > high).sum(axis=0)
            sums[gate] += values.sum(axis=0, dtype=np.float64)
    update_mean, reset_mean = sums["update"] / steps, sums["reset"] / steps
    with np.errstate(divide="ignore"):  # ln 0 = −inf gives τ = 0; mean z = 1 is set to +inf explicitly
        timescale = np.where(update_mean >= 1.0, np.inf, -1.0 / np.log(update_mean))  # (H,)
    fractions = {name: count / steps for name, count in counts.items()}
    labels = [_label(fractions["update_high"][u], fractions["reset_low"][u], timescale[u]) for u in range(units)]
    return MemoryStatistics(**fractions, update_mean=update_mean, reset_mean=reset_mean, timescale=timescale,
                            labels=labels, steps=steps, sentences=len(ids))


def _label(update_high: float, reset_low: float, timescale: float) -> str:
    if update_high >= INTEGRATOR_FRACTION:
        return "integrator"
    if reset_low >= RESETTER_FRACTION:
        return "resetter"
    if timescale < FAST_TIMESCALE:
        return "fast"
    return "mixed"


@dataclass(frozen=True)
class Activation:
    """One place where a unit fired: sentence ``sentence`` (index into the texts), token ``position``.

    value:  the field's value there; tokens: the sentence's tokens as typed (list of T str);
    values: (T,) the same unit's field along the whole sentence, to shade every word.
    """

    sentence: int
    position: int
    value: float
    tokens: list[str]
    values: np.ndarray

    def context(self, window: int = 5) -> tuple[list[str], str, list[str]]:
        """(up to ``window`` tokens before, the token, up to ``window`` after)."""
        start = max(self.position - window, 0)
        return (self.tokens[start:self.position], self.tokens[self.position],
                self.tokens[self.position + 1:self.position + 1 + window])


FIELDS = ("update", "reset", "candidate", "hidden")


def top_activations(model: "SentimentModel", texts, unit: int, k: int = 10, field: str = "hidden", *,
                    largest: bool = True, batch_size: int = 256) -> list[Activation]:
    """The ``k`` (sentence, position) pairs where ``field`` of ``unit`` is highest over ``texts``
    (lowest with ``largest=False``), best first; ties go to the earlier sentence, then position.
    field: "update", "reset", "candidate" or "hidden". Batched like ``memory_statistics``.

    >>> for hit in top_activations(model, texts, unit=12, k=5):
    ...     before, word, after = hit.context(4); print(" ".join(before), f"[{word}]", " ".join(after), hit.value)
    """
    if field not in FIELDS:
        raise ValueError(f"field must be one of {', '.join(FIELDS)}; got {field!r}")
    units = model.gru.hidden_size
    if not isinstance(unit, (int, np.integer)) or not 0 <= unit < units:
        raise ValueError(f"unit must be a whole number from 0 to {units - 1}, got {unit!r}")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive whole number, got {k!r}")
    tokens, ids = _encode(model, texts)
    per_sentence: list[np.ndarray] = [None] * len(ids)  # (T_i,) the unit along each sentence
    for chosen, padded, lengths in padded_batches(ids, batch_size):
        values = getattr(model.trace_ids(padded), field)[0, 0, :, :, unit]  # (B, T)
        for row, index in enumerate(chosen):
            per_sentence[index] = values[row, :lengths[row]].copy()
    flat = np.concatenate(per_sentence)  # every real step, sentence by sentence
    sentence_of = np.repeat(np.arange(len(ids)), [len(v) for v in per_sentence])
    position_of = np.concatenate([np.arange(len(v)) for v in per_sentence])
    key = -flat if largest else flat
    best = np.lexsort((position_of, sentence_of, key))[:k]  # last key sorts first
    return [Activation(sentence=int(sentence_of[i]), position=int(position_of[i]), value=float(flat[i]),
                       tokens=tokens[sentence_of[i]], values=per_sentence[sentence_of[i]]) for i in best]


# concept modules, re-exported so callers import from gru_viz.analysis
from gru_viz.analysis.cell import CellStep, GateTerms, cell_step, sentence_cell_step  # noqa: E402
from gru_viz.analysis.ranking import logit_change_by_unit, rank_units, unit_shares  # noqa: E402

__all__ += ["CellStep", "GateTerms", "cell_step", "logit_change_by_unit", "rank_units", "sentence_cell_step",
            "unit_shares"]

# issue 12: research tools (patching, connectivity, fixed points, integrated gradients)
from gru_viz.analysis.connectivity import connectivity  # noqa: E402
from gru_viz.analysis.fixed_points import (  # noqa: E402
    FixedPoints,
    constant_input,
    fixed_points,
    readout_cosine,
    step_map,
    timescales,
    visited_states,
)
from gru_viz.analysis.integrated_gradients import WordAttribution, integrated_gradients  # noqa: E402
from gru_viz.analysis.patching import patch_hidden, patching_by_units, patching_grid  # noqa: E402

__all__ += ["FixedPoints", "WordAttribution", "connectivity", "constant_input", "fixed_points",
            "integrated_gradients", "patch_hidden", "patching_by_units", "patching_grid", "readout_cosine",
            "step_map", "timescales", "visited_states"]
