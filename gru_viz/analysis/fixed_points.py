"""Fixed points of a recurrent step under a constant input, and what their Jacobians say.

With the input held at x (zero, the mean word, or one word), one step is a map F(h) = GRU(x, h). A fixed
point h* = F(h*) is a state the network stays in while it reads x; the eigenvalues λ of ∂F/∂h there say
how fast each direction forgets (τ = −1/ln|λ| steps). Maheswaranathan et al. (2019) found that sentiment
GRUs integrate evidence along an approximate line attractor: a line of fixed points whose Jacobians have
one eigenvalue near 1, pointing along the readout.

Candidates come from three places per starting state: the state itself, its minimum of
q(h) = ½‖F(h) − h‖² inside the box |h_i| ≤ 1 (as FixedPointFinder searches), and the state after the map
has run from it for a while (where the attractors pull it). Only the optimiser's stopping rule says a
minimum of q is a fixed point, and a minimum pressed against the box is not one, so every candidate is
then polished by Newton's method in float64 without the box, and kept only if F(h) = h to float64
precision strictly inside the box.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> starts = visited_states(model, ["I love this movie so much", "But the movie is really boring"])
>>> found = fixed_points(model.gru, constant_input(model, "zero"), starts)
>>> bool((found.residual <= 1e-10).all()), bool((np.abs(found.points) < 1).all()), found.eigenvalues.shape[1]
(True, True, 64)
>>> len(found) + sum(found.dropped.values()) == found.candidates
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from gru_viz.step import Step, check_single_layer

if TYPE_CHECKING:
    from gru_viz.model import SentimentModel

__all__ = ["FixedPoints", "fixed_points", "constant_input", "visited_states", "timescales", "readout_cosine",
           "step_map"]

RESIDUAL_TOLERANCE = 1e-10  # ‖F(h*) − h*‖ at a kept point; a polished point reaches ~1e-15 in float64
UNIQUE_TOLERANCE = 1e-6  # polished points closer than this (Euclidean) are one point
SLOW_THRESHOLD = 0.99  # a mode with |λ| ≥ this keeps a memory of τ ≥ 100 steps
MARGINAL = 1e-9  # |λ| this close to 1 neither fades nor grows (a line of fixed points has λ = 1 along it)
DEFAULT_STARTS = 256  # starting states drawn in the box when the caller gives none
FORWARD_STEPS = 300  # steps of the map from each start: near an attractor, off its slowest modes
RUNAWAY = 4.0  # a Newton path this far outside the box chases a spurious zero where gates saturate; on the
# shipped models, following such paths to the end kept no point more and took 2.5-3.5x as long


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points h* = F(x, h*) of one recurrent step under a constant input x, each verified in float64.

    points:      (K, H) float64, every |h_i| < 1, ordered by the |λ| of their slowest mode, slowest first.
    residual:    (K,) ‖F(x, h*) − h*‖₂ in float64, all ≤ the tolerance (1e-10 by default).
    eigenvalues: (K, H) complex128 of ∂F/∂h at each point, largest |λ| first.
    directions:  (K, H) float64 unit vectors, the (real part of the) right eigenvector of the largest |λ|:
                 the slowest direction at each point (the line attractor's direction where |λ| ≈ 1).
    input:       (I,) the constant input x.
    starts:      how many starting states the search began from.
    candidates:  how many candidates were polished (three per start: the start, its minimum of q in the
                 box, and the map run forward from it).
    dropped:     {"box": …, "not_converged": …, "duplicate": …}: candidates not kept, by reason. "box": the
                 polished state has some |h_i| ≥ 1, where no fixed point a state from h0 = 0 can reach
                 lies; "not_converged": inside the box, residual above the tolerance; "duplicate": within
                 ``unique`` of a kept point. len(points) + the drops = candidates.
    """

    points: np.ndarray
    residual: np.ndarray
    eigenvalues: np.ndarray
    directions: np.ndarray
    input: np.ndarray
    starts: int
    candidates: int
    dropped: dict[str, int]

    @property
    def timescales(self) -> np.ndarray:
        """(K, H) τ = −1/ln|λ| in steps (inf at |λ| = 1; negative for a growing mode, |λ| > 1)."""
        return timescales(self.eigenvalues)

    def slow_modes(self, threshold: float = SLOW_THRESHOLD) -> np.ndarray:
        """(K,) how many eigenvalues at each point have |λ| ≥ ``threshold`` (a memory of τ ≥ 100 steps at
        0.99, or a growing mode): one at a point of a line attractor, several for a plane or a box of frozen
        units."""
        return (np.abs(self.eigenvalues) >= threshold).sum(axis=1)

    @property
    def growing_modes(self) -> np.ndarray:
        """(K,) how many eigenvalues at each point have |λ| > 1: the directions a state leaves the point along."""
        return (np.abs(self.eigenvalues) > 1 + MARGINAL).sum(axis=1)

    @property
    def kinds(self) -> np.ndarray:
        """(K,) str: "attractor" (every |λ| < 1), "saddle" (some modes grow, some fade), "repeller" (every
        mode grows) or "marginal" (none grows, one sits at |λ| = 1, as on a line of fixed points)."""
        magnitude = np.abs(self.eigenvalues)  # (K, H)
        growing, fading = magnitude > 1 + MARGINAL, magnitude < 1 - MARGINAL
        return np.where(fading.all(axis=1), "attractor", np.where(
            growing.any(axis=1), np.where(fading.any(axis=1), "saddle", "repeller"), "marginal")).astype(str)

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
    """(F(x, h) → (B, H), ∂F/∂h (x, h) → (B, H, H)) in float64, from the one step module: the Jacobian in closed
    form, ~20× faster than autograd's per-row Jacobian (the tests check it against autograd)."""
    check_single_layer(rnn, "fixed points are defined here")
    step = Step.of(rnn, dtype=torch.float64)
    return step, step.jacobian


