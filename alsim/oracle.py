"""A simulated annotator (oracle) that reveals known labels, with optional noise, costs and redundancy.

Noise models (per annotator, independent):

* ``noise_rate``: with this probability the label is replaced by a uniformly drawn *other* class;
* ``confusion``: a row-stochastic ``n_classes x n_classes`` matrix, row = true class, column = label given.

Cost models (cost of one annotator labeling one example):

* a constant (default 1.0);
* per class: a mapping ``{class_code: cost}`` or an array indexed by class code (cost of the *true* class,
  e.g. rare pathologies take longer to confirm);
* ``"difficulty"``: ``1 + difficulty_scale * difficulty``, difficulty in ``[0, 1)``. The caller supplies the
  difficulty; :func:`alsim.simulate` uses ``1 - max p`` of a reference learner's out-of-fold probabilities
  on the pool (true labels), an intrinsic property of the example that does not move with the loop's model;
* per row (``row_costs``): each pool example has its own known cost (seconds to read a document, a
  specialist's fee), indexed by pool position. Unlike the class of an example, its cost is known before it
  is labeled, so cost-aware strategies see the real cost rather than an expectation.

With ``n_annotators > 1`` every annotator labels the example, the majority label is returned (ties broken
by the oracle's seeded RNG) and the cost is multiplied by ``n_annotators * annotator_cost_factor``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from alsim._validation import check_real
from alsim.exceptions import InvalidInputError, InvalidParameterError

__all__ = ["OracleAnswer", "SimulatedOracle"]


class OracleAnswer(NamedTuple):
    """What the oracle returns for a batch: the labels given and what each cost."""

    labels: np.ndarray
    """int64[b]: the (majority) label given for each queried example."""
    costs: np.ndarray
    """float64[b]: total cost of each label (all annotators)."""


class SimulatedOracle:
    """Reveal the known label of pool examples, with seeded noise, costs and several annotators.

    Parameters
    ----------
    noise_rate : float in [0, 1], default=0.0
        Probability that one annotator gives a uniformly drawn wrong class.
    confusion : array-like of shape (n_classes, n_classes) or None, default=None
        Class-conditional noise: row ``t`` is the distribution of the label given for true class ``t``.
        Exclusive with ``noise_rate > 0``.
    cost : float, mapping, array-like or "difficulty", default=1.0
        Cost of one label from one annotator (see the module docstring).
    n_annotators : int >= 1, default=1
        Annotators per example; the majority label wins.
    annotator_cost_factor : float > 0, default=1.0
        Multiplier of each annotator's cost (e.g. 0.3 for cheap crowd workers).
    difficulty_scale : float >= 0, default=2.0
        Slope of the ``"difficulty"`` cost: the hardest examples cost up to ``1 + difficulty_scale``.
    row_costs : array-like of shape (n_pool,) or None, default=None
        Cost of one label from one annotator for each pool example, by pool position; replaces ``cost``
        (which must then keep its default).
    random_state : int, Generator or None, default=None
        Seed of the noise and the tie-breaking.

    Examples
    --------
    >>> import numpy as np
    >>> from alsim.oracle import SimulatedOracle
    >>> oracle = SimulatedOracle(noise_rate=0.0, cost=2.0, n_annotators=3, random_state=0)
    >>> answer = oracle.query(np.array([0, 2]), np.array([1, 0, 2]))
    >>> answer.labels, answer.costs
    (array([1, 2]), array([6., 6.]))
    """

    def __init__(
        self,
        noise_rate: float = 0.0,
        confusion: Any = None,
        cost: float | Mapping[int, float] | Any = 1.0,
        n_annotators: int = 1,
        annotator_cost_factor: float = 1.0,
        difficulty_scale: float = 2.0,
        row_costs: Any = None,
        random_state: int | np.random.Generator | None = None,
    ) -> None:
        self.noise_rate = check_real(noise_rate, "noise_rate", "SimulatedOracle", low=0.0, high=1.0)
        self.confusion = None if confusion is None else self._check_confusion(confusion)
        if self.confusion is not None and self.noise_rate > 0:
            raise InvalidParameterError(
                "The 'noise_rate' and 'confusion' parameters of SimulatedOracle are exclusive: give a "
                f"uniform flip rate or a confusion matrix. Got noise_rate={noise_rate!r} and a confusion matrix."
            )
        self.cost = self._check_cost(cost)
        self.row_costs = None if row_costs is None else self._check_row_costs(row_costs)
        if self.row_costs is not None and not (isinstance(self.cost, float) and self.cost == 1.0):
            raise InvalidParameterError(
                "The 'cost' and 'row_costs' parameters of SimulatedOracle are exclusive: give per-row costs or a "
                f"cost model. Got cost={cost!r} and {self.row_costs.size} row costs."
            )
        if isinstance(n_annotators, bool) or not isinstance(n_annotators, numbers.Integral) or n_annotators < 1:
            raise InvalidParameterError(
                f"The 'n_annotators' parameter of SimulatedOracle must be an int >= 1. Got {n_annotators!r} instead."
            )
        self.n_annotators: int = int(n_annotators)
        self.annotator_cost_factor: float = check_real(
            annotator_cost_factor, "annotator_cost_factor", "SimulatedOracle", low=0.0, low_open=True
        )
        self.difficulty_scale: float = check_real(difficulty_scale, "difficulty_scale", "SimulatedOracle", low=0.0)
        if random_state is not None and not isinstance(random_state, (numbers.Integral, np.random.Generator)):
            raise InvalidParameterError(
                "The 'random_state' parameter of SimulatedOracle must be an int, a numpy Generator or None. "
                f"Got {random_state!r} instead."
            )
        self.random_state: int | np.random.Generator | None = random_state
        self._rng: np.random.Generator = np.random.default_rng(random_state)

    @staticmethod
    def _check_confusion(confusion: Any) -> np.ndarray:
        matrix = np.asarray(confusion, dtype=np.float64)
        valid = (
            matrix.ndim == 2
            and matrix.shape[0] == matrix.shape[1]
            and matrix.shape[0] >= 2
            and np.all(np.isfinite(matrix))
            and np.all(matrix >= 0)
            and np.allclose(matrix.sum(axis=1), 1.0, atol=1e-8)
        )
        if not valid:
            raise InvalidParameterError(
                "The 'confusion' parameter of SimulatedOracle must be a square (n_classes x n_classes, "
                "n_classes >= 2) matrix of non-negative probabilities whose rows sum to 1. "
                f"Got {np.array2string(matrix, threshold=20)} instead."
            )
        return matrix

    @staticmethod
    def _check_row_costs(row_costs: Any) -> np.ndarray:
        costs = np.asarray(row_costs, dtype=np.float64) if not isinstance(row_costs, (str, bool)) else np.array([])
        if costs.ndim != 1 or costs.size == 0 or not np.all(np.isfinite(costs)) or np.any(costs <= 0):
            raise InvalidParameterError(
                "The 'row_costs' parameter of SimulatedOracle must be a 1-d array of positive finite costs, one "
                f"per pool example. Got {np.array2string(np.asarray(row_costs, dtype=object), threshold=8)} instead."
            )
        return np.ascontiguousarray(costs)

    @staticmethod
    def _check_cost(cost: Any) -> float | str | np.ndarray:
        message = (
            "The 'cost' parameter of SimulatedOracle must be a positive float, a mapping "
            "{class_code: positive cost}, an array of positive per-class costs, or 'difficulty'. "
            f"Got {cost!r} instead."
        )
        if isinstance(cost, str):
            if cost != "difficulty":
                raise InvalidParameterError(message)
            return cost
        if isinstance(cost, numbers.Real) and not isinstance(cost, bool):
            if not (np.isfinite(float(cost)) and float(cost) > 0):
                raise InvalidParameterError(message)
            return float(cost)
        if isinstance(cost, Mapping):
            keys = list(cost)
            if not keys or not all(
                isinstance(k, numbers.Integral) and not isinstance(k, bool) and int(k) >= 0 for k in keys
            ):
                raise InvalidParameterError(message)
            table = np.full(max(int(k) for k in keys) + 1, np.nan)
            for key, value in cost.items():
                table[int(key)] = value
            values = np.array(list(cost.values()), dtype=np.float64)
        else:
            table = np.asarray(cost, dtype=np.float64) if not isinstance(cost, bool) else np.array([])
            values = table
            if table.ndim != 1 or table.size == 0:
                raise InvalidParameterError(message)
        if not (np.all(np.isfinite(values)) and np.all(values > 0)):
            raise InvalidParameterError(message)
        return table

    @property
    def needs_difficulty(self) -> bool:
        """True when the cost model needs each example's difficulty."""
        return isinstance(self.cost, str)

    @property
    def cost_multiplier(self) -> float:
        """Factor applied to one annotator's cost: ``n_annotators * annotator_cost_factor``."""
        return self.n_annotators * self.annotator_cost_factor

    def get_params(self) -> dict[str, Any]:
        """Return the constructor parameters as JSON-able values (for run configs)."""
        if isinstance(self.cost, np.ndarray):
            cost: Any = [None if np.isnan(v) else float(v) for v in self.cost]
        else:
            cost = self.cost
        return {
            "noise_rate": self.noise_rate,
            "confusion": None if self.confusion is None else self.confusion.tolist(),
            "cost": cost,
            "n_annotators": self.n_annotators,
            "annotator_cost_factor": self.annotator_cost_factor,
            "difficulty_scale": self.difficulty_scale,
            "row_costs": None if self.row_costs is None else self.row_costs.tolist(),
            "random_state": self.random_state if not isinstance(self.random_state, np.random.Generator) else None,
        }

    @staticmethod
    def _row_costs_at(row_costs: np.ndarray, indices: np.ndarray) -> np.ndarray:
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= row_costs.size):
            raise InvalidInputError(
                f"The oracle's 'row_costs' has {row_costs.size} entries but pool positions in "
                f"[{int(indices.min())}, {int(indices.max())}] were queried: give one cost per pool example."
            )
        return row_costs[indices]

    def _per_annotator_cost(
        self, indices: np.ndarray, true_labels: np.ndarray, difficulty: np.ndarray | None
    ) -> np.ndarray:
        if self.row_costs is not None:
            return self._row_costs_at(self.row_costs, indices)
        if isinstance(self.cost, float):
            return np.full(true_labels.size, self.cost)
        if isinstance(self.cost, str):
            if difficulty is None:
                raise InvalidInputError(
                    "The oracle's cost model is 'difficulty': pass the 'difficulty' of each queried example."
                )
            difficulty = np.asarray(difficulty, dtype=np.float64)
            if difficulty.shape != true_labels.shape or not np.all((difficulty >= 0) & (difficulty <= 1)):
                raise InvalidInputError(
                    f"The 'difficulty' argument must hold {true_labels.size} values in [0, 1]. "
                    f"Got shape {difficulty.shape} instead."
                )
            return 1.0 + self.difficulty_scale * difficulty
        if true_labels.size and int(true_labels.max()) >= self.cost.size:
            raise InvalidInputError(
                f"The per-class 'cost' has {self.cost.size} entries but class {int(true_labels.max())} was queried."
            )
        costs = self.cost[true_labels]
        if np.any(np.isnan(costs)):
            missing = sorted(set(true_labels[np.isnan(costs)].tolist()))
            raise InvalidInputError(f"The per-class 'cost' mapping has no entry for class(es) {missing}.")
        return costs

    @staticmethod
    def _true_labels(indices: Any, y_true: Any) -> tuple[np.ndarray, np.ndarray]:
        indices = np.asarray(indices, dtype=np.int64)
        y_true = np.asarray(y_true)
        if indices.ndim != 1 or y_true.ndim != 1:
            raise InvalidInputError("The 'indices' and 'y_true' arguments must be 1-d arrays.")
        if indices.size and (indices.min() < 0 or indices.max() >= y_true.size):
            raise InvalidInputError(
                f"The 'indices' argument must be positions in y_true (0..{y_true.size - 1}). "
                f"Got values in [{indices.min()}, {indices.max()}] instead."
            )
        return indices, y_true[indices].astype(np.int64)

    def label_costs(self, indices: Any, y_true: Any, difficulty: Any = None) -> np.ndarray:
        """Total cost (all annotators) of labeling ``indices``, without querying (no randomness used).

        Parameters
        ----------
        indices : int array of shape (b,)
            Positions in ``y_true`` to label.
        y_true : int array of shape (n_pool,)
            True class codes of the whole pool.
        difficulty : float array of shape (b,) or None
            Difficulty of each queried example; required by the ``"difficulty"`` cost model.
        """
        positions, true_labels = self._true_labels(indices, y_true)
        return self._per_annotator_cost(positions, true_labels, difficulty) * self.cost_multiplier

    def expected_costs(self, proba: Any, difficulty: Any = None, indices: Any = None) -> np.ndarray:
        """Return the expected total cost of labeling examples whose true class is not known yet.

        Per-class costs are averaged under the model's class probabilities ``proba`` (n x n_classes); the
        difficulty model uses ``difficulty`` if given, else the model's least confidence ``1 - max p``; per-row
        costs are known in advance and read at the pool positions ``indices`` (required with ``row_costs``).
        """
        proba = np.asarray(proba, dtype=np.float64)
        if proba.ndim != 2:
            raise InvalidInputError(
                f"The 'proba' argument must be 2-d (n, n_classes). Got shape {proba.shape} instead."
            )
        if self.row_costs is not None:
            positions = None if indices is None else np.asarray(indices, dtype=np.int64)
            if positions is None or positions.shape != (proba.shape[0],):
                raise InvalidInputError(
                    "The oracle has per-row costs: pass the pool positions of the examples in 'indices' "
                    f"({proba.shape[0]} of them)."
                )
            per_annotator = self._row_costs_at(self.row_costs, positions)
        elif isinstance(self.cost, float):
            per_annotator = np.full(proba.shape[0], self.cost)
        elif isinstance(self.cost, str):
            estimate = 1.0 - proba.max(axis=1) if difficulty is None else np.asarray(difficulty, dtype=np.float64)
            per_annotator = 1.0 + self.difficulty_scale * estimate
        else:
            n_classes = proba.shape[1]
            if self.cost.size < n_classes or np.any(np.isnan(self.cost[:n_classes])):
                raise InvalidInputError(
                    f"The per-class 'cost' must give a cost for each of the {n_classes} classes. "
                    f"Got {self.get_params()['cost']} instead."
                )
            per_annotator = proba @ self.cost[:n_classes]
        return per_annotator * self.cost_multiplier

    def query(self, indices: Any, y_true: Any, difficulty: Any = None, *, n_classes: int | None = None) -> OracleAnswer:
        """Label the pool examples ``indices``.

        Parameters
        ----------
        indices, y_true, difficulty
            As in :meth:`label_costs`.
        n_classes : int or None
            Size of the class set for uniform noise; None takes ``max(y_true) + 1`` (or the confusion
            matrix size).

        Returns
        -------
        OracleAnswer
            ``labels`` (int64[b]) and ``costs`` (float64[b]).
        """
        costs = self.label_costs(indices, y_true, difficulty)
        _, true_labels = self._true_labels(indices, y_true)
        if n_classes is None:
            n_classes = int(np.asarray(y_true).max()) + 1 if np.asarray(y_true).size else 0
        if self.confusion is not None:
            n_classes = self.confusion.shape[0]
            if true_labels.size and true_labels.max() >= n_classes:
                raise InvalidInputError(
                    f"The confusion matrix covers {n_classes} classes but class {int(true_labels.max())} was queried."
                )
        labels = self._annotate(true_labels, n_classes)
        return OracleAnswer(labels=labels, costs=np.ascontiguousarray(costs, dtype=np.float64))

    def _annotate(self, true_labels: np.ndarray, n_classes: int) -> np.ndarray:
        shape = (self.n_annotators, true_labels.size)
        if self.confusion is not None:
            cumulative = np.cumsum(self.confusion, axis=1)[true_labels]  # (b, c)
            draws = self._rng.random(shape)
            given = (draws[:, :, None] >= cumulative[None, :, :]).sum(axis=2)
            given = np.minimum(given, n_classes - 1)
        elif self.noise_rate > 0 and n_classes >= 2:
            flip = self._rng.random(shape) < self.noise_rate
            offset = self._rng.integers(1, n_classes, size=shape)
            given = np.where(flip, (true_labels[None, :] + offset) % n_classes, true_labels[None, :])
        else:
            given = np.broadcast_to(true_labels, shape)
        if self.n_annotators == 1:
            return np.ascontiguousarray(given[0], dtype=np.int64)
        counts = np.zeros((true_labels.size, max(n_classes, 1)), dtype=np.int64)
        np.add.at(counts, (np.broadcast_to(np.arange(true_labels.size), shape), given), 1)
        winners = counts == counts.max(axis=1, keepdims=True)
        # Random tie-breaking: the highest random key among the tied classes wins.
        keys = np.where(winners, self._rng.random(counts.shape), -1.0)
        return keys.argmax(axis=1).astype(np.int64)
