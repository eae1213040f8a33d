"""Query strategies: one interface (:class:`QueryStrategy`), registered by name for configs.

See :mod:`alsim.strategies.builtin` for the built-in names; further families live in their own modules:
:mod:`~alsim.strategies.bayesian` (BALD, BatchBALD), :mod:`~alsim.strategies.gradient` (BADGE, expected
gradient length), :mod:`~alsim.strategies.lookahead` (expected error reduction, the lookahead oracle),
:mod:`~alsim.strategies.quire`, :mod:`~alsim.strategies.coverage` (TypiClust, ProbCover, graph density),
:mod:`~alsim.strategies.ranked_batch`, :mod:`~alsim.strategies.hierarchical` (hierarchical sampling),
:mod:`~alsim.strategies.bandit` (active learning by learning) and :mod:`~alsim.strategies.peers`
(``skactiveml:<ClassName>`` and ``modal:<function>`` adapters). A user-written strategy plugs in with
:func:`register_strategy`::

    from alsim.strategies import QueryStrategy, check_batch_size, register_strategy

    @register_strategy("first_unlabeled")
    class FirstUnlabeled(QueryStrategy):
        def select(self, state, batch_size, random_state):
            return state.unlabeled[: check_batch_size(state, batch_size)]

    alsim.simulate("openml:61", strategy="first_unlabeled")
"""

from __future__ import annotations

from alsim.strategies import (  # noqa: F401  (imported for their side effect: they register the strategy names)
    bandit,
    bayesian,
    builtin,
    coverage,
    gradient,
    hierarchical,
    lookahead,
    quire,
    ranked_batch,
)
from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size
from alsim.strategies._registry import available_strategies, make_strategy, register_strategy

__all__ = [
    "PoolState",
    "QueryStrategy",
    "ScoreStrategy",
    "available_strategies",
    "check_batch_size",
    "make_strategy",
    "register_strategy",
]