def fixed_points(rnn: nn.GRU | nn.RNN, x, initial_states=None, *, noise: float = 0.0, seed: int = 0,
                 tolerance: float = RESIDUAL_TOLERANCE, unique: float = UNIQUE_TOLERANCE,
                 adam_steps: int = 200, newton_steps: int = 100) -> FixedPoints:
    """Fixed points of F(h) = rnn's step at the constant input ``x`` (I,), searched from ``initial_states``
    (N, H) (e.g. ``visited_states``; default: h = 0 and 255 states drawn uniformly in |h_i| ≤ 1, seeded by
    ``seed``) plus Gaussian ``noise`` of that standard deviation.

    Every start gives three candidates: the start itself; its minimum of q(h) = ½‖F(h) − h‖² after
    ``adam_steps`` of Adam inside the box |h_i| ≤ 1, where every state reachable from h0 = 0 lies (as
    FixedPointFinder, it finds saddles as well as attractors); and F applied ``FORWARD_STEPS`` (300) times to
    it, which runs into the attractors. Each candidate is then polished by up to ``newton_steps`` Newton
    steps in float64, without the box, halving a step until it lowers ‖F(h) − h‖. Kept: the points with
    ‖F(h) − h‖ ≤ ``tolerance`` and every |h_i| < 1, one per group closer than ``unique``; ``dropped`` counts
    the others by reason. Polished points reach float64's limit (~1e-15 for the shipped 64-unit GRU); only a
    network whose rounding alone exceeds 1e-10 needs a larger ``tolerance``. Eigenvalues are of the exact
    Jacobian ∂F/∂h at each kept point (closed form, float64).
    """
    step, step_jacobian = _maps(rnn)
    if isinstance(rnn, nn.RNN) and rnn.nonlinearity != "tanh":
        raise ValueError("fixed points are searched in the box |h_i| < 1 that holds a GRU's or a tanh RNN's "
                         "states; a ReLU RNN's states are unbounded")
    x = torch.as_tensor(np.asarray(x, dtype=np.float64)).reshape(-1)
    if x.shape[0] != rnn.input_size:
        raise ValueError(f"the constant input needs {rnn.input_size} numbers, got {x.shape[0]}")
    if initial_states is None:
        drawn = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(DEFAULT_STARTS - 1, rnn.hidden_size))
        initial_states = np.concatenate([np.zeros((1, rnn.hidden_size)), drawn])
    states = torch.as_tensor(np.asarray(initial_states, dtype=np.float64))
    if states.dim() != 2 or states.shape[1] != rnn.hidden_size or len(states) == 0:
        raise ValueError(f"initial_states must be (N, {rnn.hidden_size}) with N ≥ 1, got {tuple(states.shape)}")
    if not torch.isfinite(states).all() or not torch.isfinite(x).all():
        raise ValueError("the input and the initial states must be finite numbers")
    if noise > 0:
        generator = torch.Generator().manual_seed(seed)
        states = states + noise * torch.randn(states.shape, generator=generator, dtype=torch.float64)
    states = states.clamp(-1.0, 1.0)

    def residual(h):  # (B, H) → (B, H)
        return step(x, h) - h

    def jacobian(h):  # (B, H) → (B, H, H)
        return step_jacobian(x, h)

    candidates = torch.cat([states, _box_minima(residual, states, adam_steps), _run_forward(step, x, states)])
    with torch.no_grad():
        polished, norm = _polish(residual, jacobian, candidates, tolerance, newton_steps)
    points, norm, dropped = _sort_out(polished, norm, tolerance, unique)
    values, directions = _slowest_modes(jacobian, points)
    rank = torch.argsort(values[:, 0].abs(), descending=True, stable=True)
    return FixedPoints(points=points[rank].numpy(), residual=norm[rank].numpy(), eigenvalues=values[rank].numpy(),
                       directions=directions[rank].numpy(), input=x.numpy(), starts=len(states),
                       candidates=len(candidates), dropped=dropped)


