"""Ranked batch-mode sampling (Cardoso, Silva, Pereira & Castro, Information Sciences 2017).

Registered name: ``ranked_batch``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import pairwise_distances_argmin_min
from typing_extensions import override

from alsim import kernels
from alsim._validation import check_choice
from alsim.strategies._base import PoolState, QueryStrategy, check_batch_size
from alsim.strategies._registry import register_strategy

__all__ = ["RankedBatch", "ranked_batch_select"]

_MEASURES = ("least_confidence", "margin", "entropy")


def ranked_batch_select(
    X_labeled: np.ndarray, X_candidates: np.ndarray, uncertainty: np.ndarray, batch_size: int
) -> np.ndarray:
    """Positions (rows of ``X_candidates``) of the ranked batch, in rank order.

    Each step scores the remaining candidates by ``alpha * (1 - sim) + (1 - alpha) * uncertainty`` with
    ``sim = 1 / (1 + d)``, ``d`` the Euclidean distance to the nearest labeled example or earlier pick, and
    ``alpha = |remaining| / (|remaining| + |labeled| + |picked|)``, then takes the best (ties: lowest
    position). Without labeled examples the first pick is the candidate of smallest mean squared distance
    to the others (the most central).
    """
    n = X_candidates.shape[0]
    centred = X_candidates - X_candidates.mean(axis=0)
    if X_labeled.shape[0]:
        _, nearest = pairwise_distances_argmin_min(X_candidates, X_labeled)
    else:
        nearest = np.full(n, np.inf)
    remaining = np.ones(n, dtype=bool)
    chosen: list[int] = []
    n_known = X_labeled.shape[0]
    for _ in range(batch_size):
        if n_known == 0:
            pick = int(kernels.top_k(-np.einsum("ij,ij->i", centred, centred), 1)[0])
        else:
            n_remaining = n - len(chosen)
            alpha = n_remaining / (n_remaining + n_known)
            score = alpha * (1.0 - 1.0 / (1.0 + nearest)) + (1.0 - alpha) * uncertainty
            pick = int(kernels.top_k(np.where(remaining, score, -np.inf), 1)[0])
        chosen.append(pick)
        remaining[pick] = False
        n_known += 1
        step = np.sqrt(np.einsum("ij,ij->i", X_candidates - X_candidates[pick], X_candidates - X_candidates[pick]))
        nearest = np.minimum(nearest, step)
    return np.asarray(chosen, dtype=np.int64)


@register_strategy("ranked_batch")
class RankedBatch(QueryStrategy):
    """Ranked batch-mode active learning (Cardoso et al., 2017).

    Builds the batch one example at a time, trading uncertainty against dissimilarity to everything
    labeled or already in the batch; the weight ``alpha = |U| / (|U| + |L|)`` favours dissimilarity while
    few examples are labeled and uncertainty later. The ranking itself is the output: the first picks are
    the most wanted.

    Parameters
    ----------
    measure : {"least_confidence", "margin", "entropy"}, default="least_confidence"
        Uncertainty of the current model (the paper and modAL use least confidence).

    Notes
    -----
    Cost per round: ``O((n_labeled + batch_size) * n_unlabeled * d)``.
    """

    def __init__(self, measure: str = "least_confidence") -> None:
        self.measure = check_choice(measure, "measure", "RankedBatch", _MEASURES)

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        picks = ranked_batch_select(
            state.X_pool[state.labeled], state.X_unlabeled, state.uncertainty_scores(self.measure), batch_size
        )
        return state.unlabeled[picks]

    @override
    def get_params(self) -> dict[str, Any]:
        return {"measure": self.measure}
