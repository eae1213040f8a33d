"""Query strategies: one interface (:class:`QueryStrategy`), registered by name for configs.

See :mod:`alsim.strategies.builtin` for the built-in names. A user-written strategy plugs in with
:func:`register_strategy`::

    from alsim.strategies import QueryStrategy, check_batch_size, register_strategy

    @register_strategy("first_unlabeled")
    class FirstUnlabeled(QueryStrategy):
        def select(self, state, batch_size, random_state):
            return state.unlabeled[: check_batch_size(state, batch_size)]

    alsim.simulate("openml:61", strategy="first_unlabeled")
"""

from __future__ import annotations

from alsim.strategies._base import PoolState, QueryStrategy, ScoreStrategy, check_batch_size
from alsim.strategies._registry import available_strategies, make_strategy, register_strategy
from alsim.strategies import builtin  # noqa: E402  (registers the built-in names)

__all__ = [
    "PoolState",
    "QueryStrategy",
    "ScoreStrategy",
    "available_strategies",
    "check_batch_size",
    "make_strategy",
    "register_strategy",
]