def _box_minima(residual, states: torch.Tensor, steps: int) -> torch.Tensor:
    """(N, H) minima of q(h) = ½‖F(h) − h‖² by ``steps`` of Adam from ``states``, projected into the box
    |h_i| ≤ 1 after each step (outside it q has spurious minima where the gates saturate)."""
    h = states.clone().requires_grad_(True)
    if steps > 0:
        optimizer = torch.optim.Adam([h], lr=1e-2)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=1e-4)
        for _ in range(steps):
            optimizer.zero_grad()
            (0.5 * residual(h).pow(2).sum()).backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                h.clamp_(-1.0, 1.0)
    return h.detach()


def _run_forward(step, x, states: torch.Tensor) -> torch.Tensor:
    """(N, H) the states after ``FORWARD_STEPS`` steps of the map: the attractors pull them in, though
    along a slow mode (|λ| ≈ 0.9999) they are still far off, which the polish then closes."""
    h = states.clone()
    with torch.no_grad():
        for _ in range(FORWARD_STEPS):
            h = step(x, h)
    return h


def _polish(residual, jacobian, h: torch.Tensor, tolerance: float, steps: int):
    """Newton's method on r(h) = F(h) − h for every candidate (C, H) at once, in float64 and without the
    box: the step solves (∂F/∂h − I) δ = −r and is halved up to ten times until ‖r‖ drops. A candidate stops
    when no step lowers ‖r‖, when ‖r‖ is below ``tolerance`` and falls less than tenfold (the float64
    floor), or when it runs beyond |h_i| = ``RUNAWAY``. Returns the polished states (C, H) and ‖r‖ (C,)."""
    h = h.clone()
    r = residual(h)
    norm = torch.linalg.vector_norm(r, dim=-1)  # (C,)
    active = torch.isfinite(norm)
    identity = torch.eye(h.shape[1], dtype=torch.float64)
    fractions = 0.5 ** torch.arange(11, dtype=torch.float64)  # (S,) 1, ½, …, 1/1024 of the Newton step
    for _ in range(steps):
        rows = torch.nonzero(active).squeeze(-1)
        if len(rows) == 0:
            break
        move = _newton_step(jacobian(h[rows]) - identity, r[rows])  # (A, H)
        trial = h[rows, None, :] + fractions[None, :, None] * move[:, None, :]  # (A, S, H)
        trial_r = residual(trial.reshape(-1, h.shape[1])).reshape(trial.shape)  # (A, S, H)
        trial_norm = torch.linalg.vector_norm(trial_r, dim=-1)  # (A, S)
        lower = trial_norm < norm[rows, None]  # NaN compares False
        moved = lower.any(-1)
        first = lower.to(torch.int8).argmax(-1)  # the longest step that lowers ‖r‖
        index = rows[moved]
        chosen = torch.arange(len(rows))[moved], first[moved]
        before = norm[index]
        h[index], r[index], norm[index] = trial[chosen], trial_r[chosen], trial_norm[chosen]
        active[rows[~moved]] = False
        converging = (norm[index] > tolerance) | (norm[index] < 0.1 * before)
        active[index] = converging & (h[index].abs().amax(-1) <= RUNAWAY)
    return h, norm


