"""QUIRE: querying informative and representative examples (Huang, Jin & Zhou, NIPS 2010).

Registered name: ``quire``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics.pairwise import rbf_kernel
from typing_extensions import override

from alsim._validation import check_int, check_real
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, ScoreStrategy
from alsim.strategies._registry import register_strategy

__all__ = ["QUIRE", "quire_objective"]


def quire_objective(
    K: np.ndarray, labeled: np.ndarray, y_labeled: np.ndarray, n_classes: int, lmbda: float
) -> np.ndarray:
    """QUIRE's worst-case objective for each unlabeled row of the kernel matrix ``K`` (lower = query first).

    Rows/columns of ``K`` are the examples; ``labeled`` are the positions with labels ``y_labeled``, every
    other position is unlabeled (set ``A``). With ``L = (K + lmbda I)^-1`` and, for the candidate ``s``,
    ``U = A - {s}``, the objective of labeling ``s`` as ``+1`` in the one-vs-rest problem of class ``c``
    (labels ``y`` = +1 for class ``c`` and -1 otherwise) is

    ``[1, y]^T L_{sl,sl} [1, y] - (L_{U,s} + L_{U,l} y)^T L_UU^-1 (L_{U,s} + L_{U,l} y)``,

    the smallest quadratic loss over the unknown labels of ``U``; the score is the largest over classes
    (the worst case over ``s``'s label, as in the paper's min-max; with two classes the two one-vs-rest
    problems are the two signs of ``s``'s label). ``L_UU^-1`` is never formed: with ``M = L_AA^-1``
    (the Schur complement of ``K + lmbda I``'s labeled block) and ``b = L_{A,l} y``, ``M L_{A,s} = e_s``
    gives every candidate's objective from ``M b`` in ``O(|A|^2)`` per class.
    """
    n = K.shape[0]
    is_labeled = np.zeros(n, dtype=bool)
    is_labeled[labeled] = True
    A = np.flatnonzero(~is_labeled)
    regularised = K + lmbda * np.eye(n)
    L = np.linalg.inv(regularised)
    L = (L + L.T) / 2.0
    K_ll = regularised[np.ix_(labeled, labeled)]
    K_al = regularised[np.ix_(A, labeled)]
    M = regularised[np.ix_(A, A)] - K_al @ np.linalg.solve(K_ll, K_al.T) if labeled.size else regularised[np.ix_(A, A)]
    M = (M + M.T) / 2.0
    L_ss = np.diag(L)[A]
    M_ss = np.diag(M)
    L_al = L[np.ix_(A, labeled)]
    L_ll = L[np.ix_(labeled, labeled)]
    worst = np.full(A.size, -np.inf)
    for c in range(n_classes):
        y = np.where(y_labeled == c, 1.0, -1.0)
        b = L_al @ y
        Mb = M @ b
        w_s = L_ss + b  # (L_{A,s} + b)_s
        Mw_s = 1.0 + Mb  # (M (L_{A,s} + b))_s, since M L_{A,s} = e_s
        # v^T M_{-s,-s} v and (m^T v)^2 / M_ss for v = (L_{A,s} + b) without its s-th entry, m = M_{-s,s}
        restricted = (L_ss + 2.0 * b + b @ Mb) - 2.0 * w_s * Mw_s + w_s**2 * M_ss
        projection = (Mw_s - M_ss * w_s) ** 2 / M_ss
        known = L_ss + 2.0 * b + y @ L_ll @ y
        worst = np.maximum(worst, known - (restricted - projection))
    return worst


@register_strategy("quire")
class QUIRE(ScoreStrategy):
    """QUIRE (Huang, Jin & Zhou, NIPS 2010): informative and representative queries from one kernel objective.

    Informativeness is with respect to the labeled set and representativeness with respect to the unlabeled
    set, both from one kernel ridge objective.

    Each candidate's score is minus :func:`quire_objective`: the quadratic loss of the best labeling of the
    remaining unlabeled examples, in the worst case over the candidate's own label. Multi-class problems
    use the worst one-vs-rest problem (as scikit-activeml; the paper is binary). The kernel is RBF with
    scikit-learn's default ``gamma = 1 / n_features``.

    Parameters
    ----------
    lmbda : float > 0, default=1.0
        Ridge regularisation ``lambda`` (the paper's default).
    max_unlabeled : int >= 1, default=1000
        The unlabeled set enters the objective through a ``(n_labeled + m)`` kernel matrix: larger
        unlabeled pools are represented by a uniform sample of ``m = max_unlabeled`` examples, which are
        also the only candidates (the others score 0).
    max_size : int >= 2, default=4000
        ``n_labeled + m`` above this is refused: the round inverts a matrix of that size (cubic time,
        quadratic memory).

    Notes
    -----
    Cost per round: ``O((n_labeled + m)^3)`` time and ``O((n_labeled + m)^2)`` memory, plus
    ``O(n_classes * m^2)`` for the scores.
    """

    def __init__(self, lmbda: float = 1.0, max_unlabeled: int = 1000, max_size: int = 4000) -> None:
        self.lmbda: float = check_real(lmbda, "lmbda", "QUIRE", low=0.0, low_open=True)
        self.max_unlabeled: int = check_int(max_unlabeled, "max_unlabeled", "QUIRE", low=1)
        self.max_size: int = check_int(max_size, "max_size", "QUIRE", low=2)

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        m = min(self.max_unlabeled, state.n_unlabeled)
        size = state.labeled.size + m
        if size > self.max_size:
            raise InvalidParameterError(
                f"QUIRE would invert a {size:,} x {size:,} kernel matrix this round ({state.labeled.size:,} "
                f"labeled + {m:,} unlabeled examples): its time grows as the cube of that size. Lower "
                f"'max_unlabeled' (now {self.max_unlabeled}) or raise 'max_size' (now {self.max_size})."
            )
        sample = (
            np.arange(state.n_unlabeled)
            if m == state.n_unlabeled
            else np.sort(random_state.choice(state.n_unlabeled, size=m, replace=False))
        )
        X = np.vstack([state.X_pool[state.labeled], state.X_unlabeled[sample]])
        K = rbf_kernel(X)
        objective = quire_objective(K, np.arange(state.labeled.size), state.y_labeled, state.n_classes, self.lmbda)
        # Scores must be non-negative and higher = wanted: shift minus the objective above zero; the
        # examples outside the sample stay at 0, below every sampled one.
        shifted = objective.max() - objective + 1.0
        scores = np.zeros(state.n_unlabeled)
        scores[sample] = shifted
        return scores

    @override
    def get_params(self) -> dict[str, Any]:
        return {"lmbda": self.lmbda, "max_unlabeled": self.max_unlabeled, "max_size": self.max_size}
