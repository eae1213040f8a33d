"""The query-strategy interface and the pool state strategies read from."""

from __future__ import annotations

import abc
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from alsim._validation import fail
from alsim.exceptions import InvalidInputError
from alsim.learners import Committee, predict_proba_full, votes_from_proba

__all__ = ["PoolState", "QueryStrategy", "ScoreStrategy", "check_batch_size"]


class PoolState:
    """Read access to the pool at one round of the labeling loop, with lazily computed, cached views.

    The loop builds one ``PoolState`` per round; strategies ask it for what they need, so the loop has no
    per-strategy special cases: probabilities of the current model on the unlabeled pool (computed once
    per round and shared with the loop's records), a committee fitted on demand, and the oracle's
    expected cost of each unlabeled example.

    Everything a strategy reads is an attribute or a property: ``X_pool``, ``labeled``, ``y_labeled``,
    ``unlabeled``, ``n_unlabeled``, ``n_classes``, ``model``, ``X_unlabeled``, ``proba_unlabeled``,
    ``committee``, ``committee_proba_unlabeled``, ``committee_votes_unlabeled``, ``expected_costs`` and
    ``cache`` (the costly ones are computed on first access and cached for the round). The one method,
    :meth:`uncertainty_scores`, takes the measure as its argument.

    Parameters
    ----------
    X_pool : float64 array of shape (n_pool, d)
        Features of the whole pool.
    labeled : int array
        Pool indices labeled so far, in the order they were bought.
    y_labeled : int array
        Labels of ``labeled`` as the oracle gave them (possibly noisy).
    n_classes : int
        Size of the class set.
    model : fitted classifier
        The current model (trained on the labeled set).
    unlabeled : int array or None
        Pool indices not labeled yet, ascending; None computes them from ``labeled``.
    proba_unlabeled : float64 array of shape (n_unlabeled, n_classes) or None
        Precomputed probabilities of ``model`` on the unlabeled pool (None: taken from ``proba_pool``, or
        predicted, on first use).
    proba_pool : float64 array of shape (n_pool, n_classes) or None
        Precomputed probabilities of ``model`` on the whole pool; the unlabeled rows are copied out of it
        only when a strategy asks for :meth:`proba_unlabeled`.
    committee_factory : callable or None
        ``factory() -> Committee`` (unfitted); None bags 5 copies of ``model``'s learner.
    cost_model : callable or None
        ``cost_model(proba_unlabeled) -> float64[n_unlabeled]`` expected costs; None means unit costs.
    uncertainty : dict or None
        Precomputed uncertainty scores of the unlabeled pool by measure name (the loop passes the ones it
        already computed for its records, so strategies do not recompute them).
    cache : dict or None
        A dictionary that lives for the whole run (the loop passes the same one every round); strategies
        keep per-run precomputations there (e.g. density weights).
    pool_labels : int array of shape (n_pool,) or None
        The true labels of the whole pool, for reference strategies only (``uses_true_labels = True``,
        e.g. the lookahead oracle); None otherwise, as in any real labeling loop.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from alsim.strategies import PoolState
    >>> X = np.array([[0.0], [0.2], [0.5], [0.8], [1.0]])
    >>> model = LogisticRegression().fit(X[[0, 4]], [0, 1])
    >>> state = PoolState(X, np.array([0, 4]), np.array([0, 1]), 2, model)
    >>> state.unlabeled
    array([1, 2, 3])
    """

    def __init__(
        self,
        X_pool: np.ndarray,
        labeled: np.ndarray,
        y_labeled: np.ndarray,
        n_classes: int,
        model: Any,
        *,
        unlabeled: np.ndarray | None = None,
        proba_unlabeled: np.ndarray | None = None,
        proba_pool: np.ndarray | None = None,
        committee_factory: Callable[[], Committee] | None = None,
        cost_model: Callable[[np.ndarray], np.ndarray] | None = None,
        uncertainty: dict[str, np.ndarray] | None = None,
        cache: dict[Any, Any] | None = None,
        pool_labels: np.ndarray | None = None,
    ) -> None:
        self.X_pool = X_pool
        self.labeled = np.asarray(labeled, dtype=np.int64)
        self.y_labeled = np.asarray(y_labeled, dtype=np.int64)
        if self.labeled.shape != self.y_labeled.shape:
            raise InvalidInputError(
                f"'labeled' and 'y_labeled' must have the same length. Got {self.labeled.size} and "
                f"{self.y_labeled.size} instead."
            )
        self.n_classes = int(n_classes)
        self.model = model
        if unlabeled is None:
            mask = np.ones(X_pool.shape[0], dtype=bool)
            mask[self.labeled] = False
            unlabeled = np.flatnonzero(mask)
        self.unlabeled = np.asarray(unlabeled, dtype=np.int64)
        self._proba_unlabeled = proba_unlabeled
        self._proba_pool = proba_pool
        self._committee_factory = committee_factory
        self._cost_model = cost_model
        self.cache: dict[Any, Any] = {} if cache is None else cache
        self.pool_labels = None if pool_labels is None else np.asarray(pool_labels, dtype=np.int64)
        self._uncertainty: dict[str, np.ndarray] = dict(uncertainty or {})
        self._X_unlabeled: np.ndarray | None = None
        self._committee: Committee | None = None
        self._committee_proba: np.ndarray | None = None
        self._committee_votes: np.ndarray | None = None
        self._expected_costs: np.ndarray | None = None

    @property
    def n_unlabeled(self) -> int:
        """Number of unlabeled pool examples."""
        return int(self.unlabeled.size)

    @property
    def X_unlabeled(self) -> np.ndarray:
        """Features of the unlabeled pool (cached copy, C-contiguous)."""
        if self._X_unlabeled is None:
            self._X_unlabeled = np.ascontiguousarray(self.X_pool[self.unlabeled])
        return self._X_unlabeled

    @property
    def proba_unlabeled(self) -> np.ndarray:
        """Current model's class probabilities on the unlabeled pool, ``(n_unlabeled, n_classes)``, cached."""
        if self._proba_unlabeled is None:
            if self._proba_pool is not None:
                self._proba_unlabeled = np.ascontiguousarray(self._proba_pool[self.unlabeled])
            else:
                self._proba_unlabeled = predict_proba_full(self.model, self.X_unlabeled, self.n_classes)
        return _legacy_callable(self._proba_unlabeled, "proba_unlabeled")

    def uncertainty_scores(self, measure: str) -> np.ndarray:
        """Uncertainty of each unlabeled example under the current model (:func:`alsim.kernels.uncertainty_scores`
        of :attr:`proba_unlabeled`), cached per measure."""
        if measure not in self._uncertainty:
            from alsim import kernels

            self._uncertainty[measure] = kernels.uncertainty_scores(self.proba_unlabeled, measure)
        return self._uncertainty[measure]

    def has_uncertainty_scores(self, measure: str) -> bool:
        """True when the scores of ``measure`` are already computed (no kernel pass needed)."""
        return measure in self._uncertainty

    @property
    def committee(self) -> Committee:
        """A committee fitted on the labeled set (fitted on first use, then cached for this round)."""
        if self._committee is None:
            if self._committee_factory is not None:
                committee = self._committee_factory()
            else:
                committee = Committee(self.model, n_members=5, n_classes=self.n_classes, random_state=0)
            committee.n_classes = self.n_classes
            self._committee = committee.fit(self.X_pool[self.labeled], self.y_labeled)
        return self._committee

    @property
    def committee_proba_unlabeled(self) -> np.ndarray:
        """Each committee member's probabilities on the unlabeled pool, ``(M, n_unlabeled, n_classes)``, cached."""
        if self._committee_proba is None:
            self._committee_proba = self.committee.member_proba(self.X_unlabeled)
        return _legacy_callable(self._committee_proba, "committee_proba_unlabeled")

    @property
    def committee_votes_unlabeled(self) -> np.ndarray:
        """Each committee member's predicted class on the unlabeled pool, ``(M, n_unlabeled)`` int64, cached."""
        if self._committee_votes is None:
            self._committee_votes = votes_from_proba(self.committee_proba_unlabeled)
        return _legacy_callable(self._committee_votes, "committee_votes_unlabeled")

    @property
    def expected_costs(self) -> np.ndarray:
        """The oracle's expected cost of labeling each unlabeled example, ``(n_unlabeled,)``, cached."""
        if self._expected_costs is None:
            if self._cost_model is None:
                self._expected_costs = np.ones(self.n_unlabeled)
            else:
                self._expected_costs = np.asarray(self._cost_model(self.proba_unlabeled), dtype=np.float64)
        return _legacy_callable(self._expected_costs, "expected_costs")