def _newton_step(matrix: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """δ (A, H) with matrix δ = −r for matrices (A, H, H): LU, and least squares where LU finds the matrix
    singular (a line of fixed points has ∂F/∂h − I singular along the line)."""
    move, info = torch.linalg.solve_ex(matrix, -r[:, :, None])
    move = move[:, :, 0]  # (A, H)
    singular = (info != 0) | ~torch.isfinite(move).all(-1)
    if singular.any():
        move[singular] = torch.linalg.lstsq(matrix[singular], -r[singular, :, None]).solution[:, :, 0]
    return move


def _sort_out(points: torch.Tensor, norm: torch.Tensor, tolerance: float, unique: float):
    """(kept points (K, H), their residuals (K,), drops by reason): drop a polished candidate with any
    |h_i| ≥ 1 ("box"), one with ‖r‖ above ``tolerance`` ("not_converged"), and one within ``unique`` of a
    kept point with a smaller residual ("duplicate")."""
    inside = (points.abs() < 1).all(-1) & torch.isfinite(norm)  # (C,)
    fixed = inside & (norm <= tolerance)
    kept: list[int] = []
    for index in torch.nonzero(fixed).squeeze(-1)[torch.argsort(norm[fixed], stable=True)].tolist():
        if not kept or torch.linalg.vector_norm(points[kept] - points[index], dim=-1).min() >= unique:
            kept.append(index)
    chosen = torch.tensor(kept, dtype=torch.long)
    dropped = {"box": int((~inside).sum()), "not_converged": int((inside & ~fixed).sum()),
               "duplicate": int(fixed.sum()) - len(kept)}
    return points[chosen], norm[chosen], dropped


def _slowest_modes(jacobian, points: torch.Tensor):
    """(eigenvalues (K, H) complex, largest |λ| first; unit direction of the largest |λ| (K, H), its sign
    fixed so its largest entry is positive) of ∂F/∂h at each point."""
    if not len(points):
        units = points.shape[1]
        return torch.zeros(0, units, dtype=torch.complex128), torch.zeros(0, units, dtype=torch.float64)
    values, vectors = torch.linalg.eig(jacobian(points))  # (K, H), (K, H, H): columns are eigenvectors
    order = torch.argsort(values.abs(), dim=-1, descending=True, stable=True)
    values = torch.gather(values, 1, order)
    slowest = vectors[torch.arange(len(points)), :, order[:, 0]].real  # (K, H)
    directions = slowest / torch.linalg.vector_norm(slowest, dim=-1, keepdim=True).clamp_min(1e-300)
    directions *= torch.sign(directions[torch.arange(len(points)), directions.abs().argmax(-1)])[:, None]
    return values, directions


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
    weight = model.state_dict()["embedding.weight"].double().numpy()  # (V, E)
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
