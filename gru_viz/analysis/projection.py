"""A fixed 2-D/3-D view of the hidden state: principal axes of hidden states, and projecting paths onto them.

``fit_pca`` finds the axes (train.py fits them once on training states and stores them in the model card);
``projection_basis`` takes the card's axes when they fit, or fits on the sentences shown; ``project`` gives
coordinates, so every sentence's path is drawn in the same space.

>>> axes = fit_pca(np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.1]]), components=1)
>>> axes.components.round(3), axes.explained.round(3)
(array([[1.   , 0.025]]), array([1.]))
>>> project([[2.0, 0.0]], projection_basis(None, [[0.0, 0.0], [2.0, 0.0], [4.0, 0.1]])).shape
(1, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PrincipalAxes", "Projection", "fit_pca", "project", "projection_basis"]


@dataclass(frozen=True)
class PrincipalAxes:
    """Principal axes of hidden states: ``mean`` (H,), ``components`` (k, H) (unit rows, each axis's
    largest loading positive), ``explained`` (k,) the fraction of variance along each axis.

    Also reads as a dict: ``axes["mean"]``, ``axes.items()``, ``axes.as_dict()``
    (what a model card stores under "projection")."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "components": self.components, "explained": self.explained}

    def items(self):
        return self.as_dict().items()

    def keys(self):
        return self.as_dict().keys()

    def __getitem__(self, name: str) -> np.ndarray:
        return self.as_dict()[name]


def fit_pca(states, components: int = 3) -> PrincipalAxes:
    """Principal axes of hidden states (N, H), at most ``components`` of them (fewer when N or H is
    smaller). Signs are fixed so each axis's largest loading is positive (stable bases)."""
    states = np.asarray(states, dtype=np.float64)
    mean = states.mean(axis=0)  # (H,)
    _, singular, axes = np.linalg.svd(states - mean, full_matrices=False)  # axes (min(N,H), H)
    axes = axes[:components]
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular ** 2
    return PrincipalAxes(mean=mean, components=axes, explained=variance[:components] / variance.sum())


@dataclass(frozen=True)
class Projection:
    """A PCA basis of hidden states: ``mean`` (H,), ``components`` (3, H), ``explained`` (3,) fractions
    of variance; ``source`` says what it was fitted on (shown on the page)."""

    mean: np.ndarray
    components: np.ndarray
    explained: np.ndarray
    source: str


def projection_basis(card: dict | None, states) -> Projection:
    """The model card's basis (fitted once on training states) when it has one that fits H units;
    otherwise a basis fitted on ``states`` (N, H), the states of the sentences shown."""
    states = np.asarray(states, dtype=np.float64)
    units = states.shape[1]
    stored = (card or {}).get("projection")
    if isinstance(stored, dict):
        try:
            mean = np.asarray(stored["mean"], dtype=np.float64)
            components = np.asarray(stored["components"], dtype=np.float64)
            explained = np.asarray(stored["explained"], dtype=np.float64)
        except (KeyError, TypeError, ValueError):
            mean = None
        if mean is not None and mean.shape == (units,) and components.shape == (3, units) and explained.shape == (3,):
            return Projection(mean, components, explained, "hidden states of the training data")
    fitted = fit_pca(states, components=3)
    components = np.zeros((3, units))
    components[:len(fitted.components)] = fitted.components  # fewer than 3 axes from very few states
    explained = np.zeros(3)
    if np.isfinite(fitted.explained).all():
        explained[:len(fitted.explained)] = fitted.explained
    return Projection(fitted.mean, components, explained, "the hidden states of the sentences shown")


def project(states, basis: Projection) -> np.ndarray:
    """Coordinates of states (N, H) on the basis's 3 axes, (N, 3) float64."""
    return (np.asarray(states, dtype=np.float64) - basis.mean) @ basis.components.T
