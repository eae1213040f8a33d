"""Arrival orders: in which order the pool's examples reach a stream learner.

Every order is a seeded permutation of the pool, so each example arrives exactly once and the data are the
real dataset's. A drifting order splits the pool into two *phases* and lets phase 0 arrive before phase 1:

- ``abrupt_class`` / ``gradual_class`` change the class balance. The classes are split at random into two
  groups; phase 0 holds ``dominance`` of its examples from group A (the rest from group B), phase 1 the
  remainder, so the majority group flips at the drift.
- ``abrupt_feature`` / ``gradual_feature`` change which part of feature space arrives. Examples are projected
  on the pool's first principal component (with a random sign); phase 0 holds the lower end of that axis,
  phase 1 the upper end.

An abrupt order switches phases at ``drift_position``; a gradual order mixes them over ``drift_width`` of the
stream, drawing from phase 1 with a probability that rises linearly from 0 to 1 across the window centred on
the drift, so the expected number of phase-0 draws still equals the size of phase 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import PCA

from alsim._registry import Registry
from alsim._validation import check_fraction, check_real
from alsim.exceptions import InvalidInputError

__all__ = ["ORDERS", "ArrivalOrder", "make_arrival_order"]


@dataclass(frozen=True)
class ArrivalOrder:
    """A seeded arrival order over the pool.

    Attributes
    ----------
    indices : ndarray of int64, shape (n_pool,)
        Pool indices in arrival order (a permutation of ``range(n_pool)``).
    phase : ndarray of int8, shape (n_pool,)
        Phase (0 before the drift, 1 after) of each arriving example; all zeros for ``shuffle``.
    kind : str
        The order's name, one of :data:`ORDERS`.
    drift_position : int or None
        Arrival position of the drift (the centre of the mixing window for a gradual order); ``None`` for
        ``shuffle``.
    drift_width : int
        Number of arrivals over which the phases mix (0 for abrupt orders and ``shuffle``).
    """

    indices: np.ndarray
    phase: np.ndarray
    kind: str
    drift_position: int | None
    drift_width: int


def _class_phases(y: np.ndarray, n_phase0: int, dominance: float, rng: np.random.Generator) -> np.ndarray:
    """Phase of every pool example for a class-balance drift (1 = after the drift)."""
    classes = np.unique(y)
    if classes.size < 2:
        raise InvalidInputError(
            "A class-balance drift needs at least 2 classes in the pool. Got 1 class instead; "
            "use order='shuffle' or a feature-space drift."
        )
    shuffled_classes = rng.permutation(classes)
    group_a = np.isin(y, shuffled_classes[: (classes.size + 1) // 2])
    idx_a = rng.permutation(np.flatnonzero(group_a))
    idx_b = rng.permutation(np.flatnonzero(~group_a))
    take_a = min(idx_a.size, round(dominance * n_phase0))
    take_b = min(idx_b.size, n_phase0 - take_a)
    take_a = n_phase0 - take_b
    phase = np.ones(y.size, dtype=np.int8)
    phase[idx_a[:take_a]] = 0
    phase[idx_b[:take_b]] = 0
    return phase


def _feature_phases(X: np.ndarray, n_phase0: int, rng: np.random.Generator) -> np.ndarray:
    """Phase of every pool example for a feature-space drift: low end of the first principal axis first."""
    projection = PCA(n_components=1, svd_solver="full").fit_transform(X)[:, 0]
    if rng.random() < 0.5:
        projection = -projection
    # Ties broken at random so that duplicated rows do not arrive in their pool order.
    ranked = np.lexsort((rng.random(projection.size), projection))
    phase = np.ones(X.shape[0], dtype=np.int8)
    phase[ranked[:n_phase0]] = 0
    return phase


def _merge_phases(
    phase: np.ndarray, drift_position: int, drift_width: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Interleave the two phases (each shuffled) into one arrival sequence."""
    queues = [rng.permutation(np.flatnonzero(phase == p)) for p in (0, 1)]
    n = phase.size
    if drift_width == 0:
        return np.concatenate(queues).astype(np.int64), np.sort(phase).astype(np.int8)
    start = drift_position - drift_width / 2.0
    p_late = np.clip((np.arange(n) - start) / drift_width, 0.0, 1.0)
    draws = rng.random(n)
    indices = np.empty(n, dtype=np.int64)
    arrived_phase = np.empty(n, dtype=np.int8)
    heads = [0, 0]
    for t in range(n):
        late = int(draws[t] < p_late[t])
        if heads[late] == queues[late].size:  # that phase is used up: the other one supplies the rest
            late = 1 - late
        indices[t] = queues[late][heads[late]]
        arrived_phase[t] = late
        heads[late] += 1
    return indices, arrived_phase


