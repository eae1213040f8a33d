"""Gradient-based strategies: BADGE and expected gradient length.

Registered names
----------------
``badge``
    k-means++ seeding on gradient embeddings (Ash et al., 2020).
``expected_gradient_length``
    Expected norm of the loss gradient over the model's own label distribution (Settles, Craven & Ray, 2008).

Both need the gradient of the cross-entropy loss with respect to the weights of the model's last linear
layer: the weights themselves for linear models (anything with ``coef_``: logistic regression, linear SGD,
linear SVC with probabilities), the output layer for :class:`~sklearn.neural_network.MLPClassifier` (whose
input is the last hidden layer's activations). For class probabilities ``p`` and a label ``y`` the
gradient with respect to the output weights of class ``j`` is ``(p_j - [y = j]) * h``, with ``h`` the
layer's input, so the whole gradient is the outer product ``(p - e_y) h^T`` and its norm is
``||p - e_y|| * ||h||``. Other learners (trees, naive Bayes, k-NN, kernel SVC) have no such layer and are
refused. A round whose labeled set still has one class (the loop then fits a constant model) uses the
features as ``h``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.neural_network import MLPClassifier
from typing_extensions import override

from alsim import kernels
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["BADGE", "ExpectedGradientLength", "gradient_embedding", "last_layer_input"]

_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda z: z,
    "logistic": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
}


def last_layer_input(model: Any, X: np.ndarray, owner: str) -> np.ndarray:
    """Return the input ``h`` of the model's last linear layer for each row of ``X``, ``(n, d_h)``.

    Raises InvalidParameterError naming ``owner`` for learners without a linear last layer.
    """
    if isinstance(model, MLPClassifier):
        hidden = np.asarray(X, dtype=np.float64)
        activation = _ACTIVATIONS[model.activation]
        for weights, bias in zip(model.coefs_[:-1], model.intercepts_[:-1], strict=True):
            hidden = activation(hidden @ weights + bias)
        return hidden
    if hasattr(model, "coef_") or isinstance(model, DummyClassifier):
        return np.asarray(X, dtype=np.float64)
    raise InvalidParameterError(
        f"{owner} needs a learner with a linear last layer (a linear model with coef_ such as "
        f"LogisticRegression or SGDClassifier(loss='log_loss'), or MLPClassifier); "
        f"{type(model).__name__} has none. Use learner='logreg', 'sgd' or 'mlp'."
    )


def gradient_embedding(proba: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """BADGE's embedding: the last-layer loss gradient for the predicted label, ``(p - e_yhat) (x) h``.

    Shape ``(n, n_classes * d_h)``; the predicted label is the most probable class (lowest index on ties).
    """
    residual = proba.copy()
    residual[np.arange(proba.shape[0]), proba.argmax(axis=1)] -= 1.0
    return (residual[:, :, None] * hidden[:, None, :]).reshape(proba.shape[0], -1)


def _check_learner(state: PoolState, owner: str) -> np.ndarray:
    return last_layer_input(state.model, state.X_unlabeled, owner)


@register_strategy("badge")
class BADGE(QueryStrategy):
    """BADGE: Batch Active learning by Diverse Gradient Embeddings (Ash et al., ICLR 2020).

    By Ash, Zhang, Krishnamurthy, Langford & Agarwal.

    Each unlabeled example is embedded as the gradient of the loss with respect to the last layer's
    weights, taking the model's predicted label as if it were the true one: ``(p - e_yhat) (x) h``. Its norm
    grows with the model's uncertainty and its direction follows the example's representation, so k-means++
    seeding on these embeddings (:func:`alsim.kernels.kmeans_pp`) picks a batch that is both uncertain and
    diverse. No parameters (the paper has none beyond the batch size).

    The first centre is drawn uniformly, as in k-means++ and the paper's Algorithm 1; the authors' code
    and scikit-activeml instead start from the embedding of largest norm (the remaining picks follow the
    same D-squared sampling).

    Cost per round: ``O(batch_size * n_unlabeled * n_classes * d_h)`` (plus one forward pass for an MLP).
    """

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        hidden = _check_learner(state, "BADGE")
        embedding = np.ascontiguousarray(gradient_embedding(state.proba_unlabeled, hidden))
        picks = kernels.kmeans_pp(embedding, batch_size, int(random_state.integers(2**63)))
        return state.unlabeled[np.asarray(picks, dtype=np.int64)]


def expected_gradient_lengths(proba: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """``sum_y p(y|x) ||(p - e_y) h||`` for each row: the expected last-layer gradient norm, ``(n,)``."""
    # ||p - e_y||^2 = ||p||^2 - 2 p_y + 1
    squared = np.einsum("ij,ij->i", proba, proba)[:, None] - 2.0 * proba + 1.0
    residual_norms = np.sqrt(np.maximum(squared, 0.0))
    return np.einsum("ij,ij->i", proba, residual_norms) * np.linalg.norm(hidden, axis=1)


@register_strategy("expected_gradient_length")
class ExpectedGradientLength(ScoreStrategy):
    """Expected gradient length, the "expected model change" of Settles, Craven & Ray (NIPS 2008).

    Score: the norm of the gradient of the training loss that labeling ``x`` would add, in expectation over
    the current model's label distribution, ``sum_y p(y|x) ||grad_W loss(x, y)||``. The gradient is taken
    with respect to the last linear layer's weights (all weights of a linear model; the output layer of an
    MLP): ``||(p - e_y)|| * ||h(x)||``. Settles et al. used the full gradient of a linear model (CRFs); for
    an MLP the last layer is the usual tractable choice. No parameters.

    Cost per round: ``O(n_unlabeled * (n_classes + d_h))`` (plus one forward pass for an MLP).
    """

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        hidden = _check_learner(state, "ExpectedGradientLength")
        return expected_gradient_lengths(state.proba_unlabeled, hidden)
