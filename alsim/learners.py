"""Learners for the labeling loop: named scikit-learn classifiers, full-class probabilities, committees.

A learner is any scikit-learn classifier with ``predict_proba``. It is given either by name (see
:data:`LEARNER_NAMES`) or as an estimator object, which is cloned so the caller's object is never fitted.

Two situations that a real labeling loop meets early are handled here rather than crashing:

* the labeled set does not contain every class yet: :func:`predict_proba_full` maps the estimator's
  ``classes_`` onto the full class set (missing classes get probability 0);
* the labeled set holds a single class (few labels, or label noise flipped the only example of the other
  class): :func:`fit_learner` falls back to a constant-probability model (the class prior) because most
  classifiers refuse to fit one class.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import ExtraTreesClassifier, GradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from alsim._messages import describe_value
from alsim._registry import Registry
from alsim.exceptions import InvalidInputError, InvalidParameterError

__all__ = [
    "LEARNER_NAMES",
    "Committee",
    "fit_learner",
    "learner_description",
    "make_learner",
    "predict_proba_full",
    "votes_from_proba",
]

RandomState = int | np.random.Generator | np.random.RandomState | None


def _seed_int(random_state: RandomState) -> int | None:
    """Return an int seed for scikit-learn estimators (None stays None: the caller asked for no seeding)."""
    if random_state is None:
        return None
    if isinstance(random_state, bool):
        raise InvalidParameterError(
            "The 'random_state' parameter must be an int, a numpy Generator or None. "
            f"Got {describe_value(random_state)} instead."
        )
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    raise InvalidParameterError(
        "The 'random_state' parameter must be an int, a numpy Generator or None. "
        f"Got {describe_value(random_state)} instead."
    )


# Warm start is switched on only where it continues the same optimisation problem from a better starting
# point (lbfgs for logistic regression, SGD/adam for the MLP); for forests and boosting ``warm_start`` means
# "keep the old trees and add more", which would keep models trained on an outdated labeled set.
_FACTORIES: dict[str, Callable[[int | None], Any]] = {
    "logreg": lambda seed: LogisticRegression(max_iter=1000, warm_start=True, random_state=seed),
    "random_forest": lambda seed: RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed),
    "gaussian_nb": lambda seed: GaussianNB(),
    "knn": lambda seed: KNeighborsClassifier(n_neighbors=5),
    "svm": lambda seed: SVC(probability=True, random_state=seed),
    "extra_trees": lambda seed: ExtraTreesClassifier(n_estimators=100, n_jobs=1, random_state=seed),
    "gradient_boosting": lambda seed: GradientBoostingClassifier(random_state=seed),
    "mlp": lambda seed: MLPClassifier(hidden_layer_sizes=(100,), max_iter=300, warm_start=True, random_state=seed),
    # Logistic loss gives predict_proba and partial_fit: the incremental learner for streams.
    "sgd": lambda seed: SGDClassifier(loss="log_loss", random_state=seed),
}

_LEARNERS: Registry[Callable[[int | None], Any]] = Registry("learner", "learner")
for _name, _factory in _FACTORIES.items():
    _LEARNERS.register(_name, _factory)

#: Names accepted by :func:`make_learner`.
LEARNER_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def make_learner(learner: str | Any = "logreg", random_state: RandomState = None) -> Any:
    """Return an unfitted classifier from a name or a scikit-learn estimator.

    Parameters
    ----------
    learner : str or estimator, default="logreg"
        One of :data:`LEARNER_NAMES` or a scikit-learn classifier with ``fit`` and ``predict_proba``.
        An estimator is cloned; if its ``random_state`` parameter is None it is set from ``random_state``
        so that runs are reproducible. ``"logreg"`` and ``"mlp"`` are created with ``warm_start=True``
        (each round's fit starts from the previous round's weights; deterministic for a given seed); an
        estimator object keeps its own ``warm_start`` setting.
    random_state : int, Generator or None, default=None
        Seed for the estimator's own randomness.

    Returns
    -------
    estimator
        An unfitted classifier.

    Examples
    --------
    >>> from alsim.learners import make_learner
    >>> make_learner("logreg", random_state=0)
    LogisticRegression(max_iter=1000, random_state=0, warm_start=True)
    """
    seed = _seed_int(random_state)
    if isinstance(learner, str):
        factory = _LEARNERS.get(learner, "", also="or a scikit-learn classifier with predict_proba")
        return factory(seed)
    if not (hasattr(learner, "fit") and hasattr(learner, "get_params")):
        raise InvalidParameterError(
            f"The 'learner' parameter must be one of {list(LEARNER_NAMES)} or a scikit-learn "
            f"classifier with predict_proba. Got {describe_value(learner)} instead."
        )
    # hasattr is False for SVC(probability=False): predict_proba is only available when enabled.
    if not hasattr(learner, "predict_proba"):
        raise InvalidParameterError(
            f"The 'learner' parameter must be a classifier with predict_proba; {learner!r} has none "
            "(for SVC pass probability=True)."
        )
    estimator = clone(learner)
    if seed is not None and estimator.get_params(deep=False).get("random_state", 0) is None:
        estimator.set_params(random_state=seed)
    return estimator


def learner_description(learner: str | Any) -> str | dict[str, Any]:
    """Return a JSON-able description of a learner for run configs: the name, or class and parameters."""
    if isinstance(learner, str):
        return learner
    params = {
        key: value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        for key, value in learner.get_params(deep=False).items()
    }
    cls = type(learner)
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "params": params}


def fit_learner(estimator: Any, X: np.ndarray, y: np.ndarray) -> Any:
    """Fit ``estimator`` on ``(X, y)`` the way the labeling loop needs it; return the fitted model.

    * One class in ``y``: returns a fitted constant-probability model
      (:class:`~sklearn.dummy.DummyClassifier` with ``strategy="prior"``); ``estimator`` is left as is.
    * An estimator fitted before with warm start on a different class set (a round that brought a new
      class) is cloned first, since warm-start state cannot change shape.
    * Convergence warnings are silenced: small labeled sets make them routine and they would flood the
      output of a long simulation (so is scikit-learn 1.9's deprecation notice of ``SVC(probability=True)``).

    Returns the fitted estimator, which may be a new object; keep it for the next round's warm start.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.learners import fit_learner, make_learner
    >>> model = fit_learner(make_learner("logreg"), np.zeros((3, 2)), np.array([1, 1, 1]))
    >>> model.predict_proba(np.zeros((1, 2)))
    array([[1.]])
    """
    classes = np.unique(y)
    if classes.size < 2:
        return DummyClassifier(strategy="prior").fit(X, y)
    previous = getattr(estimator, "classes_", None)
    if getattr(estimator, "warm_start", False) and previous is not None and not np.array_equal(previous, classes):
        estimator = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        # scikit-learn 1.9 deprecates SVC(probability=True) in favour of CalibratedClassifierCV, whose
        # internal stratified CV cannot fit the few-labels-per-class sets active learning starts from.
        warnings.filterwarnings("ignore", message="The `probability` parameter", category=FutureWarning)
        # Early rounds label few examples per class; sklearn mistakes that for a regression target.
        warnings.filterwarnings("ignore", message="The number of unique classes is greater than 50%")
        return estimator.fit(X, y)


def predict_proba_full(estimator: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities over the full class set ``0..n_classes-1``.

    The estimator only knows the classes it saw in training (``estimator.classes_``, integer codes);
    unseen classes get probability 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from alsim.learners import predict_proba_full
    >>> model = LogisticRegression().fit([[0.0], [1.0]], [0, 2])
    >>> predict_proba_full(model, np.array([[0.0]]), 3).shape
    (1, 3)
    """
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    classes = np.asarray(estimator.classes_)
    if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
        raise InvalidInputError(
            f"The estimator's classes_ must be integer codes in [0, {n_classes - 1}]. Got {classes.tolist()} instead."
        )
    if classes.size == n_classes:
        return np.ascontiguousarray(proba)
    # Gather the columns (an unseen class reads a column of zeros): a contiguous take is about twice as
    # fast as scattering into the columns of a zero matrix, and this runs on the whole pool every round.
    padded = np.zeros((proba.shape[0], classes.size + 1), dtype=np.float64)
    padded[:, : classes.size] = proba
    source = np.full(n_classes, classes.size, dtype=np.intp)
    source[classes.astype(np.intp)] = np.arange(classes.size)
    return padded.take(source, axis=1)


class Committee:
    """A committee of classifiers for query-by-committee.

    Either bagged copies of one learner (each member is fitted on a seeded bootstrap sample of the labeled
    set) or a list of different learners (each fitted on the whole labeled set; the diversity comes from
    the models). Parameters are stored as given and checked by :meth:`fit` (scikit-learn style); every
    ``fit`` starts from fresh, unfitted members, so refitting never carries over a member that fell back
    to a constant model on a one-class bootstrap.

    Parameters
    ----------
    learners : str, estimator or sequence of them, default="logreg"
        One learner (name or estimator) to bag, or a sequence of at least two learners.
    n_members : int, default=5
        Number of bagged copies; ignored when ``learners`` is a sequence.
    n_classes : int or None, default=None
        Size of the full class set; None takes ``max(y) + 1`` at fit time.
    random_state : int, Generator or None, default=None
        Seed for the bootstrap samples and the members' own randomness.

    Attributes
    ----------
    members_ : list of fitted classifiers
    n_classes_ : int
        Size of the class set the members' probabilities are mapped to.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.learners import Committee
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]]); y = np.array([0, 0, 1, 1])
    >>> committee = Committee("gaussian_nb", n_members=3, random_state=0).fit(X, y)
    >>> committee.member_proba(X).shape
    (3, 4, 2)
    """

    def __init__(
        self,
        learners: str | Any | Sequence[str | Any] = "logreg",
        *,
        n_members: int = 5,
        n_classes: int | None = None,
        random_state: RandomState = None,
    ) -> None:
        self.learners = learners
        self.n_members = n_members
        self.n_classes = n_classes
        self.random_state = random_state

    def _specs(self) -> list[str | Any]:
        """Return the learner of each member, after checking the parameters."""
        if isinstance(self.learners, str) or not isinstance(self.learners, Sequence):
            n_members = self.n_members
            if isinstance(n_members, bool) or not isinstance(n_members, numbers.Integral) or n_members < 2:
                raise InvalidParameterError(
                    f"The 'n_members' parameter of Committee must be an int >= 2. Got {n_members!r} instead."
                )
            return [self.learners] * int(n_members)
        specs = list(self.learners)
        if len(specs) < 2:
            raise InvalidParameterError(
                "The 'learners' parameter of Committee must be one learner to bag or a sequence of at "
                f"least 2 learners. Got a sequence of {len(specs)} instead."
            )
        return specs

    def fit(self, X: np.ndarray, y: np.ndarray) -> Committee:
        """Fit every member (on a bootstrap sample when bagging); return self."""
        specs = self._specs()
        bagging = isinstance(self.learners, str) or not isinstance(self.learners, Sequence)
        y = np.asarray(y, dtype=np.int64)
        if y.size == 0:
            raise InvalidInputError("Committee.fit needs at least one labeled example. Got 0 instead.")
        rng = np.random.default_rng(_seed_int(self.random_state))
        members = [make_learner(spec, random_state=int(rng.integers(2**31 - 1))) for spec in specs]
        self.n_classes_ = int(y.max()) + 1 if self.n_classes is None else int(self.n_classes)
        fitted = []
        for member in members:
            if bagging:
                rows = rng.integers(0, y.size, size=y.size)
                fitted.append(fit_learner(member, X[rows], y[rows]))
            else:
                fitted.append(fit_learner(member, X, y))
        self.members_ = fitted
        return self

    def __call__(self) -> Committee:
        """Return the committee itself, with a deprecation warning (``PoolState.committee`` is a property now)."""
        import warnings

        warnings.warn(
            "PoolState.committee is a property: write 'state.committee' without parentheses (calling it is "
            "deprecated and will stop working).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self

    def member_proba(self, X: np.ndarray) -> np.ndarray:
        """Each member's class probabilities over the full class set, shape ``(M, n, n_classes)``."""
        if not hasattr(self, "members_"):
            raise InvalidInputError("Committee.member_proba needs a fitted committee; call fit first.")
        return np.stack([predict_proba_full(member, X, self.n_classes_) for member in self.members_])

    def member_votes(self, X: np.ndarray) -> np.ndarray:
        """Each member's predicted class code, shape ``(M, n)``, int64."""
        return votes_from_proba(self.member_proba(X))


def votes_from_proba(member_proba: np.ndarray) -> np.ndarray:
    """Each member's predicted class code from its probabilities: ``(M, n, c) -> (M, n)`` int64.

    Examples
    --------
    >>> import numpy as np
    >>> votes_from_proba(np.array([[[0.2, 0.8], [0.6, 0.4]]]))
    array([[1, 0]])
    """
    return np.ascontiguousarray(np.asarray(member_proba).argmax(axis=2).astype(np.int64))
