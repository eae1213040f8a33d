"""Stream query strategies: decide on the spot whether to buy the label of an arriving example.

The per-example strategies follow Zliobaite, Bifet, Pfahringer & Holmes (2014), "Active Learning With
Drifting Streaming Data", IEEE Transactions on Neural Networks and Learning Systems 25(1), 27-39. Each looks
at the current model's class probabilities for the arriving example and works on its *confidence*, the
largest posterior probability. The budget manager (:class:`alsim.stream.budget.BudgetManager`) is asked first;
a strategy is consulted only while the budget allows a label, as in the paper's framework, so the variable
thresholds move only then.

- ``random``: label with probability equal to the current labelling target.
- ``fixed_uncertainty``: label if the confidence is below a fixed ``threshold``.
- ``variable_uncertainty``: label if the confidence is below a threshold ``theta`` (starting at 1); after a
  label ``theta`` shrinks by the factor ``1 - step``, otherwise it grows by ``1 + step`` (paper: step 0.01),
  so the strategy keeps labelling the least confident examples of whatever region the stream is in.
- ``randomized_variable_uncertainty``: as above, but the confidence is compared to ``theta * eta`` with
  ``eta ~ Normal(1, delta)`` (paper: delta = 1), which occasionally labels confident examples, the ones an
  uncertainty strategy would never see change.
- ``split``: a share ``random_share`` (paper: 0.2) of the arrivals goes to ``random``, the rest to
  ``variable_uncertainty``.

Buffered strategies (``buffer_<pool strategy>``, e.g. ``buffer_margin``) hold the last ``buffer_size``
arrivals and, when the buffer is full, let any registered pool strategy pick as many of them as the budget
manager allows; :class:`BufferStrategy` only names the pool strategy and the buffer size, the loop in
:mod:`alsim.stream.simulate` runs it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from typing_extensions import override

from alsim._registry import Registry
from alsim._validation import check_fraction, check_int, check_real
from alsim.exceptions import InvalidParameterError

__all__ = [
    "STREAM_STRATEGIES",
    "BufferStrategy",
    "FixedUncertainty",
    "RandomStream",
    "RandomizedVariableUncertainty",
    "SplitStrategy",
    "StreamStrategy",
    "VariableUncertainty",
    "available_stream_strategies",
    "make_stream_strategy",
]

BUFFER_PREFIX = "buffer_"


class StreamStrategy(ABC):
    """Decides, one arriving example at a time, whether to buy its label.

    Subclasses implement :meth:`query`. A strategy may keep state (a moving threshold); the simulation uses a
    fresh instance per run.
    """

    name: str = "stream_strategy"

    @abstractmethod
    def query(self, proba: np.ndarray, target: float, random_state: np.random.Generator) -> bool:
        """Whether to label the arriving example.

        Parameters
        ----------
        proba : ndarray of shape (n_classes,)
            The current model's class probabilities for the example.
        target : float
            The budget manager's current labelling target (share of arrivals).
        random_state : Generator
            The simulation's random generator (the only source of randomness).
        """

    def params(self) -> dict[str, Any]:
        """Parameters that define the strategy (recorded in the run's config)."""
        return {}


class RandomStream(StreamStrategy):
    """Label each arriving example with probability equal to the labelling target.

    Examples
    --------
    >>> import numpy as np
    >>> RandomStream().query(np.array([0.5, 0.5]), 1.0, np.random.default_rng(0))
    True
    """

    name = "random"

    @override
    def query(self, proba: np.ndarray, target: float, random_state: np.random.Generator) -> bool:
        return bool(random_state.random() < target)


class FixedUncertainty(StreamStrategy):
    """Label if the model's confidence (largest class probability) is below a fixed threshold.

    Parameters
    ----------
    threshold : float in (0, 1], default=0.9

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> FixedUncertainty(0.8).query(np.array([0.7, 0.3]), 0.1, rng)
    True
    >>> FixedUncertainty(0.8).query(np.array([0.9, 0.1]), 0.1, rng)
    False
    """

    name = "fixed_uncertainty"

    def __init__(self, threshold: float = 0.9) -> None:
        self.threshold = check_fraction(threshold, "threshold", "FixedUncertainty", high_open=False)

    @override
    def query(self, proba: np.ndarray, target: float, random_state: np.random.Generator) -> bool:
        return bool(np.max(proba) < self.threshold)

    @override
    def params(self) -> dict[str, Any]:
        return {"threshold": self.threshold}


class VariableUncertainty(StreamStrategy):
    """Label if the confidence is below a threshold that adapts to the stream (Zliobaite et al. 2014).

    After a label the threshold is multiplied by ``1 - step``, after a skip by ``1 + step``.

    Parameters
    ----------
    step : float in (0, 1), default=0.01
        Threshold adjustment step ``s`` (the paper's value).
    initial_threshold : float in (0, 1], default=1.0

    Examples
    --------
    >>> import numpy as np
    >>> strategy = VariableUncertainty()
    >>> strategy.query(np.array([0.6, 0.4]), 0.1, np.random.default_rng(0)), strategy.threshold
    (True, 0.99)
    """

    name = "variable_uncertainty"

    def __init__(self, step: float = 0.01, initial_threshold: float = 1.0) -> None:
        owner = type(self).__name__
        self.step = check_fraction(step, "step", owner)
        self.initial_threshold = check_fraction(initial_threshold, "initial_threshold", owner, high_open=False)
        self.threshold = self.initial_threshold

    def _effective_threshold(self, random_state: np.random.Generator) -> float:
        return self.threshold

    @override
    def query(self, proba: np.ndarray, target: float, random_state: np.random.Generator) -> bool:
        label = bool(np.max(proba) < self._effective_threshold(random_state))
        self.threshold *= (1.0 - self.step) if label else (1.0 + self.step)
        return label

    @override
    def params(self) -> dict[str, Any]:
        return {"step": self.step, "initial_threshold": self.initial_threshold}


class RandomizedVariableUncertainty(VariableUncertainty):
    """Variable uncertainty with a randomised threshold ``theta * eta``, ``eta ~ Normal(1, delta)``.

    Parameters
    ----------
    step : float in (0, 1), default=0.01
    delta : float > 0, default=1.0
        Standard deviation of the threshold's random multiplier (the paper's value).
    initial_threshold : float in (0, 1], default=1.0

    Examples
    --------
    >>> import numpy as np
    >>> strategy = RandomizedVariableUncertainty()
    >>> isinstance(strategy.query(np.array([0.6, 0.4]), 0.1, np.random.default_rng(0)), bool)
    True
    """

    name = "randomized_variable_uncertainty"

    def __init__(self, step: float = 0.01, delta: float = 1.0, initial_threshold: float = 1.0) -> None:
        super().__init__(step=step, initial_threshold=initial_threshold)
        self.delta = check_real(delta, "delta", type(self).__name__, low=0.0, low_open=True)

    def _effective_threshold(self, random_state: np.random.Generator) -> float:
        return self.threshold * random_state.normal(1.0, self.delta)

    @override
    def params(self) -> dict[str, Any]:
        return {**super().params(), "delta": self.delta}


class SplitStrategy(StreamStrategy):
    """Send a share of arrivals to random labelling and the rest to variable uncertainty.

    Parameters
    ----------
    random_share : float in (0, 1), default=0.2
        Share ``v`` of arrivals handled by the random strategy (the paper's value).
    step : float in (0, 1), default=0.01
        Threshold step of the variable-uncertainty part.

    Examples
    --------
    >>> import numpy as np
    >>> isinstance(SplitStrategy().query(np.array([0.6, 0.4]), 0.1, np.random.default_rng(0)), bool)
    True
    """

    name = "split"

    def __init__(self, random_share: float = 0.2, step: float = 0.01) -> None:
        self.random_share = check_fraction(random_share, "random_share", "SplitStrategy")
        self._random = RandomStream()
        self._uncertainty = VariableUncertainty(step=step)

    @override
    def query(self, proba: np.ndarray, target: float, random_state: np.random.Generator) -> bool:
        if random_state.random() < self.random_share:
            return self._random.query(proba, target, random_state)
        return self._uncertainty.query(proba, target, random_state)

    @override
    def params(self) -> dict[str, Any]:
        return {"random_share": self.random_share, "step": self._uncertainty.step}


class BufferStrategy:
    """Apply a registered pool strategy to a small buffer of the most recent arrivals.

    Parameters
    ----------
    pool_strategy : str
        Name of a pool strategy registered in :mod:`alsim.strategies` (``margin``, ``coreset``, ...).
    buffer_size : int >= 2, default=20
        Arrivals held before the pool strategy picks among them; the rest are skipped.
    pool_params : dict, optional
        Keyword parameters of the pool strategy.

    Examples
    --------
    >>> BufferStrategy("margin", buffer_size=10).name
    'buffer_margin'
    """

    def __init__(self, pool_strategy: str, buffer_size: int = 20, pool_params: dict[str, Any] | None = None) -> None:
        self.pool_strategy: str = pool_strategy
        self.buffer_size: int = check_int(buffer_size, "buffer_size", "BufferStrategy", low=2)
        self.pool_params: dict[str, Any] = dict(pool_params or {})
        self.name: str = f"{BUFFER_PREFIX}{pool_strategy}"

    def params(self) -> dict[str, Any]:
        """Parameters that define the strategy (recorded in the run's config)."""
        return {"buffer_size": self.buffer_size, **self.pool_params}


# The per-example strategies by name; buffered names (``buffer_<pool name>``) are resolved by the pool registry.
_STREAM_STRATEGIES: Registry[type[StreamStrategy]] = Registry("stream strategy", "strategy")
for _cls in (RandomStream, FixedUncertainty, VariableUncertainty, RandomizedVariableUncertainty, SplitStrategy):
    _STREAM_STRATEGIES.register(_cls.name, _cls)

#: The per-example stream strategies by name.
STREAM_STRATEGIES: dict[str, type[StreamStrategy]] = {
    name: cls for name in _STREAM_STRATEGIES.names() if (cls := _STREAM_STRATEGIES.registered(name)) is not None
}


def _pool_strategy_names() -> list[str]:
    from alsim.strategies import available_strategies

    return sorted(available_strategies())


def available_stream_strategies() -> list[str]:
    """Names accepted by :func:`make_stream_strategy`: per-example strategies, then ``buffer_<pool name>``.

    Composite pool names (``buffer_epsilon_margin``, ``buffer_cost_entropy``, ...) are accepted too.

    Examples
    --------
    >>> "variable_uncertainty" in available_stream_strategies()
    True
    """
    return _STREAM_STRATEGIES.names() + [f"{BUFFER_PREFIX}{name}" for name in _pool_strategy_names()]


def make_stream_strategy(
    strategy: str | StreamStrategy | BufferStrategy, **params: Any
) -> StreamStrategy | BufferStrategy:
    """Build a stream strategy from its name (or pass an instance through).

    Parameters
    ----------
    strategy : str, StreamStrategy or BufferStrategy
        A name from :func:`available_stream_strategies`, or an instance.
    **params
        Keyword parameters of the strategy. For ``buffer_<pool>`` names, ``buffer_size`` sets the buffer and
        any other key goes to the pool strategy.

    Examples
    --------
    >>> make_stream_strategy("fixed_uncertainty", threshold=0.7).threshold
    0.7
    """
    if isinstance(strategy, (StreamStrategy, BufferStrategy)):
        if params:
            raise InvalidParameterError(
                "The 'strategy_params' parameter must be empty when 'strategy' is an instance. "
                f"Got {sorted(params)} instead."
            )
        return strategy
    if strategy in _STREAM_STRATEGIES:
        try:
            return _STREAM_STRATEGIES.get(strategy, "simulate_stream")(**params)
        except TypeError as exc:
            raise InvalidParameterError(
                f"Invalid parameters {sorted(params)} for stream strategy {strategy!r}: {exc}"
            ) from exc
    if isinstance(strategy, str) and strategy.startswith(BUFFER_PREFIX):
        from alsim.strategies import make_strategy

        pool_name = strategy[len(BUFFER_PREFIX) :]
        pool_params = dict(params)
        buffer_size = pool_params.pop("buffer_size", 20)
        try:  # any name the pool registry accepts, composites (epsilon_/cost_) included
            make_strategy(pool_name)
        except InvalidParameterError:
            pass
        else:
            make_strategy(pool_name, **pool_params)  # the pool registry words errors in its parameters
            return BufferStrategy(pool_name, buffer_size=buffer_size, pool_params=pool_params)
    raise _STREAM_STRATEGIES.unknown(
        strategy, "simulate_stream", also="or a StreamStrategy instance", names=available_stream_strategies()
    )
