"""Fixed points of a recurrent step under a constant input, and what their Jacobians say.

With the input held at x (zero, the mean word, or one word), one step is a map F(h) = GRU(x, h). A fixed
point h* = F(h*) is a state the network stays in while it reads x; the eigenvalues λ of ∂F/∂h there say
how fast each direction forgets (τ = −1/ln|λ| steps). Maheswaranathan et al. (2019) found that sentiment
GRUs integrate evidence along an approximate line attractor: a line of fixed points whose Jacobians have
one eigenvalue near 1, pointing along the readout. As their FixedPointFinder does, we minimise
q(h) = ½‖F(h) − h‖² from many states the network visits on real sentences and keep the minima that are
fixed points to a tolerance.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> starts = visited_states(model, ["I love this movie so much", "But the movie is really boring"])
>>> found = fixed_points(model.gru, constant_input(model, "zero"), starts)
>>> bool((found.residual <= 1e-3).all()), found.eigenvalues.shape[1]
(True, 64)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["FixedPoints", "fixed_points", "constant_input", "visited_states", "timescales", "readout_cosine",
           "step_map"]

RESIDUAL_TOLERANCE = 1e-3  # ‖F(h*) − h*‖ at a kept point (the bar)
UNIQUE_TOLERANCE = 1e-3  # points closer than this (Euclidean) are one point, as in FixedPointFinder


@dataclass(frozen=True)
class FixedPoints:
    """Approximate fixed points h* = F(x, h*) of one recurrent step under a constant input x.

    points:      (K, H) float64, ordered by the |λ| of their slowest mode, slowest first.
    residual:    (K,) ‖F(x, h*) − h*‖₂, all ≤ the tolerance they were found with.
    eigenvalues: (K, H) complex128 of ∂F/∂h at each point, largest |λ| first.
    directions:  (K, H) float64 unit vectors, the (real part of the) right eigenvector of the largest |λ|:
                 the slowest direction at each point (the line attractor's direction where |λ| ≈ 1).
    input:       (I,) the constant input x.
    starts:      how many starting states were optimised.
    """

    points: np.ndarray
    residual: np.ndarray
    eigenvalues: np.ndarray
    directions: np.ndarray
    input: np.ndarray
    starts: int

    @property
    def timescales(self) -> np.ndarray:
        """(K, H) τ = −1/ln|λ| in steps (inf at |λ| = 1; negative for a growing mode, |λ| > 1)."""
        return timescales(self.eigenvalues)

    def slow_modes(self, threshold: float = 0.99) -> np.ndarray:
        """(K,) how many eigenvalues at each point have |λ| ≥ ``threshold`` (a memory of τ ≥ 100 steps at
        0.99): one at a point of a line attractor, several for a plane or a box of frozen units."""
        return (np.abs(self.eigenvalues) >= threshold).sum(axis=1)

    def principal_axis(self) -> tuple[np.ndarray, float] | None:
        """(unit direction (H,), fraction of the points' spread along it) of the points' first principal
        axis: near 1 when the points lie on a line. None with fewer than two points."""
        if len(self.points) < 2:
            return None
        centred = self.points - self.points.mean(axis=0)
        _, singular, axes = np.linalg.svd(centred, full_matrices=False)
        variance = singular ** 2
        return axes[0], float(variance[0] / variance.sum()) if variance.sum() > 0 else 0.0

    @property
    def slowest(self) -> np.ndarray:
        """(K,) the largest |λ| at each point."""
        return np.abs(self.eigenvalues[:, 0]) if len(self.points) else np.zeros(0)

    def __len__(self) -> int:
        return len(self.points)


def step_map(rnn: nn.GRU | nn.RNN):
    """F(x, h) of a 1-layer unidirectional ``nn.GRU`` or ``nn.RNN`` as a float64 function of x (I,) or
    (B, I) and h (B, H) → (B, H), with PyTorch's equations (gate order r|z|n). Differentiable in h."""
    return _maps(rnn)[0]


def _maps(rnn: nn.GRU | nn.RNN):
    """(F(x, h) → (B, H), ∂F/∂h (x, h) → (B, H, H)) in float64; the Jacobian in closed form, which is
    ~20× faster than autograd's per-row Jacobian (the tests check it against autograd)."""
    if not isinstance(rnn, (nn.GRU, nn.RNN)):
        raise ValueError(f"need a torch.nn.GRU or torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("fixed points are defined here for a 1-layer unidirectional network")
    w_ih, w_hh = rnn.weight_ih_l0.detach().double(), rnn.weight_hh_l0.detach().double()
    zeros = torch.zeros(w_ih.shape[0], dtype=torch.float64)
    b_ih = rnn.bias_ih_l0.detach().double() if rnn.bias else zeros
    b_hh = rnn.bias_hh_l0.detach().double() if rnn.bias else zeros
    units = rnn.hidden_size

    if isinstance(rnn, nn.GRU):
        w_hr, w_hz, w_hn = w_hh[:units], w_hh[units:2 * units], w_hh[2 * units:]  # (H, H) each

        def gates(x, h):
            from_input, from_hidden = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh  # (B, 3H)
            reset = torch.sigmoid(from_input[..., :units] + from_hidden[..., :units])
            update = torch.sigmoid(from_input[..., units:2 * units] + from_hidden[..., units:2 * units])
            candidate = torch.tanh(from_input[..., 2 * units:] + reset * from_hidden[..., 2 * units:])
            return reset, update, candidate, from_hidden[..., 2 * units:]

        def step(x, h):
            _, update, candidate, _ = gates(x, h)
            return update * h + (1 - update) * candidate

        def jacobian(x, h):  # ∂h_new/∂h, (B, H, H): rows are outputs
            reset, update, candidate, hidden_part = gates(x, h)
            d_candidate = reset[:, :, None] * w_hn + (hidden_part * reset * (1 - reset))[:, :, None] * w_hr
            result = torch.diag_embed(update)
            result += ((h - candidate) * update * (1 - update))[:, :, None] * w_hz
            result += ((1 - update) * (1 - candidate ** 2))[:, :, None] * d_candidate
            return result
    else:
        tanh = rnn.nonlinearity == "tanh"

        def step(x, h):
            total = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
            return torch.tanh(total) if tanh else torch.relu(total)

        def jacobian(x, h):
            new = step(x, h)  # (B, H)
            slope = 1 - new ** 2 if tanh else (new > 0).double()
            return slope[:, :, None] * w_hh
    return step, jacobian


def fixed_points(rnn: nn.GRU | nn.RNN, x, initial_states, *, noise: float = 0.0, seed: int = 0,
                 tolerance: float = RESIDUAL_TOLERANCE, unique: float = UNIQUE_TOLERANCE,
                 adam_steps: int = 200, newton_steps: int = 30) -> FixedPoints:
    """Fixed points of F(h) = rnn's step at the constant input ``x`` (I,), searched from ``initial_states``
    (N, H) (e.g. ``visited_states``) plus Gaussian ``noise`` of that standard deviation.

    Minimises q(h) = ½‖F(h) − h‖² for all N starts at once in float64, inside the box |h_i| ≤ 1 where
    every state reachable from h0 = 0 lies (h is a mix of h_{t−1} and a tanh; outside it q has spurious
    minima where the gates saturate): ``adam_steps`` of Adam (as FixedPointFinder), then up to
    ``newton_steps`` damped Gauss–Newton (Levenberg–Marquardt) steps per start, which converge in a few
    steps where Adam creeps. Keeps the minima with ‖F(h) − h‖ ≤ ``tolerance`` and merges those closer
    than ``unique``. Eigenvalues are of the exact Jacobian ∂F/∂h at each kept point (closed form, float64).
    """
    step, step_jacobian = _maps(rnn)
    x = torch.as_tensor(np.asarray(x, dtype=np.float64)).reshape(-1)
    if x.shape[0] != rnn.input_size:
        raise ValueError(f"the constant input needs {rnn.input_size} numbers, got {x.shape[0]}")
    states = torch.as_tensor(np.asarray(initial_states, dtype=np.float64))
    if states.dim() != 2 or states.shape[1] != rnn.hidden_size or len(states) == 0:
        raise ValueError(f"initial_states must be (N, {rnn.hidden_size}) with N ≥ 1, got {tuple(states.shape)}")
    if not torch.isfinite(states).all() or not torch.isfinite(x).all():
        raise ValueError("the input and the initial states must be finite numbers")
    if noise > 0:
        generator = torch.Generator().manual_seed(seed)
        states = states + noise * torch.randn(states.shape, generator=generator, dtype=torch.float64)
    states = states.clamp(-1.0, 1.0)

    def jacobian(h):  # (B, H) → (B, H, H)
        return step_jacobian(x, h)

    h = states.clone().requires_grad_(True)
    if adam_steps > 0:
        optimizer = torch.optim.Adam([h], lr=1e-2)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, adam_steps, eta_min=1e-4)
        for _ in range(adam_steps):
            optimizer.zero_grad()
            (0.5 * (step(x, h) - h).pow(2).sum()).backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                h.clamp_(-1.0, 1.0)
    found = h.detach().clone()  # (N, H)

    with torch.no_grad():
        residual = step(x, found) - found  # (N, H)
        loss = 0.5 * residual.pow(2).sum(-1)  # (N,)
        damping = torch.full((len(found),), 1e-2, dtype=torch.float64)
        identity = torch.eye(rnn.hidden_size, dtype=torch.float64)
        for _ in range(newton_steps):
            # still moving: not yet far below the tolerance, and the damping has not given up
            active = torch.nonzero((loss > 1e-16) & (damping < 1e6)).squeeze(-1)
            if len(active) == 0:
                break
            current, r = found[active], residual[active]  # (A, H)
            jac = jacobian(current) - identity  # (A, H, H): ∂(F(h) − h)/∂h
            normal = jac.transpose(1, 2) @ jac + damping[active, None, None] * identity
            move = torch.linalg.solve(normal, -(jac.transpose(1, 2) @ r[:, :, None]))[:, :, 0]  # (A, H)
            proposal = (current + move).clamp(-1.0, 1.0)
            proposal_residual = step(x, proposal) - proposal
            proposal_loss = 0.5 * proposal_residual.pow(2).sum(-1)
            better = proposal_loss < loss[active]  # (A,)
            found[active[better]] = proposal[better]
            residual[active[better]] = proposal_residual[better]
            loss[active[better]] = proposal_loss[better]
            damping[active] = torch.where(better, damping[active] / 3, damping[active] * 3)
        norm = torch.linalg.vector_norm(residual, dim=-1)  # (N,)
    keep = torch.isfinite(norm) & (norm <= tolerance)
    points, norm = _merge(found[keep], norm[keep], unique)
    units = rnn.hidden_size
    if len(points):
        values, vectors = torch.linalg.eig(jacobian(points))  # (K, H), (K, H, H): columns are eigenvectors
        order = torch.argsort(values.abs(), dim=-1, descending=True, stable=True)
        values = torch.gather(values, 1, order)
        slowest = vectors[torch.arange(len(points)), :, order[:, 0]].real  # (K, H)
        directions = slowest / torch.linalg.vector_norm(slowest, dim=-1, keepdim=True).clamp_min(1e-300)
        directions *= torch.sign(directions[torch.arange(len(points)), directions.abs().argmax(-1)])[:, None]
        rank = torch.argsort(values[:, 0].abs(), descending=True, stable=True)
        points, norm, values, directions = points[rank], norm[rank], values[rank], directions[rank]
    else:
        values = torch.zeros(0, units, dtype=torch.complex128)
        directions = torch.zeros(0, units, dtype=torch.float64)
    return FixedPoints(points=points.numpy(), residual=norm.numpy(), eigenvalues=values.numpy(),
                       directions=directions.numpy(), input=x.numpy(), starts=len(states))


def _merge(points: torch.Tensor, residual: torch.Tensor, unique: float):
    """Keep one point (the smallest residual) of every group closer than ``unique`` to a kept one."""
    order = torch.argsort(residual, stable=True)
    kept: list[int] = []
    for index in order.tolist():
        if not kept or torch.linalg.vector_norm(points[kept] - points[index], dim=-1).min() >= unique:
            kept.append(index)
    chosen = torch.tensor(kept, dtype=torch.long)
    return points[chosen], residual[chosen]


def timescales(eigenvalues) -> np.ndarray:
    """τ = −1/ln|λ| in steps for every eigenvalue (any shape): a mode shrinks by e every τ steps.
    inf at |λ| = 1 (a perfect memory), negative where |λ| > 1 (the mode grows), 0 at λ = 0."""
    magnitude = np.abs(np.asarray(eigenvalues))
    with np.errstate(divide="ignore"):
        log = np.log(magnitude)
        return np.where(magnitude == 1.0, np.inf, np.where(magnitude == 0.0, 0.0, -1.0 / log))


def readout_cosine(directions, readout) -> np.ndarray:
    """|cos| between each direction (K, H) (or one (H,)) and the readout vector (H,), e.g. the head's
    weight: 1 means the direction moves the logit as much as a unit step can, 0 that it does not move it.
    The sign of an eigenvector is arbitrary, hence the absolute value."""
    directions = np.asarray(directions, dtype=np.float64)
    readout = np.asarray(readout, dtype=np.float64).reshape(-1)
    if directions.shape[-1] != readout.shape[0]:
        raise ValueError(f"directions have {directions.shape[-1]} units but the readout has {readout.shape[0]}")
    norms = np.linalg.norm(directions, axis=-1) * np.linalg.norm(readout)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(directions @ readout) / norms


def constant_input(model: "SentimentModel", which: str = "zero") -> np.ndarray:
    """The input x (E,) held constant: "zero" (the padding embedding), "mean" (the mean embedding of all
    real words, no padding or <unk>), or any word of the vocabulary (its embedding), as float64."""
    if not isinstance(which, str) or not which.strip():
        raise ValueError("choose the constant input: 'zero', 'mean' or a word of the vocabulary")
    weight = model.net.embedding.weight.detach().double().numpy()  # (V, E)
    if which == "zero":
        return np.zeros(weight.shape[1])
    if which == "mean":
        from gru_viz.text import Vocabulary

        real = np.ones(len(weight), dtype=bool)
        real[[Vocabulary.PAD, Vocabulary.UNK]] = False
        return weight[real].mean(axis=0)
    _, ids = model.tokenize(which)
    if len(ids) != 1:
        raise ValueError(f"{which!r} is {len(ids)} words; give one word, 'zero' or 'mean'")
    from gru_viz.text import Vocabulary

    if ids[0] == Vocabulary.UNK:
        raise ValueError(f"{which!r} is not in the model's vocabulary")
    return weight[ids[0]].copy()


def visited_states(model: "SentimentModel", texts, *, count: int = 256, seed: int = 0) -> np.ndarray:
    """Up to ``count`` hidden states (N, H) float64 the model passes through while reading ``texts``,
    chosen evenly at random (seeded) among all steps of all texts, plus h0 = 0: starting states for
    ``fixed_points``. The texts are read in padded batches; padding steps are never chosen."""
    from gru_viz.model import padded_batches

    if isinstance(texts, str):
        raise ValueError("give a list of texts, not one string")
    if not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive whole number, got {count!r}")
    encoded = [model.tokenize(text)[1] for text in texts]  # blank text is refused here
    states = [np.zeros((1, model.gru.hidden_size))]
    for _, ids, lengths in padded_batches(encoded, 256) if encoded else ():
        hidden = model.trace_ids(ids).hidden[0, 0]  # (B, T, H)
        real = np.arange(ids.shape[1])[None, :] < lengths[:, None]  # (B, T)
        states.append(hidden[real].astype(np.float64))
    states = np.concatenate(states)
    if len(states) > count:
        chosen = np.random.default_rng(seed).choice(len(states) - 1, size=count - 1, replace=False) + 1
        states = np.concatenate([states[:1], states[np.sort(chosen)]])  # h0 always among them
    return states