class _LegacyCallableArray(np.ndarray):
    """An array that can still be called, for strategies written when the PoolState arrays were methods
    (``state.proba_unlabeled``): the call warns and returns the same data as a plain array."""

    _name = ""

    def __call__(self) -> np.ndarray:
        import warnings

        warnings.warn(
            f"PoolState.{self._name} is a property: write 'state.{self._name}' without parentheses "
            "(calling it is deprecated and will stop working).",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.view(np.ndarray)


def _legacy_callable(array: np.ndarray, name: str) -> np.ndarray:
    view = array.view(_LegacyCallableArray)
    view._name = name
    return view


def check_batch_size(state: PoolState, batch_size: int) -> int:
    """Validate a batch size against the unlabeled pool; return it as an int."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or not (1 <= batch_size <= state.n_unlabeled)
    ):
        expected = f"an int in [1, {state.n_unlabeled}] (the number of unlabeled examples)"
        raise fail("batch_size", "select", expected, batch_size)
    return int(batch_size)


class QueryStrategy(abc.ABC):
    """Base class of query strategies: choose which unlabeled pool examples to label next.

    Subclasses implement :meth:`select`. Register a subclass under a name with
    :func:`alsim.strategies.register_strategy` to use it by name in :func:`alsim.simulate` and configs.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.strategies import QueryStrategy, check_batch_size
    >>> class FirstUnlabeled(QueryStrategy):
    ...     def select(self, state, batch_size, random_state):
    ...         return state.unlabeled[: check_batch_size(state, batch_size)]
    """

    #: Name the strategy was created under (set by :func:`make_strategy`; class name otherwise).
    name: str = ""

    #: True for reference strategies that read the pool's true labels (``PoolState.pool_labels``); they
    #: give a bound for studies and cannot be used in practice.
    uses_true_labels: bool = False

    @abc.abstractmethod
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        """Return ``batch_size`` distinct pool indices from ``state.unlabeled`` (int64), most wanted first."""

    def get_params(self) -> dict[str, Any]:
        """The strategy's parameters as JSON-able values (for run configs)."""
        return {}


class ScoreStrategy(QueryStrategy):
    """A strategy that scores every unlabeled example (higher = more wanted) and takes the top ones.

    Score strategies can be composed with ``cost_<name>`` (score per unit of expected cost).
    """

    @abc.abstractmethod
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        """Informativeness of each unlabeled example, float64 ``(n_unlabeled,)``, non-negative."""

    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        from alsim import kernels

        batch_size = check_batch_size(state, batch_size)
        positions = kernels.top_k(np.ascontiguousarray(self.scores(state, random_state), dtype=np.float64), batch_size)
        return state.unlabeled[positions]
