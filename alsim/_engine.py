"""What the pool loop (:func:`alsim.simulate`) and the stream loop (:func:`alsim.stream.simulate_stream`) share.

Parameter checks whose messages name the calling function, the simulated oracle of a run, the test scores
of a round, the cross-validated accuracy on a labeled set and the library versions a run records. The
names are public within the package; the module is not part of alsim's API.
"""

from __future__ import annotations

import inspect
import platform
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from alsim._validation import fail
from alsim.exceptions import InvalidParameterError
from alsim.learners import make_learner
from alsim.oracle import SimulatedOracle

__all__ = [
    "classification_scores",
    "cv_accuracy",
    "library_versions",
    "make_oracle",
]


def make_oracle(oracle: Any, seed: int, classes: Sequence[Any] | None, caller: str) -> SimulatedOracle:
    """Return a fresh oracle for the run.

    Per-class costs keyed by class label are translated to class codes when the dataset's ``classes`` are
    given (a grid config's TOML table can only have string keys).
    """
    if oracle is None:
        return SimulatedOracle(random_state=seed)
    if isinstance(oracle, SimulatedOracle):
        params = oracle.get_params()
    elif isinstance(oracle, dict):
        params = dict(oracle)
        valid = list(inspect.signature(SimulatedOracle).parameters)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise InvalidParameterError(
                f"The 'oracle' parameter of {caller} got unknown key(s) {unknown}; valid keys: {valid}."
            )
    else:
        raise fail("oracle", caller, "None, a SimulatedOracle or a dict of SimulatedOracle parameters", oracle)
    # A fresh oracle per run keeps a simulation free of side effects on the caller's object.
    if params.get("random_state") is None:
        params["random_state"] = seed
    cost = params.get("cost")
    if classes is not None and isinstance(cost, Mapping) and any(isinstance(key, str) for key in cost):
        params["cost"] = _costs_by_code(cost, [str(label) for label in classes], caller)
    return SimulatedOracle(**params)


def _costs_by_code(cost: Mapping[Any, Any], labels: list[str], caller: str) -> dict[Any, Any]:
    unknown = sorted(str(key) for key in cost if isinstance(key, str) and key not in labels)
    if unknown:
        raise InvalidParameterError(
            f"The 'oracle' parameter of {caller} has per-class costs for unknown class label(s) {unknown}; "
            f"valid labels: {labels} (or class codes 0..{len(labels) - 1})."
        )
    return {labels.index(key) if isinstance(key, str) else key: value for key, value in cost.items()}


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> tuple[float, float, float]:
    """Accuracy, macro-F1 and balanced accuracy from one confusion matrix.

    Same definitions as scikit-learn's ``accuracy_score``, ``f1_score(average="macro")`` (over the classes
    present in ``y_true`` or ``y_pred``) and ``balanced_accuracy_score``; computed from a single
    ``bincount`` because the three sklearn calls would each re-validate the inputs every round.
    """
    confusion = np.bincount(y_true * n_classes + y_pred, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    hits = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    accuracy = hits.sum() / y_true.size
    in_truth = support > 0
    balanced = float(np.mean(hits[in_truth] / support[in_truth]))
    in_either = in_truth | (predicted > 0)
    macro_f1 = float(np.mean(2.0 * hits[in_either] / (support[in_either] + predicted[in_either])))
    return float(accuracy), macro_f1, balanced


def cv_accuracy(learner: Any, X: np.ndarray, y: np.ndarray, seed: int) -> float | None:
    """Cross-validated accuracy of ``learner`` on ``(X, y)``: stratified, up to 5 folds, seeded.

    None when there are fewer than two classes or a class has fewer than two rows.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    counts = np.bincount(y)
    counts = counts[counts > 0]
    n_splits = min(5, int(counts.min()))
    if counts.size < 2 or n_splits < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(
            make_learner(learner, random_state=seed),
            X,
            y,
            cv=StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed),
        )
    return float(np.mean(scores))


def library_versions() -> dict[str, str]:
    """Versions of alsim and of the libraries that shape a run's numbers (recorded in its metadata)."""
    import pyarrow
    import scipy
    import sklearn
    import threadpoolctl

    import alsim

    return {
        "alsim": alsim.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "polars": pl.__version__,
        "pyarrow": pyarrow.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }
