"""Composite strategies built from a base strategy: the ``epsilon_<base>`` and ``cost_<base>`` names.

:func:`~alsim.strategies.make_strategy` builds them when a name carries one of the prefixes, so they live
apart from the registered strategies (and the registry needs nothing else from them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from alsim._validation import check_real
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size

__all__ = ["CostPerLabel", "EpsilonMixture"]


class EpsilonMixture(QueryStrategy):
    """Mix random picks into a base strategy.

    ``Binomial(batch_size, epsilon)`` picks are uniformly random, the rest come from ``base`` (base picks
    first, then the random ones).

    Guards against uncertainty sampling's blind spots (regions the model is wrongly confident about).
    """

    def __init__(self, base: QueryStrategy, epsilon: float = 0.1) -> None:
        if not isinstance(base, QueryStrategy):
            raise InvalidParameterError(
                f"The 'base' parameter of EpsilonMixture must be a QueryStrategy. Got {base!r}."
            )
        self.base = base
        self.epsilon = check_real(epsilon, "epsilon", "EpsilonMixture", low=0.0, high=1.0)

    @property
    def uses_true_labels(self) -> bool:  # type: ignore[override]
        """A mixture with a reference strategy reads the labels too."""
        return self.base.uses_true_labels

    @override
    def select(self, state: PoolState, batch_size: int, random_state: np.random.Generator) -> np.ndarray:
        batch_size = check_batch_size(state, batch_size)
        n_random = int(random_state.binomial(batch_size, self.epsilon))
        chosen = (
            np.asarray(self.base.select(state, batch_size - n_random, random_state), dtype=np.int64)
            if n_random < batch_size
            else np.empty(0, dtype=np.int64)
        )
        if n_random:
            remaining = np.setdiff1d(state.unlabeled, chosen, assume_unique=True)
            chosen = np.concatenate([chosen, random_state.choice(remaining, size=n_random, replace=False)])
        return chosen.astype(np.int64)

    @override
    def get_params(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "base": self.base.name or type(self.base).__name__, **self.base.get_params()}


class CostPerLabel(ScoreStrategy):
    """Rank by the base strategy's score divided by the oracle's expected cost of each example."""

    def __init__(self, base: ScoreStrategy) -> None:
        if not isinstance(base, ScoreStrategy):
            raise InvalidParameterError(f"The 'base' parameter of CostPerLabel must be a ScoreStrategy. Got {base!r}.")
        self.base = base

    @override
    def scores(self, state: PoolState, random_state: np.random.Generator) -> np.ndarray:
        return self.base.scores(state, random_state) / state.expected_costs

    @override
    def get_params(self) -> dict[str, Any]:
        return {"base": self.base.name or type(self.base).__name__, **self.base.get_params()}
