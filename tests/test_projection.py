"""The trajectory's basis: the card's stored axes when they fit, otherwise axes fitted on the states shown."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz import analysis
from gru_viz.analysis import fit_pca
from tests.library_helpers import (
    tiny_model,
)


@pytest.fixture(scope="module")
def model():
    return tiny_model()



def test_projection_uses_the_cards_basis_or_fits_one(model, view):
    basis = analysis.projection_basis(model.card, view.path)
    assert basis.source == "hidden states of the training data"
    stored = model.card["projection"]
    expected = (view.path - np.array(stored["mean"])) @ np.array(stored["components"]).T
    np.testing.assert_allclose(analysis.project(view.path, basis), expected, rtol=0, atol=1e-12)

    fitted = analysis.projection_basis({}, view.path)
    assert fitted.source == "the hidden states of the sentences shown"
    np.testing.assert_allclose(fitted.components @ fitted.components.T, np.eye(3), atol=1e-9)
    wrong = {"projection": {"mean": [0.0] * 3, "components": [[0.0] * 3] * 3, "explained": [0, 0, 0]}}
    assert analysis.projection_basis(wrong, view.path).source == fitted.source  # 3 units ≠ 8: refit
    two_states = analysis.projection_basis(None, view.path[:2])  # one axis only: padded with zeros
    assert two_states.components.shape == (3, 8) and np.isfinite(two_states.explained).all()


def test_fit_pca_is_a_typed_object_that_reads_like_the_old_dict():
    states = np.random.default_rng(0).normal(size=(20, 5))
    axes = fit_pca(states)
    assert isinstance(axes, analysis.PrincipalAxes)
    assert set(axes.keys()) == {"mean", "components", "explained"} and axes["mean"] is axes.mean
    assert {k: np.round(v, 6).tolist() for k, v in axes.items()} == \
        {k: np.round(v, 6).tolist() for k, v in axes.as_dict().items()}  # what train.py stores in the card
    centred = states - states.mean(axis=0)
    variance = np.linalg.eigvalsh(centred.T @ centred)[::-1]  # independent: eigenvalues of the scatter matrix
    np.testing.assert_allclose(axes.explained, variance[:3] / variance.sum(), rtol=1e-10)
    np.testing.assert_allclose(axes.components @ axes.components.T, np.eye(3), atol=1e-12)
