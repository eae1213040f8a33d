"""Strategy registry: names for configs, composite names (``epsilon_<base>``, ``cost_<base>``)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

from alsim._registry import Registry
from alsim.exceptions import InvalidParameterError
from alsim.strategies._base import QueryStrategy, ScoreStrategy
from alsim.strategies.composite import CostPerLabel, EpsilonMixture

__all__ = ["available_strategies", "make_strategy", "register_strategy"]

_REGISTRY: Registry[Callable[..., QueryStrategy]] = Registry("strategy", "strategy")
_COMPOSITE_PREFIXES = ("epsilon_", "cost_")
_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

F = TypeVar("F", bound=Callable[..., QueryStrategy])


def register_strategy(name: str, *, overwrite: bool = False) -> Callable[[F], F]:
    """Register a :class:`QueryStrategy` subclass under ``name`` (a decorator).

    The class must implement ``select(self, state, batch_size, random_state)`` (or, for a
    :class:`ScoreStrategy`, ``scores(self, state, random_state)``); its ``__init__`` parameters become the
    strategy's parameters (``strategy_params``). ``functools.partial(SubClass, param=value)`` registers a
    variant with parameters fixed. A plain function is refused: wrap it in a subclass's ``select``.

    Parameters
    ----------
    name : str
        Lower-case identifier (``[a-z][a-z0-9_]*``), not starting with a composite prefix
        (``epsilon_``, ``cost_``).
    overwrite : bool, default=False
        Replace an existing registration of the same name.

    Examples
    --------
    >>> from alsim.strategies import QueryStrategy, check_batch_size, make_strategy, register_strategy
    >>> @register_strategy("first_unlabeled_doc", overwrite=True)
    ... class FirstUnlabeled(QueryStrategy):
    ...     def select(self, state, batch_size, random_state):
    ...         return state.unlabeled[: check_batch_size(state, batch_size)]
    >>> make_strategy("first_unlabeled_doc").name
    'first_unlabeled_doc'
    """
    if not isinstance(name, str) or not _NAME_PATTERN.match(name) or name.startswith(_COMPOSITE_PREFIXES):
        raise InvalidParameterError(
            "The 'name' parameter of register_strategy must match [a-z][a-z0-9_]* and not start with "
            f"{list(_COMPOSITE_PREFIXES)}. Got {name!r} instead."
        )

    def decorator(factory: F) -> F:
        target = factory.func if isinstance(factory, functools.partial) else factory
        if not (isinstance(target, type) and issubclass(target, QueryStrategy)):
            raise InvalidParameterError(
                f"register_strategy({name!r}) must decorate a subclass of alsim.strategies.QueryStrategy that "
                "implements select(self, state, batch_size, random_state) and returns pool indices. Got "
                f"{_describe(factory)} instead; wrap a function in a class: "
                "class MyStrategy(QueryStrategy): def select(self, state, batch_size, random_state): ..."
            )
        if inspect.isabstract(target):
            missing = ", ".join(sorted(getattr(target, "__abstractmethods__", ())))
            raise InvalidParameterError(
                f"register_strategy({name!r}) got {target.__name__}, which does not implement {missing}."
            )
        _REGISTRY.register(name, factory, overwrite=overwrite)
        return factory

    return decorator


def _describe(factory: Any) -> str:
    if inspect.isfunction(factory) or inspect.ismethod(factory):
        return f"the function {factory.__qualname__!r}"
    if isinstance(factory, type):
        return f"the class {factory.__qualname__!r}, which is not a QueryStrategy"
    return f"{type(factory).__name__} {factory!r}"


def available_strategies() -> list[str]:
    """Registered strategy names, sorted. Any name can also be prefixed by ``epsilon_`` and (for score
    strategies) ``cost_``.

    Examples
    --------
    >>> from alsim.strategies import available_strategies
    >>> "margin" in available_strategies()
    True
    """
    return _REGISTRY.names()


def _unknown_name(name: Any) -> InvalidParameterError:
    # The name reaches here from simulate, configs, sessions and the CLI: the parameter's name says enough.
    return _REGISTRY.unknown(
        name,
        "",
        also="optionally prefixed by 'epsilon_' or 'cost_' (e.g. 'epsilon_margin'), a peer adapter "
        "'skactiveml:<ClassName>' or 'modal:<function>', or a QueryStrategy instance",
    )


def _build(name: str, factory: Callable[..., QueryStrategy], params: dict[str, Any]) -> QueryStrategy:
    signature = inspect.signature(factory)
    # A name registered as functools.partial(cls, measure=...) fixes those parameters: overriding them would
    # run another strategy under this name (e.g. entropy sampling recorded as "margin").
    fixed = set(getattr(factory, "keywords", None) or ())
    valid = [p for p in signature.parameters if p != "self" and p not in fixed]
    accepted = not fixed & params.keys()
    if accepted:
        try:
            signature.bind(**params)
        except TypeError:
            accepted = False
    if not accepted:
        rejected = sorted(set(params) - set(valid)) or sorted(params)
        raise InvalidParameterError(
            f"The strategy {name!r} does not take the parameter(s) {rejected}; valid parameters: {valid}."
        )
    strategy = factory(**params)
    if not isinstance(strategy, QueryStrategy):
        raise InvalidParameterError(
            f"The strategy registered as {name!r} returned {type(strategy).__name__}, not a QueryStrategy."
        )
    return strategy


def _makes_score_strategy(factory: Callable[..., QueryStrategy]) -> bool:
    target = getattr(factory, "func", factory)  # functools.partial registrations
    return isinstance(target, type) and issubclass(target, ScoreStrategy)


def make_strategy(strategy: str | QueryStrategy, **params: Any) -> QueryStrategy:
    """Create a strategy from a registered name (with parameters) or pass an instance through.

    Composite names are parsed recursively: ``epsilon_<base>`` takes ``epsilon`` (default 0.1) and passes
    the other parameters to the base; ``cost_<base>`` needs a score strategy as base.

    Examples
    --------
    >>> from alsim.strategies import make_strategy
    >>> strategy = make_strategy("epsilon_margin", epsilon=0.2)
    >>> strategy.name, strategy.epsilon, strategy.base.name
    ('epsilon_margin', 0.2, 'margin')
    """
    if isinstance(strategy, QueryStrategy):
        if params:
            raise InvalidParameterError(
                f"Strategy parameters {sorted(params)} cannot be applied to an existing strategy instance."
            )
        if not strategy.name:
            strategy.name = type(strategy).__name__
        return strategy
    if not isinstance(strategy, str):
        raise _unknown_name(strategy)
    from alsim.strategies import peers  # its adapters import scikit-activeml / modAL on first use

    if strategy.startswith(peers.PEER_PREFIXES):
        built = peers.make_peer_strategy(strategy, **params)
    elif strategy in _REGISTRY:
        built = _build(strategy, _REGISTRY.get(strategy, "make_strategy"), params)
    elif strategy.startswith("epsilon_"):
        epsilon = params.pop("epsilon", 0.1)
        base = make_strategy(strategy.removeprefix("epsilon_"), **params)
        built = EpsilonMixture(base, epsilon=epsilon)
    elif strategy.startswith("cost_"):
        base = make_strategy(strategy.removeprefix("cost_"), **params)
        if not isinstance(base, ScoreStrategy):
            score_names = [
                n for n in available_strategies() if _makes_score_strategy(_REGISTRY.get(n, "make_strategy"))
            ]
            raise InvalidParameterError(
                f"The 'strategy' parameter {strategy!r} needs a base strategy that scores examples; "
                f"{base.name!r} does not. Score strategies: {score_names}."
            )
        built = CostPerLabel(base)
    else:
        raise _unknown_name(strategy)
    built.name = strategy
    return built