def _shuffled(
    X: np.ndarray, y: np.ndarray, position: float, width: float, dominance: float, rng: np.random.Generator
) -> ArrivalOrder:
    n = y.shape[0]
    return ArrivalOrder(rng.permutation(n).astype(np.int64), np.zeros(n, dtype=np.int8), "shuffle", None, 0)


def _drifting(
    X: np.ndarray,
    y: np.ndarray,
    position: float,
    width: float,
    dominance: float,
    rng: np.random.Generator,
    *,
    kind: str,
) -> ArrivalOrder:
    """Build a two-phase order; ``kind`` is ``"<abrupt|gradual>_<class|feature>"``."""
    n = y.shape[0]
    n_phase0 = min(n - 1, max(1, round(position * n)))
    phase = _class_phases(y, n_phase0, dominance, rng) if kind.endswith("_class") else _feature_phases(X, n_phase0, rng)
    width_n = max(2, round(width * n)) if kind.startswith("gradual") else 0
    indices, arrived_phase = _merge_phases(phase, n_phase0, width_n, rng)
    return ArrivalOrder(indices, arrived_phase, kind, n_phase0, width_n)


# Each order by name: (X, y, drift_position, drift_width, dominance, rng) -> ArrivalOrder.
_ORDERS: Registry[Callable[..., ArrivalOrder]] = Registry("arrival order", "order")
_ORDERS.register("shuffle", _shuffled)
for _kind in ("abrupt_class", "gradual_class", "abrupt_feature", "gradual_feature"):
    _ORDERS.register(_kind, functools.partial(_drifting, kind=_kind))

#: Names of the arrival orders, sorted (the ``order`` parameter of :func:`make_arrival_order`).
ORDERS: tuple[str, ...] = tuple(_ORDERS.names())


def make_arrival_order(
    X: np.ndarray,
    y: np.ndarray,
    order: str = "shuffle",
    *,
    drift_position: float = 0.5,
    drift_width: float = 0.2,
    dominance: float = 0.9,
    random_state: int | np.random.Generator | None = None,
) -> ArrivalOrder:
    """Build a seeded arrival order over a pool, possibly with a drift.

    Parameters
    ----------
    X : ndarray of shape (n_pool, n_features)
        Preprocessed pool features (used by the feature-space orders).
    y : ndarray of shape (n_pool,)
        Pool labels (used by the class-balance orders).
    order : {"shuffle", "abrupt_class", "gradual_class", "abrupt_feature", "gradual_feature"}
        Kind of order; see the module docstring.
    drift_position : float in (0, 1), default=0.5
        Share of the stream that arrives before the drift (the size of phase 0).
    drift_width : float in (0, 1), default=0.2
        Share of the stream over which a gradual order mixes the two phases. Ignored by abrupt orders.
    dominance : float in (0.5, 1], default=0.9
        Share of phase 0 drawn from class group A (class orders only); phase 1 gets the rest of group A.
    random_state : int, Generator or None
        Seed of the permutation, the class groups and the projection's sign.

    Returns
    -------
    ArrivalOrder

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(20, dtype=float).reshape(10, 2)
    >>> y = np.array([0, 1] * 5)
    >>> arrival = make_arrival_order(X, y, "abrupt_feature", random_state=0)
    >>> sorted(arrival.indices.tolist()) == list(range(10))
    True
    >>> arrival.drift_position
    5
    """
    build = _ORDERS.get(order, "make_arrival_order")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise InvalidInputError(
            f"make_arrival_order needs X of shape (n, d) and y of shape (n,). Got X {X.shape} and y {y.shape}."
        )
    n = y.shape[0]
    if n < 2:
        raise InvalidInputError(f"make_arrival_order needs a pool of at least 2 examples. Got {n} instead.")
    position = check_fraction(drift_position, "drift_position", "make_arrival_order")
    width = check_fraction(drift_width, "drift_width", "make_arrival_order")
    dom = check_real(dominance, "dominance", "make_arrival_order", low=0.5, high=1.0, low_open=True)
    return build(X, y, position, width, dom, np.random.default_rng(random_state))
